"""On-disk cache of probe renders and transcripts: ``$DUPLEX_BENCH_CACHE/probes``.

Keys are sha256 digests of everything that determines the content (text, voice, rate, renderer
version, TTS or ASR provenance), so a changed backend never hits a stale entry. Writes go to a
temporary file renamed into place; an entry that fails its checks is treated as absent (and
logged), never trusted. A cache that cannot be written is logged and the run goes on uncached.
"""

from __future__ import annotations

import hashlib
import json
import logging
import zipfile
from typing import Any

import numpy as np

from duplex.audio import Samples
from duplex.cache import atomic_write, audio_sha256, cache_dir

_FORMAT = 1
_log = logging.getLogger(__name__)


def key(payload: dict[str, Any]) -> str:
    """Content hash of a JSON-serialisable description."""
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


def load_audio(k: str) -> tuple[Samples, int] | None:
    path = cache_dir("probes") / f"{k}.npz"
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(bytes(data["header"]).decode("utf-8"))
            x = np.asarray(data["audio"], dtype=np.float32)
        if header.get("format") != _FORMAT or header.get("key") != k:
            raise ValueError("header does not match the key")
        if header.get("audio_sha256") != audio_sha256(x):
            raise ValueError("audio does not match its checksum")
        return x, int(header["rate"])
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
        _log.warning("ignoring damaged probe cache entry %s (%s)", path, exc)
        return None


def store_audio(k: str, x: Samples, rate: int) -> None:
    header = {"format": _FORMAT, "key": k, "rate": rate, "audio_sha256": audio_sha256(x)}
    header_bytes = np.frombuffer(json.dumps(header).encode("utf-8"), np.uint8)

    def write(f: Any) -> None:
        np.savez(f, audio=x.astype("<f4"), header=header_bytes)

    _atomic_write(f"{k}.npz", write)


def load_json(k: str) -> Any | None:
    path = cache_dir("probes") / f"{k}.json"
    if not path.is_file():
        return None
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
        if obj.get("format") != _FORMAT or obj.get("key") != k:
            raise ValueError("header does not match the key")
        return obj["value"]
    except (OSError, ValueError, KeyError, AttributeError) as exc:
        _log.warning("ignoring damaged probe cache entry %s (%s)", path, exc)
        return None


def store_json(k: str, value: Any) -> None:
    blob = json.dumps({"format": _FORMAT, "key": k, "value": value}).encode("utf-8")
    _atomic_write(f"{k}.json", lambda f: f.write(blob))


def _atomic_write(name: str, write: Any) -> None:
    atomic_write(cache_dir("probes"), name, write, "probe cache")
