"""What every executor shares, whatever engine runs its workers.

- Specs: ``NAME`` or ``NAME:key=value,...``, parsed into typed options whose errors name the key.
- :class:`ModelFacts`: what the driver needs to know of a model loaded on the workers (its kind,
  frame, description), and :func:`remote_model`, the stand-in the driver's run holds for it. The
  driver never loads the model itself: on a cluster it may need a GPU the driver does not have.
- :class:`Finished`: one item's outcome and its session folder as bytes. Workers write nothing
  into the run folder (it may not even be on their file system); the driver writes the files,
  then appends the row, so the run folder is exactly what a local run writes.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, TypeVar

from duplex.errors import ConfigError, ResultsError
from duplex.models.base import (
    LockstepModel,
    LockstepSession,
    Model,
    SessionInfo,
    StreamingModel,
    StreamingSession,
)
from duplex.models.batch import BatchLockstepModel, BatchLockstepSession
from duplex.report.fdb import export_sample_dir
from duplex.runner import ItemOutcome, SuiteRun
from duplex.timeline import Clock

Kind = Literal["lockstep", "batch", "streaming"]
Opts = TypeVar("Opts")


def parse_executor_spec(spec: str) -> tuple[str, dict[str, str]]:
    """``"ray:workers=2,cpus=1"`` -> ``("ray", {"workers": "2", "cpus": "1"})``."""
    name, _, rest = spec.strip().partition(":")
    args: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise ConfigError(f"--executor {spec!r}: {part!r} is not key=value")
        if key.strip() in args:
            raise ConfigError(f"--executor {spec!r}: {key.strip()} is given twice")
        args[key.strip()] = value.strip()
    if not name:
        raise ConfigError(f"--executor {spec!r}: no executor name")
    return name, args


def parse_options(cls: type[Opts], name: str, args: Mapping[str, str]) -> Opts:
    """A dataclass of options from ``key=value`` strings, each converted to its default's type
    (a field defaulting to None takes a string); unknown keys and bad values are one error naming
    the key."""
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for key, raw in args.items():
        f = known.get(key)
        if f is None:
            raise ConfigError(
                f"--executor {name}: unknown option {key!r} (options: {', '.join(sorted(known))})"
            )
        kind: type = str if f.default is None else type(f.default)
        try:
            values[key] = kind(raw)
        except ValueError:
            raise ConfigError(
                f"--executor {name}: {key}={raw!r} is not a {kind.__name__}"
            ) from None
    return cls(**values)


# ------------------------------------------------------------------ the model, seen from the driver


@dataclass(frozen=True)
class ModelFacts:
    """A loaded model as the driver's run needs to know it (picklable)."""

    spec: str
    kind: Kind
    description: dict[str, Any]
    sample_rate: int
    frame_size: int
    max_batch: int
    needs_annotations: bool

    @classmethod
    def of(cls, model: Model) -> ModelFacts:
        kind: Kind = (
            "batch"
            if isinstance(model, BatchLockstepModel)
            else "lockstep"
            if isinstance(model, LockstepModel)
            else "streaming"
        )
        return cls(
            spec=model.spec,
            kind=kind,
            description=model.describe(),
            sample_rate=model.sample_rate,
            frame_size=getattr(model, "frame_size", 0),
            max_batch=getattr(model, "max_batch", 1),
            needs_annotations=model.needs_annotations,
        )


class _Remote:
    """A model that runs on an executor's workers; the driver only describes and releases it."""

    facts: ModelFacts
    handle: Any

    def _setup(self, facts: ModelFacts, handle: Any, release: Callable[[], None]) -> None:
        self.facts, self.handle, self._release = facts, handle, release
        self.spec = facts.spec
        self.sample_rate = facts.sample_rate
        self.needs_annotations = facts.needs_annotations

    def describe(self) -> dict[str, Any]:
        return self.facts.description

    def close(self) -> None:
        self._release()

    def _elsewhere(self) -> ConfigError:
        return ConfigError(f"model {self.spec!r} runs on the executor's workers, not the driver")


class RemoteLockstepModel(_Remote, LockstepModel):
    def __init__(self, facts: ModelFacts, handle: Any, release: Callable[[], None]) -> None:
        self._setup(facts, handle, release)
        self.frame_size = facts.frame_size

    def open(self, info: SessionInfo) -> LockstepSession:
        raise self._elsewhere()


class RemoteBatchModel(_Remote, BatchLockstepModel):
    def __init__(self, facts: ModelFacts, handle: Any, release: Callable[[], None]) -> None:
        self._setup(facts, handle, release)
        self.frame_size = facts.frame_size
        self.max_batch = facts.max_batch

    def open_batch(self, capacity: int) -> BatchLockstepSession:
        raise self._elsewhere()


class RemoteStreamingModel(_Remote, StreamingModel):
    def __init__(self, facts: ModelFacts, handle: Any, release: Callable[[], None]) -> None:
        self._setup(facts, handle, release)

    async def connect(self, info: SessionInfo, clock: Clock) -> StreamingSession:
        raise self._elsewhere()


_REMOTE: dict[Kind, type[Any]] = {
    "lockstep": RemoteLockstepModel,
    "batch": RemoteBatchModel,
    "streaming": RemoteStreamingModel,
}


def remote_model(facts: ModelFacts, handle: Any, release: Callable[[], None]) -> Model:
    """The driver's stand-in for a model loaded on workers: the same kind (so the run resolves
    its clock and checks ``--batch`` as for the real one), ``handle`` for the executor, and
    ``release`` called by :meth:`Model.close`."""
    model: Model = _REMOTE[facts.kind](facts, handle, release)
    return model


# --------------------------------------------------------------------- results, worker to driver


@dataclass
class Finished:
    """One item done on a worker: its outcome and the files a local run would have written."""

    outcome: ItemOutcome
    #: path relative to the run folder (``sessions/ITEM/...``) -> bytes
    files: dict[str, bytes] = field(default_factory=dict)
    #: path relative to the item's FDB sample folder -> bytes (``--export-fdb``)
    export: dict[str, bytes] = field(default_factory=dict)


def _read_tree(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def pack(run: SuiteRun, outcome: ItemOutcome) -> Finished:
    """On a worker: ``outcome`` with its session folder (and FDB sample folder), which are then
    removed from the worker's scratch folder."""
    session = run.store.session_dir(outcome.item_id)
    files = {f"sessions/{outcome.item_id}/{k}": v for k, v in _read_tree(session).items()}
    shutil.rmtree(session, ignore_errors=True)
    export: dict[str, bytes] = {}
    root = run.config.export_fdb
    if root is not None:
        sample = root / run.task.name / str(run.index[outcome.item_id])
        export = _read_tree(sample)
        shutil.rmtree(sample, ignore_errors=True)
    return Finished(outcome, files, export)


def deliver(run: SuiteRun, done: Finished) -> ItemOutcome:
    """In the driver: write what a worker sent into the run folder; the outcome to record."""
    item_id = done.outcome.item_id
    try:
        for rel, data in done.files.items():
            _write(run.folder / rel, data)
        root = run.config.export_fdb
        if root is not None and done.export:
            dest = export_sample_dir(root, run.task.name, run.index[item_id], item_id)
            for rel, data in done.export.items():
                _write(dest / rel, data)
    except OSError as exc:
        raise ResultsError(f"{run.folder}: cannot write item {item_id}: {exc}") from exc
    return done.outcome


def _write(path: Path, data: bytes) -> None:
    if ".." in path.parts:
        raise ResultsError(f"{path}: a worker sent a path outside the run folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
