"""Paired statistics for comparing two runs item by item.

Both runs scored the same items, so each item gives one difference ``candidate - base``; items are
the resampling unit. Pairing removes the between-item spread (some items are hard for every model),
which is most of the variance of a per-run mean.

- :func:`paired_bootstrap_ci`: percentile bootstrap interval of the mean difference.
- :func:`sign_flip_pvalue`: two-sided permutation test of "no difference": under that hypothesis
  each difference is as likely to have had the other sign (the two runs' labels are exchangeable
  within an item), so the observed mean is compared with the means of all sign flips - exactly
  for up to :data:`EXACT_MAX_N` items, else over seeded random flips.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

#: Up to this many items every one of the 2**n sign patterns is enumerated (65536 x 16 at most).
EXACT_MAX_N = 16

Floats = npt.NDArray[np.float64]


def paired_bootstrap_ci(
    diffs: Sequence[float] | Floats,
    *,
    n_resamples: int = 5000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval of the mean of ``diffs``, resampling items (pairs) with replacement.

    n = 0 gives (nan, nan); n = 1 gives (d, d): one pair carries no spread to resample.
    """
    d = np.asarray(diffs, np.float64)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if d.size == 0:
        return (math.nan, math.nan)
    if d.size == 1:
        return (float(d[0]), float(d[0]))
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, d.size, size=(n_resamples, d.size))].mean(axis=1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return (float(low), float(high))


def sign_flip_pvalue(
    diffs: Sequence[float] | Floats, *, n_resamples: int = 20000, seed: int = 0
) -> float:
    """Two-sided p-value of "the mean difference is 0" by flipping the signs of the differences.

    Exact (all 2**n patterns) for n <= :data:`EXACT_MAX_N`; otherwise ``n_resamples`` seeded random
    patterns with the usual +1 correction, so p is never 0. With n items the smallest exact p is
    2 / 2**n: fewer than 6 items can never reach p < 0.05.
    """
    d = np.asarray(diffs, np.float64)
    if d.size == 0:
        return math.nan
    observed = abs(float(d.sum()))
    # Sums that equal the observed one up to float rounding must count as "as extreme".
    tol = 1e-9 * max(1.0, float(np.abs(d).sum()))
    if observed <= tol:
        return 1.0
    if d.size <= EXACT_MAX_N:
        patterns = ((np.arange(2**d.size)[:, None] >> np.arange(d.size)) & 1) * 2 - 1
        sums = np.abs(patterns @ d)
        return float(np.mean(sums >= observed - tol))
    rng = np.random.default_rng(seed)
    signs = rng.choice(np.array([-1.0, 1.0]), size=(n_resamples, d.size))
    extreme = int(np.sum(np.abs(signs @ d) >= observed - tol))
    return (extreme + 1) / (n_resamples + 1)
