"""Silero VAD run the way Full-Duplex-Bench's scripts run it, with our ONNX copy of the model.

The anchor calls ``silero_vad.get_speech_timestamps`` with its defaults (threshold 0.5,
min speech 250 ms, min silence 100 ms, 30 ms padding, 512-sample windows, the model's state
carried through the whole file). Two call sites matter, and they treat the sample rate
differently:

- backchannel (:func:`backchannel_segments`): the file's samples go in *as they are*, taken to be
  16 kHz whatever the file's rate, and come back in seconds rounded to 0.1 s. A 24 kHz file's
  times therefore come out 1.5 times too large (the model also hears it slowed down), while the
  script divides by the true rate for the output's duration.
- v1.5 timing (:func:`timing_segments`): the file is first resampled to 16 kHz with torchaudio's
  windowed-sinc resampler (reproduced in :func:`sinc_resample`), and the segments are used in
  seconds unrounded.

Our model is the Silero v6 ONNX asset (:mod:`duplex.speech.silero`), which matches the
``silero-vad`` 6.0/6.1 package's model to about 4e-6 in probability; ``silero-vad`` 6.2 ships a
retrained model whose segments differ (the cross-check pins 6.1.0 for that reason). Unlike our own
VAD (:mod:`duplex.speech.vad`), no energy refinement and no digital-silence state reset happen
here: these are the anchor's edges, coarse by design, for the anchor's figures only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from duplex.audio import Samples
from duplex.speech import silero

#: A segment ``(start, end)`` in seconds.
Segment = tuple[float, float]
VAD_RATE = 16000
#: torchaudio.functional.resample's defaults (sinc_interp_hann).
LOWPASS_WIDTH = 6
ROLLOFF = 0.99
_ROWS_PER_CALL = 10000


@dataclass(frozen=True)
class SileroParams:
    """``silero_vad.get_speech_timestamps`` defaults, which every anchor script uses."""

    threshold: float = 0.5
    rate: int = 16000
    min_speech_ms: int = 250
    min_silence_ms: int = 100
    speech_pad_ms: int = 30
    window: int = 512
    time_resolution: int = 1


def silero_segments(
    probs: Sequence[float], n_samples: int, params: SileroParams = SileroParams()
) -> list[tuple[int, int]]:
    """Speech segments in samples from per-window probabilities, by Silero's reference rule
    (no maximum speech length): enter at ``p >= threshold``; a window below ``threshold - 0.15``
    marks a possible end, cancelled by a window at or above ``threshold`` and confirmed once
    ``min_silence`` has passed since it (windows in between change nothing); segments not longer
    than ``min_speech`` are dropped; a segment still open at the end runs to ``n_samples``.
    Then each side is padded by ``speech_pad``, or, where two segments are closer than twice
    that, the gap is split between them (integer samples, as Silero truncates)."""
    p = params
    neg = max(p.threshold - 0.15, 0.01)
    min_speech = p.rate * p.min_speech_ms / 1000
    min_silence = p.rate * p.min_silence_ms / 1000
    pad = p.rate * p.speech_pad_ms / 1000
    spans: list[list[float]] = []
    start: float | None = None
    temp_end = 0
    for i, prob in enumerate(probs):
        cur = p.window * i
        if prob >= p.threshold and temp_end:
            temp_end = 0
        if prob >= p.threshold and start is None:
            start = cur
            continue
        if prob < neg and start is not None:
            if not temp_end:
                temp_end = cur
            if cur - temp_end >= min_silence:
                if temp_end - start > min_speech:
                    spans.append([start, temp_end])
                start, temp_end = None, 0
    if start is not None and n_samples - start > min_speech:
        spans.append([start, n_samples])
    return _pad(spans, n_samples, pad)


def _pad(spans: list[list[float]], n_samples: int, pad: float) -> list[tuple[int, int]]:
    for i, s in enumerate(spans):
        if i == 0:
            s[0] = int(max(0, s[0] - pad))
        if i != len(spans) - 1:
            gap = spans[i + 1][0] - s[1]
            if gap < 2 * pad:
                s[1] += int(gap // 2)
                spans[i + 1][0] = int(max(0, spans[i + 1][0] - gap // 2))
            else:
                s[1] = int(min(n_samples, s[1] + pad))
                spans[i + 1][0] = int(max(0, spans[i + 1][0] - pad))
        else:
            s[1] = int(min(n_samples, s[1] + pad))
    return [(int(a), int(b)) for a, b in spans]


def silero_seconds(
    spans: Sequence[tuple[int, int]], n_samples: int, params: SileroParams = SileroParams()
) -> list[Segment]:
    """``return_seconds=True``: sample / rate rounded to ``time_resolution`` decimals (Python's
    ``round``: 0.1 s by default), the end clipped to the audio length."""
    r, d = params.rate, params.time_resolution
    length = n_samples / r
    return [(max(round(a / r, d), 0), min(round(b / r, d), length)) for a, b in spans]


# ------------------------------------------------------------------------ the model


def probabilities(x16: Samples) -> npt.NDArray[np.float32]:
    """One probability per 512-sample window of ``x16`` (taken as 16 kHz), the last window
    zero-padded, one model state through the whole file."""
    x = np.asarray(x16, np.float32).reshape(-1)
    n = -(-x.size // silero.CHUNK)
    padded = np.zeros(n * silero.CHUNK, np.float32)
    padded[: x.size] = x
    chunks = padded.reshape(n, silero.CHUNK)
    state = silero.SileroState()
    out = [
        silero.run_continuous(chunks[i : i + _ROWS_PER_CALL], state)
        for i in range(0, n, _ROWS_PER_CALL)
    ]
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def speech_timestamps(x16: Samples) -> list[tuple[int, int]]:
    """``get_speech_timestamps(x16, model)`` with the defaults, in samples of ``x16``."""
    x = np.asarray(x16, np.float32).reshape(-1)
    return silero_segments(probabilities(x).tolist(), x.size)


def backchannel_segments(samples: Samples, rate: int) -> tuple[list[Segment], float]:
    """The backchannel script's VAD segments (seconds, 0.1 s steps, on the *16 kHz-assumed*
    timeline) and the duration it divides by (the true one, ``samples / rate``)."""
    x = np.asarray(samples, np.float32).reshape(-1)
    spans = speech_timestamps(x)
    return silero_seconds(spans, x.size, SileroParams()), x.size / rate


def timing_segments(samples: Samples, rate: int) -> list[Segment]:
    """get_timing's raw VAD segments in seconds (before its gap merging): the file resampled
    to 16 kHz as torchaudio does it, then ``sample / 16000``."""
    x = np.asarray(samples, np.float32).reshape(-1)
    x16 = sinc_resample(x, rate, VAD_RATE) if rate != VAD_RATE else x
    return [(a / VAD_RATE, b / VAD_RATE) for a, b in speech_timestamps(x16)]


def _sinc_kernel(orig: int, new: int) -> tuple[npt.NDArray[np.float32], int]:
    """The polyphase windowed-sinc kernel (``new`` phases) and its half-width in input samples,
    computed in float32 as torchaudio computes it for a float32 waveform."""
    base = min(orig, new) * ROLLOFF
    width = math.ceil(LOWPASS_WIDTH * orig / base)
    f32 = np.float32
    idx = np.arange(-width, width + orig, dtype=f32)[None, :] / f32(orig)
    t = (np.arange(0, -new, -1, dtype=f32)[:, None] / f32(new) + idx).astype(f32)
    t = np.clip(t * f32(base), -LOWPASS_WIDTH, LOWPASS_WIDTH).astype(f32)
    window = (np.cos(t * f32(math.pi / LOWPASS_WIDTH / 2)) ** 2).astype(f32)
    t = (t * f32(math.pi)).astype(f32)
    with np.errstate(invalid="ignore", divide="ignore"):
        sinc = np.where(t == 0, f32(1.0), np.sin(t) / t).astype(f32)
    return (sinc * window * f32(base / orig)).astype(f32), width


def sinc_resample(x: Samples, from_rate: int, to_rate: int) -> npt.NDArray[np.float32]:
    """torchaudio.functional.resample with its defaults (Hann-windowed sinc, 6 zero crossings,
    roll-off 0.99): the input zero-padded by the kernel's width, one output frame of
    ``to/gcd`` samples per ``from/gcd`` input samples, cut to ``ceil(n * to / from)``. Equal to
    torchaudio's up to float32 summation order (about 1e-7)."""
    g = math.gcd(from_rate, to_rate)
    orig, new = from_rate // g, to_rate // g
    kernel, width = _sinc_kernel(orig, new)
    xs = np.asarray(x, np.float32).reshape(-1)
    padded = np.concatenate([np.zeros(width, np.float32), xs, np.zeros(width + orig, np.float32)])
    taps = kernel.shape[1]
    frames = np.lib.stride_tricks.sliding_window_view(padded, taps)[::orig]
    out = (frames.astype(np.float64) @ kernel.T.astype(np.float64)).astype(np.float32)
    return out.reshape(-1)[: math.ceil(new * xs.size / orig)]
