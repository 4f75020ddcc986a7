"""Where the model's voice is, as the examiner hears it: a streaming Silero VAD over the model
channel, fed up to the sample the examiner has heard (``(n - 1) * F`` when deciding frame ``n``).

Voiced chunks are joined into *runs* across gaps shorter than :data:`JOIN_S` (the gaps between
words and short breaths), so a run is a stretch of model speech and its end is where the model
last made a sound.
"""

from __future__ import annotations

from dataclasses import dataclass

from duplex.audio import Samples
from duplex.speech.vad import StreamingVad

#: gaps shorter than this stay inside one run
JOIN_S = 0.2
#: a voiced run continues above ``threshold - HYSTERESIS`` (as the cascade listens)
HYSTERESIS = 0.15
#: Silero's chunk, in seconds
CHUNK_S = 0.032


@dataclass
class Run:
    start: int  # first voiced sample (chunk resolution)
    end: int  # one past the last voiced sample


class ModelTrack:
    def __init__(self, rate: int, threshold: float = 0.5) -> None:
        self.rate = rate
        self.threshold = threshold
        self.vad = StreamingVad(rate, threshold)
        self.fed = 0
        self.runs: list[Run] = []
        self.in_speech = False
        self._chunk = round(CHUNK_S * rate)
        self._join = round(JOIN_S * rate)

    def feed(self, model: Samples, until: int) -> None:
        """Hear ``model[fed:until]``."""
        if until <= self.fed:
            return
        chunk = model[self.fed : until]
        self.fed = until
        for end, prob in self.vad.push(chunk):
            level = self.threshold - (HYSTERESIS if self.in_speech else 0.0)
            self.in_speech = prob >= level
            if not self.in_speech:
                continue
            start = max(0, end - self._chunk)
            if self.runs and start - self.runs[-1].end <= self._join:
                self.runs[-1].end = end
            else:
                self.runs.append(Run(start, end))

    @property
    def last_voiced(self) -> int:
        """One past the last voiced sample heard (-1 before any)."""
        return self.runs[-1].end if self.runs else -1

    def run_after(self, t: int) -> Run | None:
        """The first run still voiced after sample ``t`` (it may have started before)."""
        return next((r for r in self.runs if r.end > t), None)

    def turn_start(self, run: Run, max_gap: int) -> int:
        """Where the model's turn holding ``run`` began: earlier runs count while the silences
        between them are shorter than ``max_gap`` (a listener would not have taken the turn)."""
        i = self.runs.index(run)
        while i > 0 and self.runs[i].start - self.runs[i - 1].end < max_gap:
            i -= 1
        return self.runs[i].start

    def voiced_since(self, t: int) -> int:
        """Samples of the current run after ``t`` (0 when the model is not speaking)."""
        if not self.in_speech or not self.runs:
            return 0
        run = self.runs[-1]
        return max(0, run.end - max(run.start, t))
