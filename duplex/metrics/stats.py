"""Aggregates over items: means with percentile-bootstrap confidence intervals.

Items are the resampling unit (one value per item), as in Full-Duplex-Bench's per-sample
averages; the anchor reports means only, the intervals are ours.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

Stat = Callable[[npt.NDArray[np.float64]], float]


def mean(x: npt.NDArray[np.float64]) -> float:
    return float(np.mean(x))


def bootstrap_ci(
    values: Iterable[float],
    *,
    stat: Stat = mean,
    n_resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``stat`` over items; the same seed gives the same interval.

    n = 0 gives (nan, nan); n = 1 gives (v, v) - a single item carries no spread to resample,
    and callers must read ``n`` beside the interval.
    """
    x = np.asarray(list(values), np.float64)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if x.size == 0:
        return (math.nan, math.nan)
    if x.size == 1:
        v = stat(x)
        return (v, v)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_resamples, x.size))
    samples = x[idx]
    if stat is mean:
        stats = samples.mean(axis=1)  # vectorised fast path for the common case
    else:
        stats = np.array([stat(row) for row in samples])
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(stats, [alpha, 1.0 - alpha])
    return (float(low), float(high))


def summarize(
    per_item: Sequence[dict[str, Any]], keys: Iterable[str], *, seed: int = 0
) -> dict[str, dict[str, float | int | None]]:
    """``{key: {"mean", "ci_low", "ci_high", "n"}}``; None, missing and NaN values are skipped,
    booleans count as 0/1. With no values the figures are None (JSON has no NaN)."""
    out: dict[str, dict[str, float | int | None]] = {}
    for key in keys:
        vals = [float(v) for item in per_item if (v := item.get(key)) is not None]
        vals = [v for v in vals if not math.isnan(v)]
        if not vals:
            out[key] = {"mean": None, "ci_low": None, "ci_high": None, "n": 0}
            continue
        low, high = bootstrap_ci(vals, seed=seed)
        out[key] = {"mean": float(np.mean(vals)), "ci_low": low, "ci_high": high, "n": len(vals)}
    return out


def number(v: Any) -> float | None:
    """A metric value as a float; None for missing, NaN, strings and other non-numbers."""
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, int | float) and not math.isnan(v):
        return float(v)
    return None
