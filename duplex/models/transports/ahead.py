"""Encoding a frame before its send deadline, so that at the deadline only its bytes are written.

Why: sphn's Opus encoder takes 1.2-1.8 ms per 80 ms frame at 24 kHz and holds the GIL while it
does (two threads encode no faster than one), so with the encode at the deadline 32 sessions on
one event loop spent about 50 ms of every 80 encoding back to back, and the last of them sent tens
of milliseconds late. The simulator hands each frame over as soon as it is final, one frame
before it is due (``StreamingSession.prepare``); the encode then runs in the slack between sends.

One :class:`EncodeAhead` per event loop serves every session on it. It runs one encode per loop
iteration (so a due send waits for at most one), earliest deadline first, and does not start an
encode that would still be running when an already-encoded frame is due: sends come first. An
encode that has not run by its frame's deadline runs at the send, as before (counted).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
import weakref
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from duplex.audio import Samples

#: First guess of one encode's duration (s), before any was measured.
INITIAL_COST_S = 0.002
#: How much the running estimate of an encode's duration decays per encode (it rises at once).
COST_DECAY = 0.98
#: Room kept before an encoded frame's deadline: the estimated encode time times this.
HEADROOM = 1.5
#: An encoded frame not sent this long after its deadline no longer holds encodes back (its
#: session is late already, or gone without cancelling).
GIVE_UP_S = 0.05


@dataclass(eq=False)
class AheadJob:
    """One frame to encode: ``encode(frame)`` runs at most once, before or at ``due``."""

    due: float  # loop time (asyncio's clock) of the send
    frame: Samples
    encode: Callable[[Samples], bytes | None]
    seq: int = 0
    done: bool = False
    cancelled: bool = False
    taken: bool = False
    result: bytes | None = None
    error: BaseException | None = field(default=None, repr=False)

    def run(self) -> None:
        self.done = True
        try:
            self.result = self.encode(self.frame)
        except BaseException as exc:  # re-raised at the send, where the session handles it
            # sphn's Rust panics are BaseExceptions too; only an interrupt goes straight up.
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            self.error = exc


class EncodeAhead:
    """The encodes of all sessions on one event loop (see the module docstring).

    Obtain it with :func:`encode_ahead`. ``counters``: ``encoded_ahead``, ``encoded_at_send``,
    ``waits`` (times an encode was held back for a send).
    """

    def __init__(self) -> None:
        self._pending: list[tuple[float, int, AheadJob]] = []  # not encoded yet
        self._encoded: list[tuple[float, int, AheadJob]] = []  # encoded, not sent yet
        self._seq = itertools.count()
        self._task: asyncio.Task[None] | None = None
        self._sent = asyncio.Event()  # set by take() of the job the scheduler waits for
        self._waiting_for: AheadJob | None = None
        self.cost_s = INITIAL_COST_S
        self.counters: Counter[str] = Counter()

    def submit(
        self, frame: Samples, due: float, encode: Callable[[Samples], bytes | None]
    ) -> AheadJob:
        """Queue ``encode(frame)`` for the send at loop time ``due``.

        A session's jobs must be taken in the order they were submitted (its encoder is a
        stream); jobs of one session never share a deadline, so deadline order is that order.
        """
        job = AheadJob(due, frame, encode, next(self._seq))
        heapq.heappush(self._pending, (due, job.seq, job))
        if self._task is None or self._task.done():
            # Owned by this object; it ends by itself when nothing is pending, and the loop
            # cancels it at shutdown. A job it never got to is run by take().
            self._task = asyncio.get_running_loop().create_task(self._run(), name="encode-ahead")
        return job

    def take(self, job: AheadJob) -> bytes | None:
        """The job's bytes, encoding them now if the scheduler has not; raises its error."""
        if not job.done:
            self.counters["encoded_at_send"] += 1
            job.run()  # left in the heap; skipped there since it is done
        job.taken = True
        if job is self._waiting_for:
            self._sent.set()
        if job.error is not None:
            raise job.error
        return job.result

    @staticmethod
    def cancel(job: AheadJob) -> None:
        """The session ends without sending ``job``'s frame: do not encode it."""
        job.cancelled = True

    def _next_send(self, now: float) -> AheadJob | None:
        """The earliest encoded frame still waiting for its send."""
        heap = self._encoded
        while heap and (heap[0][2].taken or heap[0][2].cancelled or heap[0][0] < now - GIVE_UP_S):
            heapq.heappop(heap)
        return heap[0][2] if heap else None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        heap = self._pending
        while heap:
            due, _, job = heap[0]
            if job.done or job.cancelled:
                heapq.heappop(heap)
                continue
            now = loop.time()
            send = self._next_send(now)
            if send is not None and send.due < due and send.due - now < HEADROOM * self.cost_s:
                # An encoded frame is due before this one and sooner than an encode takes: let
                # its send go first, then look again. Until its deadline; once it is overdue, its
                # sender is about to run (the loop is behind): until it does, or gives up.
                self.counters["waits"] += 1
                self._sent.clear()
                self._waiting_for = send
                until = send.due + (GIVE_UP_S if send.due <= now else 0.0002)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout_at(until):
                        await self._sent.wait()
                self._waiting_for = None
                continue
            heapq.heappop(heap)
            # CPU time, for the scheduling estimate only (nothing on the timeline uses it): how
            # long an encode holds the loop, not how long another process kept the core.
            t = time.thread_time()
            job.run()
            cost = time.thread_time() - t
            self.cost_s = max(cost, self.cost_s * COST_DECAY)
            self.counters["encoded_ahead"] += 1
            heapq.heappush(self._encoded, (due, job.seq, job))
            await asyncio.sleep(0)  # one encode per loop iteration: due sends get their turn


_per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, EncodeAhead] = (
    weakref.WeakKeyDictionary()
)


def encode_ahead() -> EncodeAhead:
    """The scheduler of the running event loop (created on first use)."""
    loop = asyncio.get_running_loop()
    scheduler = _per_loop.get(loop)
    if scheduler is None:
        scheduler = _per_loop[loop] = EncodeAhead()
    return scheduler
