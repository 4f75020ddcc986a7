"""Run a scenario suite against a model: the library function behind `duplex-bench run`."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from duplex.errors import ConfigError, DuplexError
from duplex.metrics import analyze_output
from duplex.metrics.conversation import CUE as CONVERSATION
from duplex.metrics.tasks import Task, load_task_suite
from duplex.models.base import LockstepModel, Model
from duplex.models.registry import load_model
from duplex.provenance import environment, run_folder
from duplex.report.documents import ResultRow, RunDoc, RunSettings, Summary, build_summary
from duplex.report.fdb import check_export_root, export_fdb_session, export_sample_dir
from duplex.report.fdb_suite import is_fdb_scenario, open_fdb_suite
from duplex.report.store import RunStore
from duplex.scenarios import SUITES
from duplex.scenarios.base import ScenarioItem
from duplex.simulator.gcpause import few_gc_pauses
from duplex.simulator.recording import Recording
from duplex.simulator.session import SessionFailed, SessionOptions, run_lockstep, run_realtime
from duplex.simulator.session_folder import write_session_folder
from duplex.speech.asr import asr_provenance
from duplex.speech.vad import vad_provenance
from duplex.timeline import SPIN_MARGIN_S, measured, no_compute
from duplex.writing import redact

if TYPE_CHECKING:
    from duplex.conversation import ExaminerSide

CLOCKS = ("auto", "lockstep", "realtime")
COMPUTE = ("measured", "none")
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
    #: the task of an ``fdb:PATH`` scenario when its files do not tell it
    task: str | None = None
    #: lock-step items stepped together by a batch model (duplex.simulator.batch)
    batch: int = 1
    #: who writes the conversation examiner's lines (conversation suites only): a language
    #: model spec (duplex.conversation.load_writer) or "script"
    examiner: str = "smollm2"
    #: lock-step: "measured" puts the model's compute time on the timeline; "none" puts none
    #: there, so that reruns are bit-identical
    compute: str = "measured"


@dataclass
class ItemOutcome:
    item_id: str
    status: str  # "ok" | "failed" | "skipped" (already done in a resumed run)
    row: ResultRow | None = field(default=None)


@dataclass
class RunResult:
    folder: Path
    summary: Summary
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
    return run_folder(suite, model)


def _check(config: RunConfig) -> None:
    if config.concurrency < 1:
        raise ConfigError(f"--concurrency must be at least 1, got {config.concurrency}")
    if config.retries < 0:
        raise ConfigError(f"--retries must be 0 or more, got {config.retries}")
    if config.limit is not None and config.limit <= 0:
        raise ConfigError(f"--limit must be positive, got {config.limit}")
    if config.batch < 1:
        raise ConfigError(f"--batch must be at least 1, got {config.batch}")
    if config.compute not in COMPUTE:
        raise ConfigError(f"--compute must be one of {', '.join(COMPUTE)}, got {config.compute!r}")


class ItemSource(Protocol):
    """What a run needs of a suite: a bundled or YAML suite, or FDB's data (``fdb:PATH``)."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    def item_ids(self) -> list[str]: ...

    def render(self, item_id: str) -> ScenarioItem: ...


def open_suite(name: str, task: str | None = None) -> tuple[ItemSource, Task]:
    """A suite by name or path, or ``fdb:PATH``, and the task that scores it."""
    if is_fdb_scenario(name):
        return open_fdb_suite(name, task)
    suite, spec = load_task_suite(name)
    if task is not None and task != spec.name:
        raise ConfigError(f"--task {task}: suite {suite.name!r} is scored by {spec.name!r}")
    return suite, spec


