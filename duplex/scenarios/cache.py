"""On-disk cache of rendered scenario items, keyed by the item's content hash.

One ``<spec_hash>.npz`` per item holds the audio, the audio of each reactive cue (``cue0``,
``cue1``, ...) and a JSON header (rate, annotations, provenance, the cues' timing and text, and a
sha256 of every audio array). Entries are written to a temporary file and renamed into
place, so a reader never sees half a file; an entry that fails any check is treated as absent and
re-rendered, never trusted.
"""

from __future__ import annotations

import json
import logging
import zipfile
from dataclasses import dataclass
from typing import Any

import numpy as np

from duplex.annotations import Annotations
from duplex.audio import Samples
from duplex.cache import atomic_write, audio_sha256, cache_dir
from duplex.scenarios.base import ReactiveCue

_FORMAT = 2  # 2: cues

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    audio: Samples
    sample_rate: int
    annotations: Annotations
    provenance: dict[str, Any]
    cues: tuple[ReactiveCue, ...] = ()


def load(spec_hash: str) -> Entry | None:
    """The cached entry, or None when absent or failing any integrity check."""
    path = cache_dir("scenarios") / f"{spec_hash}.npz"
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(bytes(data["header"]).decode("utf-8"))
            audio = np.asarray(data["audio"], dtype=np.float32)
            cue_headers = list(header.get("cues", []))
            cue_audio = [
                np.asarray(data[f"cue{i}"], dtype=np.float32) for i in range(len(cue_headers))
            ]
        if (
            header.get("format") != _FORMAT
            or header.get("spec_hash") != spec_hash
            or header.get("audio_sha256") != audio_sha256(audio)
            or any(
                c.get("audio_sha256") != audio_sha256(x)
                for c, x in zip(cue_headers, cue_audio, strict=True)
            )
        ):
            raise ValueError("header does not match the content")
        cues = tuple(
            ReactiveCue(
                name=str(c["name"]),
                text=str(c["text"]),
                audio=x,
                after_model_onset=float(c["after_model_onset"]),
                armed_at=float(c["armed_at"]),
                fallback_at=float(c["fallback_at"]),
            )
            for c, x in zip(cue_headers, cue_audio, strict=True)
        )
        return Entry(
            audio=audio,
            sample_rate=int(header["sample_rate"]),
            annotations=Annotations.from_json(header["annotations"]),
            provenance=dict(header["provenance"]),
            cues=cues,
        )
    # A damaged file can fail in many layers (zip, npy, json, our checks); all mean "re-render".
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
        _log.warning("ignoring damaged scenario cache entry %s (%s)", path, exc)
        return None


def store(spec_hash: str, entry: Entry) -> None:
    """Write an entry atomically; a cache that cannot be written is logged, not fatal."""
    folder = cache_dir("scenarios")
    header = {
        "format": _FORMAT,
        "spec_hash": spec_hash,
        "sample_rate": entry.sample_rate,
        "audio_sha256": audio_sha256(entry.audio),
        "annotations": entry.annotations.to_json(),
        "provenance": entry.provenance,
        "cues": [
            {
                "name": cue.name,
                "text": cue.text,
                "after_model_onset": cue.after_model_onset,
                "armed_at": cue.armed_at,
                "fallback_at": cue.fallback_at,
                "audio_sha256": audio_sha256(cue.audio),
            }
            for cue in entry.cues
        ],
    }
    header_bytes = np.frombuffer(json.dumps(header, sort_keys=True).encode("utf-8"), np.uint8)
    arrays: dict[str, Any] = {"audio": entry.audio.astype("<f4"), "header": header_bytes}
    arrays.update({f"cue{i}": cue.audio.astype("<f4") for i, cue in enumerate(entry.cues)})
    atomic_write(folder, f"{spec_hash}.npz", lambda f: np.savez(f, **arrays), "scenario cache")
