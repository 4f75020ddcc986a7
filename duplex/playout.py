"""Where a listener hears the model's audio: one playout rule, one policy object per site.

A chunk of model audio that became available at sample ``at`` of the session clock plays from
``at`` or from where the audio before it stops, whichever is later (a speaker plays one thing at a
time, and a burst faster than real time is played out at real-time rate), and never before the
read head (what was already played or sent cannot change). :class:`Playout` answers that question
and nothing else: chunks stamped with their arrival go in, :class:`Placement` answers come out,
no audio is stored and no clock is read (sans-I/O). A :class:`PlayoutPolicy` states what may be
dropped instead of played, and :class:`PlayoutCounts` counts every offered sample:
``placed + dropped + skipped == offered``.

Storage is separate, one thin adapter per way the audio is used: :class:`ArrayPlayout` writes into
a channel of the session's length (the simulator's Recorder), :class:`FrameReader` reads it out one
frame at a time (``serve`` answering each received frame), :class:`DeviceQueue` is the speaker's
queue, pushed from the event loop and pulled from a device thread (``live``), and the transports
keep only the bookkeeping (how much is queued now, where a chunk starts).

The policies, one per site, and why they differ:

* :data:`STREAMING` (Recorder, streaming models; ``realtime+ws`` bookkeeping): plain FIFO, nothing
  dropped. A bursty server's silences are meant and its bursts are played out at real-time rate.
* :data:`FRAME_SYNCHRONOUS` (Recorder, lock-step models on either clock): a chunk of digital
  silence that would have to wait behind earlier audio is skipped whole, as an adaptive playout
  buffer shortens silence to catch up; otherwise one slow step would delay everything the model
  says afterwards. Speech always queues. Whole frames, because the model emits one per step.
* :func:`jitter_buffer` (``moshi+ws``, 100 ms by default): a chunk that would start more than the
  limit after its arrival is dropped whole and counted. After a server stall the frame-synchronous
  catch-up burst would otherwise be played behind real time and shift everything after it; a live
  client's jitter buffer drops it, and the timeline keeps a gap where the server stalled.
* :func:`frame_reader` (``serve``, 60 s): audio that arrives after the reader has passed its time
  plays at once; a chunk that would end more than the capacity past the read head is dropped
  whole. The capacity bounds memory, it is not a latency rule: the client decides playout.
* :data:`SPEAKER` (``live``): a backlog of zero, silence only. Every hiccup of the event loop or
  burst of a resampler would otherwise add to the model's latency for the rest of the session;
  on a device the queue is audible, so only digital silence (below -80 dBFS) goes: an arriving
  silent chunk loses the part that is late, and silence queued last goes before arriving speech.
  Speech is never dropped.

All policies cut the same way: ``ModelAudioCleared(at)`` removes what is queued from ``at`` (or the
read head, if later) on; the cursor never moves forward. The end of the timeline (``end``, the
Recorder's session length) drops and counts what would play past it, and the cursor still moves as
if it had played, so later chunks queue behind it as they would have.
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass, replace
from typing import Literal, NamedTuple

import numpy as np

from duplex.audio import Samples


@dataclass(frozen=True)
class Backlog:
    """How late (samples after its arrival) a chunk may start, and what goes when it is later.

    ``drop="chunk"``: the late chunk is dropped whole. ``drop="silence"``: only digital silence
    goes (the late part of an arriving silent chunk, and silence queued last before arriving
    speech); speech is never dropped.
    """

    limit: int
    drop: Literal["chunk", "silence"]


@dataclass(frozen=True)
class PlayoutPolicy:
    """What a playout may drop instead of playing (see the module docstring for each site)."""

    name: str
    #: a silent chunk that would have to wait behind earlier audio: queued ("keep") or not
    #: played at all ("skip")
    queued_silence: Literal["keep", "skip"] = "keep"
    backlog: Backlog | None = None
    #: samples a storage may hold ahead of its read head; a chunk ending past it is dropped whole
    capacity: int | None = None
    #: the timeline's length; audio past it is dropped and counted
    end: int | None = None
    #: a chunk whose every sample is at most this loud is silence (0.0: digital zeros only)
    silence_level: float = 0.0

    @property
    def tracks_silence(self) -> bool:
        """Whether every chunk's silence matters (for dropping queued silence later)."""
        return self.backlog is not None and self.backlog.drop == "silence"

    def until(self, end: int) -> PlayoutPolicy:
        """This policy on a timeline of ``end`` samples."""
        return replace(self, end=end)


