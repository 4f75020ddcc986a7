"""The task registry: task name -> everything the harness knows about a task.

A :class:`Task` is the one place that knows a task: how to score a recording of one of its items,
what each figure means (label, which way is better, whether it is the Full-Duplex-Bench-compatible
figure, its leaderboard column), which reactive cues its items must carry, what it derives from
an item's annotations before a session, and how its items look as Full-Duplex-Bench sample
folders. Tables, comparisons, the FDB reader and writer and the CLI ask the task; none of them
lists tasks of its own.

A task is a module that defines ``TASK = Task(...)``; it is listed here as a lazy entry, so
listing tasks imports nothing heavy and a task's dependencies load only when it is scored.
Adding a task is adding its module and one ``TASKS.add`` line (or ``TASKS.add(name, task)`` from
anywhere, e.g. a plug-in or a test).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from duplex.errors import ConfigError
from duplex.metrics.views import View
from duplex.registry import Registry

if TYPE_CHECKING:
    from duplex.annotations import Annotations
    from duplex.metrics.analysis import OutputAnalysis
    from duplex.scenarios import Suite
    from duplex.scenarios.base import ScenarioItem
    from duplex.simulator.recording import Recording
    from duplex.speech.asr import Transcript, Word

Value = float | int | None
Direction = Literal["lower", "higher"]
Scorer = Callable[["Recording", "Annotations", "OutputAnalysis"], dict[str, Value]]
#: Non-numeric per-item fields (texts a judge or a reader needs), kept apart from the numbers so
#: that :func:`duplex.metrics.stats.summarize` only ever sees numbers.
Detailer = Callable[["Recording", "Annotations", "OutputAnalysis"], dict[str, str | None]]
#: Per-turn rows of one item (a conversation's exchanges), stored as the row's ``turns``.
TurnRows = Callable[["Recording", "Annotations", "OutputAnalysis"], list[dict[str, Any]]]


class Headline(NamedTuple):
    """A figure a summary leads with; ``direction`` says which way is better."""

    key: str
    label: str
    direction: Direction


@dataclass(frozen=True)
class Metric:
    """One per-item figure of a task.

    ``direction``: which way is better (None: shown, never judged). ``headline``: a summary leads
    with it and ``compare`` gates on it by default. ``fdb``: computed by Full-Duplex-Bench's own
    definition, comparable with its published table up to the ASR backend. ``column``: its
    header on the cross-task leaderboard (None: not on it).
    """

    key: str
    label: str
    direction: Direction | None = None
    headline: bool = False
    fdb: bool = False
    column: str | None = None

    def __post_init__(self) -> None:
        if self.direction not in (None, "lower", "higher"):
            raise ConfigError(
                f"metric {self.key!r}: direction must be 'lower' or 'higher', got "
                f"{self.direction!r}"
            )
        if self.headline and self.direction is None:
            raise ConfigError(f"metric {self.key!r}: a headline figure needs a direction")


#: Reads one sample folder's annotation file(s) into our annotations. The second argument is
#: what :attr:`FdbFormat.context` loaded once for the whole task folder (None if it has none).
FdbReader = Callable[[Path, Any], "Annotations"]
#: Writes a session's annotation file(s) into a sample folder and returns the words that go into
#: ``output.json`` (the anchor's ASR step may crop the output, e.g. after an interruption).
FdbWriter = Callable[[Path, "Recording", "Annotations", "Transcript"], "Sequence[Word]"]


@dataclass(frozen=True)
class FdbFormat:
    """How a task's items look as Full-Duplex-Bench sample folders (see duplex.report.fdb)."""

    #: the per-sample annotation file that marks a folder as one of this task's samples
    annotation_file: str
    read: FdbReader
    write: FdbWriter
    #: shared data of a task folder, read once (the backchannel ground truth); None if none
    context: Callable[[Path], Any] | None = None
    #: other files whose presence also marks a sample folder (v1.5's metadata.json)
    also_marked_by: tuple[str, ...] = ()
    #: v1.5 pairs: the clean run's annotations from the overlapped run's. A task with it keeps
    #: both runs of a pair in one sample folder (the clean run's files prefixed ``clean_``) and
    #: reads them as two items, NAME and NAME.clean; None: one run per folder.
    clean: Callable[[Annotations], Annotations] | None = None


