"""Voice activity: a streaming detector for use inside a frame step, and offline speech segments.

Backends are registered by name in :data:`VAD_BACKENDS` so every result can say which one made
its activity; ``silero`` (Silero VAD v6 on onnxruntime, see :mod:`duplex.speech.silero`) is the
default and the one Full-Duplex-Bench uses, ``webrtc`` is a classic cross-check.

Offline segments are computed in two steps: the backend's per-chunk probabilities are turned into
segments with Silero's own hysteresis rule (enter at ``threshold``, leave after ``min_silence``
below ``threshold - 0.15``), then each edge is moved to the sample where the energy says the
speech starts or stops (:mod:`duplex.speech.edges`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import soxr

from duplex.audio import Samples, resample, validate
from duplex.errors import AudioError
from duplex.registry import Registry
from duplex.speech import edges, silero
from duplex.timeline import Span

VAD_RATE = 16000
#: Silero's rule: once in speech, a chunk only counts as silence below threshold - 0.15.
_HYSTERESIS = 0.15


@dataclass(frozen=True)
class VadBackend:
    """An offline detector: per-chunk speech probabilities of 16 kHz audio."""

    name: str
    hop: int  # samples per decision at 16 kHz
    probabilities: Callable[[Samples], npt.NDArray[np.float32]]
    provenance: Callable[[], dict[str, Any]]


def _lazy_backend(module: str, hop: int, name: str) -> VadBackend:
    # Import on first call, so listing the registry never imports onnxruntime or webrtcvad.
    def probs(x: Samples) -> npt.NDArray[np.float32]:
        fn: Callable[[Samples], npt.NDArray[np.float32]]
        fn = importlib.import_module(module).probabilities
        return fn(x)

    def prov() -> dict[str, Any]:
        fn: Callable[[], dict[str, Any]] = importlib.import_module(module).provenance
        return fn()

    return VadBackend(name, hop, probs, prov)


VAD_BACKENDS: Registry[VadBackend] = Registry("vad backend")
VAD_BACKENDS.add(
    "silero",
    _lazy_backend("duplex.speech.silero", silero.CHUNK, "silero"),
    "Silero VAD v6 (ONNX asset of faster-whisper), 32 ms chunks",
)
VAD_BACKENDS.add(
    "webrtc",
    _lazy_backend("duplex.speech.webrtc", 480, "webrtc"),
    "WebRTC VAD (webrtcvad-wheels), 30 ms frames, aggressiveness 2",
)


def vad_provenance(name: str = "silero") -> dict[str, Any]:
    """Backend name, model file hash prefix and package versions, for a result's metadata."""
    return VAD_BACKENDS.get(name).provenance()


class StreamingVad:
    """Silero VAD fed with chunks of any size at ``sample_rate``, for real-time use.

    Audio is resampled to 16 kHz with a streaming soxr resampler (whose output is aligned with
    its input, so chunk ``k`` of the 16 kHz stream ends exactly at input sample
    ``512 * (k + 1) * sample_rate / 16000``) and scored per 512-sample chunk, all chunks that a
    push completes in one ONNX call. Measured on a 2-core CPU: about 0.3 ms per 80 ms frame at
    24 kHz (0.4 % of real time), resampling included.
    """

    def __init__(self, sample_rate: int = 24000, threshold: float = 0.5) -> None:
        validate(np.zeros(0, np.float32), sample_rate, where="streaming vad")
        self.sample_rate = sample_rate
        self.threshold = threshold
        silero.session()  # load now, not in the first real-time frame
        self.reset()

    def reset(self) -> None:
        """Forget all audio and model state; the next push starts a new stream at sample 0."""
        self._state = silero.SileroState()
        self._pending = np.zeros(0, np.float32)
        self._chunks_done = 0
        self._resampler: Any = None
        if self.sample_rate != VAD_RATE:
            self._resampler = soxr.ResampleStream(
                self.sample_rate, VAD_RATE, 1, dtype="float32", quality="HQ"
            )
        self.last_probability = 0.0

    @property
    def is_speech(self) -> bool:
        """Whether the most recent chunk scored at or above ``threshold``."""
        return self.last_probability >= self.threshold

    def push(self, samples: Samples) -> list[tuple[int, float]]:
        """Feed audio; returns ``(end sample in the caller's rate, probability)`` per new chunk."""
        x = np.asarray(samples, np.float32).reshape(-1)
        if self._resampler is not None and x.size:
            x = np.asarray(self._resampler.resample_chunk(x), np.float32)
        buf = np.concatenate([self._pending, x]) if self._pending.size else x
        n = buf.size // silero.CHUNK
        self._pending = buf[n * silero.CHUNK :].copy()
        if n == 0:
            return []
        probs = silero.run_chunks(buf[: n * silero.CHUNK].reshape(n, silero.CHUNK), self._state)
        first = self._chunks_done
        self._chunks_done += n
        self.last_probability = float(probs[-1])
        return [
            (round((first + k + 1) * silero.CHUNK * self.sample_rate / VAD_RATE), float(p))
            for k, p in enumerate(probs)
        ]


