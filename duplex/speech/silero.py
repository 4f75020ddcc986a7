"""Silero VAD v6 run with onnxruntime, from the copy that ships inside faster-whisper's assets.

The asset is not the classic single-state export (``input``, ``state[2,1,128]``, ``sr``). Its
signature, read from the file with onnxruntime:

- inputs ``input`` float32 ``[n, 576]`` (64 context samples + one 512-sample chunk at 16 kHz),
  ``h`` and ``c`` float32 ``[1, 1, 128]`` (the LSTM state, split in two);
- outputs ``speech_probs`` float32 ``[n]``, ``hn`` and ``cn`` ``[1, 1, 128]``.

The first axis of ``input`` is a *sequence*, not a batch of independent streams: the LSTM runs over
the ``n`` rows in order, carrying ``h``/``c`` from row to row, so one call over ``n`` chunks gives
exactly what ``n`` calls of one chunk give (checked in the tests). The context of a row is the
last 64 samples of the previous chunk (zeros before the first). There is no ``sr`` input: 16 kHz
only.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from duplex.audio import Samples
from duplex.errors import BackendError

RATE = 16000
CHUNK = 512  # samples per decision at 16 kHz: 32 ms
CONTEXT = 64
_STATE_SHAPE = (1, 1, 128)
_DIGITAL_SILENCE = 10 ** (-90 / 20)
_EXPECTED_INPUTS = ("input", "h", "c")
# Offline runs hand the session this many chunks per call (about 5 minutes of audio), which keeps
# the per-call overhead negligible without building huge input tensors.
_ROWS_PER_CALL = 10000

_lock = threading.Lock()
_session: Any = None


def model_path() -> Path:
    # Found without importing faster-whisper: that would load CTranslate2 and PyAV (34 MB of
    # RSS) into every process that only needs the VAD.
    spec = importlib.util.find_spec("faster_whisper")
    if spec is None or spec.origin is None:
        raise BackendError(
            "silero vad needs the model file inside faster-whisper: pip install faster-whisper"
        )
    path = Path(spec.origin).parent / "assets" / "silero_vad_v6.onnx"
    if not path.is_file():
        raise BackendError(f"silero vad model not found at {path}; reinstall faster-whisper")
    return path


def session() -> Any:
    """The process-wide ONNX session (created once; ``run`` is thread-safe in onnxruntime)."""
    global _session
    with _lock:
        if _session is None:
            _session = _load()
        return _session


def _load() -> Any:
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise BackendError("silero vad needs onnxruntime: pip install onnxruntime") from exc
    opts = ort.SessionOptions()
    # One thread: the model is tiny and a thread pool's wake-up costs more than it saves; it also
    # keeps the VAD from competing with a model under test for cores.
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    path = model_path()
    sess = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    names = tuple(i.name for i in sess.get_inputs())
    if names != _EXPECTED_INPUTS:
        raise BackendError(
            f"{path}: unexpected silero signature, inputs {names} (expected {_EXPECTED_INPUTS})"
        )
    return sess


@dataclass
class SileroState:
    """What the model carries between chunks of one stream."""

    h: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros(_STATE_SHAPE, np.float32))
    c: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros(_STATE_SHAPE, np.float32))
    context: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros(CONTEXT, np.float32))


def run_chunks(chunks: npt.NDArray[np.float32], state: SileroState) -> npt.NDArray[np.float32]:
    """Speech probability of each row of ``chunks`` (``[n, 512]`` at 16 kHz); updates ``state``.

    A chunk of digital silence (peak under -90 dBFS, so a resampler's ringing counts as silence)
    scores 0 and resets the state. Why: after about 9 s of exact zeros the LSTM state drifts to
    where short utterances ("mm-hmm", "yeah") are missed or found 0.1-0.2 s late; instruments and
    rendered scenarios are digitally silent between utterances.
    """
    n = chunks.shape[0]
    probs = np.zeros(n, np.float32)
    silent = np.max(np.abs(chunks), axis=1) < _DIGITAL_SILENCE if n else np.zeros(0, bool)
    start = 0
    while start < n:
        if silent[start]:
            stop = start + int(np.argmax(~silent[start:])) if (~silent[start:]).any() else n
            state.h, state.c = SileroState().h, SileroState().c
            state.context = np.zeros(CONTEXT, np.float32)
        else:
            stop = start + int(np.argmax(silent[start:])) if silent[start:].any() else n
            probs[start:stop] = _run_voiced(chunks[start:stop], state)
        start = stop
    return probs


def run_continuous(chunks: npt.NDArray[np.float32], state: SileroState) -> npt.NDArray[np.float32]:
    """Like :func:`run_chunks` but without the digital-silence reset: the model's state runs
    through every chunk, as Silero's reference ``get_speech_timestamps`` runs it (what
    Full-Duplex-Bench's scripts see; :mod:`duplex.speech.fdb_vad`)."""
    if chunks.shape[0] == 0:
        return np.zeros(0, np.float32)
    return _run_voiced(chunks, state)


def _run_voiced(chunks: npt.NDArray[np.float32], state: SileroState) -> npt.NDArray[np.float32]:
    n = chunks.shape[0]
    rows = np.empty((n, CONTEXT + CHUNK), np.float32)
    rows[:, CONTEXT:] = chunks
    rows[0, :CONTEXT] = state.context
    rows[1:, :CONTEXT] = chunks[:-1, -CONTEXT:]
    probs, h, c = session().run(None, {"input": rows, "h": state.h, "c": state.c})
    state.h, state.c = h, c
    state.context = chunks[-1, -CONTEXT:].copy()
    return np.asarray(probs, np.float32).reshape(n)


def probabilities(x16: Samples) -> npt.NDArray[np.float32]:
    """One probability per 512-sample chunk of 16 kHz audio; the last chunk is zero-padded."""
    n = -(-x16.size // CHUNK)
    padded = np.zeros(n * CHUNK, np.float32)
    padded[: x16.size] = x16
    chunks = padded.reshape(n, CHUNK)
    state = SileroState()
    out = [run_chunks(chunks[i : i + _ROWS_PER_CALL], state) for i in range(0, n, _ROWS_PER_CALL)]
    return np.concatenate(out) if out else np.zeros(0, np.float32)


@cache
def provenance() -> dict[str, Any]:
    path = model_path()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return {
        "backend": "silero",
        "model": path.name,
        "model_sha256": digest[:16],
        "faster_whisper": importlib.metadata.version("faster-whisper"),
        "onnxruntime": importlib.metadata.version("onnxruntime"),
    }
