"""Backchannel timing as distributions over 200 ms bins (the anchor's representation).

Bin ``i`` covers ``[0.2 i, 0.2 (i + 1))``; an output of ``duration`` seconds has
``int(duration / 0.2) + 1`` bins, as in Full-Duplex-Bench. The forms are described in
:mod:`duplex.metrics.backchannel`.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]

BIN_S = 0.2
EPSILON = 1e-10
#: Half-width of the triangle kernel spreading a reference point's (or an output onset's) weight.
ONSET_SPREAD_S = 0.4
#: The span form: a nominal backchannel's duration and the spread of its onset.
NOMINAL_BACKCHANNEL_S = 0.4
SPAN_SPREAD_S = 0.2


def n_bins(duration: float) -> int:
    return int(duration / BIN_S) + 1


def _triangle_cdf(x: Array, centre: float, half_width: float) -> Array:
    u = np.clip((x - centre) / half_width, -1.0, 1.0)
    return np.where(u <= 0.0, 0.5 * (1.0 + u) ** 2, 1.0 - 0.5 * (1.0 - u) ** 2)


def _triangle_bins(centre: float, half_width: float, n: int) -> Array:
    """Mass of a triangle kernel (area 1) in each bin, integrated exactly; mass before 0 goes to
    the first bin and mass after the last bin's start to the last bin (as clipping would)."""
    edges = np.arange(1, n, dtype=np.float64) * BIN_S
    cdf = np.concatenate([[0.0], _triangle_cdf(edges, centre, half_width), [1.0]])
    return np.diff(cdf)


def _normalised(h: Array) -> Array:
    total = float(h.sum())
    return h / total if total > 0 else h


def onset_distribution(points: Iterable[tuple[float, float]], duration: float) -> Array:
    """Onset form: each ``(t, weight)`` spread +- ONSET_SPREAD_S (triangle); zeros if no weight."""
    n = n_bins(duration)
    h = np.zeros(n, np.float64)
    for t, w in points:
        h += w * _triangle_bins(t, ONSET_SPREAD_S, n)
    return _normalised(h)


def _span_bins(start: float, end: float, n: int) -> range:
    """Bins the anchor adds 1 to for a segment: ``int(start/0.2)`` .. ``int(end/0.2)``, clipped."""
    return range(max(0, int(start / BIN_S)), min(n - 1, int(end / BIN_S)) + 1)


#: A nominal backchannel starting in bin k spans bins k .. k + _SPAN_EXTRA by the anchor's count.
_SPAN_EXTRA = round(NOMINAL_BACKCHANNEL_S / BIN_S)


def span_distribution(points: Iterable[tuple[float, float]], duration: float) -> Array:
    """Span form of the reference (module doc); zeros if no weight.

    A nominal 0.4 s backchannel with its onset in bin ``k`` is counted by the anchor in bins
    ``k .. k + 2``, so the expected count is the onset's bin mass spread over the next two bins.
    """
    n = n_bins(duration)
    onset = np.zeros(n, np.float64)
    for t, w in points:
        onset += w * _triangle_bins(t, SPAN_SPREAD_S, n)
    h = onset.copy()
    for k in range(1, _SPAN_EXTRA + 1):
        h[k:] += onset[:-k]
    return _normalised(h)
