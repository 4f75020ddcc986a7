"""``--executor ray[:key=value,...]``: a run's items as work for actors on a Ray cluster.

Each actor (:class:`~duplex.executors.worker.ItemWorker`) loads the model once, with the resources
the spec gives it (``cpus``, fractional ``gpus``), and runs items through the runner's own code:
lock-step, real-time (on the worker's clock), ``--concurrency N`` sessions or ``--batch N`` items
per call. The driver hands each idle actor the next items, writes the session folders the actor
sends back and appends the rows: the run folder is the one a local run writes, append-only and
resumable (a killed driver loses only the items in flight).

A worker that dies (killed, out of memory, its node lost) is replaced by a new actor, which loads
the model again; the items it was running are tried again ``retries`` times, then recorded as
failed with the reason. An exception in the worker's code stops the run as it would locally.

Options: ``address`` (a running cluster: ``HOST:PORT`` of ``ray start --head``, or ``auto``;
none starts a local cluster in this process), ``workers`` (actors, default 1), ``cpus`` and
``gpus`` per actor (defaults 1 and 0), ``retries`` (default 1), ``load_timeout`` (seconds for
the actors to load the model, default 900). docs/scale.md has the details.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from duplex.errors import ConfigError, DuplexError, ModelError
from duplex.executors.base import (
    Finished,
    ModelFacts,
    deliver,
    parse_options,
    remote_model,
)
from duplex.executors.worker import ItemWorker
from duplex.models.base import Model
from duplex.report.documents import ResultRow
from duplex.runner import ItemOutcome, RunConfig, SuiteRun

NAME = "ray"


@dataclass(frozen=True)
class RayOptions:
    #: a running cluster (``HOST:PORT``, ``auto``); None starts a local one for this run
    address: str | None = None
    #: actors, each with its own copy of the model
    workers: int = 1
    #: CPUs and GPUs reserved per actor (fractions allowed: 0.5 GPU puts two actors on a GPU)
    cpus: float = 1.0
    gpus: float = 0.0
    #: further attempts for items whose worker died; then they are recorded as failed
    retries: int = 1
    #: seconds for every actor to start and load the model (actors wait for free resources)
    load_timeout: float = 900.0

    def check(self) -> None:
        if self.workers < 1:
            raise ConfigError(f"--executor ray: workers must be at least 1, got {self.workers}")
        if self.cpus < 0 or self.gpus < 0:
            raise ConfigError("--executor ray: cpus and gpus must not be negative")
        if self.retries < 0:
            raise ConfigError(f"--executor ray: retries must be 0 or more, got {self.retries}")
        if self.load_timeout <= 0:
            raise ConfigError("--executor ray: load_timeout must be positive")

    def describe(self) -> str:
        where = "local" if self.address is None else _host(self.address)
        return (
            f"ray:address={where},workers={self.workers},cpus={self.cpus:g},"
            f"gpus={self.gpus:g},retries={self.retries}"
        )


def _host(address: str) -> str:
    """The address without credentials (``ray://user:secret@host:10001`` -> ``ray://host:10001``)."""
    scheme, sep, rest = address.rpartition("://")
    return f"{scheme}{sep}{rest.rpartition('@')[2]}"


def make_ray_executor(args: dict[str, str]) -> RayExecutor:
    options = parse_options(RayOptions, NAME, args)
    options.check()
    return RayExecutor(options)


#: Ray reads this when imported: "0" keeps a cluster on this one machine, its services on
#: 127.0.0.1 (otherwise they listen on every interface, for nodes that will never join).
LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def _import_ray(local: bool) -> Any:
    if local and "ray" not in sys.modules:
        os.environ.setdefault(LOOPBACK_ENV, "0")
    try:
        import ray
    except ImportError as exc:
        raise ConfigError(
            "--executor ray needs the ray package: pip install 'duplex-bench[ray]'"
        ) from exc
    return ray


class RayExecutor:
    """Connects on first use, keeps one pool of actors per loaded model."""

    def __init__(self, options: RayOptions) -> None:
        self.options = options
        self._ray: Any = None
        self._started = False

    def describe(self) -> str:
        return self.options.describe()

    def _connect(self) -> Any:
        if self._ray is None:
            ray = _import_ray(local=self.options.address is None)
            if not ray.is_initialized():
                try:
                    ray.init(address=self.options.address, include_dashboard=False)
                except (ConnectionError, RuntimeError, ValueError) as exc:
                    raise ConfigError(
                        f"--executor ray: cannot reach a Ray cluster at "
                        f"{self.options.address or 'a new local one'}: {exc}"
                    ) from exc
                self._started = True
            self._ray = ray
        return self._ray

    def load_model(self, spec: str) -> Model:
        pool = _Pool(self._connect(), spec, self.options)
        try:
            facts = pool.facts()
        except BaseException:
            pool.close()
            raise
        return remote_model(facts, pool, pool.close)

    def run_items(
        self, run: SuiteRun, todo: list[str], record: Callable[[ItemOutcome], None]
    ) -> None:
        pool = getattr(run.model, "handle", None)
        if not isinstance(pool, _Pool):
            raise ConfigError(f"model {run.model.spec!r} was not loaded by the ray executor")
        pool.run(run, todo, record)

    def close(self) -> None:
        """Disconnect; a local cluster this executor started stops."""
        if self._ray is not None and self._started:
            self._ray.shutdown()
        self._ray, self._started = None, False


def _chunk(config: RunConfig) -> int:
    """Items per call: a batch for ``--batch``, the sessions in flight for ``--concurrency``."""
    if config.batch > 1:
        return config.batch
    return config.concurrency if config.clock == "realtime" else 1


def _first_line(exc: BaseException) -> str:
    return next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)


