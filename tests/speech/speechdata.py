"""Real speech for the VAD/ASR/metrics tests: synthesised once per process, trimmed to its voice.

Trimmed with :func:`duplex.audio.trim_silence` (-45 dBFS, 10 ms windows), so a clip placed at
sample ``t`` has its first voiced 10 ms window at ``t``: the ground truth for onset checks is
exact to that window.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from duplex.audio import Placed, Samples, mix, resample, trim_silence

RATE = 24000


@cache
def say(text: str, gain: float = 0.5) -> Samples:
    from duplex.speech.tts import synthesize

    x, rate = synthesize(text)
    y = trim_silence(resample(x, rate, RATE), RATE)
    return (y * np.float32(gain / float(np.max(np.abs(y))))).astype(np.float32)


def place(clips: list[tuple[float, Samples]], duration: float) -> Samples:
    """Clips at given start times (seconds) on a silent track of ``duration`` seconds."""
    return mix([Placed(c, round(t * RATE)) for t, c in clips], round(duration * RATE))
