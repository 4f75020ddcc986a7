"""Run a scenario suite against a model: the library function behind `duplex-bench run`."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

from duplex.errors import ConfigError, DuplexError
from duplex.metrics import analyze_each
from duplex.metrics.analysis import SCORE_BATCH, OutputAnalysis
from duplex.metrics.conversation import CUE as CONVERSATION
from duplex.metrics.tasks import Task, load_task_suite
from duplex.models.base import LockstepModel, Model
from duplex.models.registry import load_model
from duplex.provenance import environment, run_folder
from duplex.report.documents import ResultRow, RunDoc, RunSettings, Summary, build_summary
from duplex.report.fdb import check_export_root, export_item, sample_numbers
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
    #: the training step of the checkpoint measured (a sweep sets it); run.json's ``step``
    step: int | None = None
    #: who writes the conversation examiner's lines (conversation suites only): a language
    #: model spec (duplex.conversation.load_writer) or "script"
    examiner: str = "smollm2"
    #: lock-step: the model's compute time as measured goes on the timeline ("measured"), or
    #: none of it ("none": the model's own reaction alone, unaffected by the machine's load)
    compute: str = "measured"
    #: finished sessions scored together (lock-step and one-at-a-time real time): their outputs'
    #: windows share the ASR's batches on every core, with the same words as one at a time; a
    #: killed run has up to this many sessions on disk without a result line (resume reruns them)
    score_batch: int = SCORE_BATCH


class Ended(NamedTuple):
    """A session that ended with a recording, waiting to be scored."""

    item: ScenarioItem
    recording: Recording
    attempts: int


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


class Executor(Protocol):
    """Where a run's sessions run when not in this process (:mod:`duplex.executors`).

    The driver keeps the run folder: the executor hands back each finished item's outcome (its
    session folder already written into ``run``'s folder) and the runner appends it, so a run on
    any executor is append-only and resumable like a local one.
    """

    def describe(self) -> str:
        """The executor as recorded in run.json (no credentials)."""
        ...

    def load_model(self, spec: str) -> Model:
        """The model as the driver holds it (it may be loaded elsewhere); closing it releases
        whatever the executor started for it."""
        ...

    def run_items(
        self, run: SuiteRun, todo: list[str], record: Callable[[ItemOutcome], None]
    ) -> None:
        """Run ``todo`` and ``record`` every item's outcome in the driver, as each finishes."""
        ...

    def close(self) -> None:
        """Release what the executor started (its caller closes it, after every run)."""
        ...


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
    if config.score_batch < 1:
        raise ConfigError(f"--score-batch must be at least 1, got {config.score_batch}")
    if config.compute not in COMPUTE:
        raise ConfigError(
            f"unknown --compute {config.compute!r}; choose one of {', '.join(COMPUTE)}"
        )


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


