"""Probe sets: context/continuation items shipped inside the package (``duplex/probes/data``).

Every line of a set file is one JSON object
``{"id", "context", "choices": [str, ...], "label": int, "source", "license"}``; ``label`` indexes
the plausible (or grammatical) choice. A choice is scored as the continuation of the context
joined with one space. Where the data comes from, how it was selected and under which licence it
is used: ``data/SOURCES.md``.

A set's version is the first 12 hex digits of the sha256 of its file, so a result names exactly the
items it was computed on. ``limit`` takes the items with the lowest ``sha256(id)`` rather than the
first lines: the files are ordered by source (BLiMP by paradigm), and a prefix of the file would
cover only a few phenomena.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from duplex.errors import ConfigError, ScenarioError
from duplex.registry import Registry

#: Words per context and per choice allowed by the data's own construction (SOURCES.md).
MAX_CONTEXT_WORDS = 40
MAX_CHOICE_WORDS = 20


@dataclass(frozen=True)
class ProbeItem:
    id: str
    context: str
    choices: tuple[str, ...]
    label: int
    license: str

    @property
    def pairs(self) -> list[tuple[int, int]]:
        """(plausible, distractor) index pairs: one comparison per distractor (S2SBench rule)."""
        return [(self.label, j) for j in range(len(self.choices)) if j != self.label]


@dataclass(frozen=True)
class SetInfo:
    """A registered set: its file in the package and how its items should be compared."""

    name: str
    file: str
    summary: str
    #: The rule the set is designed for: "mean" (length-normalised NLL, S2SBench) or "sum"
    #: (summed log-likelihood: BLiMP's two suffixes differ in length). Both are always reported.
    primary_rule: str


@dataclass(frozen=True)
class ProbeSet:
    info: SetInfo
    items: tuple[ProbeItem, ...]
    version: str  # sha256 prefix of the file
    path: str

    @property
    def name(self) -> str:
        return self.info.name

    def describe(self) -> dict[str, Any]:
        licences = sorted({item.license for item in self.items})
        return {
            "name": self.name,
            "file": self.info.file,
            "version": self.version,
            "items": len(self.items),
            "primary_rule": self.info.primary_rule,
            "licenses": licences,
        }


SETS: Registry[SetInfo] = Registry("probe set")
for _info in (
    SetInfo(
        "blimp",
        "blimp_prefix_pairs.jsonl",
        "BLiMP minimal pairs as shared prefix + two suffixes (600 items, 54 paradigms)",
        "sum",
    ),
    SetInfo(
        "copa", "copa_dev.jsonl", "COPA dev: premise + because/so, 2 alternatives (500)", "mean"
    ),
    SetInfo(
        "bcopa",
        "balanced_copa_mirrored.jsonl",
        "Balanced-COPA mirrored premises: the same alternatives, flipped answer (500)",
        "mean",
    ),
    SetInfo(
        "hellaswag",
        "hellaswag_activitynet_val.jsonl",
        "HellaSwag val, ActivityNet part: context + 4 endings (600)",
        "mean",
    ),
):
    SETS.add(_info.name, _info, _info.summary)


def data_path(file: str) -> Path:
    """A file of the packaged data folder."""
    return Path(str(resources.files("duplex.probes") / "data" / file))


def load_set(name: str, *, path: Path | None = None, limit: int | None = None) -> ProbeSet:
    """The registered set ``name`` (or the file ``path`` under that set's rules), validated.

    Raises :class:`UnknownNameError` for an unknown name and :class:`ScenarioError` naming the
    file, line and field for a missing, unreadable or malformed file.
    """
    info = SETS.get(name)
    file = path if path is not None else data_path(info.file)
    if limit is not None and limit <= 0:
        raise ConfigError(f"--limit must be positive, got {limit}")
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"{file}: cannot read probe set {name!r} ({exc.strerror})") from exc
    items = _parse(raw, file)
    if not items:
        raise ScenarioError(f"{file}: probe set {name!r} has no items")
    if limit is not None and limit < len(items):
        keep = set(sorted(items, key=lambda i: _id_hash(i.id))[:limit])
        items = [i for i in items if i in keep]  # file order, for readable outputs
    version = hashlib.sha256(raw).hexdigest()[:12]
    return ProbeSet(info, tuple(items), version, str(file))


def _id_hash(item_id: str) -> str:
    return hashlib.sha256(item_id.encode("utf-8")).hexdigest()


def _parse(raw: bytes, file: Path) -> list[ProbeItem]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    items: list[ProbeItem] = []
    seen: set[str] = set()
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{file}:{n}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ScenarioError(f"{where}: not a JSON object ({exc.msg})") from exc
        item = _item(obj, where)
        if item.id in seen:
            raise ScenarioError(f"{where}: item id {item.id!r} appears twice")
        seen.add(item.id)
        items.append(item)
    return items


def _item(obj: Any, where: str) -> ProbeItem:
    if not isinstance(obj, dict):
        raise ScenarioError(f"{where}: not a JSON object")
    for key, kind in (("id", str), ("context", str), ("choices", list), ("label", int)):
        if key not in obj:
            raise ScenarioError(f"{where}: missing field {key!r}")
        if not isinstance(obj[key], kind) or isinstance(obj[key], bool):
            raise ScenarioError(f"{where}: field {key!r} must be {kind.__name__}")
    item_id, context, choices, label = obj["id"], obj["context"], obj["choices"], obj["label"]
    where = f"{where} (item {item_id})"
    if not context.strip():
        raise ScenarioError(f"{where}: field 'context' is empty")
    if len(context.split()) > MAX_CONTEXT_WORDS:
        raise ScenarioError(f"{where}: field 'context' is over {MAX_CONTEXT_WORDS} words")
    if len(choices) < 2:
        raise ScenarioError(f"{where}: field 'choices' needs at least 2 entries")
    for c in choices:
        if not isinstance(c, str) or not c.strip():
            raise ScenarioError(f"{where}: field 'choices' has an empty or non-text entry")
        if len(c.split()) > MAX_CHOICE_WORDS:
            raise ScenarioError(f"{where}: a choice is over {MAX_CHOICE_WORDS} words")
    if len(set(choices)) != len(choices):
        raise ScenarioError(f"{where}: field 'choices' has duplicates")
    if not 0 <= label < len(choices):
        raise ScenarioError(f"{where}: field 'label' {label} is outside 0..{len(choices) - 1}")
    licence = obj.get("license")
    if not isinstance(licence, str) or not licence:
        raise ScenarioError(f"{where}: missing field 'license'")
    return ProbeItem(item_id, context.strip(), tuple(c.strip() for c in choices), label, licence)