class _Run:
    """One suite against one model: sessions, scoring and the append-only store."""

    def __init__(self, config: RunConfig, model: Model) -> None:
        self.config = config
        self.suite, self.task = open_suite(config.suite, config.task)
        self.model = model
        self.clock = resolve_clock(config.clock, model)
        if config.concurrency > 1 and self.clock != "realtime":
            raise ConfigError("--concurrency needs --clock realtime (lock-step runs one at a time)")
        if config.batch > 1:
            _check_batch(config, model, self.clock)
        self.folder = config.out or default_out(self.suite.name, config.model)
        self.store = RunStore(self.folder)
        # A conversation suite's user side is the examiner, loaded once for the run.
        self.examiner: ExaminerSide | None = None
        if CONVERSATION in self.task.cues:
            from duplex.conversation import ExaminerSide

            self.examiner = ExaminerSide(config.examiner)
        self.opts = SessionOptions(
            frame_ms=config.frame_ms,
            seed=config.seed,
            stopwatch=measured() if config.compute == "measured" else no_compute(),
            precise_wait_s=SPIN_MARGIN_S if config.concurrency == 1 else 0.0,
            user_side=self.examiner,
        )
        self.asr = config.asr if self.task.needs_words else None
        #: item id -> its number in the suite (from 1): its sample folder's name in an FDB export
        self.index = {item_id: i for i, item_id in enumerate(self.suite.item_ids(), start=1)}
        if config.export_fdb is not None:
            check_export_root(config.export_fdb)
        settings = RunSettings(
            **{
                **asdict(config),
                "out": str(self.folder),
                # The spec as recorded: credentials in a model URL are never written anywhere.
                "model": redact(config.model),
                "export_fdb": None if config.export_fdb is None else str(config.export_fdb),
                "clock": self.clock,
                "suite": self.suite.name,
                "suite_version": self.suite.version,
                "task": self.task.name,
                "task_version": self.task.version,
                "asr": self.asr,
                "source": "fdb" if is_fdb_scenario(config.suite) else "suite",
            }
        )
        self.run_doc = RunDoc(
            config=settings,
            model=model.describe(),
            backends={
                "vad": vad_provenance(config.vad),
                "asr": None if self.asr is None else asr_provenance(self.asr),
                **({"examiner": self.examiner.describe()} if self.examiner else {}),
            },
            environment=environment(),
        )

    def render(self, item_id: str) -> ScenarioItem:
        return self.task.prepare_item(self.suite.render(item_id))

    def failed(self, item: ScenarioItem, reason: str, attempts: int) -> ItemOutcome:
        row = ResultRow.failure(
            item.item_id,
            reason,
            spec_hash=item.spec_hash,
            duration_s=item.duration,
            attempts=attempts,
        )
        return ItemOutcome(item.item_id, "failed", row)

    def score(self, item: ScenarioItem, recording: Recording, attempts: int) -> ItemOutcome:
        """Write the session folder, analyse the output and score it (thread-safe)."""
        annotations = recording.annotations or item.annotations
        write_session_folder(
            self.store.session_dir(item.item_id),
            recording,
            item,
            {"model": self.run_doc.config.model},
        )
        analysis = analyze_output(recording, vad=self.config.vad, asr=self.asr)
        task = self.task
        if self.config.export_fdb is not None:
            dest = export_sample_dir(
                self.config.export_fdb, task.name, self.index[item.item_id], item.item_id
            )
            export_fdb_session(dest, recording, annotations, task, transcript=analysis.transcript)
        row = ResultRow(
            item_id=item.item_id,
            status="ok",
            spec_hash=item.spec_hash,
            # the session's length: the item's, unless the user side ended it early (an examiner)
            duration_s=recording.duration,
            attempts=attempts,
            metrics=task.score(recording, annotations, analysis),
            details=task.details(recording, annotations, analysis) if task.details else {},
            turns=task.turns(recording, annotations, analysis) if task.turns else [],
            transcript=analysis.transcript.text,
            timings=recording.timings,
        )
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
                # Scoring (VAD, ASR) runs off the event loop so the other sessions keep their
                # pace; a scoring error is this item's failure, as in the sequential path.
                return await loop.run_in_executor(scorer, self.score, item, recording, attempt)
            except SessionFailed as exc:
                await loop.run_in_executor(scorer, self.keep_failed_session, item, exc)
                last = exc.reason
            except DuplexError as exc:
                last = str(exc)
        return self.failed(item, last, self.config.retries + 1)

    def summary(self, ids: list[str]) -> Summary:
        wanted = set(ids)
        rows = [r for r in self.store.read_results().values() if r.item_id in wanted]
        return build_summary(rows, self.task, len(ids), self.run_doc.config, seed=self.config.seed)


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
    try:
        run = _Run(config, model)
        done = run.store.open(run.run_doc, resume=config.resume)
        ids = run.suite.item_ids()
        ids = ids[: config.limit] if config.limit else ids
        todo = [i for i in ids if done.get(i) is None or done[i].status != "ok"]
        outcomes = [ItemOutcome(i, "skipped", done[i]) for i in ids if i not in todo]
        progress = _Progress(on_item, len(ids))
        for outcome in outcomes:
            progress(outcome)
        try:
            outcomes += _run_items(run, todo, progress)
        finally:
            summary = run.summary(ids)
            run.store.write_summary(summary)
            if run.examiner is not None:
                run.examiner.close()
    finally:
        if owned:
            model.close()
    return RunResult(run.folder, summary, outcomes)


