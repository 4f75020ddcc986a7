"""The user's level and speech below it, on chunks of known power."""

from __future__ import annotations

import numpy as np
import pytest

from duplex.models.cascade.levels import VoiceLevels, power


def test_power_and_levels_in_db() -> None:
    assert power(np.full(100, 0.1, np.float32)) == pytest.approx(0.01)
    levels = VoiceLevels()
    for end, p in ((10, 0.01), (20, 0.01), (30, 0.0001)):
        levels.add(end, p)
    assert levels.level_db(0, 20) == pytest.approx(-20.0)
    # energy mean: one chunk 20 dB down lowers two loud ones by 1.7 dB, not by a third of 20
    assert levels.level_db(0, 30) == pytest.approx(10 * np.log10(0.0201 / 3))
    assert levels.level_db(30, 40) is None  # no chunk ends in (30, 40]


def test_speech_below_the_answered_turns() -> None:
    levels = VoiceLevels()
    assert levels.reference_db is None
    for end in range(10, 110, 10):  # the user's turn at -20 dB
        levels.add(end, 0.01)
    assert levels.below_user_db(0, 100) is None  # not answered yet: no reference
    levels.addressed(0, 100)
    assert levels.reference_db == pytest.approx(-20.0)
    for end in range(110, 160, 10):  # side talk 8 dB down
        levels.add(end, 0.01 * 10 ** (-8 / 10))
    assert levels.below_user_db(100, 150) == pytest.approx(8.0)
    # a later answered turn moves the reference by its chunks' weight
    for end in range(160, 260, 10):
        levels.add(end, 0.04)
    levels.addressed(150, 250)
    assert levels.reference_db == pytest.approx(10 * np.log10(0.025))
