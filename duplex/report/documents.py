"""The documents a run folder holds, typed: ``run.json``, each line of ``results.jsonl``, and
``summary.json``. Each has one builder here, used by ``run``, ``score --fdb`` and ``live``, and a
JSON Schema generated from it (``docs/schema/``, written by :func:`write_schemas`) so that other
tools can read our results.

Format versions. ``run.json`` and ``summary.json`` carry ``format``; a row's format is its run's.
Format 1 is everything written before the documents were typed (no ``format`` field): it is read
by :func:`upgrade_run_doc`, :func:`upgrade_row` and :func:`upgrade_summary`, which fill what
format 2 added. A document newer than this code (a higher ``format``) is refused with an error
naming its version.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from duplex.errors import ResultsError
from duplex.metrics.stats import summarize
from duplex.metrics.tasks import Headline, Task

#: The format version this code writes.
FORMAT = 2
Direction = Literal["lower", "higher"]
Number = float | int | None
#: an item whose model audio was dropped (not played) at least this much is warned about
LOST_AUDIO_FRAC = 0.5


class _Doc(BaseModel):
    # Unknown fields are refused: a typo in a writer must fail a test, not ship.
    model_config = ConfigDict(extra="forbid")


class _Measured(_Doc):
    """What a run measured: a suite (and its version) scored by a task (and its version), a
    model, and the clock it ran on. Both run.json's settings and the summary name these."""

    suite: str
    suite_version: str
    task: str
    task_version: str
    model: str
    clock: str


class RunSettings(_Measured):
    """What was run, and how: the fields ``--resume`` checks live here. More settings may be
    recorded beside these (a judge, a batch size...): they are kept and compared, not checked."""

    model_config = ConfigDict(extra="allow")

    vad: str
    asr: str | None
    frame_ms: int = 80
    seed: int = 0
    out: str
    limit: int | None = None
    resume: bool = False
    concurrency: int = 1
    retries: int = 0
    export_fdb: str | None = None
    duration_s: float | None = None
    #: lock-step: "measured" compute time on the timeline, or "none" (``run --compute``); runs
    #: recorded before the option measured it
    compute: str = "measured"
    #: where the items came from: "suite" (rendered scenarios), "live" (a microphone), "fdb"
    #: (Full-Duplex-Bench's released data, ``--scenario fdb:PATH``)
    source: Literal["suite", "live", "fdb"] = "suite"


class RunDoc(_Doc):
    """``run.json``: configuration and provenance, written once when a run starts."""

    format: int = FORMAT
    config: RunSettings
    #: the model's own description (``Model.describe()``), credentials removed
    model: dict[str, Any]
    #: VAD and ASR backends with their provenance
    backends: dict[str, Any]
    #: package versions, Python, platform
    environment: dict[str, Any]
    #: the audio device of a live session
    device: Any = None
    #: the training step this run measured, when known (a sweep sets it)
    step: int | None = None


class ResultRow(_Doc):
    """One line of ``results.jsonl``: one item, scored (``ok``) or ``failed`` with its reason."""

    item_id: str
    status: Literal["ok", "failed"]
    spec_hash: str | None = None
    duration_s: float | None = None
    attempts: int | None = None
    reason: str | None = None
    metrics: dict[str, Number] = Field(default_factory=dict)
    details: dict[str, str | None] = Field(default_factory=dict)
    transcript: str | None = None
    timings: dict[str, Any] = Field(default_factory=dict)
    #: per-turn figures of a live session
    turns: list[dict[str, Any]] = Field(default_factory=list)
    #: how an imported sample was read (where its words came from, length mismatches)
    notes: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def failure(cls, item_id: str, reason: str, **fields: Any) -> ResultRow:
        return cls(item_id=item_id, status="failed", reason=reason, **fields)


class MetricSummary(_Doc):
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    n: int


class HeadlineFigure(_Doc):
    key: str
    label: str
    better: Direction


class ItemCounts(_Doc):
    planned: int
    ok: int
    failed: int


class Failure(_Doc):
    item_id: str
    reason: str | None


class Summary(_Measured):
    """``summary.json``: means with 95 % bootstrap intervals, rewritten after every run."""

    format: int = FORMAT
    backends: dict[str, Any]
    items: ItemCounts
    complete: bool
    headline: list[HeadlineFigure]
    metrics: dict[str, MetricSummary]
    failures: list[Failure]
    #: the judge that added figures (``duplex-bench judge``): name, model, prompt version, counts
    judge: dict[str, Any] | None = None
    #: figures over the pairs of an overlap run (clean and overlapped runs of one item): the
    #: count and per prosody feature a paired test, over all pairs and those labelled respond
    pairs: dict[str, Any] | None = None
    #: the folder an FDB score read
    root: str | None = None
    #: what makes the figures doubtful, in words (items whose model audio was mostly dropped)
    warnings: list[str] = Field(default_factory=list)


DOCUMENTS: dict[str, type[BaseModel]] = {
    "run": RunDoc,
    "result-row": ResultRow,
    "summary": Summary,
}


# ------------------------------------------------------------------------------- builders


