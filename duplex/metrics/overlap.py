"""Overlap timing (Full-Duplex-Bench v1.5): how fast the model stops, and how fast it answers.

Pure functions on speech segments and the overlap span, in seconds on the session clock.

- **Stop latency** = when the model stops - when the overlap starts: the end of the model's
  utterance under way at the overlap start, minus that start. 0 if the model is silent at the
  start; None if it had not spoken before it (there was nothing to stop). A model that talks
  straight through gets the time to the end of its utterance, which on a resume item is the
  point: it did not stop.
- **Response latency** = when the model starts again - when the overlapping speech ends: the
  first model utterance that starts at or after the end of the overlap, minus that end (never
  negative here: a model already talking at the end of the overlap has no new start, and gets
  None). :data:`RESPONSE_WINDOW_S` (1.5 s) is the paper's bound for "it responded".

*Utterances* are the model's segments with gaps shorter than a merge gap joined. Two versions
of each figure are computed from different segments:

- **FDB-compatible** (:func:`fdb_timing`): what Full-Duplex-Bench v1.5 does - Silero VAD
  intervals at the chunk level (32 ms steps), the model's merged across gaps < 0.5 s, the
  user's across gaps < 0.6 s; the overlap span is the merged user interval(s) meeting the
  annotated overlap, so its end is where the VAD hears the user stop.
- **Sample-accurate** (:func:`timing`): the model's segments with energy-refined edges
  (:mod:`duplex.speech.edges`), merged across gaps < 0.5 s (:data:`~duplex.metrics.takeover.
  MERGE_GAP`, the same as FDB's model gap), and the overlap span from the rendering and the
  simulator's placement: its start and the end of its *speech* (an echo tail is not speech).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from duplex.metrics.takeover import MERGE_GAP, merge_gaps
from duplex.scenarios.base import Span

#: Full-Duplex-Bench v1.5's merge gaps (seconds) for the model's and the user's VAD intervals.
FDB_MODEL_GAP = 0.5
FDB_USER_GAP = 0.6
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


def stop_latency(model: Sequence[Span], start: float, gap: float = MERGE_GAP) -> float | None:
    """Model utterance end minus ``start`` (see the module doc)."""
    merged = merge_gaps(model, gap)
    if not any(u.start < start for u in merged):
        return None
    for u in merged:
        if u.start <= start < u.end:
            return u.end - start
    return 0.0


def response_latency(model: Sequence[Span], end: float, gap: float = MERGE_GAP) -> float | None:
    """Start of the first model utterance beginning at or after ``end``, minus ``end``."""
    for u in merge_gaps(model, gap):
        if u.start >= end:
            return u.start - end
    return None


def talking_at(model: Sequence[Span], t: float, gap: float = MERGE_GAP) -> bool:
    return any(u.start <= t < u.end for u in merge_gaps(model, gap))


def _timing(model: Sequence[Span], span: Span, gap: float) -> OverlapTiming:
    return OverlapTiming(
        stop_latency=stop_latency(model, span.start, gap),
        response_latency=response_latency(model, span.end, gap),
        talking_at_start=talking_at(model, span.start, gap),
        span=span,
    )


def timing(model: Sequence[Span], overlap: Span) -> OverlapTiming:
    """Sample-accurate figures: refined model segments, the overlap's known speech span."""
    return _timing(model, overlap, MERGE_GAP)


def fdb_user_span(user: Sequence[Span], overlap: Span, gap: float = FDB_USER_GAP) -> Span | None:
    """The user's merged VAD interval(s) meeting ``overlap``, joined; None if the VAD heard
    nothing there (a faint background talker can be missed)."""
    hits = [u for u in merge_gaps(user, gap) if u.start < overlap.end and u.end > overlap.start]
    if not hits:
        return None
    return Span(min(u.start for u in hits), max(u.end for u in hits))


def fdb_timing(
    model_vad: Sequence[Span], user_vad: Sequence[Span], overlap: Span
) -> OverlapTiming | None:
    """Full-Duplex-Bench v1.5-style figures from chunk-level VAD intervals of both channels.

    The stop is measured from the annotated overlap start (FDB's metadata timestamp), the
    response from where the user's merged VAD interval ends. None if the VAD missed the overlap.
    """
    user = fdb_user_span(user_vad, overlap)
    if user is None:
        return None
    return OverlapTiming(
        stop_latency=stop_latency(model_vad, overlap.start, FDB_MODEL_GAP),
        response_latency=response_latency(model_vad, user.end, FDB_MODEL_GAP),
        talking_at_start=talking_at(model_vad, overlap.start, FDB_MODEL_GAP),
        span=Span(overlap.start, user.end),
    )
