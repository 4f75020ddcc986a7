"""Partial transcription of the user's turn, tuned for latency rather than archival quality.

The model is the process-wide Whisper tiny.en of :mod:`duplex.speech.asr` (shared, so a run that
also scores with ASR holds one copy). Decoding differs from the scoring ASR on purpose: greedy
(beam 1) and without timestamps, which is what a turn decision needs - measured about 0.35-0.5 s
for 2-5 s of speech on the 2-core machine, most of it the encoder's fixed 30 s window.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from duplex.audio import Samples, resample
from duplex.speech import asr

DECODE: dict[str, Any] = {
    "language": "en",
    "beam_size": 1,
    "temperature": 0.0,
    "condition_on_previous_text": False,
    "without_timestamps": True,
    "vad_filter": False,
}


def load() -> Any:
    """Load (once per process) and return the Whisper model."""
    return asr._load()


def transcribe(samples: Samples, rate: int) -> str:
    """Text of ``samples``; empty for no audio."""
    if samples.size == 0:
        return ""
    x = resample(np.asarray(samples, np.float32), rate, asr.ASR_RATE)
    segments, _info = load().transcribe(x, **DECODE)
    return " ".join(s.text.strip() for s in segments).strip()
