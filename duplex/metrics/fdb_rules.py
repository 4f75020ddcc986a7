"""Full-Duplex-Bench's figures computed the way its evaluation scripts compute them.

Pure functions on plain numbers: word stamps as listed in an ``output.json`` (``[start, end]``,
either may be None), VAD segments in seconds, ground-truth lists. No file I/O, no models; the
Silero side is in :mod:`duplex.speech.fdb_vad`. Written from the anchor's evaluation scripts
(repository DanielLin94144/Full-Duplex-Bench, ``v1_v1.5/evaluation/``, read at commit d7336bd),
including the places where its code does something other than its paper says; each such place is
named in the function that reproduces it, so our own (sharper) figures can sit beside these under
other names. ``benchmarks/fdb_crosscheck.py`` runs the anchor's scripts beside these functions.

Floating point: every comparison and division is done in the same order and type (Python floats,
float64 numpy arrays) as the anchor, so a figure here is equal to the anchor's, not only close,
given the same inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.spatial.distance import jensenshannon

from duplex.errors import ScenarioError

Array = npt.NDArray[np.float64]
#: A word's ``[start, end]`` in seconds, as listed in the anchor's ``output.json`` chunks.
Stamp = tuple[float | None, float | None]
#: A VAD segment ``(start, end)`` in seconds.
Segment = tuple[float, float]

# The take-over rule (pause handling, turn-taking, interruption).
TURN_MIN_S = 1.0
TURN_MAX_WORDS = 3
# Backchannel.
LONG_SEGMENT_S = 3.0
BACKCHANNEL_MAX_S = 1.0
BACKCHANNEL_MAX_WORDS = 2
SEGMENT_MAX_WORDS = 3
BIN_S = 0.2
EPSILON = 1e-10
#: The value a sample without any backchannel segment gets instead of a distance.
NO_BACKCHANNEL_JSD = 1.0
# v1.5 timing: VAD gaps up to these many seconds are joined (inclusive).
USER_MERGE_GAP_S = 0.6
MODEL_MERGE_GAP_S = 0.5


def mean(values: Sequence[float]) -> float:
    """``sum / len`` left to right, as the anchor averages its TOR and latency lists."""
    if not values:
        raise ScenarioError("nothing to average (the anchor divides by zero here)")
    return sum(values) / len(values)


# ------------------------------------------------------------------------- take-over rule


def takeover(stamps: Sequence[Stamp]) -> int:
    """TO of an output's words: 0 without words; else, with duration = the *last listed* word's
    end minus the *first listed* word's start (list order, not min/max), 0 if duration < 1 s and
    at most 3 words, 1 otherwise.

    A last word without an end uses its start (the pause-handling script does; the turn-taking
    and interruption scripts crash there, so :func:`take_turn` refuses it).
    """
    if not stamps:
        return 0
    first = stamps[0][0]
    last = stamps[-1][1] if stamps[-1][1] is not None else stamps[-1][0]
    if first is None or last is None:
        raise ScenarioError(
            "the first word needs a start and the last word a start or an end (the anchor "
            "crashes without them)"
        )
    duration = last - first
    return 0 if duration < TURN_MIN_S and len(stamps) <= TURN_MAX_WORDS else 1


@dataclass(frozen=True)
class TakeTurn:
    """One sample's TO and latency as the turn-taking and interruption scripts compute them.

    ``latency`` is what they print per sample: the first listed word's start minus the event,
    possibly negative, None when TO is 0. ``clipped`` is what enters their average (negative ->
    0); only TO = 1 samples are averaged.
    """

    to: int
    latency: float | None

    @property
    def clipped(self) -> float | None:
        if self.latency is None:
            return None
        return 0.0 if self.latency < 0 else self.latency


def take_turn(stamps: Sequence[Stamp], event: float) -> TakeTurn:
    """Turn-taking (``event`` = ``turn_taking.json [0].timestamp[0]``, the end of the user's
    turn) and interruption (``event`` = ``interrupt.json [0].timestamp[1]``, the end of the
    interruption; the anchor's ``output.json`` there holds only the words after that end, on the
    whole file's timeline)."""
    if stamps and (stamps[0][0] is None or stamps[-1][1] is None):
        raise ScenarioError(
            "the first word's start and the last word's end must be numbers (the anchor's "
            "turn-taking and interruption scripts crash on null times there)"
        )
    to = takeover(stamps)
    first = stamps[0][0] if stamps else None
    return TakeTurn(to, first - event if to and first is not None else None)


def mean_latency(samples: Sequence[TakeTurn]) -> float:
    """Their "Average latency": mean of the clipped latencies of the TO = 1 samples."""
    return mean([s.clipped for s in samples if s.clipped is not None])


# ------------------------------------------------------------------------------ backchannel


def words_in_segment(stamps: Sequence[Stamp], start: float, end: float) -> int:
    """How many words the backchannel script attributes to the VAD segment ``[start, end]``.

    A word counts if it lies inside (``ws >= start and we <= end``), runs over the end
    (``ws <= end < we``: a word *starting exactly at* the end counts) or over the start
    (``ws <= start < we``); a word ending exactly at the start does not. A word without a start
    is skipped, and so is one without an end that starts before ``end``; one without an end
    otherwise counts as zero-length.
    """
    n = 0
    for ws, we in stamps:
        if ws is None or (we is None and ws < end):
            continue
        we = ws if we is None else we
        inside = ws >= start and we <= end
        if inside or (ws <= end and we > end) or (ws <= start and we > start):
            n += 1
    return n


def segment_to(duration: float, n_words: int) -> int:
    """The per-segment rule for a segment of at most 3 s: more than 3 words -> 1 (a turn);
    shorter than 1 s with at most 2 words -> 0 (a backchannel); otherwise 1."""
    if n_words > SEGMENT_MAX_WORDS:
        return 1
    return 0 if duration < BACKCHANNEL_MAX_S and n_words <= BACKCHANNEL_MAX_WORDS else 1


@dataclass(frozen=True)
class BackchannelSample:
    """One sample as the backchannel script sees it.

    ``segment_tos``: the per-segment rule for each segment it looked at (up to the first one
    longer than 3 s, exclusive). ``to``: the script's per-sample TO - the loop overwrites it at
    every segment, so the *last* short segment decides, and a segment longer than 3 s sets 1 and
    ends the loop; 0 without segments. ``predictions``: every segment of at most 3 s before that
    one, whatever its words (these are what it counts and bins as backchannels). ``frequency``:
    len(predictions) / the file's duration.
    """

    segment_tos: tuple[int, ...]
    to: int
    predictions: tuple[Segment, ...]
    frequency: float


def segment_tos(segments: Sequence[Segment], stamps: Sequence[Stamp]) -> list[int]:
    """The per-segment rule over the segments the script looks at, in order (see
    :class:`BackchannelSample`)."""
    out: list[int] = []
    for start, end in segments:
        duration = end - start
        if duration > LONG_SEGMENT_S:
            break
        out.append(segment_to(duration, words_in_segment(stamps, start, end)))
    return out


def backchannel_sample(
    segments: Sequence[Segment], stamps: Sequence[Stamp], duration_s: float
) -> BackchannelSample:
    """The script's loop over a sample's VAD ``segments`` (seconds, as its VAD gives them: see
    :func:`duplex.speech.fdb_vad.backchannel_segments`) with the words of its ``output.json``.

    ``duration_s`` is the output file's true duration (samples / file rate), which the script
    uses for the frequency and the bins even when its VAD times are off by a rate factor. The
    loop's defect (last segment decides) is kept in ``to``; :func:`segment_tos` gives each
    segment's own value.
    """
    tos = segment_tos(segments, stamps)
    long_seen = len(tos) < len(segments)
    to = 1 if long_seen else (tos[-1] if tos else 0)
    predictions = tuple((float(a), float(b)) for a, b in segments[: len(tos)])
    return BackchannelSample(tuple(tos), to, predictions, len(predictions) / duration_s)


def n_bins(duration_s: float) -> int:
    return int(duration_s / BIN_S) + 1


def histogram(predictions: Sequence[Segment], duration_s: float) -> Array:
    """The script's output distribution: 1 added to every 0.2 s bin from ``int(start / 0.2)``
    to ``int(end / 0.2)`` inclusive (Python float division: ``0.6 / 0.2`` gives bin 2), bins
    past the end dropped; then 1e-10 added to every bin and the whole normalised."""
    counts = [0] * n_bins(duration_s)
    for start, end in predictions:
        for i in range(int(start / BIN_S), int(end / BIN_S) + 1):
            if i < len(counts):
                counts[i] += 1
    h = np.array(counts) + EPSILON
    return np.asarray(h / np.sum(h), np.float64)


def resize_ground_truth(gt: Sequence[float], n: int) -> Array:
    """The ground truth stretched to ``n`` bins as ``scipy.interpolate.interp1d(kind="linear",
    fill_value="extrapolate")`` does it over ``linspace(0, 1, ...)`` on both sides.

    Each new point is taken from the knot interval to its left-or-equal (``searchsorted`` left),
    as ``slope * (x - x_lo) + y_lo``; at a point equal to the right knot this rounds, so a ground
    truth with exact zeros can come out as tiny *negative* values (e.g. -1e-18), which turn the
    JS distance into ``inf``. ``numpy.interp`` returns the knot value there instead, which is why
    it is not used here.
    """
    y = np.asarray(gt, np.float64)
    if y.size < 2:
        raise ScenarioError(
            f"the ground truth needs at least 2 bins (interp1d refuses {y.size}), got {y.size}"
        )
    x = np.linspace(0, 1, y.size)
    x_new = np.linspace(0, 1, n)
    hi = np.clip(np.searchsorted(x, x_new), 1, y.size - 1).astype(int)
    lo = hi - 1
    slope = (y[hi] - y[lo]) / (x[hi] - x[lo])
    return np.asarray(slope * (x_new - x[lo]) + y[lo], np.float64)


def backchannel_jsd(
    predictions: Sequence[Segment], duration_s: float, gt: Sequence[float]
) -> float:
    """The script's "JSD": ``scipy.spatial.distance.jensenshannon`` (natural log, i.e. the JS
    *distance*) between :func:`histogram` and the resized ground truth; 1.0 when there is no
    prediction. ``inf`` when the resized ground truth has a negative bin (see
    :func:`resize_ground_truth`); scipy warns then, the value is kept as the anchor gets it."""
    if not predictions:
        return NO_BACKCHANNEL_JSD
    p = histogram(predictions, duration_s)
    q = resize_ground_truth(gt, p.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(jensenshannon(p, q))


# ------------------------------------------------------------------------- v1.5 timing


def merge_segments(segments: Sequence[Segment], gap: float) -> list[Segment]:
    """Sorted segments with gaps of at most ``gap`` seconds joined (get_timing's merge)."""
    out: list[Segment] = []
    for s, e in sorted(segments):
        if out and s - out[-1][1] <= gap:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def stop_intervals(user: Sequence[Segment], model: Sequence[Segment]) -> list[list[float]]:
    """get_timing's ``latency_stop_list``: the overlaps of the (merged) user and model segments,
    walked in step; per end time in whole milliseconds only the shortest overlap is kept; sorted
    by end and rounded to 3 decimals. Each interval's length is a stop latency (how long both
    spoke at once)."""
    raw: list[Segment] = []
    i = j = 0
    while i < len(user) and j < len(model):
        (us, ue), (ms, me) = user[i], model[j]
        s, e = max(us, ms), min(ue, me)
        if e > s:
            raw.append((s, e))
        if ue < me:
            i += 1
        else:
            j += 1
    best: dict[int, Segment] = {}
    for s, e in raw:
        key = round(e * 1000)
        if key not in best or e - s < best[key][1] - best[key][0]:
            best[key] = (s, e)
    return [[round(s, 3), round(e, 3)] for s, e in sorted(best.values(), key=lambda v: v[1])]


def response_intervals(user: Sequence[Segment], model: Sequence[Segment]) -> list[list[float]]:
    """get_timing's ``latency_resp_list``: for each user segment end, the first model segment
    start strictly after it; per such start (whole ms) the latest user end is kept; rounded to 3
    decimals, sorted by the model start. Each interval's length is a response latency."""
    starts = [s for s, _ in model]
    best: dict[int, list[float]] = {}
    for _us, ue in user:
        nxt = next((s for s in starts if s > ue), None)
        if nxt is None:
            continue
        key = round(nxt * 1000)
        cand = [round(ue, 3), round(nxt, 3)]
        if key not in best or cand[0] > best[key][0]:
            best[key] = cand
    return [iv for _k, iv in sorted(best.items(), key=lambda kv: kv[1][1])]


def timing(user: Sequence[Segment], model: Sequence[Segment]) -> dict[str, list[list[float]]]:
    """get_timing's ``latency_intervals.json`` from raw VAD segments in seconds (merged here:
    user gaps <= 0.6 s, model gaps <= 0.5 s)."""
    u = merge_segments(user, USER_MERGE_GAP_S)
    m = merge_segments(model, MODEL_MERGE_GAP_S)
    return {
        "latency_stop_list": stop_intervals(u, m),
        "latency_resp_list": response_intervals(u, m),
    }
