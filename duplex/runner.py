"""Run a scenario suite against a model: the library function behind `duplex-bench run`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from duplex.errors import ConfigError, DuplexError
from duplex.metrics import TASKS, analyze_output, summarize
from duplex.models.base import LockstepModel, Model
from duplex.models.registry import load_model
from duplex.provenance import environment
from duplex.report.store import RunStore
from duplex.scenarios import Suite, load_suite
from duplex.scenarios.base import ScenarioItem
from duplex.simulator.recording import Recording
from duplex.simulator.session import (
    SessionFailed,
    SessionOptions,
    measured,
    run_lockstep,
    run_realtime,
)
from duplex.simulator.session_folder import write_session_folder
from duplex.speech.asr import asr_provenance
from duplex.speech.vad import vad_provenance

CLOCKS = ("auto", "lockstep", "realtime")
DEFAULT_MODEL = "scripted"


@dataclass(frozen=True)
class RunConfig:
    suite: str
    model: str = DEFAULT_MODEL
    clock: str = "auto"
    limit: int | None = None
    out: Path | None = None
    resume: bool = False
    seed: int = 0
    frame_ms: int = 80
    vad: str = "silero"
    asr: str = "faster-whisper-tiny.en"


@dataclass
class ItemOutcome:
    item_id: str
    status: str  # "ok" | "failed" | "skipped" (already done in a resumed run)
    row: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunResult:
    folder: Path
    summary: dict[str, Any]
    outcomes: list[ItemOutcome]


def resolve_clock(requested: str, model: Model) -> str:
    if requested not in CLOCKS:
        raise ConfigError(f"unknown clock {requested!r}; choose one of {', '.join(CLOCKS)}")
    lockstep_ok = isinstance(model, LockstepModel)
    if requested == "auto":
        return "lockstep" if lockstep_ok else "realtime"
    if requested == "lockstep" and not lockstep_ok:
        raise ConfigError(f"model {model.spec!r} streams in real time only; use --clock realtime")
    return requested


def default_out(suite: str, model: str) -> Path:
    slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in model)[:48]
    return Path("runs") / f"{suite}-{slug}-{time.strftime('%Y%m%d-%H%M%S')}"


def run_session(model: Model, item: ScenarioItem, clock: str, opts: SessionOptions) -> Recording:
    if clock == "lockstep":
        assert isinstance(model, LockstepModel)
        return run_lockstep(model, item, opts)
    return asyncio.run(run_realtime(model, item, opts))


def run_suite(
    config: RunConfig,
    *,
    on_item: Callable[[ItemOutcome, int, int], None] | None = None,
    model: Model | None = None,
) -> RunResult:
    """Run every (remaining) item, appending a result line as each finishes.

    A failing model is recorded per item with its reason and the suite goes on; an interrupt keeps
    every finished line and still writes a (partial) summary.
    """
    suite = load_suite(config.suite)
    task = TASKS.get(suite.task)
    model = model or load_model(config.model)
    clock = resolve_clock(config.clock, model)
    folder = config.out or default_out(suite.name, config.model)
    store = RunStore(folder)
    run_doc = {
        "config": {
            **asdict(config),
            "out": str(folder),
            "clock": clock,
            "suite_version": suite.version,
            "task": task.name,
            "task_version": task.version,
        },
        "model": model.describe(),
        "backends": {"vad": vad_provenance(config.vad), "asr": asr_provenance()},
        "environment": environment(),
    }
    done = store.open(run_doc, resume=config.resume)
    ids = suite.item_ids()[: config.limit] if config.limit else suite.item_ids()
    opts = SessionOptions(frame_ms=config.frame_ms, seed=config.seed, stopwatch=measured())
    outcomes: list[ItemOutcome] = []
    try:
        for i, item_id in enumerate(ids):
            previous = done.get(item_id)
            if previous is not None and previous.get("status") == "ok":
                outcome = ItemOutcome(item_id, "skipped", previous)
            else:
                outcome = _run_item(suite, item_id, model, clock, opts, config, store)
                store.append(outcome.row)
            outcomes.append(outcome)
            if on_item:
                on_item(outcome, i + 1, len(ids))
    finally:
        rows = [r for r in store.read_results().values() if r["item_id"] in set(ids)]
        summary = build_summary(rows, task.headline, len(ids), run_doc)
        store.write_summary(summary)
        model.close()
    return RunResult(folder, summary, outcomes)


def _run_item(
    suite: Suite,
    item_id: str,
    model: Model,
    clock: str,
    opts: SessionOptions,
    config: RunConfig,
    store: RunStore,
) -> ItemOutcome:
    item = suite.render(item_id)
    base = {"item_id": item_id, "spec_hash": item.spec_hash, "duration_s": item.duration}
    try:
        recording = run_session(model, item, clock, opts)
    except SessionFailed as exc:
        write_session_folder(
            store.session_dir(item_id), exc.recording, item, {"failure": exc.reason}
        )
        return ItemOutcome(item_id, "failed", {**base, "status": "failed", "reason": exc.reason})
    except DuplexError as exc:
        return ItemOutcome(item_id, "failed", {**base, "status": "failed", "reason": str(exc)})
    write_session_folder(store.session_dir(item_id), recording, item, {"model": config.model})
    analysis = analyze_output(recording, vad=config.vad, asr=config.asr)
    metrics = TASKS.get(suite.task).score(recording, item.annotations, analysis)
    row = {
        **base,
        "status": "ok",
        "metrics": metrics,
        "transcript": analysis.transcript.text,
        "timings": recording.timings,
    }
    return ItemOutcome(item_id, "ok", row)


def build_summary(
    rows: list[dict[str, Any]],
    headline: list[tuple[str, str, str]],
    n_items: int,
    run_doc: dict[str, Any],
) -> dict[str, Any]:
    ok = [r for r in rows if r.get("status") == "ok"]
    failed = [r for r in rows if r.get("status") == "failed"]
    keys = sorted({k for r in ok for k in r.get("metrics", {})})
    return {
        "suite": run_doc["config"]["suite"],
        "suite_version": run_doc["config"]["suite_version"],
        "model": run_doc["config"]["model"],
        "clock": run_doc["config"]["clock"],
        "backends": {"vad": run_doc["config"]["vad"], "asr": run_doc["config"]["asr"]},
        "items": {"planned": n_items, "ok": len(ok), "failed": len(failed)},
        "complete": len(ok) + len(failed) == n_items,
        "headline": [{"key": k, "label": lab, "better": d} for k, lab, d in headline],
        "metrics": summarize([r["metrics"] for r in ok], keys),
        "failures": [{"item_id": r["item_id"], "reason": r.get("reason")} for r in failed],
    }
