"""Task "backchannel": the user tells a long story; a good listener says "mm-hm" where people do
and never takes the turn (TOR lower, distance to the reference lower).

Segments and their kind. Each output voice-activity segment is a *turn* or a *backchannel* by the
anchor's per-segment rule (:func:`segment_kind`): longer than 3 s -> turn; else by the ASR words
overlapping it: more than 3 words -> turn; shorter than 1 s with at most 2 words -> backchannel
(a wordless short sound, e.g. a laugh, is one too); otherwise turn.

Reference. ``annotations.backchannel_points`` lists points (``t``, ``weight``) where
listeners would start a backchannel. They are turned into distributions over the 200 ms bins of
the output (bin ``i`` = ``[0.2 i, 0.2 (i + 1))``, ``int(duration / 0.2) + 1`` bins as in the
anchor), in two forms, each matching the output representation it is compared with:

- onset form (:func:`onset_distribution`, for ours): each point's weight is spread over its
  onset +- 0.4 s with a triangle kernel (integrated exactly over each bin), then normalised;
- span form (:func:`span_distribution`, for the anchor's value and for export as the anchor's
  ground truth): the expected bins covered by a nominal 0.4 s backchannel whose onset is spread
  +- 0.2 s with a triangle kernel, each onset counted as the anchor counts an output segment
  (every bin from ``int(start / 0.2)`` to ``int(end / 0.2)`` inclusive), then normalised.
  Imported Full-Duplex-Bench folders bring their own ground-truth distribution
  (``annotations.backchannel_distribution``), which is used instead, resized to the bin count by
  linear interpolation over ``[0, 1]`` like the anchor.

Per item:

- ``tor``: ours - 1 if *any* utterance (activity with gaps < 0.5 s joined, so a fluent reply split
  at a comma is one segment) is a turn. The anchor overwrites its per-sample TO at every segment,
  so its value is the kind of the *last* short segment: a model that takes the turn and then says
  "yeah" scores 0 there.
- ``anchor_tor_last_segment``: the anchor's defective per-sample value, reproduced for comparison:
  raw VAD segments in order; a segment longer than 3 s gives 1 and stops; otherwise TO is
  overwritten with that segment's kind (1 turn, 0 backchannel); 0 without segments.
- ``frequency``: ours - backchannel utterances per second of output.
- ``frequency_fdb``: the anchor's - it counts *every* segment of at most 3 s before the first
  longer one as a backchannel (whatever its words), per second of output.
- ``jsd_fdb``: the anchor's distribution distance: its output histogram (each of its backchannel
  segments as above adds 1 to every bin it spans, then 1e-10 is added to every bin and the result
  normalised) against the span-form reference, with ``scipy.spatial.distance.jensenshannon``:
  the Jensen-Shannon *distance* (square root of the divergence), natural log, in [0, 0.833];
  1.0 when the output has no backchannel segment (the anchor's convention). Even an output that
  backchannels exactly at the reference points scores about 0.2 here, because whole-bin counting
  of spans is coarse; use ``js_divergence`` to judge timing.
- ``js_divergence``: ours - the Jensen-Shannon *divergence* in bits (base 2, so in [0, 1]) between
  the onset form of our backchannel utterances (each onset a point of weight 1) and the onset-form
  reference: 0 when the backchannels start exactly at equally weighted reference points, 1 when
  the output has no backchannel (maximal, as for disjoint distributions). None without reference
  points (e.g. an imported folder with only a distribution).
- ``n_backchannels``, ``n_reference``: our backchannel utterances; reference points.
- ``model_speech_s``: seconds of model speech activity.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.spatial.distance import jensenshannon

from duplex.annotations import Annotations
from duplex.metrics import backchannel_reference as reference
from duplex.metrics.analysis import OutputAnalysis
from duplex.metrics.response import utterances
from duplex.metrics.tasks import FdbFormat, Metric, Task, Value
from duplex.metrics.timing_bins import (
    fdb_histogram,
    n_bins,
    onset_distribution,
    resize,
    span_distribution,
)
from duplex.simulator.recording import Recording
from duplex.speech.asr import Word
from duplex.timeline import Span

Array = npt.NDArray[np.float64]

LONG_SEGMENT_S = 3.0

Kind = Literal["turn", "backchannel"]


def overlapping_words(segment: Span, words: Iterable[Word]) -> list[Word]:
    """Words that share time with ``segment`` (a zero-length word counts if inside it)."""
    return [
        w
        for w in words
        if (w.start < segment.end and w.end > segment.start)
        or (w.start == w.end and segment.start <= w.start <= segment.end)
    ]


def segment_kind(segment: Span, words: Iterable[Word]) -> Kind:
    """The anchor's per-segment rule (module doc)."""
    if segment.duration > LONG_SEGMENT_S:
        return "turn"
    n = len(overlapping_words(segment, words))
    if n > 3:
        return "turn"
    return "backchannel" if segment.duration < 1.0 and n <= 2 else "turn"


