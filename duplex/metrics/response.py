"""When did the model answer an event, and how long did it keep talking over one?

Shared by the turn-taking and interruption tasks. Everything here works on output voice activity
(VAD segments with energy-refined edges), so the times are sample accurate and do not depend on
the ASR; the anchor's word-based figures live beside them in each task.

Definitions (all times in seconds on the session clock):

- *Utterances*: the model's activity with gaps shorter than :data:`~duplex.metrics.takeover.
  MERGE_GAP` (0.5 s) joined. A listener hears a 0.3 s comma pause as part of the same utterance, so
  a reply that follows the model's own earlier speech by less than 0.5 s is a continuation of that
  speech, not a new response.
- *Response* to an event at time ``t`` (the end of the user's turn, or of the interrupting
  utterance): the first utterance that starts at or after ``t - ANTICIPATION_S`` and lasts at least
  :data:`MIN_RESPONSE_S`. Its onset minus ``t`` is the response latency; it is negative (down to
  -0.5 s) when the model starts just before the user's last voiced sample, which a predictive
  model does on purpose and which the anchor's clipping at 0 hides. An utterance that began
  earlier and runs on through ``t`` is the model talking over the user, not a reaction to ``t``:
  it is not a response. Shorter utterances are backchannels ("mm-hm"), which do not take the turn;
  1 s mirrors the anchor's take-over rule.
- *Stop latency* after the user starts talking at ``s``: the end of the utterance that is under
  way at ``s``, minus ``s``; 0 if the model is silent at ``s``; None if the model had not spoken
  at all before ``s`` (there was nothing to stop).
"""

from __future__ import annotations

from collections.abc import Sequence

from duplex.metrics.takeover import MERGE_GAP, merge_gaps
from duplex.speech.asr import Word
from duplex.timeline import Span

#: A reply may start this long before the event and still count as a response to it.
ANTICIPATION_S = 0.5
#: The shortest utterance that is a response (taking the turn) rather than a backchannel.
MIN_RESPONSE_S = 1.0


def utterances(activity: Sequence[Span]) -> list[Span]:
    """Activity with gaps shorter than ``MERGE_GAP`` joined."""
    return merge_gaps(activity, MERGE_GAP)


def response(activity: Sequence[Span], event: float) -> Span | None:
    """The model's response utterance to an event at ``event`` s (see the module doc), or None."""
    for u in utterances(activity):
        if u.start >= event - ANTICIPATION_S and u.duration >= MIN_RESPONSE_S:
            return u
    return None


def talking_at(activity: Sequence[Span], t: float) -> bool:
    """Whether an utterance is under way at ``t``."""
    return any(u.start <= t < u.end for u in utterances(activity))


def stop_latency(activity: Sequence[Span], start: float) -> float | None:
    """How long the model keeps talking after the user starts at ``start`` (module doc)."""
    if not any(a.start < start for a in activity):
        return None
    for u in utterances(activity):
        if u.start <= start < u.end:
            return u.end - start
    return 0.0


def words_from(words: Sequence[Word], start: float) -> list[Word]:
    """Words starting at or after ``start``: what the anchor transcribes when it crops the output
    at an event (it runs its ASR on the audio after the interruption only)."""
    return [w for w in words if w.start >= start]
