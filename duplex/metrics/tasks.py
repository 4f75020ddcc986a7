"""The task registry: task name -> how to score a recording of one of its items.

A task is a module that defines ``TASK = Task(...)``; it is listed here as a lazy entry, so
listing tasks imports nothing heavy and a task's dependencies load only when it is scored.
Adding a task is adding its module and one ``TASKS.add`` line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, NamedTuple

from duplex.errors import ConfigError
from duplex.registry import Registry

if TYPE_CHECKING:
    from duplex.metrics.analysis import OutputAnalysis
    from duplex.scenarios.base import Annotations
    from duplex.simulator.recording import Recording

Value = float | int | None
Scorer = Callable[["Recording", "Annotations", "OutputAnalysis"], dict[str, Value]]


class Headline(NamedTuple):
    """A figure a summary leads with; ``direction`` says which way is better."""

    key: str
    label: str
    direction: Literal["lower", "higher"]


@dataclass(frozen=True)
class Task:
    """``version`` changes whenever a scorer's definition changes, so stored results from
    different definitions are never compared. ``headline`` lists ``(metric key, label,
    direction)`` triples (build them with :class:`Headline` for readability)."""

    name: str
    version: str
    score: Scorer
    headline: list[tuple[str, str, str]]
    summary: str = ""

    def __post_init__(self) -> None:
        for key, _label, direction in self.headline:
            if direction not in ("lower", "higher"):
                raise ConfigError(
                    f"task {self.name}: headline {key!r} direction must be 'lower' or 'higher', "
                    f"got {direction!r}"
                )


TASKS: Registry[Task] = Registry("task")
TASKS.add(
    "pause_handling",
    "duplex.metrics.pause_handling:TASK",
    "does the model keep quiet through the user's mid-turn pauses",
)
