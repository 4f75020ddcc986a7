"""Overlap stop and response latency on hand-made segment lists."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from duplex.metrics.overlap import RESPONSE_WINDOW_S, fdb_timing, response_latency, timing
from duplex.metrics.response import stop_latency
from duplex.timeline import Span


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


def test_fdb_takes_the_intervals_of_the_segment_carrying_the_overlap() -> None:
    # user: the turn, then the overlap heard as two bursts 0.5 s apart (merged: gap <= 0.6 s)
    user = [(0.5, 3.0), (5.05, 5.6), (6.1, 6.4)]
    model = [(2.0, 5.3), (6.9, 9.0)]
    t = fdb_timing(user, model, Span(5.0, 6.3))
    assert t.user_segment == (5.05, 6.4)
    # get_timing's lists: the model talked over the end of the turn too (2.0-3.0)
    assert t.intervals["latency_stop_list"] == [[2.0, 3.0], [5.05, 5.3]]
    assert t.intervals["latency_resp_list"] == [[6.4, 6.9]]
    # stop from where the VAD hears the overlap (5.05), response from where it ends (6.4)
    assert t.stop_latency == pytest.approx(0.25)
    assert t.response_latency == pytest.approx(0.5)


def test_fdb_stop_interval_ends_with_the_users_segment() -> None:
    # talking straight through: both speak for the overlap's whole length, no response
    t = fdb_timing([(0.5, 3.0), (5.0, 5.4)], [(3.6, 11.0)], Span(5.0, 5.4))
    assert t.stop_latency == pytest.approx(0.4) and t.response_latency is None


def test_fdb_undefined_cases() -> None:
    # silent at the overlap after speaking before: nothing to stop; no new start
    t = fdb_timing([(5.0, 6.0)], [(2.0, 4.0)], Span(5.0, 6.0))
    assert t.stop_latency == 0.0 and t.response_latency is None
    # never spoke before the overlap
    assert fdb_timing([(5.0, 6.0)], [(7.0, 8.0)], Span(5.0, 6.0)).stop_latency is None
    # the VAD heard nothing where the overlap is (a faint background talker)
    missed = fdb_timing([(0.5, 3.0)], [(2.0, 9.0)], Span(5.0, 6.0))
    assert missed.user_segment is None and missed.stop_latency is None
    # a later user segment claims the same model start: get_timing keeps the later one
    later = fdb_timing([(5.0, 5.5), (6.5, 7.0)], [(2.0, 5.2), (8.0, 9.0)], Span(5.0, 5.5))
    assert later.intervals["latency_resp_list"] == [[7.0, 8.0]]
    assert later.response_latency is None


def test_fdb_overlap_split_by_a_long_pause_ends_with_its_last_segment() -> None:
    # "Sorry, wait, ... just tell me": a 0.74 s pause inside the overlap is not merged
    t = fdb_timing(
        [(0.5, 3.7), (5.25, 5.73), (6.47, 8.03)], [(4.26, 5.57), (9.03, 12.0)], Span(5.22, 7.96)
    )
    assert t.user_segment == (5.25, 8.03)
    assert t.stop_latency == pytest.approx(0.32) and t.response_latency == pytest.approx(1.0)


def test_fdb_model_gap_is_half_a_second() -> None:
    # a 0.45 s model gap merges (no stop under the overlap), a 0.55 s gap does not
    user = [(5.0, 6.0)]
    assert fdb_timing(user, [(2.0, 5.3), (5.75, 8.0)], Span(5.0, 6.0)).stop_latency == 1.0
    stop = fdb_timing(user, [(2.0, 5.3), (5.85, 8.0)], Span(5.0, 6.0)).stop_latency
    assert stop == pytest.approx(0.3)


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
