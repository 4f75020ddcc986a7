"""Speech that instrument models say: real synthesised speech, so ASR-based metrics see words."""

from __future__ import annotations

import functools

import numpy as np

from duplex.audio import Samples, fit_length, resample, trim_silence

REPLY_TEXT = (
    "Sure, that sounds good to me. Let me think about it for a moment, and then I will tell you "
    "exactly what I would do in your place."
)
BACKCHANNEL_TEXT = "Mm-hmm."
FADE_S = 0.01


@functools.lru_cache(maxsize=16)
def _speech(text: str, rate: int) -> Samples:
    from duplex.speech.tts import synthesize

    audio, tts_rate = synthesize(text)
    return trim_silence(resample(audio, tts_rate, rate), rate)


@functools.lru_cache(maxsize=4)
def _gapless(text: str, rate: int) -> Samples:
    """The speech with every 10 ms window under -45 dBFS removed: no pause anywhere."""
    speech = _speech(text, rate)
    win = rate // 100
    n = speech.size // win
    blocks = speech[: n * win].reshape(n, win)
    loud = np.sqrt(np.mean(np.square(blocks, dtype=np.float64), axis=1)) > 10 ** (-45 / 20)
    return np.ascontiguousarray(blocks[loud].reshape(-1))


def utterance(
    seconds: float, rate: int, text: str = REPLY_TEXT, *, gapless: bool = False
) -> Samples:
    """``seconds`` of speech starting at its first voiced sample, looped if the text is shorter.

    ``gapless`` removes every pause, so that speech is under way at any moment: an instrument that
    stops at a known time then stops mid-word, where the stop is measurable to the sample.
    The end is faded over 10 ms so that a truncated word does not click.
    """
    speech = _gapless(text, rate) if gapless else _speech(text, rate)
    n = round(seconds * rate)
    if n <= 0 or speech.size == 0:
        return np.zeros(max(n, 0), dtype=np.float32)
    gap = np.zeros(0 if gapless else int(0.3 * rate), dtype=np.float32)
    reps = n // (speech.size + gap.size) + 1
    out = fit_length(np.concatenate([np.concatenate([speech, gap])] * reps), n).copy()
    fade = min(n, int(FADE_S * rate))
    out[n - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return out


def backchannel(rate: int) -> Samples:
    return _speech(BACKCHANNEL_TEXT, rate).copy()


def sentence(text: str, rate: int) -> Samples:
    """``text`` said once, trimmed to its voiced edges."""
    return _speech(text, rate).copy()