def _run_items(run: _Run, todo: list[str], progress: _Progress) -> list[ItemOutcome]:
    if run.config.concurrency > 1:
        with few_gc_pauses():
            return _unwrap_group(lambda: asyncio.run(_run_concurrently(run, todo, progress)))
    if run.config.batch > 1:
        return _run_batched(run, todo, progress)
    outcomes: list[ItemOutcome] = []
    for item_id in todo:
        outcome = run.session_sync(run.render(item_id))
        _record(run, outcome, outcomes, progress)
    return outcomes


def _record(
    run: _Run, outcome: ItemOutcome, outcomes: list[ItemOutcome], progress: _Progress
) -> None:
    assert outcome.row is not None
    run.store.append(outcome.row)
    outcomes.append(outcome)
    progress(outcome)


def _unwrap_group(fn: Callable[[], list[ItemOutcome]]) -> list[ItemOutcome]:
    """Call ``fn``; a task group's error surfaces as its first error, not an ExceptionGroup,
    so the command line reports one line (a DuplexError) rather than a traceback."""
    try:
        return fn()
    except BaseExceptionGroup as group:
        first = group.exceptions[0]
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from group


class _Progress:
    def __init__(self, on_item: OnItem | None, total: int) -> None:
        self.on_item, self.total, self.done = on_item, total, 0

    def __call__(self, outcome: ItemOutcome) -> None:
        self.done += 1
        if self.on_item:
            self.on_item(outcome, self.done, self.total)


async def _run_concurrently(run: _Run, todo: list[str], progress: _Progress) -> list[ItemOutcome]:
    # Rendering is CPU work (TTS) that would stall running sessions, so it all happens first.
    items = [run.render(i) for i in todo]
    gate = asyncio.Semaphore(run.config.concurrency)
    outcomes: list[ItemOutcome] = []
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="scoring") as scorer:

        async def one(item: ScenarioItem) -> None:
            async with gate:
                outcome = await run.session_async(item, scorer)
            _record(run, outcome, outcomes, progress)

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
        items = (run.render(item_id) for item_id in queue)
        for _, item, result in iter_lockstep_batch(run.model, items, run.opts, run.config.batch):
            if isinstance(result, SessionFailed):
                run.keep_failed_session(item, result)
                if attempt <= run.config.retries:
                    retry.append(item.item_id)
                    continue
                outcome = run.failed(item, result.reason, attempt)
            else:
                outcome = run.score(item, result, attempt)
            _record(run, outcome, outcomes, progress)
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
