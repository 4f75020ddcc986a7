"""Response onset and stop latency on hand-made activity."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from duplex.metrics.response import response, stop_latency, talking_at, words_from
from duplex.speech.asr import Word
from duplex.timeline import Span


def test_response_is_the_first_long_utterance_from_just_before_the_event() -> None:
    assert response([Span(5.6, 7.0)], 5.0) == Span(5.6, 7.0)
    assert response([Span(4.7, 7.0)], 5.0) == Span(4.7, 7.0)  # anticipation: 0.3 s early
    assert response([Span(4.4, 7.0)], 5.0) is None  # began 0.6 s before: talking over
    assert response([Span(5.2, 5.6)], 5.0) is None  # a backchannel is not a response
    assert response([Span(5.2, 5.6), Span(6.5, 8.0)], 5.0) == Span(6.5, 8.0)
    assert response([], 5.0) is None


def test_response_joins_comma_pauses_but_not_real_gaps() -> None:
    chopped = [Span(5.5, 5.9), Span(6.2, 6.8)]  # 0.3 s comma pause: one 1.3 s utterance
    assert response(chopped, 5.0) == Span(5.5, 6.8)
    # the model's own speech ran on into the window with a short gap: a continuation
    assert response([Span(1.0, 4.6), Span(4.9, 7.0)], 5.0) is None
    # a real gap (>= 0.5 s) after the model's speech: a new utterance
    assert response([Span(1.0, 4.6), Span(5.2, 7.0)], 5.0) == Span(5.2, 7.0)


def test_stop_latency() -> None:
    assert stop_latency([Span(1.0, 5.3)], 5.0) == pytest.approx(0.3)
    assert stop_latency([Span(1.0, 4.0)], 5.0) == 0.0  # silent when the user starts
    assert stop_latency([Span(6.0, 8.0)], 5.0) is None  # had not spoken: nothing to stop
    assert stop_latency([], 5.0) is None
    # a comma pause during the interruption does not count as stopping
    assert stop_latency([Span(1.0, 5.2), Span(5.5, 6.0)], 5.0) == pytest.approx(1.0)
    assert talking_at([Span(1.0, 5.3)], 5.0) and not talking_at([Span(1.0, 4.0)], 5.0)


def test_word_helpers() -> None:
    ws = [Word(1.0, 1.2, "a", 1.0), Word(5.0, 5.3, "b", 1.0), Word(5.6, 6.0, "c", 1.0)]
    assert [w.text for w in words_from(ws, 5.0)] == ["b", "c"]


spans = st.lists(
    st.tuples(st.floats(0, 20), st.floats(0.05, 4)).map(lambda t: Span(t[0], t[0] + t[1])),
    max_size=6,
)


@given(spans, st.floats(0, 20))
def test_response_invariants(activity: list[Span], event: float) -> None:
    r = response(activity, event)
    if r is not None:
        assert r.start >= event - 0.5 and r.duration >= 1.0
        assert r.start in {a.start for a in activity}  # onsets are real activity onsets


@given(spans, st.floats(0, 20))
def test_stop_latency_invariants(activity: list[Span], start: float) -> None:
    s = stop_latency(activity, start)
    if s is None:
        assert all(a.start >= start for a in activity)
    else:
        assert s >= 0.0
        assert s <= max(a.end for a in activity) - start + 1e-9 or s == 0.0
