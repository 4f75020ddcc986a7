"""The on-disk caches' one home: where they live, atomic writes and audio checksums.

Rendered scenarios, probe renders and transcripts, and judge verdicts are cached under
``$DUPLEX_BENCH_CACHE/<kind>`` (default ``$XDG_CACHE_HOME/duplex-bench/<kind>``, else
``~/.cache/duplex-bench/<kind>``).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO

import numpy as np

from duplex.audio import Samples
from duplex.errors import ResultsError
from duplex.writing import write_bytes

_log = logging.getLogger(__name__)

#: Environment variable naming the cache root.
CACHE_ENV = "DUPLEX_BENCH_CACHE"


def cache_dir(kind: str) -> Path:
    """The folder of one cache: ``scenarios``, ``probes``, ``judges``..."""
    root = os.environ.get(CACHE_ENV)
    if root:
        return Path(root).expanduser() / kind
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "duplex-bench" / kind


def audio_sha256(x: Samples) -> str:
    """Checksum of samples as little-endian float32, stored beside them to catch damage."""
    return hashlib.sha256(np.ascontiguousarray(x, dtype="<f4").tobytes()).hexdigest()


def atomic_write(folder: Path, name: str, write: Callable[[IO[bytes]], object], what: str) -> None:
    """Write ``folder/name`` atomically (:func:`duplex.writing.write_bytes`). A cache that cannot
    be written is logged (``what`` names it), never fatal: the run goes on uncached."""
    try:
        write_bytes(folder / name, write, what=what)
    except ResultsError as exc:
        _log.warning("%s; continuing uncached", exc)
