"""Speech segments of recordings too long to hold in memory at once, read block by block.

:func:`duplex.speech.vad.speech_segments` works on a whole array and, for edge refinement, builds
float64 envelopes of the whole file: about 60 bytes a sample, 0.9 GB for ten minutes at 24 kHz.
:func:`speech_segments_blocked` applies the same rule with memory bounded by the block length:

- the signal is resampled to 16 kHz with a streaming resampler of the same quality and scored
  block by block; Silero carries its state from block to block, so its probabilities are those
  of one pass over the whole file (other backends start afresh at each block);
- chunk-level segments come from the same hysteresis rule;
- edges are refined by the same code (:func:`duplex.speech.edges.refine`), which only ever looks
  at the envelope around each edge: those stretches are read and computed when asked for. The
  file-wide fallback floor (5th percentile of the envelope) comes from a histogram of 0.01 dB bins
  filled during the first pass, so it is within 0.01 dB of the exact figure.

The results agree with the whole-array function to within a sample or two at each edge (the
streaming and one-shot resamplers round differently), checked in the tests.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf
import soxr

from duplex.audio import Samples
from duplex.errors import AudioError
from duplex.speech import edges, silero
from duplex.speech.vad import VAD_BACKENDS, VAD_RATE, _hysteresis, _merge
from duplex.timeline import Span

#: ``read(start, stop)``: samples ``[start, stop)`` of the signal as float32.
Reader = Callable[[int, int], Samples]

_HIST_LO, _HIST_HI, _HIST_STEP = -161.0, 41.0, 0.01


def wav_reader(path: Path | str) -> tuple[Reader, int, int]:
    """(reader, length, rate) of a mono wav file; each read seeks and reads only what it needs."""
    info = sf.info(str(path))
    if info.channels != 1:
        raise AudioError(f"{path}: expected 1 channel, found {info.channels}")

    def read(start: int, stop: int) -> Samples:
        with sf.SoundFile(str(path)) as f:
            f.seek(start)
            return np.asarray(f.read(max(0, stop - start), dtype="float32"), np.float32)

    return read, int(info.frames), int(info.samplerate)


def speech_segments_blocked(
    read: Reader,
    n: int,
    rate: int,
    *,
    threshold: float = 0.5,
    min_speech: float = 0.1,
    min_silence: float = 0.1,
    backend: str = "silero",
    block_s: float = 10.0,
) -> list[Span]:
    """:func:`duplex.speech.vad.speech_segments` of the ``n`` samples ``read`` returns."""
    if not 0.0 < threshold < 1.0:
        raise AudioError(f"vad threshold must be in (0, 1), got {threshold}")
    if n <= 0:
        return []
    vb = VAD_BACKENDS.get(backend)
    block = max(1, round(block_s * rate))
    env_w = max(1, round(edges.WINDOW_S * rate))
    probs, hist = _first_pass(read, n, rate, vb.name, vb.hop, vb.probabilities, block, env_w)
    hop = vb.hop * rate / VAD_RATE
    raw = _hysteresis(probs, threshold, max(1, round(min_silence * rate / hop)))
    spans = [(round(a * hop), min(n, round(b * hop))) for a, b in raw]
    if spans:
        env = _ReadEnvelope(read, n, env_w, _percentile(hist, 5.0))
        spans = edges.refine(env, spans, round(hop), rate)
    spans = _merge(spans, round(min_silence * rate))
    spans = [(a, b) for a, b in spans if b - a >= min_speech * rate]
    return [Span(a / rate, b / rate) for a, b in spans]


def _first_pass(
    read: Reader,
    n: int,
    rate: int,
    name: str,
    hop16: int,
    whole: Callable[[Samples], npt.NDArray[np.float32]],
    block: int,
    env_w: int,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Per-chunk probabilities of the whole signal and a histogram of its trailing envelope."""
    stream = None if rate == VAD_RATE else soxr.ResampleStream(rate, VAD_RATE, 1, "float32", "VHQ")
    state = silero.SileroState()
    pending = np.zeros(0, np.float32)
    out: list[npt.NDArray[np.float32]] = []
    hist = np.zeros(round((_HIST_HI - _HIST_LO) / _HIST_STEP) + 1, np.int64)
    tail = np.zeros(0, np.float32)  # the env_w - 1 samples before the block, for the envelope
    for start in range(0, n, block):
        x = read(start, min(n, start + block))
        last = start + block >= n
        hist += _histogram(np.concatenate([tail, x]), tail.size, env_w)
        tail = np.concatenate([tail, x])[-(env_w - 1) :] if env_w > 1 else tail
        x16 = x if stream is None else np.asarray(stream.resample_chunk(x, last=last), np.float32)
        buf = np.concatenate([pending, x16]) if pending.size else x16
        if last:  # pad the final chunk with zeros, as the whole-array scorer does
            buf = np.concatenate([buf, np.zeros(-buf.size % hop16, np.float32)])
        k = buf.size // hop16 * hop16
        pending = buf[k:].copy()
        if k == 0:
            continue
        if name == "silero":
            chunks = buf[:k].reshape(-1, silero.CHUNK)
            out.append(silero.run_chunks(chunks, state))
        else:
            out.append(whole(buf[:k]))
    # The whole-array scorer resamples to exactly round(n * 16000 / rate) samples.
    want = -(-round(n * VAD_RATE / rate) // hop16)
    probs = np.concatenate(out) if out else np.zeros(0, np.float32)
    return np.concatenate([probs, np.zeros(max(0, want - probs.size), np.float32)])[:want], hist


def _trailing_db(x: Samples, w: int, first: int) -> npt.NDArray[np.float64]:
    """Trailing ``w``-sample RMS in dB of ``x[first:]``; ``x[:first]`` is the context before."""
    csum = np.concatenate([[0.0], np.cumsum(np.square(x, dtype=np.float64))])
    idx = np.arange(first, x.size)
    # Before the file's start the window is shorter, but still divided by w (as edges.Envelope).
    lo = np.maximum(idx - w + 1, 0)
    return 10.0 * np.log10(np.maximum((csum[idx + 1] - csum[lo]) / w, 1e-16))


def _histogram(x: Samples, first: int, w: int) -> npt.NDArray[np.int64]:
    db = _trailing_db(x, w, first)
    bins = np.clip(np.round((db - _HIST_LO) / _HIST_STEP), 0, None).astype(np.int64)
    size = round((_HIST_HI - _HIST_LO) / _HIST_STEP) + 1
    return np.bincount(np.minimum(bins, size - 1), minlength=size)


def _percentile(hist: npt.NDArray[np.int64], q: float) -> float:
    total = int(hist.sum())
    if total == 0:
        return -160.0
    rank = q / 100.0 * (total - 1)
    k = int(np.searchsorted(np.cumsum(hist), np.floor(rank) + 1))
    return _HIST_LO + k * _HIST_STEP


class _ReadSlices:
    """Array-like view of a trailing or leading envelope: slices are computed on demand."""

    def __init__(self, read: Reader, n: int, w: int, leading: bool) -> None:
        self._read, self.size, self._w, self._leading = read, n, w, leading

    def __getitem__(self, key: slice) -> npt.NDArray[np.float64]:
        start, stop, step = key.indices(self.size)
        if step != 1 or stop <= start:
            return np.zeros(0, np.float64)
        w = self._w
        if self._leading:
            x = self._read(start, min(self.size, stop + w - 1))
            csum = np.concatenate([[0.0], np.cumsum(np.square(x, dtype=np.float64))])
            idx = np.arange(stop - start)
            hi = np.minimum(idx + w, x.size)
            return 10.0 * np.log10(np.maximum((csum[hi] - csum[idx]) / w, 1e-16))
        lo = max(0, start - w + 1)
        return _trailing_db(self._read(lo, stop), w, start - lo)


class _ReadEnvelope(edges.Envelope):
    """An :class:`edges.Envelope` whose arrays are read and computed around each edge."""

    def __init__(self, read: Reader, n: int, w: int, floor: float) -> None:
        # Deliberately not calling the parent: it would compute the whole file's envelope.
        self.w = w
        self.trailing = _ReadSlices(read, n, w, leading=False)  # type: ignore[assignment]
        self.leading = _ReadSlices(read, n, w, leading=True)  # type: ignore[assignment]
        self.floor = floor
