"""The on-disk caches' one home: where they live, atomic writes and audio checksums.

Rendered scenarios, probe renders and transcripts, and judge verdicts are cached under
``$DUPLEX_BENCH_CACHE/<kind>`` (default ``$XDG_CACHE_HOME/duplex-bench/<kind>``, else
``~/.cache/duplex-bench/<kind>``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
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


class KeyedStore:
    """One sqlite table of text values by key, safe to share between threads: the store under
    every cache of answers (judge verdicts, overlap labels, conversation verdicts, examiner lines,
    arena battles). ``path`` None keeps it in memory (tests). ``table`` and ``column`` are the
    cache's own names, constants, so the files earlier versions wrote still read."""

    def __init__(self, path: Path | None, table: str, column: str = "verdict") -> None:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._select = f"SELECT {column} FROM {table} WHERE key = ?"
        self._insert = f"INSERT OR REPLACE INTO {table} VALUES (?, ?)"
        self._lock = threading.Lock()
        # One connection shared by the worker threads, serialised by the lock.
        self._db = sqlite3.connect(
            ":memory:" if path is None else str(path), check_same_thread=False, timeout=30
        )
        with self._lock, self._db:
            self._db.execute(
                f"CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, {column} TEXT NOT NULL)"
            )

    def read(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute(self._select, (key,)).fetchone()
        return None if row is None else str(row[0])

    def write(self, key: str, value: str) -> None:
        with self._lock, self._db:
            self._db.execute(self._insert, (key, value))

    def close(self) -> None:
        with self._lock:
            self._db.close()
