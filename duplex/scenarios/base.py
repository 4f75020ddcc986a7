"""What a rendered scenario item is: user audio on the session clock plus its annotations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from duplex.annotations import Annotations
from duplex.audio import SESSION_RATE, Samples


@dataclass(frozen=True, eq=False)
class ReactiveCue:
    """A user utterance whose start depends on what the model does.

    It starts ``after_model_onset`` seconds after the model is first heard speaking at or after
    ``armed_at``; if the model has not spoken by ``fallback_at``, it starts then. The simulator
    decides this while streaming, from the model audio already placed on the timeline, and records
    where it went as a :class:`duplex.annotations.Cue` in the session's resolved annotations.
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
    cues: tuple[ReactiveCue, ...] = ()  # reactive user utterances, placed during the session

    @property
    def duration(self) -> float:
        return self.audio.size / self.sample_rate