STREAMING = PlayoutPolicy("streaming")
FRAME_SYNCHRONOUS = PlayoutPolicy("frame-synchronous", queued_silence="skip")
#: -80 dBFS: what a resampler leaves of digital silence is silence too
SPEAKER = PlayoutPolicy("speaker", backlog=Backlog(0, "silence"), silence_level=1e-4)


def jitter_buffer(limit: int | None) -> PlayoutPolicy:
    """A network client's: chunks starting more than ``limit`` samples late are dropped whole."""
    if limit is None:
        return STREAMING
    return PlayoutPolicy("jitter-buffer", backlog=Backlog(limit, "chunk"))


def frame_reader(capacity: int) -> PlayoutPolicy:
    """Read out a frame at a time, holding at most ``capacity`` samples ahead of the reader."""
    return PlayoutPolicy("frame-reader", capacity=capacity)


@dataclass
class PlayoutCounts:
    """Every offered sample is placed, dropped or skipped; ``cut`` and ``delayed`` come on top."""

    offered: int = 0
    placed: int = 0  # given a place on the timeline (less queued silence dropped later)
    skipped: int = 0  # silence not played
    dropped_late: int = 0  # backlog limit
    dropped_full: int = 0  # capacity
    dropped_past_end: int = 0
    dropped_chunks: int = 0  # chunks dropped whole (late or full)
    delayed: int = 0  # sum over placed chunks of how long each waited for earlier audio
    cut: int = 0  # samples of queued playout removed by cuts

    @property
    def dropped(self) -> int:
        return self.dropped_late + self.dropped_full + self.dropped_past_end


class Cleared(NamedTuple):
    """Queued audio in ``[start, stop)`` no longer plays."""

    start: int
    stop: int


class Placement(NamedTuple):
    """The answer for one chunk ``x``: ``x[lo:hi]`` plays from sample ``start``.

    ``lo > 0`` when the late front of a silent chunk was skipped, ``hi < x.size`` when the rest
    lies past the end of the timeline. ``cleared``: queued audio removed before this chunk (silence
    dropped before speech); a storage removes it before writing.
    """

    fate: Literal["placed", "skipped", "dropped"]
    start: int
    lo: int = 0
    hi: int = 0
    cleared: Cleared | None = None

    @property
    def dropped(self) -> bool:
        return self.fate == "dropped"


def is_silent(x: Samples, level: float) -> bool:
    if level <= 0.0:
        return not x.any()
    return not np.any(np.abs(x) > level)


