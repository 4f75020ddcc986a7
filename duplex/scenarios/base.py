"""What a rendered scenario item is: user audio on the session clock plus its annotations.

Annotation times are in seconds from the first sample of the item (JSON-friendly and the unit of
Full-Duplex-Bench's files); the metrics convert to samples with the recording's rate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from duplex.audio import SESSION_RATE, Samples


@dataclass(frozen=True)
class Span:
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class SpeechSpan:
    """Where the user speaks one stretch of text (speech edges, not TTS padding)."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Annotations:
    """What the metrics need to know about an item.

    ``turn_start``/``turn_end`` bound the user's turn (first and last voiced sample); ``pauses`` are
    the silent gaps inside it; ``extra`` carries task-specific fields added by other suites.
    """

    speech: tuple[SpeechSpan, ...]
    pauses: tuple[Span, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def turn_start(self) -> float:
        return self.speech[0].start if self.speech else 0.0

    @property
    def turn_end(self) -> float:
        return self.speech[-1].end if self.speech else 0.0

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.speech)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["turn_start"] = self.turn_start
        d["turn_end"] = self.turn_end
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Annotations:
        return cls(
            speech=tuple(SpeechSpan(**s) for s in d.get("speech", [])),
            pauses=tuple(Span(**p) for p in d.get("pauses", [])),
            extra=dict(d.get("extra", {})),
        )


@dataclass(frozen=True, eq=False)
class Cue:
    """A user utterance whose start depends on what the model does (a reactive cue).

    It starts ``after_model_onset`` seconds after the model is first heard speaking at or after
    ``armed_at``; if the model has not spoken by ``fallback_at``, it starts then. The simulator
    decides this while streaming, from the model audio already placed on the timeline, and records
    what it did in the session's resolved annotations (``extra["cues"]``).
    """

    name: str  # e.g. "interrupt"
    text: str
    audio: Samples  # trimmed speech at the item's sample rate
    after_model_onset: float
    armed_at: float
    fallback_at: float

    @property
    def duration(self) -> float:
        return self.audio.size / SESSION_RATE


@dataclass(frozen=True, eq=False)
class ScenarioItem:
    """One rendered item of a suite, ready to stream."""

    suite: str
    suite_version: str
    item_id: str
    audio: Samples  # user channel at ``sample_rate``
    sample_rate: int
    annotations: Annotations
    spec_hash: str  # content hash of the item spec and renderer settings (the cache key)
    provenance: dict[str, Any] = field(default_factory=dict)  # voice, rate, seed, TTS backend...
    cues: tuple[Cue, ...] = ()  # reactive user utterances, placed during the session

    @property
    def duration(self) -> float:
        return self.audio.size / self.sample_rate
