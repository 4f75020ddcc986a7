"""The embedded judge on the calibration set (loads SmolLM2: about 30-50 s on a busy CPU)."""

from __future__ import annotations

import pytest

from duplex.judges import load_judge
from duplex.judges.cache import VerdictCache
from duplex.judges.calibrate import calibrate, format_calibration
from duplex.judges.smollm2 import score_of


def test_score_mapping() -> None:
    assert [score_of(v, 0.5) for v in (-1.0, 0.0, 0.49, 0.5, 1.2, 2.0, 9.0)] == [
        0,
        1,
        1,
        2,
        3,
        5,
        5,
    ]


@pytest.mark.slow
def test_embedded_judge_orders_the_calibration_set() -> None:
    judge = load_judge("smollm2")
    try:
        cal = calibrate(judge, cache=VerdictCache())
    finally:
        judge.close()
    print(format_calibration(cal))
    relevant_over_unrelated = cal.by_pair["relevant>unrelated"]
    assert relevant_over_unrelated.missing == 0
    assert relevant_over_unrelated.concordant / relevant_over_unrelated.pairs >= 0.9
    assert cal.overall.accuracy is not None and cal.overall.accuracy >= 0.8
