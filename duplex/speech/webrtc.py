"""WebRTC VAD (``webrtcvad`` from the webrtcvad-wheels package) as a second, classic backend.

It decides speech/non-speech per 30 ms frame of 16-bit PCM; the decisions are returned as
probabilities 0.0/1.0 so the shared segmentation in :mod:`duplex.speech.vad` applies unchanged.
It is a energy/GMM detector: cheap and deterministic, but it fires on loud non-speech (tones,
noise) where Silero does not, so it is a cross-check rather than the default.
"""

from __future__ import annotations

import importlib.metadata
from typing import Any

import numpy as np
import numpy.typing as npt

from duplex.audio import Samples
from duplex.errors import BackendError

RATE = 16000
CHUNK = 480  # 30 ms at 16 kHz, the longest frame webrtcvad accepts
#: 0 (least) to 3 (most aggressive at rejecting non-speech); 2 is the usual middle ground.
AGGRESSIVENESS = 2


def _vad() -> Any:
    try:
        import webrtcvad
    except ImportError as exc:
        raise BackendError("webrtc vad needs webrtcvad: pip install webrtcvad-wheels") from exc
    return webrtcvad.Vad(AGGRESSIVENESS)


def probabilities(x16: Samples) -> npt.NDArray[np.float32]:
    vad = _vad()
    n = -(-x16.size // CHUNK)
    pcm = np.zeros(n * CHUNK, np.int16)
    pcm[: x16.size] = np.round(np.clip(x16, -1.0, 1.0) * 32767.0).astype(np.int16)
    frames = pcm.reshape(n, CHUNK)
    return np.array([vad.is_speech(f.tobytes(), RATE) for f in frames], np.float32)


def provenance() -> dict[str, Any]:
    return {
        "backend": "webrtc",
        "aggressiveness": AGGRESSIVENESS,
        "webrtcvad_wheels": importlib.metadata.version("webrtcvad-wheels"),
    }