@dataclass(frozen=True)
class Task:
    """``version`` changes whenever a scorer's definition changes, so stored results from
    different definitions are never compared.

    ``score`` returns numbers (or None where undefined); ``details``, when a task has it, returns
    the per-item strings (e.g. transcripts for a judge), stored beside the numbers as ``details``.
    ``metrics`` describes the figures ``score`` returns (and any a judge adds later); a figure
    not listed is still stored and compared, without a direction. ``cues``: the reactive cue
    kinds (suite-file fields, e.g. ``interrupt``) every item of the task must carry.
    ``prepare``: annotations the task derives from an item's before a session (the backchannel
    reference). ``needs_words``: whether the scorer reads the transcript; when it does not, the
    ASR is skipped. ``rank``: the task's place on the leaderboard (Full-Duplex-Bench's order).
    ``view``: the user's turn, the event and the words of an item's response, read back from its
    row and ``session.json`` (:mod:`duplex.metrics.views`), for the arena and the rubric.
    ``turns``, when a task has it, returns per-turn rows (a conversation's exchanges), stored as
    the row's ``turns``.
    """

    name: str
    version: str
    score: Scorer
    metrics: tuple[Metric, ...]
    summary: str = ""
    details: Detailer | None = None
    cues: frozenset[str] = frozenset()
    prepare: Callable[[Annotations], Annotations] | None = None
    fdb: FdbFormat | None = None
    needs_words: bool = True
    rank: int = 100
    turns: TurnRows | None = None
    #: where the arena and the rubric find an item's response (None: they cannot judge the task)
    view: View | None = None
    _index: dict[str, Metric] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, Metric] = {}
        for m in self.metrics:
            if m.key in index:
                raise ConfigError(f"task {self.name}: metric {m.key!r} is listed twice")
            index[m.key] = m
        object.__setattr__(self, "_index", index)

    @property
    def headline(self) -> list[Headline]:
        """The figures a summary leads with, as ``(key, label, direction)``."""
        return [
            Headline(m.key, m.label, m.direction)
            for m in self.metrics
            if m.headline and m.direction
        ]

    def metric(self, key: str) -> Metric | None:
        return self._index.get(key)

    def directions(self) -> dict[str, Direction]:
        """Metric key -> which way is better, for every figure that has a direction."""
        return {m.key: m.direction for m in self.metrics if m.direction is not None}

    def columns(self) -> list[Metric]:
        """The task's figures on the cross-task leaderboard, anchor-compatible ones first."""
        shown = [m for m in self.metrics if m.column]
        return [m for m in shown if m.fdb] + [m for m in shown if not m.fdb]

    def prepared(self, annotations: Annotations) -> Annotations:
        return annotations if self.prepare is None else self.prepare(annotations)

    def prepare_item(self, item: ScenarioItem) -> ScenarioItem:
        """The item with what the task derives from its annotations (see ``prepare``)."""
        if self.prepare is None:
            return item
        return replace(item, annotations=self.prepare(item.annotations))


def leaderboard_columns(tasks: Sequence[Task]) -> list[tuple[str, Metric]]:
    """(task name, metric) per leaderboard column: every task's anchor-compatible figures in the
    anchor's task order, then ours in the same order."""
    ordered = sorted(tasks, key=lambda t: (t.rank, t.name))
    fdb = [(t.name, m) for t in ordered for m in t.columns() if m.fdb]
    ours = [(t.name, m) for t in ordered for m in t.columns() if not m.fdb]
    return fdb + ours


def load_task_suite(name_or_path: str) -> tuple[Suite, Task]:
    """A suite and the task that scores it, its items checked for the cues the task needs."""
    from duplex.scenarios import load_suite

    suite = load_suite(name_or_path)
    task = TASKS.get(suite.task)
    suite.require(task.cues, task.name)
    return suite, task


def all_tasks() -> list[Task]:
    """Every registered task, loaded (imports each task module)."""
    return [TASKS.get(name) for name in TASKS.names()]


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
    "user_interruption",
    "duplex.metrics.user_interruption:TASK",
    "does the model stop when interrupted and answer the interruption",
)
TASKS.add(
    "overlap",
    "duplex.metrics.overlap_handling:TASK",
    "overlapping speech (backchannel, side talk, background, interruption): resume or respond",
)
TASKS.add(
    "conversation",
    "duplex.metrics.conversation:TASK",
    "a multi-turn conversation with the examiner: fluency, instruction following, task score",
)
TASKS.add(
    "live",
    "duplex.metrics.live:TASK",
    "a live microphone session: response latency, take-overs, stops, backchannels",
)
