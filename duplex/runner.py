"""Run a scenario suite against a model: the library function behind `duplex-bench run`."""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from duplex.errors import ConfigError, DuplexError
from duplex.metrics import TASKS, analyze_output, summarize
from duplex.metrics.tasks import Task
from duplex.models.base import LockstepModel, Model
from duplex.models.registry import load_model
from duplex.provenance import environment
from duplex.report.store import RunStore
from duplex.scenarios import SUITES, load_suite
from duplex.scenarios.base import ScenarioItem
from duplex.simulator.clock import SPIN_MARGIN_S
from duplex.simulator.gcpause import few_gc_pauses
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
DEFAULT_MODEL = "cascade"


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
    #: real-time sessions in flight at once, each on its own timeline
    concurrency: int = 1
    #: extra attempts for an item whose session failed (network faults, a server restart)
    retries: int = 0
    #: also write each session in Full-Duplex-Bench's folder layout here
    export_fdb: Path | None = None
    #: lock-step items stepped together by a batch model (duplex.simulator.batch)
    batch: int = 1


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


OnItem = Callable[[ItemOutcome, int, int], None]


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


def _check(config: RunConfig) -> None:
    if config.concurrency < 1:
        raise ConfigError(f"--concurrency must be at least 1, got {config.concurrency}")
    if config.retries < 0:
        raise ConfigError(f"--retries must be 0 or more, got {config.retries}")
    if config.limit is not None and config.limit <= 0:
        raise ConfigError(f"--limit must be positive, got {config.limit}")
    if config.batch < 1:
        raise ConfigError(f"--batch must be at least 1, got {config.batch}")


class _Run:
    """One suite against one model: sessions, scoring and the append-only store."""

    def __init__(self, config: RunConfig, model: Model) -> None:
        self.config = config
        self.suite = load_suite(config.suite)
        self.task: Task = TASKS.get(self.suite.task)
        self.model = model
        self.clock = resolve_clock(config.clock, model)
        if config.concurrency > 1 and self.clock != "realtime":
            raise ConfigError("--concurrency needs --clock realtime (lock-step runs one at a time)")
        if config.batch > 1:
            _check_batch(config, model, self.clock)
        self.folder = config.out or default_out(self.suite.name, config.model)
        self.store = RunStore(self.folder)
        self.opts = SessionOptions(
            frame_ms=config.frame_ms,
            seed=config.seed,
            stopwatch=measured(),
            precise_wait_s=SPIN_MARGIN_S if config.concurrency == 1 else 0.0,
        )
        self.run_doc = {
            "config": {
                **asdict(config),
                "out": str(self.folder),
                "clock": self.clock,
                "suite": self.suite.name,
                "suite_version": self.suite.version,
                "task": self.task.name,
                "task_version": self.task.version,
            },
            "model": model.describe(),
            "backends": {"vad": vad_provenance(config.vad), "asr": asr_provenance()},
            "environment": environment(),
        }

    def base_row(self, item: ScenarioItem) -> dict[str, Any]:
        return {"item_id": item.item_id, "spec_hash": item.spec_hash, "duration_s": item.duration}

    def failed(self, item: ScenarioItem, reason: str, attempts: int) -> ItemOutcome:
        row = {**self.base_row(item), "status": "failed", "reason": reason, "attempts": attempts}
        return ItemOutcome(item.item_id, "failed", row)

    def score(self, item: ScenarioItem, recording: Recording, attempts: int) -> ItemOutcome:
        """Write the session folder, analyse the output and score it (thread-safe)."""
        annotations = recording.annotations or item.annotations
        write_session_folder(
            self.store.session_dir(item.item_id), recording, item, {"model": self.config.model}
        )
        analysis = analyze_output(recording, vad=self.config.vad, asr=self.config.asr)
        metrics = self.task.score(recording, annotations, analysis)
        details = self.task.details(recording, annotations, analysis) if self.task.details else None
        if self.config.export_fdb is not None:
            from duplex.report.fdb import export_fdb_session

            export_fdb_session(
                self.config.export_fdb / item.item_id,
                recording,
                annotations,
                self.task.name,
                transcript=analysis.transcript,
            )
        row = {
            **self.base_row(item),
            "status": "ok",
            "attempts": attempts,
            "metrics": metrics,
            **({"details": details} if details else {}),
            "transcript": analysis.transcript.text,
            "timings": recording.timings,
        }
        return ItemOutcome(item.item_id, "ok", row)

    def keep_failed_session(self, item: ScenarioItem, exc: SessionFailed) -> None:
        write_session_folder(
            self.store.session_dir(item.item_id), exc.recording, item, {"failure": exc.reason}
        )

    def session_sync(self, item: ScenarioItem) -> ItemOutcome:
        last = ""
        for attempt in range(1, self.config.retries + 2):
            try:
                if self.clock == "lockstep":
                    assert isinstance(self.model, LockstepModel)
                    recording = run_lockstep(self.model, item, self.opts)
                else:
                    with few_gc_pauses():
                        recording = asyncio.run(run_realtime(self.model, item, self.opts))
                return self.score(item, recording, attempt)
            except SessionFailed as exc:
                self.keep_failed_session(item, exc)
                last = exc.reason
            except DuplexError as exc:
                last = str(exc)
        return self.failed(item, last, self.config.retries + 1)

    async def session_async(
        self, item: ScenarioItem, scorer: concurrent.futures.Executor
    ) -> ItemOutcome:
        last = ""
        loop = asyncio.get_running_loop()
        for attempt in range(1, self.config.retries + 2):
            try:
                recording = await run_realtime(self.model, item, self.opts)
            except SessionFailed as exc:
                await loop.run_in_executor(scorer, self.keep_failed_session, item, exc)
                last = exc.reason
                continue
            except DuplexError as exc:
                last = str(exc)
                continue
            # Scoring (VAD, ASR) runs off the event loop so the other sessions keep their pace.
            return await loop.run_in_executor(scorer, self.score, item, recording, attempt)
        return self.failed(item, last, self.config.retries + 1)