class Playout:
    """The playout cursor of one model channel, under one policy (sans-I/O).

    Times are samples of the session clock given by the caller. ``cursor`` is where the next chunk
    may start (the end of what is queued); ``head`` is where a reader is (nothing is placed before
    it; it stays 0 when nothing reads the audio out).
    """

    def __init__(self, policy: PlayoutPolicy = STREAMING) -> None:
        self.policy = policy
        self.cursor = 0
        self.head = 0
        self.counts = PlayoutCounts()
        # Start of the silence queued last (== cursor when the last chunk was speech): how far
        # SPEAKER may go back to drop silence before arriving speech.
        self._silent_from = 0
        self._tracks_silence = policy.tracks_silence

    def offer(self, at: int, x: Samples) -> Placement:
        """Where ``x``, available from sample ``at``, plays (or that it does not)."""
        n = x.size
        policy, counts = self.policy, self.counts
        counts.offered += n
        # Looked at only when it matters: a pass over every chunk costs more than placing it.
        silent = is_silent(x, policy.silence_level) if self._tracks_silence else None
        start = max(self.cursor, at, self.head)
        if policy.queued_silence == "skip" and start > at:
            if silent is None:
                silent = is_silent(x, policy.silence_level)
            if silent:
                counts.skipped += n
                return Placement("skipped", start)
        lo, cleared = 0, None
        backlog = policy.backlog
        if backlog is not None and start - at > backlog.limit:
            excess = start - at - backlog.limit
            if backlog.drop == "chunk":
                counts.dropped_late += n
                counts.dropped_chunks += 1
                return Placement("dropped", start)
            if silent:  # the late part of arriving silence goes
                lo = min(excess, n)
                counts.skipped += lo
                if lo == n:
                    return Placement("skipped", start, n, n)
            else:  # silence queued last goes before speech
                cleared = self._unqueue_silence(excess)
                start = max(self.cursor, at, self.head)
        if policy.capacity is not None and start + n - lo - self.head > policy.capacity:
            counts.dropped_full += n - lo  # a skipped front is counted once, as skipped
            counts.dropped_chunks += 1
            return Placement("dropped", start, cleared=cleared)
        return self._place(at, start, lo, n, silent, cleared)

    def _place(
        self, at: int, start: int, lo: int, n: int, silent: bool | None, cleared: Cleared | None
    ) -> Placement:
        stop = start + n - lo
        inside = stop - start
        if self.policy.end is not None:
            inside = max(0, min(stop, self.policy.end) - start)
            self.counts.dropped_past_end += stop - start - inside
        self.counts.placed += inside
        self.counts.delayed += start - at
        if self._tracks_silence:
            if not silent:
                self._silent_from = stop
            elif start != self.cursor:  # after a gap: the silence queued last starts here
                self._silent_from = start
        self.cursor = stop
        return Placement("placed", start, lo, lo + inside, cleared)

    def _unqueue_silence(self, excess: int) -> Cleared | None:
        keep = max(self.cursor - excess, self._silent_from, self.head)
        if keep >= self.cursor:
            return None
        removed = Cleared(keep, self.cursor)
        self.counts.skipped += self.cursor - keep
        self.counts.placed -= self.cursor - keep
        self.cursor = keep
        return removed

    def cut(self, at: int) -> Cleared | None:
        """Remove what is queued from ``at`` on (``ModelAudioCleared(at)``)."""
        start = max(at, self.head)
        if self.cursor <= start:
            return None
        cleared = Cleared(start, self.cursor)
        self.counts.cut += self.cursor - start
        self.cursor = start
        self._silent_from = min(self._silent_from, start)
        return cleared

    def advance(self, n: int) -> None:
        """The reader played (or sent) ``n`` more samples."""
        self.head += n

    def queued(self, now: int | None = None) -> int:
        """Samples placed but not yet played at ``now`` (default: the read head)."""
        return max(0, self.cursor - max(self.head if now is None else now, self.head))


class ArrayPlayout:
    """The model channel of a session in one array of the session's length (the Recorder)."""

    def __init__(self, length: int, policy: PlayoutPolicy = STREAMING) -> None:
        self.channel = np.zeros(length, dtype=np.float32)
        self.core = Playout(policy.until(length))

    def add(self, at: int, x: Samples) -> Placement:
        placement = self.core.offer(at, x)
        self._clear(placement.cleared)
        played = x[placement.lo : placement.hi]
        if played.size:
            self.channel[placement.start : placement.start + played.size] = played
        return placement

    def cut(self, at: int) -> None:
        self._clear(self.core.cut(at))

    def _clear(self, cleared: Cleared | None) -> None:
        if cleared is not None:
            self.channel[max(cleared.start, 0) : cleared.stop] = 0.0


