"""The session timeline: the injected clock, the stopwatch that puts compute on it, and spans.

Nothing else in the harness reads wall time for the timeline. Real-time pacing schedules every
frame against the start time (``t0 + n * frame``), never as a loop of ``sleep(frame)``, whose
per-call overshoot accumulates into drift. Lock-step sessions have no clock at all: their time is
the frame index, plus the compute time an injected :data:`Stopwatch` measures.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

#: asyncio's timer wakes up late by a millisecond or more on Linux (epoll rounds its timeout up
#: to whole milliseconds), so the last stretch before a deadline is a blocking ``time.sleep``,
#: which the kernel's high-resolution timers end within tens of microseconds. Blocking the loop
#: that briefly loses no event (they queue), and unlike a busy ``sleep(0)`` spin it releases the
#: GIL: a spin starved an in-process model's worker thread and doubled its compute time.
#: 4 ms rather than 2: on a loaded 2-core machine the loop's wake-up itself was 2+ ms late at the
#: 99th percentile (p99 send lateness 1.35 ms at 2 ms, 0.29 ms at 4 ms). The cost: a network
#: message arriving during that window is stamped up to 4 ms late.
SPIN_MARGIN_S = 0.004

#: How a lock-step driver (or a model that budgets its own compute) learns how much time has
#: passed: an injected stopwatch, so that a test, or a user who wants bit-identical reruns, can put
#: zero compute time on the timeline.
Stopwatch = Callable[[], float]


def measured() -> Stopwatch:
    """The process's monotonic high-resolution clock: compute time as it really is."""
    return time.perf_counter


def no_compute() -> Stopwatch:
    """A stopwatch that never moves: every step takes no time; reruns are bit-identical."""
    return lambda: 0.0


class Clock(ABC):
    """Seconds since the session started, and a way to wait for a point on that timeline."""

    def __init__(self, rate: int) -> None:
        self.rate = rate

    @abstractmethod
    def now(self) -> float: ...

    @abstractmethod
    async def sleep_until(self, t: float) -> None: ...

    def now_samples(self) -> int:
        return round(self.now() * self.rate)


class RealtimeClock(Clock):
    """Wall-clock time from a monotonic source, zeroed at :meth:`start`."""

    def __init__(
        self,
        rate: int,
        source: Callable[[], float] = time.perf_counter,
        precise_wait_s: float = SPIN_MARGIN_S,
    ) -> None:
        super().__init__(rate)
        self._source = source
        self._t0: float | None = None
        # Many sessions sharing one event loop must not block it in turn; they pass 0 and accept
        # asyncio's millisecond timer precision.
        self.precise_wait_s = precise_wait_s

    def start(self) -> None:
        self._t0 = self._source()

    @property
    def started(self) -> bool:
        return self._t0 is not None

    def now(self) -> float:
        if self._t0 is None:
            raise RuntimeError("clock not started")
        return self._source() - self._t0

    async def sleep_until(self, t: float) -> None:
        margin = self.precise_wait_s
        remaining = t - self.now()
        if remaining > margin:
            await asyncio.sleep(remaining - margin)
        remaining = t - self.now()
        if remaining > 0 and margin > 0:
            time.sleep(remaining)  # noqa: ASYNC251 - deliberate, at most SPIN_MARGIN_S; see above


@dataclass(frozen=True)
class Span:
    """A stretch of the timeline, in seconds from the session's first sample."""

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
