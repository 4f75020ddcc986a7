"""Where model audio will be heard: a mirror of the Recorder's placement rule.

The Recorder plays audio from its arrival or right after the audio before it. Transports keep the
same bookkeeping to know, at any moment, how much audio is queued (Moshi's stale-frame policy) and
how much of an assistant item the user has heard (Realtime's truncate on barge-in). Pure: times
are sample indices given by the caller.
"""

from __future__ import annotations


class Playout:
    """Playout cursor of one model channel.

    ``max_backlog`` (samples) bounds how far behind its arrival audio may be played, as a live
    client's jitter buffer does: audio that would start later than that is dropped and counted
    (``dropped_samples``) instead of shifting everything after it. ``None`` never drops, for
    bursty servers whose audio is meant to be played out at real-time rate.
    """

    def __init__(self, max_backlog: int | None = None) -> None:
        self.max_backlog = max_backlog
        self.cursor = 0
        self.dropped_samples = 0
        self.dropped_chunks = 0

    def place(self, at: int, n: int) -> int | None:
        """Start sample of ``n`` samples arriving at ``at``, or ``None`` if they are dropped."""
        start = max(self.cursor, at)
        if self.max_backlog is not None and start - at > self.max_backlog:
            self.dropped_samples += n
            self.dropped_chunks += 1
            return None
        self.cursor = start + n
        return start

    def queued(self, now: int) -> int:
        """Samples placed but not yet played at ``now``."""
        return max(0, self.cursor - now)

    def cut(self, now: int) -> None:
        """Drop everything queued after ``now`` (what ``ModelAudioCleared(now)`` does)."""
        self.cursor = min(self.cursor, now)