def build_summary(
    rows: Sequence[ResultRow],
    task: Task,
    n_items: int,
    config: RunSettings,
    *,
    backends: dict[str, Any] | None = None,
    seed: int = 0,
    root: str | None = None,
) -> Summary:
    """The one way a summary is made: from the run's rows and its task."""
    ok = [r for r in rows if r.status == "ok"]
    failed = [r for r in rows if r.status == "failed"]
    keys = sorted({k for r in ok for k in r.metrics})
    metrics = summarize([dict(r.metrics) for r in ok], keys, seed=seed)
    return Summary(
        suite=config.suite,
        suite_version=config.suite_version,
        task=config.task,
        task_version=config.task_version,
        model=config.model,
        clock=config.clock,
        backends=backends or {"vad": config.vad, "asr": config.asr},
        items=ItemCounts(planned=n_items, ok=len(ok), failed=len(failed)),
        complete=len(ok) + len(failed) == n_items,
        headline=headline_figures(task.headline),
        metrics={k: MetricSummary(**v) for k, v in metrics.items()},  # type: ignore[arg-type]
        failures=[Failure(item_id=r.item_id, reason=r.reason) for r in failed],
        root=root,
        warnings=_warnings(ok),
    )


def _warnings(ok: Sequence[ResultRow]) -> list[str]:
    """Scored items that cannot be trusted: their model audio was mostly dropped, so they were
    scored as if the model had been silent (``model_audio_dropped_frac`` in each row's timings,
    see :func:`duplex.simulator.recorder.audio_loss`)."""
    lost = [
        r.item_id
        for r in ok
        if isinstance(frac := r.timings.get("model_audio_dropped_frac"), int | float)
        and frac >= LOST_AUDIO_FRAC
    ]
    if not lost:
        return []
    some = ", ".join(lost[:10]) + (f" and {len(lost) - 10} more" if len(lost) > 10 else "")
    return [
        f"{len(lost)} item{'s' if len(lost) > 1 else ''} lost most of the model's audio "
        f"(dropped as stale: it arrived far faster than real time), scored as if silent: {some}"
    ]


def headline_figures(headline: Sequence[Headline | tuple[str, str, str]]) -> list[HeadlineFigure]:
    return [HeadlineFigure(key=k, label=lab, better=d) for k, lab, d in headline]  # type: ignore[arg-type]


# ---------------------------------------------------------------- reading, old formats


def _check_format(doc: dict[str, Any], where: str) -> int:
    fmt = doc.get("format", 1)
    if not isinstance(fmt, int) or fmt < 1:
        raise ResultsError(f"{where}: format must be a positive integer, got {fmt!r}")
    if fmt > FORMAT:
        raise ResultsError(
            f"{where}: written in results format {fmt}, newer than this duplex-bench reads "
            f"(up to {FORMAT}); upgrade duplex-bench to read it"
        )
    return fmt


def _parse(cls: type[Any], doc: Any, where: str) -> Any:
    try:
        return cls.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(document)"
        raise ResultsError(f"{where}: {field}: {first['msg']}") from exc


def upgrade_run_doc(doc: dict[str, Any], where: str) -> RunDoc:
    """``run.json`` of any format this code reads, as a :class:`RunDoc`."""
    if _check_format(doc, where) == 1:
        # Settings this format does not name are kept: RunSettings records them as extras.
        cfg = dict(doc.get("config") or {})
        cfg.setdefault("out", where)
        cfg.setdefault("asr", None)
        for key in ("suite_version", "task_version", "vad", "clock", "model", "task", "suite"):
            cfg.setdefault(key, "?")
        if cfg.get("source") not in ("suite", "live", "fdb"):
            cfg["source"] = "suite"
        for key in ("export_fdb", "out"):
            if cfg.get(key) is not None:
                cfg[key] = str(cfg[key])
        doc = {
            "format": FORMAT,
            "config": cfg,
            "model": doc.get("model") or {},
            "backends": doc.get("backends") or {},
            "environment": doc.get("environment") or {},
            "device": doc.get("device"),
        }
    result: RunDoc = _parse(RunDoc, doc, where)
    return result


def upgrade_row(doc: Any, where: str) -> ResultRow:
    """A ``results.jsonl`` line of format 1 or 2 as a :class:`ResultRow` (format 1 rows kept
    notes such as ``words_from`` at the top level)."""
    if not isinstance(doc, dict):
        raise ResultsError(f"{where}: expected a JSON object, got {type(doc).__name__}")
    known = set(ResultRow.model_fields)
    notes = {k: v for k, v in doc.items() if k not in known}
    row = {k: v for k, v in doc.items() if k in known}
    if notes:
        row["notes"] = {**notes, **(row.get("notes") or {})}
    result: ResultRow = _parse(ResultRow, row, where)
    return result


def upgrade_summary(doc: dict[str, Any], where: str) -> Summary:
    if _check_format(doc, where) == 1:
        doc = {k: v for k, v in doc.items() if k in Summary.model_fields}
        doc["format"] = FORMAT
        doc.setdefault("suite_version", "?")
        doc.setdefault("task_version", "?")
        doc.setdefault("clock", "?")
        doc.setdefault("backends", {})
        doc.setdefault("complete", True)
        doc.setdefault("headline", [])
        doc.setdefault("failures", [])
    result: Summary = _parse(Summary, doc, where)
    return result


def to_json(doc: BaseModel) -> dict[str, Any]:
    """A document as the JSON object we write (None-valued optional parts left out)."""
    out: dict[str, Any] = doc.model_dump(mode="json", exclude_none=False)
    return out


# --------------------------------------------------------------------------------- schemas


def schemas() -> dict[str, dict[str, Any]]:
    """Document name -> its JSON Schema (draft 2020-12, as pydantic generates it)."""
    out: dict[str, dict[str, Any]] = {}
    for name, cls in DOCUMENTS.items():
        schema = cls.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://duplex-bench.invalid/schema/{name}-v{FORMAT}.json"
        out[name] = schema
    return out


def write_schemas(folder: Path) -> list[Path]:
    """Write ``<name>.schema.json`` for every document into ``folder`` (docs/schema)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in schemas().items():
        path = folder / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written
