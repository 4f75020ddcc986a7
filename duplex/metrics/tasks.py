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
#: Non-numeric per-item fields (texts a judge or a reader needs), kept apart from the numbers so
#: that :func:`duplex.metrics.stats.summarize` only ever sees numbers.
Detailer = Callable[["Recording", "Annotations", "OutputAnalysis"], dict[str, str | None]]


class Headline(NamedTuple):
    """A figure a summary leads with; ``direction`` says which way is better."""

    key: str
    label: str
    direction: Literal["lower", "higher"]


@dataclass(frozen=True)
class Task:
    """``version`` changes whenever a scorer's definition changes, so stored results from
    different definitions are never compared. ``headline`` lists ``(metric key, label,
    direction)`` triples (build them with :class:`Headline` for readability).

    ``score`` returns numbers (or None where undefined); ``details``, when a task has it, returns
    the per-item strings (e.g. transcripts for a judge), stored beside the numbers as ``details``.
    """

    name: str
    version: str
    score: Scorer
    headline: list[tuple[str, str, str]]
    summary: str = ""
    details: Detailer | None = None

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
TASKS.add(
    "backchannel",
    "duplex.metrics.backchannel:TASK",
    "does the model backchannel where listeners would, without taking the turn",
)
TASKS.add(
    "turn_taking",
    "duplex.metrics.turn_taking:TASK",
    "does the model take the turn when the user is done, and how fast",
)
TASKS.add(
    "overlap",
    "duplex.metrics.overlap_handling:TASK",
    "overlapping speech (backchannel, side talk, background, interruption): resume or respond",
)
TASKS.add(
    "user_interruption",
    "duplex.metrics.user_interruption:TASK",
    "does the model stop when interrupted and answer the interruption",
)
