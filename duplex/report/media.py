"""Audio for the HTML report: level envelopes to draw and compact clips to embed as data: URIs."""

from __future__ import annotations

import base64
import io
import wave
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from duplex.audio import SESSION_RATE, resample

Samples = npt.NDArray[np.float32]

#: Envelope levels are dBFS mapped to 0..1 between this floor and 0 dBFS.
FLOOR_DB = -60.0
OPUS_FRAME = 1920  # 80 ms at 24 kHz, a frame size the Opus encoder accepts
WAV_RATE = 16000


@dataclass(frozen=True)
class Clip:
    uri: str  # data: URI
    mime: str
    seconds: float  # how much audio it holds
    truncated: bool  # the recording was longer than the cap
    nbytes: int  # encoded size before base64


def envelope(x: Samples, bins: int) -> npt.NDArray[np.float64]:
    """RMS level per bin on a 0..1 scale (:data:`FLOOR_DB`..0 dBFS); ``bins`` values."""
    if x.size == 0 or bins <= 0:
        return np.zeros(max(bins, 0))
    edges = np.linspace(0, x.size, bins + 1).astype(np.int64)
    sq = np.concatenate([[0.0], np.cumsum(x.astype(np.float64) ** 2)])
    counts = np.maximum(edges[1:] - edges[:-1], 1)
    rms = np.sqrt((sq[edges[1:]] - sq[edges[:-1]]) / counts)
    db = 20.0 * np.log10(np.maximum(rms, 1e-9))
    return np.clip((db - FLOOR_DB) / -FLOOR_DB, 0.0, 1.0)


def session_mix(user: Samples, model: Samples) -> Samples:
    """The conversation as a third party hears it: both channels summed, kept below clipping."""
    n = max(user.size, model.size)
    mix = np.zeros(n, np.float32)
    mix[: user.size] += user
    mix[: model.size] += model
    peak = float(np.max(np.abs(mix))) if n else 0.0
    return mix * (0.95 / peak) if peak > 0.95 else mix


def _opus(x: Samples) -> bytes:
    import sphn

    writer = sphn.OpusStreamWriter(SESSION_RATE)
    pad = (-x.size) % OPUS_FRAME
    # Two extra silent frames flush the encoder's last page (its lookahead holds back audio).
    padded = np.concatenate([x, np.zeros(pad + 2 * OPUS_FRAME, np.float32)]).astype(np.float32)
    out = bytearray()
    for i in range(0, padded.size, OPUS_FRAME):
        chunk = writer.append_pcm(padded[i : i + OPUS_FRAME])
        if chunk:
            out += chunk
    if not out.startswith(b"OggS"):
        raise ValueError("the Opus writer produced no Ogg stream")
    return bytes(out)


def _wav16k(x: Samples) -> bytes:
    y = resample(x, SESSION_RATE, WAV_RATE)
    pcm = (np.clip(y, -1.0, 1.0) * 32767.0).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(WAV_RATE)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def encode_clip(x: Samples, *, max_seconds: float) -> Clip:
    """Ogg/Opus (about 4 kB/s) of at most ``max_seconds`` of 24 kHz audio; 16 kHz 16-bit WAV
    (32 kB/s) when the Opus encoder is unavailable or fails."""
    cap = int(max_seconds * SESSION_RATE)
    truncated = x.size > cap
    x = np.ascontiguousarray(x[:cap], np.float32)
    try:
        data, mime = _opus(x), "audio/ogg"
    except (ImportError, ValueError, RuntimeError, TypeError):
        data, mime = _wav16k(x), "audio/wav"
    uri = f"data:{mime};base64," + base64.b64encode(data).decode("ascii")
    return Clip(uri, mime, x.size / SESSION_RATE, truncated, len(data))