def run_suite(
    config: RunConfig, *, on_item: OnItem | None = None, model: Model | None = None
) -> RunResult:
    """Run every (remaining) item, appending a result line as each finishes.

    A failing model is recorded per item with its reason and the suite goes on; an interrupt keeps
    every finished line and still writes a (partial) summary.
    """
    _check(config)
    owned = model is None
    model = model or load_model(config.model)
    run = _Run(config, model)
    done = run.store.open(run.run_doc, resume=config.resume)
    ids = run.suite.item_ids()
    ids = ids[: config.limit] if config.limit else ids
    todo = [i for i in ids if done.get(i, {}).get("status") != "ok"]
    outcomes = [ItemOutcome(i, "skipped", done[i]) for i in ids if i not in todo]
    progress = _Progress(on_item, len(ids))
    for outcome in outcomes:
        progress(outcome)
    try:
        if config.concurrency > 1:
            with few_gc_pauses():
                outcomes += asyncio.run(_run_concurrently(run, todo, progress))
        elif config.batch > 1:
            outcomes += _run_batched(run, todo, progress)
        else:
            for item_id in todo:
                outcome = run.session_sync(run.suite.render(item_id))
                run.store.append(outcome.row)
                outcomes.append(outcome)
                progress(outcome)
    finally:
        rows = [r for r in run.store.read_results().values() if r["item_id"] in set(ids)]
        summary = build_summary(rows, run.task.headline, len(ids), run.run_doc)
        run.store.write_summary(summary)
        if owned:
            model.close()
    return RunResult(run.folder, summary, outcomes)


class _Progress:
    def __init__(self, on_item: OnItem | None, total: int) -> None:
        self.on_item, self.total, self.done = on_item, total, 0

    def __call__(self, outcome: ItemOutcome) -> None:
        self.done += 1
        if self.on_item:
            self.on_item(outcome, self.done, self.total)


