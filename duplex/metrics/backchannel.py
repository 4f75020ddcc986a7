"""Task "backchannel": the user tells a long story; a good listener says "mm-hm" where people do
and never takes the turn (TOR lower, distance to the reference lower).

Two sets of figures, side by side.

The anchor's (``*_fdb``), computed as Full-Duplex-Bench's backchannel script computes them
(:mod:`duplex.metrics.fdb_rules`, with Silero run its way by :mod:`duplex.speech.fdb_vad`): on the
output as its script reads the file - for a session, the 16 kHz PCM our export writes; for an
imported sample folder, the file's samples taken as 16 kHz whatever their rate, as its script
does - so that a run's figures equal the script's on the run's export, and ``score --fdb`` equals
the script on any folder.

- ``tor_fdb``: its per-sample TO: per VAD segment, longer than 3 s -> 1 and stop; else by the
  words attributed to the segment: more than 3 -> 1; shorter than 1 s with at most 2 -> 0; else 1.
  The loop overwrites TO at every segment, so the *last* short segment decides: a model that takes
  the turn and then says "yeah" scores 0. The published "backchannel TOR" column is this.
- ``frequency_fdb``: every segment of at most 3 s before the first longer one, whatever its words,
  per second of output.
- ``jsd_fdb``: the Jensen-Shannon *distance* (scipy, natural log, at most 0.833) between its
  output histogram (each such segment adds 1 to every 0.2 s bin it spans; 1e-10 added; normalised)
  and the ground truth resized to the output's bins as its interpolation does; 1.0 without a
  backchannel. Our reference is exported (and compared here) as the span form below plus 1e-10 per
  bin at the output's own bin count, so the anchor's interpolation is the identity and finds no
  exact zero (which it would turn into negative values and an infinite distance).

Ours, on our energy-refined activity and VAD-gated words:

- ``tor``: 1 if *any* utterance (activity with gaps < 0.5 s joined, so a fluent reply split at a
  comma is one segment) is a turn by the per-segment rule.
- ``frequency``: our backchannel utterances (short and at most 2 words) per second of output.
- ``js_divergence``: the Jensen-Shannon *divergence* in bits (base 2, in [0, 1]) between the onset
  form of our backchannel utterances (each onset a point of weight 1) and the onset-form
  reference: 0 when the backchannels start exactly at equally weighted reference points, 1 when
  the output has no backchannel. None without reference points (an imported folder with only a
  distribution).
- ``n_backchannels``, ``n_reference``: our backchannel utterances; reference points.
- ``model_speech_s``: seconds of model speech activity.

Reference. ``annotations.backchannel_points`` lists points (``t``, ``weight``) where listeners
would start a backchannel (:mod:`duplex.metrics.backchannel_reference`). They become distributions
over the output's 200 ms bins (:mod:`duplex.metrics.timing_bins`): the onset form (each weight
spread +- 0.4 s with a triangle kernel) for ours, the span form (a nominal 0.4 s backchannel
whose onset is spread +- 0.2 s, counted over the bins it spans as the anchor counts a segment) as
the anchor's ground truth. An imported folder's own ground truth
(``annotations.backchannel_distribution``) is used as it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.spatial.distance import jensenshannon

from duplex.annotations import Annotations
from duplex.metrics import backchannel_reference as reference
from duplex.metrics import fdb_rules, fdbio
from duplex.metrics.analysis import OutputAnalysis
from duplex.metrics.response import utterances
from duplex.metrics.tasks import FdbFormat, Metric, Task, Value
from duplex.metrics.timing_bins import onset_distribution
from duplex.metrics.views import turn_view
from duplex.simulator.recording import Recording
from duplex.speech import fdb_vad
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

    x, rate = fdbio.fdb_output(recording)
    segments, file_duration = fdb_vad.backchannel_segments(x, rate)
    anchor = fdb_rules.backchannel_sample(segments, analysis.fdb_stamps(), file_duration)
    gt = reference.ground_truth(annotations, file_duration)
    jsd_fdb = (
        None if gt is None else fdb_rules.backchannel_jsd(anchor.predictions, file_duration, gt)
    )

    kinds = [(u, segment_kind(u, words)) for u in utterances(activity)]
    ours = [u for u, k in kinds if k == "backchannel"]
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
        "tor_fdb": anchor.to,
        "frequency_fdb": anchor.frequency,
        "jsd_fdb": jsd_fdb,
        "tor": int(any(k == "turn" for _u, k in kinds)),
        "frequency": round(len(ours) * per_s, 6),
        "js_divergence": None if js_div is None else round(js_div, 6),
        "n_backchannels": len(ours),
        "n_reference": len(points),
        "model_speech_s": round(sum(s.duration for s in activity), 4),
    }


TASK = Task(
    name="backchannel",
    view=turn_view,
    version="2",
    score=score,
    metrics=(
        Metric("tor_fdb", "TOR (FDB rule)", "lower", headline=True, fdb=True, column="bc TOR"),
        Metric("frequency_fdb", "backchannels per s (FDB)", fdb=True, column="bc freq"),
        Metric("jsd_fdb", "JS distance (FDB)", "lower", headline=True, fdb=True, column="JSD"),
        Metric("tor", "TOR (any turn)", "lower", headline=True, column="bc TOR ours"),
        Metric(
            "js_divergence",
            "JS divergence bits (onsets)",
            "lower",
            headline=True,
            column="bc JS div",
        ),
        Metric("frequency", "backchannels per s", column="bc freq ours"),
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
