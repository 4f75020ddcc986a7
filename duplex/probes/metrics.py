"""Probe metrics: pairwise accuracy under two rules, the t2t - spoken gap, NLL shifts.

Rules
    ``mean`` (S2SBench): the loss of a continuation is its mean token negative log-likelihood
    over the continuation tokens only; a pair is correct when the plausible continuation's loss
    is strictly lower (a tie is wrong). ``sum``: the same with the summed log-likelihood, higher
    wins, strictly; BLiMP needs it because its two suffixes can differ in length and the
    grammatical one is often the longer. An item with one plausible and N distractors gives N
    comparisons; accuracy = correct comparisons / comparisons.

Intervals
    Items are the resampling unit (the comparisons of one item share its context and are not
    independent). The percentile bootstrap redraws items with replacement and recomputes the
    pooled ratio. Gaps and NLL differences are paired: one draw of item indices is applied to
    both conditions, so the interval reflects the variation of the difference, not of two
    independent accuracies (which would be much wider: the conditions share their items).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from duplex.probes.scoring import TokenScores

RULES = ("mean", "sum")
N_RESAMPLES = 2000
LEVEL = 0.95

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ItemScores:
    """One item under one condition: the label and the scores of every choice."""

    item_id: str
    label: int
    scores: tuple[TokenScores, ...]

    def correct(self, rule: str) -> tuple[int, int]:
        """(correct comparisons, comparisons) of this item under ``rule``."""
        good = self.scores[self.label]
        others = [s for j, s in enumerate(self.scores) if j != self.label]
        if rule == "mean":
            wins = sum(good.mean_nll < o.mean_nll for o in others)
        elif rule == "sum":
            wins = sum(good.total > o.total for o in others)
        else:
            raise ValueError(f"unknown rule {rule!r} (rules: {', '.join(RULES)})")
        return int(wins), len(others)

    @property
    def plausible_nll(self) -> float:
        """Mean token NLL of the plausible continuation."""
        return self.scores[self.label].mean_nll


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float
    high: float

    def to_json(self) -> dict[str, float | None]:
        def clean(v: float) -> float | None:
            return None if math.isnan(v) else round(v, 6)

        return {"value": clean(self.value), "ci_low": clean(self.low), "ci_high": clean(self.high)}


def resample_indices(n: int, *, seed: int, n_resamples: int = N_RESAMPLES) -> npt.NDArray[np.int64]:
    """The item draws shared by every figure of one set: [n_resamples, n] indices."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, n, size=(n_resamples, n))


def _interval(samples: Array, level: float = LEVEL) -> tuple[float, float]:
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(samples, [alpha, 1.0 - alpha])
    return float(low), float(high)


def _counts(items: Sequence[ItemScores], rule: str) -> tuple[Array, Array]:
    pairs = [it.correct(rule) for it in items]
    return (
        np.array([c for c, _ in pairs], np.float64),
        np.array([n for _, n in pairs], np.float64),
    )


def accuracy(items: Sequence[ItemScores], rule: str, idx: npt.NDArray[np.int64]) -> Estimate:
    """Pooled pairwise accuracy with its bootstrap interval over the draws ``idx``."""
    if not items:
        return Estimate(math.nan, math.nan, math.nan)
    correct, total = _counts(items, rule)
    value = float(correct.sum() / total.sum())
    boot = correct[idx].sum(axis=1) / total[idx].sum(axis=1)
    return Estimate(value, *_interval(boot))


def gap(
    reference: Sequence[ItemScores],
    other: Sequence[ItemScores],
    rule: str,
    idx: npt.NDArray[np.int64],
) -> Estimate:
    """acc(reference) - acc(other) on the same items, with a paired bootstrap interval."""
    _same_items(reference, other)
    if not reference:
        return Estimate(math.nan, math.nan, math.nan)
    c_ref, n_ref = _counts(reference, rule)
    c_oth, n_oth = _counts(other, rule)
    value = float(c_ref.sum() / n_ref.sum() - c_oth.sum() / n_oth.sum())
    boot = c_ref[idx].sum(axis=1) / n_ref[idx].sum(axis=1) - c_oth[idx].sum(axis=1) / n_oth[
        idx
    ].sum(axis=1)
    return Estimate(value, *_interval(boot))


def nll_shift(
    reference: Sequence[ItemScores], other: Sequence[ItemScores], idx: npt.NDArray[np.int64]
) -> Estimate:
    """Mean over items of NLL(other) - NLL(reference) of the plausible continuation (paired)."""
    _same_items(reference, other)
    if not reference:
        return Estimate(math.nan, math.nan, math.nan)
    d = np.array([o.plausible_nll - r.plausible_nll for r, o in zip(reference, other, strict=True)])
    return Estimate(float(d.mean()), *_interval(d[idx].mean(axis=1)))


def mean_nll(items: Sequence[ItemScores], idx: npt.NDArray[np.int64]) -> Estimate:
    """Mean token NLL of the plausible continuation, averaged over items."""
    if not items:
        return Estimate(math.nan, math.nan, math.nan)
    x = np.array([it.plausible_nll for it in items])
    return Estimate(float(x.mean()), *_interval(x[idx].mean(axis=1)))


def _same_items(a: Sequence[ItemScores], b: Sequence[ItemScores]) -> None:
    if [x.item_id for x in a] != [x.item_id for x in b]:
        raise ValueError("paired figures need the same items in the same order")
