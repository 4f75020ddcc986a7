"""Overlap stop and response latency on hand-made segment lists."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from duplex.metrics.overlap import (
    RESPONSE_WINDOW_S,
    fdb_timing,
    fdb_user_span,
    response_latency,
    stop_latency,
    timing,
)
from duplex.scenarios.base import Span


def test_respond_stop_then_answer() -> None:
    # talking from 2.0, overlap 5.0-6.2, stops at 5.3, answers at 6.9
    t = timing([Span(2.0, 5.3), Span(6.9, 9.0)], Span(5.0, 6.2))
    assert t.stop_latency == pytest.approx(0.3)
    assert t.response_latency == pytest.approx(0.7)
    assert t.talking_at_start and t.responded


def test_resume_talks_through_so_there_is_no_new_start() -> None:
    t = timing([Span(2.0, 11.0)], Span(5.0, 5.4))
    assert t.stop_latency == pytest.approx(6.0)  # to the end of the answer
    assert t.response_latency is None
    assert t.responded is False


def test_short_pause_is_not_a_stop_but_a_real_one_is() -> None:
    # a 0.4 s pause under the overlap joins (< 0.5 s merge gap): no stop
    assert stop_latency([Span(2.0, 5.3), Span(5.7, 9.0)], 5.0) == pytest.approx(4.0)
    # a 1 s pause is a stop at 5.3, and a "response" 0.4 s after the overlap's end at 5.6
    t = timing([Span(2.0, 5.3), Span(6.3, 9.0)], Span(5.0, 5.9))
    assert t.stop_latency == pytest.approx(0.3) and t.response_latency == pytest.approx(0.4)


def test_undefined_cases() -> None:
    assert stop_latency([], 5.0) is None
    assert stop_latency([Span(6.0, 8.0)], 5.0) is None  # had not spoken: nothing to stop
    assert stop_latency([Span(1.0, 4.0)], 5.0) == 0.0  # already silent
    assert response_latency([Span(1.0, 4.0)], 5.0) is None  # never spoke again
    assert timing([], Span(5.0, 6.0)).responded is None


def test_speech_that_began_before_the_end_of_the_overlap_is_not_a_response() -> None:
    assert response_latency([Span(2.0, 5.3), Span(5.9, 8.0)], 6.0) is None
    assert response_latency([Span(2.0, 5.3), Span(5.9, 8.0), Span(9.0, 10.0)], 6.0) == (
        pytest.approx(3.0)
    )


def test_response_window_is_the_papers() -> None:
    assert RESPONSE_WINDOW_S == 1.5
    assert not timing([Span(2.0, 5.3), Span(7.8, 9.0)], Span(5.0, 6.2)).responded


def test_fdb_merges_user_gaps_of_point_six_and_uses_the_vad_end() -> None:
    user = [Span(0.5, 3.0), Span(5.05, 5.6), Span(6.1, 6.4)]  # 0.5 s gap: merged
    assert fdb_user_span(user, Span(5.0, 6.3)) == Span(5.05, 6.4)
    assert fdb_user_span([Span(5.05, 5.6), Span(6.3, 6.4)], Span(5.0, 5.6)) == Span(5.05, 5.6)
    model = [Span(2.0, 5.3), Span(6.9, 9.0)]
    t = fdb_timing(model, user, Span(5.0, 6.3))
    assert t is not None
    assert t.stop_latency == pytest.approx(0.3)
    assert t.response_latency == pytest.approx(0.5)  # from the VAD's user end, 6.4
    assert fdb_timing(model, [Span(0.5, 3.0)], Span(5.0, 6.3)) is None  # VAD missed it


def test_fdb_model_gap_is_half_a_second() -> None:
    # a 0.45 s gap merges (no stop), a 0.55 s gap does not
    assert stop_latency([Span(2.0, 5.3), Span(5.75, 8.0)], 5.0, 0.5) == pytest.approx(3.0)
    assert stop_latency([Span(2.0, 5.3), Span(5.85, 8.0)], 5.0, 0.5) == pytest.approx(0.3)


@given(
    st.lists(
        st.tuples(st.floats(0, 20), st.floats(0.05, 5)).map(lambda p: Span(p[0], p[0] + p[1])),
        max_size=6,
    ),
    st.floats(0, 20),
    st.floats(0.1, 4),
)
def test_invariants(model: list[Span], start: float, length: float) -> None:
    t = timing(model, Span(start, start + length))
    if t.stop_latency is not None:
        assert t.stop_latency >= 0.0
        assert (t.stop_latency > 0.0) == t.talking_at_start
    if t.response_latency is not None:
        assert t.response_latency >= 0.0
