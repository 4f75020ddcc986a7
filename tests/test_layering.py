"""The package's layers (docs/DESIGN.md, "Layers"): nothing imports upward, not even inside a
function or under TYPE_CHECKING; no two packages of one layer import each other (except the
entry points of the application layer, which wire things together); no import cycle between
modules at all. Parsed from the source, so a lazy import cannot hide."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "duplex"

#: Bottom to top. A module belongs to the longest prefix that names it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "base",
        (
            "duplex",
            "duplex.errors",
            "duplex.audio",
            "duplex.events",
            "duplex.registry",
            "duplex.provenance",
            "duplex.cache",
            "duplex.timeline",
            "duplex.annotations",
            "duplex.playout",
            "duplex.progress",
            "duplex.writing",
        ),
    ),
    ("speech", ("duplex.speech",)),
    ("protocols", ("duplex.protocols",)),
    ("models", ("duplex.models",)),
    ("scenarios", ("duplex.scenarios",)),
    ("simulator", ("duplex.simulator",)),
    ("metrics", ("duplex.metrics",)),
    ("judges", ("duplex.judges",)),
    ("scorers", ("duplex.probes", "duplex.arena")),
    ("report", ("duplex.report",)),
    (
        "app",
        (
            "duplex.runner",
            "duplex.serve",
            "duplex.live",
            "duplex.sweep",
            "duplex.bench",
            "duplex.executors",
            "duplex.conversation",
        ),
    ),
    ("cli", ("duplex.cli", "duplex.__main__")),
]
#: Layers whose packages may import each other (still without cycles).
OPEN_LAYERS = {"base", "app", "cli"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in ROOT.rglob("*.py")}


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            for alias in node.names:
                sub = f"{mod}.{alias.name}"
                out.add(sub if sub in known else mod)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m in known and m != name}


def layer_of(module: str) -> int:
    best: tuple[int, int] | None = None
    for i, (_name, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            named = module == p or (p != "duplex" and module.startswith(p + "."))
            if named and (best is None or len(p) > best[1]):
                best = (i, len(p))
    if best is None:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS and docs/DESIGN.md")
    return best[0]


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    known = _modules()
    return {name: _imports(name, path, known) for name, path in known.items()}


def test_every_module_has_a_layer(graph: dict[str, set[str]]) -> None:
    for module in graph:
        layer_of(module)


def test_nothing_imports_upward_or_sideways(graph: dict[str, set[str]]) -> None:
    bad = []
    for module, targets in sorted(graph.items()):
        mine = layer_of(module)
        for target in sorted(targets):
            theirs = layer_of(target)
            if theirs > mine:
                bad.append(f"{module} ({LAYERS[mine][0]}) imports {target} ({LAYERS[theirs][0]})")
            elif (
                theirs == mine
                and LAYERS[mine][0] not in OPEN_LAYERS
                and _package(module) != _package(target)
            ):
                bad.append(f"{module} imports {target}, beside it in layer {LAYERS[mine][0]}")
    assert not bad, "\n".join(bad)


def test_no_import_cycles(graph: dict[str, set[str]]) -> None:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, cycles


def test_the_checker_sees_a_lazy_upward_import(tmp_path: Path) -> None:
    # The checker itself must fail on what it is meant to catch: an import inside a function.
    src = tmp_path / "m.py"
    src.write_text("def f():\n    from duplex.runner import run_suite\n")
    found = _imports("duplex.speech.m", src, {"duplex.runner": Path("x"), "duplex.speech.m": src})
    assert found == {"duplex.runner"}
    assert layer_of("duplex.runner") > layer_of("duplex.speech.m")


def test_layers_are_documented() -> None:
    design = (ROOT.parent / "docs" / "DESIGN.md").read_text(encoding="utf-8")
    for name, _prefixes in LAYERS:
        assert f"{name}:" in design or f"`{name}`" in design, name
