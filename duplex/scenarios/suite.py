"""Suites: the registry of bundled suite files and the :class:`Suite` object others call.

Adding a suite is adding ``suites/<name>.yaml``; the registry lists every file there by name.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from duplex.errors import ScenarioError
from duplex.registry import Registry
from duplex.scenarios.base import ScenarioItem
from duplex.scenarios.render import render_item
from duplex.scenarios.spec import ItemSpec, SuiteSpec, load_spec, require_fields

SUITES_DIR = Path(__file__).parent / "suites"

#: Bundled suite name -> spec file. Parsed on use, so one broken file cannot break the import.
SUITES: Registry[Path] = Registry("scenario suite")
for _path in sorted(SUITES_DIR.glob("*.yaml")):
    SUITES.add(_path.stem, _path, f"bundled suite file {_path.name}")


class Suite:
    """A parsed suite: metadata, item ids, and rendering of single items."""

    def __init__(self, spec: SuiteSpec) -> None:
        self.spec = spec
        self._items: Registry[ItemSpec] = Registry(f"{spec.suite} item")
        for item in spec.items:
            self._items.add(item.id, item)

    @property
    def name(self) -> str:
        return self.spec.suite

    @property
    def version(self) -> str:
        return self.spec.version

    @property
    def description(self) -> str:
        return self.spec.description

    @property
    def task(self) -> str:
        """The metric task that scores this suite (the spec's ``task``, else the suite name)."""
        return self.spec.task

    @property
    def path(self) -> Path:
        return self.spec.path

    def require(self, fields: Iterable[str], task: str) -> None:
        """Raise a ScenarioError naming file, item and field unless every item carries each of
        ``fields`` (the cue kinds ``task`` needs)."""
        require_fields(self.spec, fields, task)

    def item_ids(self) -> list[str]:
        """Item ids in file order."""
        return [item.id for item in self.spec.items]

    def item(self, item_id: str) -> ItemSpec:
        """The spec of one item; unknown ids raise UnknownNameError with close matches."""
        return self._items.get(item_id)

    def render(self, item_id: str, *, use_cache: bool = True) -> ScenarioItem:
        """Audio and annotations of one item at the session rate (cached by content hash)."""
        return render_item(self.spec, self.item(item_id), use_cache=use_cache)

    def __len__(self) -> int:
        return len(self.spec.items)

    def __repr__(self) -> str:
        return f"Suite({self.name!r}, version={self.version!r}, items={len(self)})"


def _looks_like_path(name_or_path: str) -> bool:
    return name_or_path.endswith((".yaml", ".yml")) or "/" in name_or_path or "\\" in name_or_path


def load_suite(name_or_path: str) -> Suite:
    """A bundled suite by name, or any suite file by path (ending .yaml/.yml or containing '/').

    Unknown names raise UnknownNameError with close matches; bad files raise ScenarioError.
    """
    if _looks_like_path(name_or_path):
        return Suite(load_spec(name_or_path))
    path = SUITES.get(name_or_path)
    spec = load_spec(path)
    if spec.suite != name_or_path:
        # The file name is the registry name; a mismatch would make results carry two names.
        raise ScenarioError(f"{path.name}: suite: {spec.suite!r} does not match the file name")
    return Suite(spec)


def describe_suites() -> list[dict[str, Any]]:
    """One row per bundled suite for listings (``duplex-bench scenarios``).

    A file that fails to parse is listed with its ``error`` (None otherwise) instead of hiding
    the others.
    """
    rows: list[dict[str, Any]] = []
    for name in SUITES.names():
        try:
            suite = load_suite(name)
        except ScenarioError as exc:
            rows.append(
                {
                    "name": name,
                    "version": "",
                    "task": "",
                    "items": 0,
                    "description": "",
                    "error": str(exc),
                }
            )
            continue
        rows.append(
            {
                "name": suite.name,
                "version": suite.version,
                "task": suite.task,
                "items": len(suite),
                "description": suite.description,
                "error": None,
            }
        )
    return rows
