"""The examiner's voice: the item's Piper voice, rate and seed, at the session rate."""

from __future__ import annotations

import functools

from duplex.audio import SESSION_RATE, Samples, resample, trim_silence
from duplex.errors import BackendError
from duplex.models.cascade.speech_out import clean
from duplex.speech.tts import synthesize


@functools.lru_cache(maxsize=512)
def speak(text: str, voice: str = "joe", rate: float = 1.0, seed: int = 0) -> Samples:
    """``text`` spoken, trimmed to its voiced edges, at the session rate (cached per process:
    the examiner's scripted lines are said by every run of a suite)."""
    said = clean(text)
    audio, tts_rate = synthesize(said, voice=voice, length_scale=rate, seed=seed)
    out = trim_silence(resample(audio, tts_rate, SESSION_RATE), SESSION_RATE)
    if out.size == 0:
        raise BackendError(f"examiner: the TTS produced no audible speech for {text!r}")
    out.flags.writeable = False  # shared by every caller through the cache
    return out
