"""Sample-accurate speech edges: refine a VAD's chunk-level boundaries with the signal's energy.

A VAD decides per chunk (32 ms for Silero), and its probability rises and falls with some lag,
so its edges are off by tens of milliseconds - too coarse for latencies that must be measured
within 20 ms. The VAD is good at *whether* there is speech; the energy envelope is good at *where*
it starts once we know it is there. The method, per segment:

1. Envelope: RMS over a 5 ms window, *trailing* for onsets (``x[n-w+1..n]``) and *leading* for
   offsets (``x[n..n+w-1]``), so that a sharp edge at sample ``t`` is first seen at ``t`` itself
   rather than half a window early.
2. Levels: the speech level is the loudest envelope value in the first (last) 300 ms of the
   segment; the floor is the 10th percentile of the envelope in the 200 ms before (after) it,
   or digital silence when there is none. The edge threshold is the higher of floor + 10 dB and
   speech level - 40 dB (soft consonants sit 30-40 dB under the vowels).
3. Anchor: the first sample of the search window whose envelope comes within 20 dB of the speech
   level - certainly inside the speech. Walk back from it while the envelope stays above the
   threshold; the onset is where the walk stops. Walking back from inside the speech, rather than
   forward from the silence, makes a click or noise blip before the onset harmless.
4. The search window spans from 3 chunks before to 2 chunks after the VAD's edge and never
   crosses the neighbouring segment. Offsets mirror all of this.

When the speech level is less than 15 dB over the floor (speech in noise, where energy does not
tell speech apart), the VAD's edge is kept.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from duplex.audio import Samples

WINDOW_S = 0.005
LEVEL_SPAN_S = 0.3
FLOOR_SPAN_S = 0.2
FLOOR_MARGIN_DB = 6.0
BELOW_PEAK_DB = 40.0
ANCHOR_DB = 20.0
MIN_CONTRAST_DB = 15.0
BRIDGE_S = 0.08
_SILENT_DB = -160.0
_MIN_FLOOR = 240  # samples (10 ms at 24 kHz) of silence needed for a local floor estimate


class Envelope:
    """Trailing and leading 5 ms RMS in dB, computed once per file from a running sum."""

    def __init__(self, x: Samples, rate: int) -> None:
        self.w = max(1, round(WINDOW_S * rate))
        csum = np.concatenate([[0.0], np.cumsum(np.square(x, dtype=np.float64))])
        n = x.size
        idx = np.arange(n)
        lo = np.maximum(idx - self.w + 1, 0)
        hi = np.minimum(idx + self.w, n)
        self.trailing = _db((csum[idx + 1] - csum[lo]) / self.w)
        self.leading = _db((csum[hi] - csum[idx]) / self.w)
        # Fallback floor where a segment has no silence of its own beside it (file edge, close
        # neighbour): the quietest stretches of the whole file.
        self.floor = float(np.percentile(self.trailing, 5)) if n else _SILENT_DB


def _db(power: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return 10.0 * np.log10(np.maximum(power, 1e-16))


def refine(
    env: Envelope, spans: list[tuple[int, int]], hop: int, rate: int
) -> list[tuple[int, int]]:
    """Refined ``(start, end)`` sample pairs for chunk-level ``spans`` (sorted, disjoint).

    ``hop`` is the VAD's chunk length in samples at ``rate``.
    """
    out: list[tuple[int, int]] = []
    n = env.trailing.size
    level_span = round(LEVEL_SPAN_S * rate)
    floor_span = round(FLOOR_SPAN_S * rate)
    gap = round(BRIDGE_S * rate)
    for i, (s, e) in enumerate(spans):
        prev_end = out[-1][1] if out else 0
        next_start = spans[i + 1][0] if i + 1 < len(spans) else n
        lo = max(prev_end, s - 3 * hop)
        floor = env.trailing[max(prev_end, lo - floor_span) : lo]
        start = _onset(env.trailing, lo, s, min(e, s + level_span), floor, env.floor, gap)
        hi = min(next_start, e + 3 * hop)
        floor = env.leading[hi : min(next_start, hi + floor_span)]
        end = _offset(env.leading, hi, e, max(start, e - level_span), floor, env.floor, gap)
        if end > start:
            out.append((start, end))
    return out


def _anchor_level(level: float, thr: float) -> float:
    # Within 20 dB of the speech level, and well clear of the threshold even when the contrast
    # is small: an anchor in the noise would end the walk before it starts.
    return max(level - ANCHOR_DB, (level + thr) / 2.0)


def _threshold(level: float, floor_seg: npt.NDArray[np.float64], fallback: float) -> float | None:
    floor = float(np.percentile(floor_seg, 10)) if floor_seg.size >= _MIN_FLOOR else fallback
    if level - floor < MIN_CONTRAST_DB:
        return None
    return max(floor + FLOOR_MARGIN_DB, level - BELOW_PEAK_DB)


def _onset(
    env: npt.NDArray[np.float64],
    lo: int,
    s: int,
    level_end: int,
    floor: npt.NDArray[np.float64],
    fallback: float,
    gap: int,
) -> int:
    if level_end <= max(lo, s):
        return s
    level = float(env[s:level_end].max())
    thr = _threshold(level, floor, fallback)
    if thr is None:
        return s
    # The anchor may lie past the VAD's edge: a soft start (a fricative, a rising vowel) can last
    # longer than the VAD's lag, and walking back over it is exactly what we want.
    loud = np.flatnonzero(env[lo:level_end] >= _anchor_level(level, thr))
    if not loud.size:
        return s
    anchor = lo + int(loud[0])
    # Walk back from the anchor; the reversed envelope turns the onset into an offset.
    k = _run_end(env[lo : anchor + 1][::-1] >= thr, gap)
    # Loud up to the window's edge: the speech began before it; keep the VAD's edge.
    return anchor + 1 - k if k is not None else s


def _offset(
    env: npt.NDArray[np.float64],
    hi: int,
    e: int,
    level_start: int,
    floor: npt.NDArray[np.float64],
    fallback: float,
    gap: int,
) -> int:
    if min(hi, e) <= level_start:
        return e
    level = float(env[level_start:e].max())
    thr = _threshold(level, floor, fallback)
    if thr is None:
        return e
    loud = np.flatnonzero(env[level_start:hi] >= _anchor_level(level, thr))
    if not loud.size:
        return e
    anchor = level_start + int(loud[-1])
    # The leading window at sample n covers x[n..n+w-1], so the first quiet n is the end itself.
    k = _run_end(env[anchor:hi] >= thr, gap)
    return anchor + k if k is not None else e


def _run_end(above: npt.NDArray[np.bool_], gap: int) -> int | None:
    """End of the loud stretch that starts at index 0, bridging quiet dips shorter than ``gap``.

    The bridge keeps a stop consonant's closure (silent for 30-80 ms before its release burst)
    inside the word. Returns None when the stretch reaches the end of ``above``.
    """
    pos = 0
    while True:
        quiet = np.flatnonzero(~above[pos:])
        if not quiet.size:
            return None
        q = pos + int(quiet[0])
        loud = np.flatnonzero(above[q : q + gap])
        if not loud.size:
            return q
        pos = q + int(loud[0])
