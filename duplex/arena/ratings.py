"""Ratings from pairwise outcomes: Bradley-Terry by (penalised) maximum likelihood, bootstrap
intervals, optional style control, and online Elo for comparison with S2S-Arena and MTalk-Bench.

Bradley-Terry, on Chatbot Arena's scale: ``P(a beats b) = 1 / (1 + 10 ** (beta_b - beta_a))`` and
the rating is ``1000 + 400 * beta``. A tie counts as half a win for each side (its outcome is
0.5 in the likelihood ``y log p + (1 - y) log(1 - p)``, the same as one win and one loss at half
weight). The fit maximises the log-likelihood plus a weak normal prior on every ``beta`` (sd
:data:`PRIOR_SD` rating points, centred on 1000): without it the estimate is infinite as soon as
one system wins every battle against another, which is exactly what a clear difference produces
on a few items. With a hundred battles per pair the prior moves ratings by a few points.
Newton's method on the concave objective; a handful of systems converge in about ten steps.

Style control (Chatbot Arena's): covariates per battle enter the same logistic model,
``logit10 P = beta_a - beta_b + sum_k gamma_k z_k``, where ``z_k`` is the normalised difference
``(f_a - f_b) / (f_a + f_b)`` of a response feature (duration, length in words), standardised over
the battles. The ratings then say which system is preferred at equal duration and length, and
``gamma`` (in rating points per standard deviation) how much the judge likes longer responses.

Intervals: percentile bootstrap with a fixed seed. The resampling unit is a *comparison* (one item
for one pair of systems, with its judgements in both orders), because the two orders of one
comparison are not independent: resampling them apart would understate the uncertainty.
Reported: the fit on all data, and the bootstrap median, 2.5 and 97.5 percentiles.

Elo (S2S-Arena: K = 32; MTalk-Bench: K = 4; both start at 1000): judgements in a seeded random
order, ties as 0.5. It depends on that order, which is why it is shown beside BT, not instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from duplex.errors import ConfigError

SCALE = 400.0
BASE = 1000.0
#: sd of the normal prior on each rating, in rating points (module doc)
PRIOR_SD = 1000.0
LN10 = math.log(10.0)
ELO_KS = (32.0, 4.0)

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Outcome:
    """One judgement between systems ``a`` and ``b`` (indices): ``score`` 1 a won, 0.5 a tie,
    0 b won. ``unit`` groups the judgements that are resampled together (one comparison)."""

    a: int
    b: int
    score: float
    unit: int
    #: style covariates of this judgement (feature of a, feature of b), by feature name
    style: dict[str, tuple[float, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Interval:
    rating: float  # the fit on all judgements
    median: float
    low: float  # 2.5th percentile
    high: float  # 97.5th percentile


@dataclass(frozen=True)
class BtFit:
    ratings: dict[str, Interval]
    #: style coefficients in rating points per sd of the covariate (style control only)
    style: dict[str, Interval] = field(default_factory=dict)
    resamples: int = 0
    seed: int = 0


def _design(outcomes: Sequence[Outcome], n: int, features: Sequence[str]) -> tuple[Array, Array]:
    """Rows ``[e_a - e_b, z]`` and outcomes ``y``."""
    x = np.zeros((len(outcomes), n + len(features)))
    y = np.array([o.score for o in outcomes], np.float64)
    for i, o in enumerate(outcomes):
        x[i, o.a] += 1.0
        x[i, o.b] -= 1.0
        for k, name in enumerate(features):
            fa, fb = o.style[name]
            x[i, n + k] = (fa - fb) / (fa + fb) if fa + fb > 0 else 0.0
    if features:
        z = x[:, n:]
        sd = z.std(axis=0)
        x[:, n:] = np.where(sd > 0, z / np.where(sd > 0, sd, 1.0), 0.0)
    return x, y


def _fit(x: Array, y: Array, w: Array, prior_sd: float, iters: int = 50) -> Array:
    """Penalised MLE of the coefficients (log10 odds units) by Newton's method."""
    k = x.shape[1]
    theta = np.zeros(k)
    precision = (SCALE / prior_sd) ** 2  # the prior on beta in log10 units
    for _ in range(iters):
        eta = LN10 * (x @ theta)
        p = 1.0 / (1.0 + np.exp(-eta))
        grad = LN10 * (x.T @ (w * (y - p))) - precision * theta
        h = (LN10**2) * (x.T * (w * p * (1 - p))) @ x + precision * np.eye(k)
        step = np.linalg.solve(h, grad)
        theta += step
        if float(np.max(np.abs(step))) < 1e-10:
            break
    return theta


def fit_bt(
    names: Sequence[str],
    outcomes: Sequence[Outcome],
    *,
    style: Sequence[str] = (),
    resamples: int = 1000,
    seed: int = 0,
    prior_sd: float = PRIOR_SD,
) -> BtFit:
    """Bradley-Terry ratings with bootstrap intervals (module doc); ``style`` names covariates."""
    if not outcomes:
        raise ConfigError("no judgements to rate")
    if resamples < 1:
        raise ConfigError(f"bootstrap resamples must be at least 1, got {resamples}")
    n = len(names)
    x, y = _design(outcomes, n, style)
    full = _fit(x, y, np.ones(len(y)), prior_sd)
    units = np.array([o.unit for o in outcomes])
    ids, inverse = np.unique(units, return_inverse=True)
    rng = np.random.default_rng(seed)
    draws = np.empty((resamples, x.shape[1]))
    for r in range(resamples):
        counts = np.bincount(rng.integers(0, ids.size, ids.size), minlength=ids.size)
        draws[r] = _fit(x, y, counts[inverse].astype(np.float64), prior_sd)

    def interval(j: int, offset: float) -> Interval:
        med, lo, hi = np.percentile(draws[:, j], [50, 2.5, 97.5])
        return Interval(*(round(float(offset + SCALE * v), 1) for v in (full[j], med, lo, hi)))

    ratings = {name: interval(i, BASE) for i, name in enumerate(names)}
    coefs = {name: interval(n + k, 0.0) for k, name in enumerate(style)}
    return BtFit(ratings, coefs, resamples, seed)


def win_probability(r_a: float, r_b: float) -> float:
    """P(a beats b) for two ratings on the 1000 + 400 beta scale."""
    return 1.0 / (1.0 + 10.0 ** ((r_b - r_a) / SCALE))


def elo(
    names: Sequence[str], outcomes: Sequence[Outcome], *, k: float, seed: int = 0
) -> dict[str, float]:
    """Online Elo from 1000, judgements in a seeded random order (module doc)."""
    r = [BASE] * len(names)
    order = np.random.default_rng(seed).permutation(len(outcomes))
    for i in order:
        o = outcomes[int(i)]
        delta = k * (o.score - win_probability(r[o.a], r[o.b]))
        r[o.a] += delta
        r[o.b] -= delta
    return {name: round(v, 1) for name, v in zip(names, r, strict=True)}
