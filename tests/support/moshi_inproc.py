"""The tiny random Moshi checkpoint for in-process tests, written once per test session.

The same recipe as the reference server's (:mod:`duplex.models.moshi_tiny`), run inside the test
process: the ``moshi`` package is installed in the project's own environment too (extra
``[moshi]``).
"""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path

import pytest

#: Why the in-process Moshi tests are skipped, or None when they can run.
MISSING = (
    None
    if importlib.util.find_spec("moshi") and importlib.util.find_spec("sentencepiece")
    else "the moshi package is not installed (extra [moshi]: see docs/models.md)"
)

needs_moshi = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


@functools.cache
def _write(root: str) -> Path:
    from duplex.models import moshi_tiny

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return moshi_tiny.write(Path(root) / "moshi-tiny")


def tiny_checkpoint(factory: pytest.TempPathFactory) -> Path:
    """The folder (config.json, moshi/mimi safetensors, tokenizer.model), made on first use."""
    return _write(str(factory.getbasetemp()))
