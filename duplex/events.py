"""The one event vocabulary: who did what, when, on the session clock.

``at`` is always a sample index at the session rate, counted from the session's first user
sample. Events are created by whoever observes the thing happen (the simulator for cues, the model
adapter or transport for model output), using the session's injected clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from duplex.audio import Samples


@dataclass(frozen=True, eq=False)
class ModelAudio:
    """The model produced audio (session rate); it plays from ``at`` or where playout is."""

    at: int
    samples: Samples


@dataclass(frozen=True)
class ModelText:
    """A piece of the model's text stream (inner monologue, transcript delta)."""

    at: int
    text: str


@dataclass(frozen=True)
class ModelAudioCleared:
    """Playout of everything the model queued after ``at`` is cut (barge-in on a bursty model)."""

    at: int


@dataclass(frozen=True)
class ModelFailed:
    """The model crashed, disconnected or broke its contract; the session ends early."""

    at: int
    reason: str


@dataclass(frozen=True)
class UserCueFired:
    """A reactive cue of the scenario fired (e.g. an interruption started)."""

    at: int
    name: str
    detail: dict[str, Any] = field(default_factory=dict)


ModelEvent = ModelAudio | ModelText | ModelAudioCleared | ModelFailed
Event = ModelEvent | UserCueFired


def event_to_json(event: Event, rate: int) -> dict[str, Any]:
    """JSON form for session.json; audio payloads are summarised, they live in the wav files."""
    out: dict[str, Any] = {
        "type": type(event).__name__,
        "at": event.at,
        "t": round(event.at / rate, 6),
    }
    if isinstance(event, ModelAudio):
        out["samples"] = int(event.samples.size)
    elif isinstance(event, ModelText):
        out["text"] = event.text
    elif isinstance(event, ModelFailed):
        out["reason"] = event.reason
    elif isinstance(event, UserCueFired):
        out["name"] = event.name
        out["detail"] = event.detail
    return out