def speech_probabilities(
    samples: Samples, rate: int, *, backend: str = "silero"
) -> tuple[npt.NDArray[np.float32], float]:
    """Per-chunk speech probabilities of a whole file, and the chunk length in seconds."""
    x = validate(np.asarray(samples, np.float32), rate, where="vad input", allow_clipping=True)
    vb = VAD_BACKENDS.get(backend)
    return vb.probabilities(resample(x, rate, VAD_RATE)), vb.hop / VAD_RATE


def speech_segments(
    samples: Samples,
    rate: int,
    *,
    threshold: float = 0.5,
    min_speech: float = 0.1,
    min_silence: float = 0.1,
    pad: float = 0.0,
    backend: str = "silero",
    refine: bool = True,
    resampled: Samples | None = None,
) -> list[Span]:
    """Speech segments of a whole recording, in seconds, with energy-refined edges.

    ``min_silence``: gaps shorter than this do not split a segment; ``min_speech``: shorter
    segments are dropped; ``pad``: added to both sides after refinement (clamped to the file).
    ``refine=False`` returns the backend's chunk-level edges (for comparison and tests).
    ``resampled``: ``samples`` already resampled to 16 kHz with :func:`duplex.audio.resample`,
    when the caller has it (the ASR needs it too), so it is not computed twice.
    """
    if not 0.0 < threshold < 1.0:
        raise AudioError(f"vad threshold must be in (0, 1), got {threshold}")
    x = validate(np.asarray(samples, np.float32), rate, where="vad input", allow_clipping=True)
    if x.size == 0:
        return []
    vb = VAD_BACKENDS.get(backend)
    x16 = resample(x, rate, VAD_RATE) if resampled is None else resampled
    if x16.size != round(x.size * VAD_RATE / rate):
        raise AudioError(f"vad: {x16.size} resampled samples for {x.size} at {rate} Hz")
    probs = vb.probabilities(x16)
    hop = vb.hop * rate / VAD_RATE
    raw = _hysteresis(probs, threshold, max(1, round(min_silence * rate / hop)))
    spans = [(round(a * hop), min(x.size, round(b * hop))) for a, b in raw]
    if refine and spans:
        spans = edges.refine(edges.Envelope(x, rate), spans, round(hop), rate)
    spans = _merge(spans, round(min_silence * rate))
    spans = [(a, b) for a, b in spans if b - a >= min_speech * rate]
    p = round(pad * rate)
    spans = _merge([(max(0, a - p), min(x.size, b + p)) for a, b in spans], 0)
    return [Span(a / rate, b / rate) for a, b in spans]


def _hysteresis(
    probs: npt.NDArray[np.float32], threshold: float, min_silence_chunks: int
) -> list[tuple[int, int]]:
    """Chunk-index segments: start at p >= threshold; end after a long enough drop below neg."""
    neg = max(threshold - _HYSTERESIS, 0.01)
    out: list[tuple[int, int]] = []
    start: int | None = None
    quiet_since: int | None = None
    for i, p in enumerate(probs.tolist()):
        if start is None:
            if p >= threshold:
                start, quiet_since = i, None
            continue
        if p >= threshold:
            quiet_since = None
        elif p < neg and quiet_since is None:
            quiet_since = i
        if quiet_since is not None and i + 1 - quiet_since >= min_silence_chunks:
            out.append((start, quiet_since))
            start = quiet_since = None
    if start is not None:
        out.append((start, quiet_since if quiet_since is not None else len(probs)))
    return out


def _merge(spans: list[tuple[int, int]], max_gap: int) -> list[tuple[int, int]]:
    """Join sorted spans separated by less than ``max_gap`` samples (or overlapping)."""
    out: list[tuple[int, int]] = []
    for a, b in spans:
        if out and (a - out[-1][1] < max_gap or a <= out[-1][1]):
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out