class _Pool:
    """The actors of one model; a dead actor is replaced by a fresh one."""

    def __init__(self, ray: Any, spec: str, options: RayOptions) -> None:
        self.ray, self.spec, self.options = ray, spec, options
        self.actor = ray.remote(ItemWorker).options(
            num_cpus=options.cpus, num_gpus=options.gpus, max_restarts=0, max_task_retries=0
        )
        self.cwd = os.getcwd()
        self.slots = [self._start() for _ in range(options.workers)]
        self.replaced = 0

    def _start(self) -> Any:
        return self.actor.remote(self.spec, self.cwd)

    def facts(self) -> ModelFacts:
        """Waits until every actor has loaded the model; its load error, if any, as is."""
        timeout = self.options.load_timeout
        try:
            found: list[ModelFacts] = self.ray.get(
                [a.facts.remote() for a in self.slots], timeout=timeout
            )
        except self.ray.exceptions.GetTimeoutError as exc:
            o = self.options
            raise ConfigError(
                f"--executor ray: {o.workers} worker(s) did not load model {self.spec!r} within "
                f"{timeout:g} s; does the cluster have cpus={o.cpus:g}, gpus={o.gpus:g} free for "
                "each? (load_timeout= sets the limit)"
            ) from exc
        except self.ray.exceptions.RayTaskError as exc:
            raise _cause(exc) from None
        except self.ray.exceptions.RayActorError as exc:
            raise ModelError(
                f"model {self.spec!r}: a ray worker died while loading it: {_first_line(exc)}"
            ) from exc
        return found[0]

    def replace(self, slot: int) -> None:
        self.ray.kill(self.slots[slot], no_restart=True)
        self.slots[slot] = self._start()
        self.replaced += 1

    def close(self) -> None:
        for actor in self.slots:
            # An actor already gone with its cluster holds nothing to release.
            with contextlib.suppress(Exception):
                self.ray.kill(actor, no_restart=True)
        self.slots = []

    def run(self, run: SuiteRun, todo: list[str], record: Callable[[ItemOutcome], None]) -> None:
        """Every item of ``todo`` recorded once: scored, failed in its session, or failed
        because its worker died ``retries + 1`` times."""
        size = _chunk(run.config)
        queue = deque((todo[i : i + size], 1) for i in range(0, len(todo), size))
        idle = list(range(len(self.slots)))
        pending: dict[Any, tuple[int, list[str], int]] = {}
        while queue or pending:
            while queue and idle:
                slot = idle.pop()
                ids, attempt = queue.popleft()
                pending[self.slots[slot].run.remote(run.config, ids)] = (slot, ids, attempt)
            ready, _ = self.ray.wait(list(pending), num_returns=1)
            slot, ids, attempt = pending.pop(ready[0])
            try:
                done: list[Finished] = self.ray.get(ready[0])
            except self.ray.exceptions.RayActorError as exc:
                self.replace(slot)
                if attempt <= self.options.retries:
                    queue.appendleft((ids, attempt + 1))
                else:
                    reason = f"ray worker died ({attempt} attempts): {_first_line(exc)}"
                    for item_id in ids:
                        row = ResultRow.failure(item_id, reason, attempts=attempt)
                        record(ItemOutcome(item_id, "failed", row))
            except self.ray.exceptions.RayTaskError as exc:
                raise _cause(exc) from None
            else:
                for finished in done:
                    record(_with_attempts(deliver(run, finished), attempt))
            idle.append(slot)


def _with_attempts(outcome: ItemOutcome, attempt: int) -> ItemOutcome:
    """Attempts lost with dead workers count as attempts of the item."""
    if attempt == 1 or outcome.row is None:
        return outcome
    tries = (outcome.row.attempts or 1) + attempt - 1
    return ItemOutcome(
        outcome.item_id, outcome.status, outcome.row.model_copy(update={"attempts": tries})
    )


def _cause(exc: Any) -> BaseException:
    """What to raise for an exception in a worker's code: a DuplexError as itself (one line on
    the command line, as locally); anything else is a bug and keeps Ray's remote traceback."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, DuplexError) else exc
