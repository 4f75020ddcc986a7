"""The two faces of a system under test.

* :class:`LockstepModel` - frame in, frame out (Moshi-style, and every in-process model here).
  The simulator can step it as fast as it computes (lock-step clock) or at wall-clock pace.
* :class:`StreamingModel` - an asynchronous session: send user audio when it is due, receive model
  events whenever they come (websocket servers, realtime APIs). Real-time clock only.

The adapter :class:`duplex.models.adapters.LockstepAsStreaming` turns the first into the
second, so the real-time driver has one interface to talk to. A model object is loaded once per
run; a session is opened per scenario item.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from duplex.annotations import Annotations
from duplex.audio import Samples
from duplex.errors import ConfigError
from duplex.events import ModelEvent
from duplex.timeline import Clock, Stopwatch, measured


@dataclass(frozen=True)
class SessionInfo:
    """What a model may know about the session it is opened for.

    ``annotations`` is there for instrument models (the oracle); a real system under test must not
    read it. ``stopwatch`` is the session's measure of compute time: a model that budgets its own
    work (decode until so much time is spent) reads it instead of a wall clock, so that a
    lock-step run with the no-compute stopwatch is reproducible to the bit.
    """

    item_id: str
    sample_rate: int
    frame_size: int
    annotations: Annotations
    seed: int = 0
    stopwatch: Stopwatch = field(default_factory=measured, compare=False)


@dataclass(frozen=True, eq=False)
class StepOutput:
    """One frame of model audio (exactly ``frame_size`` samples) and any text it emitted."""

    audio: Samples
    texts: tuple[str, ...] = ()
    #: the model stopped talking: cut whatever of its earlier output is still queued for playout
    #: (a model that fell behind real time has a backlog it could not otherwise recall)
    clear: bool = False


class Model(ABC):  # noqa: B024 - abstract through its two subclasses, never used directly
    """A loaded system under test. ``spec`` is the string it was resolved from."""

    spec: str = ""
    sample_rate: int = 24000
    #: the model reads each item's annotations (an instrument that knows the answer): it has
    #: nothing to go on where there are none, in a served or a live session
    needs_annotations: bool = False

    def require_annotations_absent(self, where: str) -> None:
        """Refuse to run where sessions carry no annotations (``where``: "serve", "live")."""
        if self.needs_annotations:
            raise ConfigError(
                f"model {self.spec!r} reads each item's annotations (it is an instrument for "
                f"scored runs) and a {where} session has none; use a model that listens, "
                "e.g. 'scripted:latency=0.6'"
            )

    def describe(self) -> dict[str, Any]:
        """Provenance for results: whatever is needed to know exactly what was measured."""
        return {"spec": self.spec, "class": type(self).__name__}

    def close(self) -> None:  # noqa: B027 - optional hook, most models hold nothing to release
        """Release resources held for the run."""


class LockstepSession(ABC):
    @abstractmethod
    def step(self, frame: Samples) -> StepOutput:
        """Consume one user frame, return one model frame."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """End the session."""


class LockstepModel(Model):
    #: samples per frame at ``sample_rate``; 80 ms at 24 kHz, as Moshi.
    frame_size: int = 1920

    @abstractmethod
    def open(self, info: SessionInfo) -> LockstepSession:
        """Start a session for one scenario item."""


class StreamingSession(ABC):
    @abstractmethod
    async def send(self, frame: Samples) -> None:
        """Deliver one user frame (session rate); called when the frame is due on the clock."""

    def prepare(self, frame: Samples, due: float) -> None:  # noqa: B027 - optional hook
        """``frame`` is what the next :meth:`send` will deliver, at ``due`` on the session clock.

        Called as soon as the frame is final, a frame before it is due, so that a transport can
        do its CPU work (encoding) off the deadline; :meth:`send` then gets the same object.
        Must not block.
        """

    @abstractmethod
    def events(self) -> AsyncIterator[ModelEvent]:
        """Model events, stamped on the session clock, until the session ends."""

    async def finish(self) -> None:  # noqa: B027 - optional hook
        """No more user audio will come; let pending output drain."""

    @abstractmethod
    async def aclose(self) -> None:
        """Tear down; must be safe to call more than once."""

    def stats(self) -> dict[str, Any]:
        """Counters worth keeping in session.json (dropped frames, ignored messages...)."""
        return {}


class StreamingModel(Model):
    #: How long opening a session may take by the model's own settings (connection and handshake);
    #: the simulator's backstop deadline is never shorter than this.
    connect_timeout_s: float = 30.0

    @abstractmethod
    async def connect(self, info: SessionInfo, clock: Clock) -> StreamingSession:
        """Open a session; ``clock`` is the session clock used to stamp events."""


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model spec: ``name`` or ``name:key=value,key=value`` or a URL ``scheme://...``."""

    text: str
    name: str
    args: dict[str, str] = field(default_factory=dict)
    target: str = ""  # the URL of a transport spec, the python path of a `python:` spec
