"""The live status line: who is speaking, the last response latency, overlaps so far.

Each channel has its own :class:`StreamingVad` with a simple hold: speaking from the first chunk at
or above the threshold, quiet after ``HOLD_S`` of chunks below it. This is for the person at the
microphone; the scored figures come from the offline VAD after the session.
"""

from __future__ import annotations

import time
from typing import TextIO

from duplex.audio import Samples
from duplex.speech.vad import StreamingVad

HOLD_S = 0.3


class _Activity:
    def __init__(self, rate: int) -> None:
        self.vad = StreamingVad(rate)
        self.rate = rate
        self.speaking = False
        self.since = 0  # sample where the current state began
        self._last_voiced = 0

    def push(self, x: Samples) -> list[tuple[int, bool]]:
        """Feed audio; returns the state changes as ``(sample, speaking)``."""
        changes = []
        hop = round(0.032 * self.rate)
        for end, prob in self.vad.push(x):
            if prob >= self.vad.threshold:
                self._last_voiced = end
                if not self.speaking:
                    self.speaking, self.since = True, end - hop
                    changes.append((self.since, True))
            elif self.speaking and end - self._last_voiced >= HOLD_S * self.rate:
                self.speaking, self.since = False, self._last_voiced
                changes.append((self.since, False))
        return changes


class LiveStatus:
    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.user = _Activity(rate)
        self.model = _Activity(rate)
        self.user_end: int | None = None  # end of the user's last speech, awaiting a reply
        self.last_latency: float | None = None
        self.overlaps = 0
        self._shown_at = float("-inf")

    def push(self, user: Samples, model: Samples) -> None:
        for at, speaking in self.user.push(user):
            if not speaking:
                self.user_end = at
            elif self.model.speaking:
                self.overlaps += 1
        for at, speaking in self.model.push(model):
            if not speaking:
                continue
            if self.user.speaking:
                self.overlaps += 1
            elif self.user_end is not None:
                self.last_latency = (at - self.user_end) / self.rate
                self.user_end = None

    def line(self, t: float) -> str:
        who = {
            (False, False): "nobody",
            (True, False): "you",
            (False, True): "model",
            (True, True): "BOTH",
        }[(self.user.speaking, self.model.speaking)]
        lat = "-" if self.last_latency is None else f"{self.last_latency:.2f} s"
        return (
            f"{t:7.1f} s  speaking: {who:<6}  last response latency: {lat:<8}  "
            f"overlaps: {self.overlaps}"
        )

    def show(self, out: TextIO | None, t: float, *, every: float, final: bool = False) -> None:
        now = time.monotonic()
        if out is None or (now - self._shown_at < every and not final):
            return
        self._shown_at = now
        out.write("\r" + self.line(t) + ("\n" if final else ""))
        out.flush()
