"""Executors: where a run's sessions run when one process is not enough (``--executor``).

``local`` (the default) is the runner itself. Any other executor implements
:class:`duplex.runner.Executor`: the driver keeps the run folder and appends every result, the
executor runs items elsewhere (``ray``: actors of a Ray cluster, :mod:`duplex.executors.ray`).
A spec is ``NAME`` or ``NAME:key=value,...``; adding an executor is a module and a line here.
"""

from __future__ import annotations

from collections.abc import Callable

from duplex.errors import ConfigError
from duplex.executors.base import parse_executor_spec
from duplex.registry import Registry
from duplex.runner import Executor

#: name -> factory taking the spec's ``key=value`` arguments
ExecutorFactory = Callable[[dict[str, str]], Executor]

EXECUTORS: Registry[ExecutorFactory] = Registry("executor")
EXECUTORS.add(
    "ray",
    "duplex.executors.ray:make_ray_executor",
    "actors of a Ray cluster (extra [ray]): "
    "ray[:address=HOST:PORT,workers=N,cpus=C,gpus=G,retries=R]",
)
LOCAL = "local"


def load_executor(spec: str | None) -> Executor | None:
    """The executor a ``--executor`` spec names; None for ``local`` (this process)."""
    if spec is None or spec.strip() == LOCAL:
        return None
    name, args = parse_executor_spec(spec)
    if name == LOCAL:
        raise ConfigError(f"--executor {spec!r}: local takes no arguments")
    return EXECUTORS.get(name)(args)


def executor_names() -> list[str]:
    return [LOCAL, *EXECUTORS.names()]
