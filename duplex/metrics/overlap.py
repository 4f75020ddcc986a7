"""Overlap timing (Full-Duplex-Bench v1.5): how fast the model stops, and how fast it answers.

Two versions of each figure, in seconds on the session clock:

- **Sample-accurate** (:func:`timing`): the model's voice activity with energy-refined edges,
  joined into utterances across gaps < 0.5 s (:func:`duplex.metrics.response.utterances`), and
  the overlap span as rendered and placed: its first sample and the end of its *speech* (a room
  effect's echo tail is not speech).

  - *stop latency*: the end of the utterance under way when the overlap starts, minus that start
    (:func:`duplex.metrics.response.stop_latency`): 0 if the model is silent then, None if it had
    not spoken before (nothing to stop). A model that talks straight through gets the time to the
    end of its utterance, which on a resume item is the point: it did not stop.
  - *response latency*: the first utterance starting at or after the end of the overlap's speech,
    minus that end; None if none starts (a model still talking at the end has no new start).

- **FDB-compatible** (:func:`fdb_timing`): what the anchor's ``get_timing.py`` writes for the
  sample (``latency_intervals.json``), from Silero run as that script runs it on both files
  (:func:`duplex.speech.fdb_vad.timing_segments`) and its interval rules
  (:func:`duplex.metrics.fdb_rules.timing`: user gaps <= 0.6 s and model gaps <= 0.5 s merged;
  a stop interval is where both speak at once, a response interval runs from a user segment's end
  to the next model start). The anchor prints the lists and leaves choosing among them to its
  users; the item's figures here are the intervals of the overlap's user segments (the merged
  user segments meeting the annotated span; a pause inside the overlap longer than the merge gap
  splits it in two):

  - *stop latency*: the length of the first stop interval inside them; 0 if there is none
    although the model had spoken before them, None if it had not;
  - *response latency*: the length of the response interval starting at the end of the last
    (at the anchor's 3-decimal rounding); None if the anchor has none (no later model start, or a
    later user segment claimed the same model start).

  The anchor's merge caps a stop interval at the end of the user's segment: a model that talks
  through the overlap gets the overlap's length there, not the time to its own stop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from duplex.metrics import fdb_rules
from duplex.metrics.fdb_rules import Segment
from duplex.metrics.response import stop_latency, talking_at, utterances
from duplex.timeline import Span

#: The paper counts a new model utterance this soon after the overlap ends as a response.
RESPONSE_WINDOW_S = 1.5


@dataclass(frozen=True)
class OverlapTiming:
    """Stop and response latency around one overlap (None where undefined)."""

    stop_latency: float | None
    response_latency: float | None
    #: whether a model utterance was under way when the overlap started
    talking_at_start: bool
    #: the overlap span these figures were measured against
    span: Span

    @property
    def responded(self) -> bool | None:
        """A new utterance within :data:`RESPONSE_WINDOW_S` of the overlap's end."""
        if self.response_latency is None:
            return None if self.stop_latency is None else False
        return self.response_latency <= RESPONSE_WINDOW_S


def response_latency(activity: Sequence[Span], end: float) -> float | None:
    """Start of the first utterance beginning at or after ``end``, minus ``end``."""
    for u in utterances(activity):
        if u.start >= end:
            return u.start - end
    return None


def timing(activity: Sequence[Span], overlap: Span) -> OverlapTiming:
    """Sample-accurate figures: refined model activity, the overlap's known speech span."""
    return OverlapTiming(
        stop_latency=stop_latency(activity, overlap.start),
        response_latency=response_latency(activity, overlap.end),
        talking_at_start=talking_at(activity, overlap.start),
        span=overlap,
    )


@dataclass(frozen=True)
class FdbTiming:
    """The anchor's intervals for a sample and the item's figures chosen from them."""

    intervals: dict[str, list[list[float]]]
    #: the annotated overlap span the figures were chosen for
    span: Span
    #: from the first to the end of the last merged user segment meeting the overlap (None: the
    #: VAD heard nothing there)
    user_segment: Segment | None
    stop_latency: float | None
    response_latency: float | None


def _carrier(user: Sequence[Segment], overlap: Span) -> Segment | None:
    """From the start of the first to the end of the last merged user segment meeting the
    overlap span (its speech may hold pauses longer than the merge gap)."""
    merged = fdb_rules.merge_segments(user, fdb_rules.USER_MERGE_GAP_S)
    meeting = [(s, e) for s, e in merged if s < overlap.end and e > overlap.start]
    if not meeting:
        return None
    return (meeting[0][0], meeting[-1][1])


def fdb_timing(user: Sequence[Segment], model: Sequence[Segment], overlap: Span) -> FdbTiming:
    """The anchor's v1.5 timing of one sample from raw Silero segments of ``input.wav`` (user)
    and ``output.wav`` (model), and the figures of the overlap's segments (module doc)."""
    intervals = fdb_rules.timing(user, model)
    carrier = _carrier(user, overlap)
    if carrier is None:
        return FdbTiming(intervals, overlap, None, None, None)
    lo, hi = round(carrier[0], 3), round(carrier[1], 3)
    stops = [iv for iv in intervals["latency_stop_list"] if lo <= iv[0] and iv[1] <= hi]
    stop: float | None
    if stops:
        first = min(stops, key=lambda iv: iv[0])
        stop = first[1] - first[0]
    else:
        spoke = any(s < carrier[0] for s, _ in model)
        stop = 0.0 if spoke else None
    responses = [iv for iv in intervals["latency_resp_list"] if iv[0] == hi]
    response = responses[0][1] - responses[0][0] if responses else None
    return FdbTiming(intervals, overlap, carrier, stop, response)
