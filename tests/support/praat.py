"""Praat is an opt-in extra (GPL-3.0): tests that need it say so and skip with the reason when it
is missing. ``make test`` installs it, so CI runs them."""

from __future__ import annotations

import pytest

try:
    import parselmouth  # noqa: F401

    HAVE_PRAAT = True
except ImportError:
    HAVE_PRAAT = False
needs_praat = pytest.mark.skipif(
    not HAVE_PRAAT,
    reason="needs praat-parselmouth: the extra 'praat' (`pip install -e '.[praat]'`, `make praat`)",
)