async def _run_concurrently(run: _Run, todo: list[str], progress: _Progress) -> list[ItemOutcome]:
    # Rendering is CPU work (TTS) that would stall running sessions, so it all happens first.
    items = [run.suite.render(i) for i in todo]
    gate = asyncio.Semaphore(run.config.concurrency)
    outcomes: list[ItemOutcome] = []
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="scoring") as scorer:

        async def one(item: ScenarioItem) -> None:
            async with gate:
                outcome = await run.session_async(item, scorer)
            run.store.append(outcome.row)
            outcomes.append(outcome)
            progress(outcome)

        async with asyncio.TaskGroup() as tg:
            for item in items:
                tg.create_task(one(item), name=f"session-{item.item_id}")
    return outcomes


def _check_batch(config: RunConfig, model: Model, clock: str) -> None:
    from duplex.models.batch import BatchLockstepModel

    if not isinstance(model, BatchLockstepModel):
        raise ConfigError(
            f"model {model.spec!r} does not step batches; --batch needs a batch model (moshi:)"
        )
    if clock != "lockstep":
        raise ConfigError("--batch steps items in lock-step; it cannot run with --clock realtime")
    if config.batch > model.max_batch:
        raise ConfigError(
            f"--batch {config.batch} is more than model {model.spec!r} takes ({model.max_batch}; "
            "its batch= argument raises it)"
        )


def _run_batched(run: _Run, todo: list[str], progress: _Progress) -> list[ItemOutcome]:
    """`run --batch N`: the items stepped N at a time; failed ones retried the same way."""
    from duplex.models.batch import BatchLockstepModel
    from duplex.simulator.batch import iter_lockstep_batch

    assert isinstance(run.model, BatchLockstepModel)
    outcomes: list[ItemOutcome] = []
    queue = todo
    for attempt in range(1, run.config.retries + 2):
        retry: list[str] = []
        items = (run.suite.render(item_id) for item_id in queue)
        for _, item, result in iter_lockstep_batch(run.model, items, run.opts, run.config.batch):
            if isinstance(result, SessionFailed):
                run.keep_failed_session(item, result)
                if attempt <= run.config.retries:
                    retry.append(item.item_id)
                    continue
                outcome = run.failed(item, result.reason, attempt)
            else:
                outcome = run.score(item, result, attempt)
            run.store.append(outcome.row)
            outcomes.append(outcome)
            progress(outcome)
        queue = retry
        if not queue:
            break
    return outcomes


def run_all(
    config: RunConfig, *, on_item: OnItem | None = None, model: Model | None = None
) -> list[RunResult]:
    """Every registered suite, one after another, each in ``OUT/<suite>``; the model loads once."""
    _check(config)
    owned = model is None
    model = model or load_model(config.model)
    root = config.out or default_out("all", config.model)
    try:
        return [
            run_suite(replace(config, suite=name, out=root / name), on_item=on_item, model=model)
            for name in SUITES.names()
        ]
    finally:
        if owned:
            model.close()


def build_summary(
    rows: list[dict[str, Any]],
    headline: list[tuple[str, str, str]],
    n_items: int,
    run_doc: dict[str, Any],
) -> dict[str, Any]:
    ok = [r for r in rows if r.get("status") == "ok"]
    failed = [r for r in rows if r.get("status") == "failed"]
    keys = sorted(
        {k for r in ok for k, v in r.get("metrics", {}).items() if not isinstance(v, str)}
    )
    cfg = run_doc["config"]
    return {
        "suite": cfg["suite"],
        "suite_version": cfg["suite_version"],
        "task": cfg["task"],
        "task_version": cfg["task_version"],
        "model": cfg["model"],
        "clock": cfg["clock"],
        "backends": {"vad": cfg["vad"], "asr": cfg["asr"]},
        "items": {"planned": n_items, "ok": len(ok), "failed": len(failed)},
        "complete": len(ok) + len(failed) == n_items,
        "headline": [{"key": k, "label": lab, "better": d} for k, lab, d in headline],
        "metrics": summarize([r["metrics"] for r in ok], keys),
        "failures": [{"item_id": r["item_id"], "reason": r.get("reason")} for r in failed],
    }