class _Unplayed:
    """The samples from a read head on, kept as the chunks they came in (appending copies none)."""

    def __init__(self) -> None:
        self._chunks: collections.deque[Samples] = collections.deque()
        self._offset = 0  # samples of the first chunk already read
        self.size = 0

    def write(self, offset: int, x: Samples) -> None:
        """Put ``x`` at ``offset`` samples after the head, at or after the end of what is held."""
        if offset > self.size:  # nothing arrived for that stretch: it plays as silence
            self._append(np.zeros(offset - self.size, np.float32))
        self._append(x)

    def _append(self, x: Samples) -> None:
        if x.size:
            self._chunks.append(x)
            self.size += x.size

    def truncate(self, keep: int) -> None:
        """Keep the first ``keep`` unread samples, drop the rest (newest first)."""
        excess = self.size - max(keep, 0)
        while excess > 0:
            last = self._chunks[-1]
            left = last.size - (self._offset if len(self._chunks) == 1 else 0)
            if left <= excess:
                self._chunks.pop()
                if not self._chunks:
                    self._offset = 0
                drop = left
            else:
                self._chunks[-1] = last[: last.size - excess]
                drop = excess
            self.size -= drop
            excess -= drop

    def read(self, out: Samples) -> int:
        """Fill ``out`` from the front; return how many samples there were (the rest is left)."""
        filled = 0
        while filled < out.size and self._chunks:
            head = self._chunks[0]
            take = min(out.size - filled, head.size - self._offset)
            out[filled : filled + take] = head[self._offset : self._offset + take]
            filled += take
            self._offset += take
            if self._offset == head.size:
                self._chunks.popleft()
                self._offset = 0
        self.size -= filled
        return filled


class _Readout:
    """A playout whose audio is read out from the head: the storage both readers share."""

    def __init__(self, policy: PlayoutPolicy) -> None:
        self.core = Playout(policy)
        self._unplayed = _Unplayed()

    def _add(self, at: int, x: Samples) -> Placement:
        placement = self.core.offer(at, x)
        self._clear(placement.cleared)
        if placement.fate == "placed":
            offset = placement.start - self.core.head
            self._unplayed.write(offset, x[placement.lo : placement.hi])
        return placement

    def _clear(self, cleared: Cleared | None) -> None:
        if cleared is not None:
            self._unplayed.truncate(cleared.start - self.core.head)

    def _read(self, out: Samples) -> None:
        self._unplayed.read(out)
        self.core.advance(out.size)


class FrameReader(_Readout):
    """Model audio as a speaker would play it, read out one frame at a time (``serve``)."""

    def __init__(self, frame: int, policy: PlayoutPolicy) -> None:
        super().__init__(policy)
        self.frame = frame

    def add(self, at: int, x: Samples) -> Placement:
        return self._add(at, x)

    def cut(self, at: int) -> None:
        self._clear(self.core.cut(at))

    def take(self) -> Samples:
        """The next frame; silence where nothing was placed."""
        out = np.zeros(self.frame, np.float32)
        self._read(out)
        return out


class DeviceQueue(_Readout):
    """The speaker's queue (``live``): pushed from the event loop, pulled from a device thread.

    Samples are at the device rate, and a chunk arrives when it is pushed: at the read head.
    """

    def __init__(self, policy: PlayoutPolicy = SPEAKER) -> None:
        super().__init__(policy)
        self._lock = threading.Lock()

    def push(self, x: Samples) -> None:
        if not x.size:
            return
        with self._lock:
            self._add(self.core.head, x)

    def clear(self) -> None:
        """Drop everything queued (``ModelAudioCleared``: the model stopped talking)."""
        with self._lock:
            self._clear(self.core.cut(self.core.head))

    def pull(self, out: Samples) -> None:
        """Fill ``out`` from the queue; what the queue lacks is left as it is (silent)."""
        with self._lock:
            self._read(out)

    @property
    def cleared_samples(self) -> int:
        return self.core.counts.cut

    @property
    def skipped_silence(self) -> int:
        return self.core.counts.skipped
