"""Reading and writing the small JSON files of Full-Duplex-Bench sample folders.

Shared by the tasks' FDB formats (each task's module reads and writes its own annotation file
with these); every error names the file and the field. Times are written at full precision: a
rounded word time can move a zero-length word across a VAD segment's edge (a different word count,
hence a different TO) and shifts every latency.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf

from duplex import writing
from duplex.audio import Samples, resample
from duplex.errors import ScenarioError
from duplex.simulator.recording import Recording


def load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ScenarioError(f"{path}: missing") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ScenarioError(f"{path}: not readable JSON ({exc})") from exc


def write_json(path: Path, doc: Any) -> None:
    """Write atomically (a reader never sees half a file), as every file we write."""
    writing.write_json(path, doc, what=path.name)


def number(x: Any, path: Path, field: str) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        raise ScenarioError(f"{path}: {field} must be a finite number, got {x!r}")
    return float(x)


def span(entry: Any, path: Path, field: str) -> tuple[float, float]:
    if not isinstance(entry, list | tuple) or len(entry) < 2:
        raise ScenarioError(f"{path}: {field} must be a list [start, end], got {entry!r}")
    a, b = number(entry[0], path, f"{field}[0]"), number(entry[1], path, f"{field}[1]")
    if b < a:
        raise ScenarioError(f"{path}: {field} ends before it starts ({a} > {b})")
    return a, b


def entries(doc: Any, path: Path, *, at_least: int = 1) -> list[dict[str, Any]]:
    if not isinstance(doc, list) or len(doc) < at_least:
        raise ScenarioError(f"{path}: expected a list of at least {at_least} object(s)")
    for i, e in enumerate(doc):
        if not isinstance(e, dict):
            raise ScenarioError(f"{path}: entry [{i}] must be an object, got {e!r}")
    return doc


def text(d: dict[str, Any], key: str, path: Path, field: str) -> str:
    v = d.get(key)
    if not isinstance(v, str):
        raise ScenarioError(f"{path}: {field} must be a string, got {v!r}")
    return v


def numbers(values: Any, path: Path, field: str) -> list[float]:
    """A non-empty list of finite numbers."""
    if not isinstance(values, list) or not values:
        raise ScenarioError(f"{path}: {field} must be a non-empty list of numbers")
    return [number(v, path, f"{field}[{i}]") for i, v in enumerate(values)]


def t(x: float) -> float:
    """A time as written to FDB files: the float itself (JSON keeps every bit of it)."""
    return float(x)


# ----------------------------------------------------------------------------------- audio
#: The rate of every wav we write into FDB folders: the anchor's backchannel script hands a
#: file's samples to Silero as 16 kHz whatever the file's rate (a 24 kHz file reads 1.5x slow),
#: and its timing script resamples to 16 kHz anyway.
FDB_RATE = 16000


def pcm16(x: Samples, rate: int) -> npt.NDArray[np.int16]:
    """``x`` as the 16 kHz 16-bit samples we write to an FDB folder: resampled, then converted
    to PCM as writing a wav file converts it (libsndfile's rounding and clipping), so the figures
    a run computes "the FDB way" are those FDB's scripts compute on the file."""
    y = resample(np.asarray(x, np.float32), rate, FDB_RATE) if rate != FDB_RATE else x
    buf = io.BytesIO()
    sf.write(buf, np.clip(y, -1.0, 1.0), FDB_RATE, subtype="PCM_16", format="WAV")
    buf.seek(0)
    ints, _ = sf.read(buf, dtype="int16")
    return np.asarray(ints, np.int16)


def as_read(ints: npt.NDArray[np.int16]) -> Samples:
    """PCM samples as a wav reader gives them (``int / 32768``, as torchaudio and soundfile)."""
    return (ints.astype(np.float32) / 32768.0).astype(np.float32)


def write_pcm16(path: Path, ints: npt.NDArray[np.int16]) -> None:
    sf.write(str(path), ints, FDB_RATE, subtype="PCM_16", format="WAV")


def fdb_output(recording: Recording) -> tuple[Samples, int]:
    """The model channel as the anchor's scripts read its file: an imported sample's own samples
    with their rate (its backchannel script takes them as 16 kHz whatever the rate), a session's
    as our export writes them (16 kHz PCM)."""
    if recording.source_folder is not None:
        return recording.model, recording.sample_rate
    return as_read(pcm16(recording.model, recording.sample_rate)), FDB_RATE