def anchor_segments(activity: Sequence[Span], words: Sequence[Word]) -> tuple[int, list[Span]]:
    """The anchor's per-sample TO (last segment decides) and its "backchannel" segments."""
    to = 0
    short: list[Span] = []
    for seg in sorted(activity, key=lambda s: s.start):
        if seg.duration > LONG_SEGMENT_S:
            return 1, short
        to = 1 if segment_kind(seg, words) == "turn" else 0
        short.append(seg)
    return to, short


def js_distance_fdb(p: Array, q: Array) -> float | None:
    """``scipy.spatial.distance.jensenshannon`` (natural log): the JS distance; None if a side
    has no mass."""
    if not (p.sum() > 0 and q.sum() > 0):
        return None
    return float(jensenshannon(p, q))


def js_divergence_bits(p: Array, q: Array) -> float | None:
    """Jensen-Shannon divergence in bits, in [0, 1]; None if a side has no mass."""
    if not (p.sum() > 0 and q.sum() > 0):
        return None
    d = float(jensenshannon(p, q, base=2.0)) ** 2
    return min(1.0, max(0.0, d))


def score(
    recording: Recording, annotations: Annotations, analysis: OutputAnalysis
) -> dict[str, Value]:
    duration = recording.duration
    words = analysis.transcript.words
    activity = analysis.activity
    points = [(p.t, p.weight) for p in annotations.backchannel_points if p.weight > 0]
    given = annotations.backchannel_distribution

    kinds = [(u, segment_kind(u, words)) for u in utterances(activity)]
    ours = [u for u, k in kinds if k == "backchannel"]
    anchor_to, anchor_bc = anchor_segments(activity, words)
    n = n_bins(duration)

    if given:
        reference: Array | None = resize(given, n)
    elif points:
        reference = span_distribution(points, duration)
    else:
        reference = None
    jsd_fdb: float | None = None
    if reference is not None:
        histogram = fdb_histogram(anchor_bc, duration)
        jsd_fdb = js_distance_fdb(histogram, reference) if anchor_bc else 1.0
    js_div: float | None = None
    if points:
        if not ours:
            js_div = 1.0
        else:
            js_div = js_divergence_bits(
                onset_distribution([(u.start, 1.0) for u in ours], duration),
                onset_distribution(points, duration),
            )
    per_s = 1.0 / duration if duration > 0 else 0.0
    return {
        "tor": int(any(k == "turn" for _u, k in kinds)),
        "anchor_tor_last_segment": anchor_to,
        "frequency": round(len(ours) * per_s, 6),
        "frequency_fdb": round(len(anchor_bc) * per_s, 6),
        "jsd_fdb": None if jsd_fdb is None else round(jsd_fdb, 6),
        "js_divergence": None if js_div is None else round(js_div, 6),
        "n_backchannels": len(ours),
        "n_reference": len(points),
        "model_speech_s": round(sum(s.duration for s in activity), 4),
    }


TASK = Task(
    name="backchannel",
    version="1",
    score=score,
    metrics=(
        Metric("tor", "TOR (any turn)", "lower", headline=True, fdb=True, column="bc TOR"),
        Metric("frequency_fdb", "backchannels per s (FDB)", fdb=True, column="bc freq"),
        Metric("jsd_fdb", "JS distance (FDB)", "lower", headline=True, fdb=True, column="JSD"),
        Metric(
            "js_divergence",
            "JS divergence bits (onsets)",
            "lower",
            headline=True,
            column="bc JS div",
        ),
        Metric("frequency", "backchannels per s", column="bc freq ours"),
        Metric("anchor_tor_last_segment", "TOR (anchor's last-segment loop)", "lower"),
        Metric("n_backchannels", "backchannels"),
        Metric("n_reference", "reference points"),
        Metric("model_speech_s", "model speech s"),
    ),
    summary="backchannels where listeners would, without taking the turn",
    prepare=reference.with_reference,
    fdb=FdbFormat(
        reference.FDB_FILE,
        reference.read_fdb,
        reference.write_fdb,
        context=reference.read_ground_truth,
    ),
    rank=2,
)
