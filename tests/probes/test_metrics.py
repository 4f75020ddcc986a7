"""Accuracy, paired gaps and NLL shifts: exact values and bootstrap-interval sanity."""

from __future__ import annotations

import math

import numpy as np

from duplex.probes import metrics
from duplex.probes.metrics import ItemScores
from duplex.probes.scoring import TokenScores


def item(i: int, good: float, bad: float, label: int = 0) -> ItemScores:
    a, b = TokenScores((math.log(good),)), TokenScores((math.log(bad),))
    return ItemScores(f"i{i}", label, (a, b) if label == 0 else (b, a))


def test_identical_conditions_have_zero_gap_and_zero_width_interval() -> None:
    items = [item(i, 0.6 if i % 3 else 0.2, 0.4) for i in range(40)]
    idx = metrics.resample_indices(len(items), seed=0)
    g = metrics.gap(items, items, "mean", idx)
    assert (g.value, g.low, g.high) == (0.0, 0.0, 0.0)
    d = metrics.nll_shift(items, items, idx)
    assert (d.value, d.low, d.high) == (0.0, 0.0, 0.0)


def test_paired_gap_is_exact_and_narrower_than_independent_intervals() -> None:
    rng = np.random.default_rng(1)
    correct_ref = rng.random(200) < 0.7
    flips = rng.random(200) < 0.1  # the spoken condition loses 10% of items, gains none
    ref = [item(i, 0.6 if c else 0.3, 0.4) for i, c in enumerate(correct_ref)]
    oth = [
        item(i, 0.6 if c and not f else 0.3, 0.4)
        for i, (c, f) in enumerate(zip(correct_ref, flips, strict=True))
    ]
    idx = metrics.resample_indices(200, seed=0)
    a_ref = metrics.accuracy(ref, "mean", idx)
    a_oth = metrics.accuracy(oth, "mean", idx)
    g = metrics.gap(ref, oth, "mean", idx)
    assert g.value == a_ref.value - a_oth.value > 0
    assert g.low <= g.value <= g.high
    assert g.low >= 0  # the other condition never wins an item: no draw can give a negative gap
    independent = math.hypot(a_ref.high - a_ref.low, a_oth.high - a_oth.low)
    assert g.high - g.low < 0.6 * independent


def test_bootstrap_is_seeded_and_the_interval_covers_the_value() -> None:
    items = [item(i, 0.6 if i % 4 else 0.2, 0.4) for i in range(50)]
    a1 = metrics.accuracy(items, "sum", metrics.resample_indices(50, seed=3))
    a2 = metrics.accuracy(items, "sum", metrics.resample_indices(50, seed=3))
    assert a1 == a2
    assert a1.value == 37 / 50 and a1.low < a1.value < a1.high  # 13 of 50 wrong


def test_pooled_accuracy_counts_comparisons_not_items() -> None:
    four = ItemScores("h", 0, tuple(TokenScores((math.log(p),)) for p in (0.5, 0.4, 0.6, 0.1)))
    two = item(1, 0.2, 0.4)  # wrong
    idx = metrics.resample_indices(2, seed=0)
    assert metrics.accuracy([four, two], "mean", idx).value == 2 / 4