class SuiteRun:
    """One suite against one model: sessions, scoring and the append-only store."""

    def __init__(self, config: RunConfig, model: Model, executor: Executor | None = None) -> None:
        self.config = config
        self.executor = executor
        self.suite, self.task = open_suite(config.suite, config.task)
        self.model = model
        self.clock = resolve_clock(config.clock, model)
        if config.concurrency > 1 and self.clock != "realtime":
            raise ConfigError("--concurrency needs --clock realtime (lock-step runs one at a time)")
        if config.batch > 1:
            _check_batch(config, model, self.clock)
        if config.compute == "none" and self.clock != "lockstep":
            raise ConfigError("--compute none needs --clock lockstep (real time is measured)")
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
        #: item id -> its sample folder's number in an FDB export (suite order, from 1)
        self.index = sample_numbers(self.task, self.suite.item_ids())
        if config.export_fdb is not None:
            check_export_root(config.export_fdb)
        settings = RunSettings(
            **{
                **{k: v for k, v in asdict(config).items() if k != "step"},
                "out": str(self.folder),
                # The spec as recorded: credentials in a model URL are never written anywhere.
                "model": redact(config.model),
                "executor": "local" if executor is None else executor.describe(),
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
            step=config.step,
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
        self.keep_session(item, recording)
        return self.score_many([Ended(item, recording, attempts)])[0]

    def keep_session(self, item: ScenarioItem, recording: Recording) -> None:
        notes = {"model": self.run_doc.config.model}
        write_session_folder(self.store.session_dir(item.item_id), recording, item, notes)

    def score_many(self, ended: Sequence[Ended]) -> list[ItemOutcome]:
        """Outcomes of sessions whose folders are written, their outputs analysed together; one
        that cannot be analysed is a failed outcome with the reason, the others are scored."""
        analyses = analyze_each([e.recording for e in ended], vad=self.config.vad, asr=self.asr)
        return [
            self.failed(e.item, str(a), e.attempts)
            if isinstance(a, DuplexError)
            else self._outcome(e, a)
            for e, a in zip(ended, analyses, strict=True)
        ]

    def _outcome(self, ended: Ended, analysis: OutputAnalysis) -> ItemOutcome:
        item, recording, task = ended.item, ended.recording, self.task
        annotations = recording.annotations or item.annotations
        if self.config.export_fdb is not None:
            number = self.index[item.item_id]
            root = self.config.export_fdb
            export_item(
                root, task, number, item.item_id, recording, annotations, analysis.transcript
            )
        row = ResultRow(
            item_id=item.item_id,
            status="ok",
            spec_hash=item.spec_hash,
            # the session's length: the item's, unless the user side ended it early (an examiner)
            duration_s=recording.duration,
            attempts=ended.attempts,
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

    def session_sync(self, item: ScenarioItem) -> Ended | ItemOutcome:
        """The item's session, retried as configured: ended (its folder written, to be scored),
        or failed."""
        last = ""
        for attempt in range(1, self.config.retries + 2):
            try:
                if self.clock == "lockstep":
                    assert isinstance(self.model, LockstepModel)
                    recording = run_lockstep(self.model, item, self.opts)
                else:
                    with few_gc_pauses():
                        recording = asyncio.run(run_realtime(self.model, item, self.opts))
                self.keep_session(item, recording)
                return Ended(item, recording, attempt)
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
    config: RunConfig,
    *,
    on_item: OnItem | None = None,
    model: Model | None = None,
    executor: Executor | None = None,
) -> RunResult:
    """Run every (remaining) item, appending a result line as each finishes.

    A failing model is recorded per item with its reason and the suite goes on; an interrupt keeps
    every finished line and still writes a (partial) summary. With an ``executor`` the sessions
    run where it puts them (``model`` is then the executor's).
    """
    _check(config)
    owned = model is None
    model = model or load_run_model(config.model, executor)
    try:
        run = SuiteRun(config, model, executor)
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


def load_run_model(spec: str, executor: Executor | None = None) -> Model:
    """The model a run holds: loaded here, or by the executor where it runs items."""
    return load_model(spec) if executor is None else executor.load_model(spec)


def run_items_here(run: SuiteRun, todo: list[str]) -> list[ItemOutcome]:
    """``todo`` in this process, as a local run would (an executor's worker calls this)."""
    return _run_items(run, todo, _Progress(None, len(todo)))


def _run_items(run: SuiteRun, todo: list[str], progress: _Progress) -> list[ItemOutcome]:
    if run.executor is not None:
        outcomes: list[ItemOutcome] = []
        run.executor.run_items(run, todo, lambda o: _record(run, o, outcomes, progress))
        return outcomes
    if run.config.concurrency > 1:
        with few_gc_pauses():
            return _unwrap_group(lambda: asyncio.run(_run_concurrently(run, todo, progress)))
    if run.config.batch > 1:
        return _run_batched(run, todo, progress)
    outcomes = []
    with _scoring(run, outcomes, progress) as score:
        for item_id in todo:
            ended = run.session_sync(run.render(item_id))
            if isinstance(ended, Ended):
                score(ended)
            else:
                _record(run, ended, outcomes, progress)
    return outcomes


def _record(
    run: SuiteRun, outcome: ItemOutcome, outcomes: list[ItemOutcome], progress: _Progress
) -> None:
    assert outcome.row is not None
    run.store.append(outcome.row)
    outcomes.append(outcome)
    progress(outcome)


@contextmanager
def _scoring(
    run: SuiteRun, outcomes: list[ItemOutcome], progress: _Progress
) -> Iterator[Callable[[Ended], None]]:
    """A function that queues an ended session for scoring: every ``score_batch`` of them are
    scored together and recorded, and what is queued when the block ends (an interrupt too) is
    scored then, so no finished session is left without its result line."""
    queue: list[Ended] = []

    def flush() -> None:
        batch = queue[:]
        queue.clear()  # before scoring: an error in it must not score the batch twice
        for outcome in run.score_many(batch) if batch else ():
            _record(run, outcome, outcomes, progress)

    def add(ended: Ended) -> None:
        queue.append(ended)
        if len(queue) >= run.config.score_batch:
            flush()

    try:
        yield add
    finally:
        flush()


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


async def _run_concurrently(
    run: SuiteRun, todo: list[str], progress: _Progress
) -> list[ItemOutcome]:
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


def _run_batched(run: SuiteRun, todo: list[str], progress: _Progress) -> list[ItemOutcome]:
    """`run --batch N`: the items stepped N at a time; failed ones retried the same way."""
    from duplex.models.batch import BatchLockstepModel
    from duplex.simulator.batch import iter_lockstep_batch

    assert isinstance(run.model, BatchLockstepModel)
    outcomes: list[ItemOutcome] = []
    queue = todo
    with _scoring(run, outcomes, progress) as score:
        for attempt in range(1, run.config.retries + 2):
            retry: list[str] = []
            items = (run.render(item_id) for item_id in queue)
            batches = iter_lockstep_batch(run.model, items, run.opts, run.config.batch)
            for _, item, result in batches:
                if not isinstance(result, SessionFailed):
                    run.keep_session(item, result)
                    score(Ended(item, result, attempt))
                    continue
                run.keep_failed_session(item, result)
                if attempt <= run.config.retries:
                    retry.append(item.item_id)
                    continue
                _record(run, run.failed(item, result.reason, attempt), outcomes, progress)
            queue = retry
            if not queue:
                break
    return outcomes


def run_all(
    config: RunConfig,
    *,
    on_item: OnItem | None = None,
    model: Model | None = None,
    executor: Executor | None = None,
) -> list[RunResult]:
    """Every registered suite, one after another, each in ``OUT/<suite>``; the model loads once."""
    _check(config)
    owned = model is None
    model = model or load_run_model(config.model, executor)
    root = config.out or default_out("all", config.model)
    try:
        return [
            run_suite(
                replace(config, suite=name, out=root / name),
                on_item=on_item,
                model=model,
                executor=executor,
            )
            for name in SUITES.names()
        ]
    finally:
        if owned:
            model.close()
