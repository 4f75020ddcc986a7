"""The anchor's take-over rule on hand-made words; the windowed pause rule on hand-made activity."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from duplex.metrics.takeover import (
    fdb_takeover,
    merge_gaps,
    seconds_inside,
    windowed_takeover,
)
from duplex.speech.asr import Word
from duplex.timeline import Span


def words(*spans: tuple[float, float]) -> list[Word]:
    return [Word(a, b, f"w{i}", 1.0) for i, (a, b) in enumerate(spans)]


def test_fdb_rule_known_answers() -> None:
    assert fdb_takeover([]) == 0
    assert fdb_takeover(words((1.0, 1.3))) == 0  # "yeah": a backchannel
    assert fdb_takeover(words((1.0, 1.2), (1.2, 1.5), (1.5, 1.9))) == 0  # 3 words in 0.9 s
    assert fdb_takeover(words((1.0, 1.2), (1.2, 1.4), (1.4, 1.6), (1.6, 1.8))) == 1  # 4 words
    assert fdb_takeover(words((1.0, 1.5), (1.6, 2.0))) == 1  # exactly 1 s is not < 1 s
    assert fdb_takeover(words((1.0, 2.5))) == 1  # one long word


def test_fdb_rule_time_range_filters_on_word_starts() -> None:
    ws = words((0.5, 0.8), (0.8, 1.2), (1.2, 1.6), (5.0, 5.3))
    assert fdb_takeover(ws) == 1
    assert fdb_takeover(ws, start=4.0) == 0  # only the "yeah" at 5.0
    assert fdb_takeover(ws, end=1.2) == 0  # two words, 0.7 s
    assert fdb_takeover(ws, start=0.8, end=5.0) == 0
    assert fdb_takeover(ws, start=1.2, end=1.2) == 0


word_lists = st.lists(
    st.tuples(st.floats(0, 30), st.floats(0.01, 2)).map(lambda t: (t[0], t[0] + t[1])),
    max_size=8,
).map(lambda spans: words(*spans))


@given(word_lists)
def test_fdb_rule_matches_its_definition(ws: list[Word]) -> None:
    if not ws:
        expected = 0
    else:
        dur = max(w.end for w in ws) - min(w.start for w in ws)
        expected = 0 if dur < 1.0 and len(ws) <= 3 else 1
    assert fdb_takeover(ws) == expected
    assert fdb_takeover(list(reversed(ws))) == expected  # order does not matter


@given(word_lists, word_lists)
def test_fdb_rule_is_monotone_in_words(a: list[Word], b: list[Word]) -> None:
    assert fdb_takeover(a + b) >= fdb_takeover(a)


PAUSES = (Span(2.0, 2.8), Span(6.0, 6.6))


def test_windowed_short_segment_in_pause_is_a_backchannel() -> None:
    r = windowed_takeover([Span(2.2, 2.6)], PAUSES)
    assert r.taken == (False, False) and r.to == 0 and r.fraction == 0


def test_windowed_long_segment_in_pause_takes_it() -> None:
    r = windowed_takeover([Span(2.3, 4.0)], PAUSES)
    assert r.taken == (True, False) and r.to == 1 and r.fraction == 0.5


def test_windowed_holding_the_floor_through_a_pause_counts() -> None:
    assert windowed_takeover([Span(1.0, 3.5)], PAUSES).taken == (True, False)


def test_windowed_grace_and_minimum_overlap() -> None:
    # starts 0.15 s after the pause ends: inside the 0.3 s grace, 0.15 s of overlap
    assert windowed_takeover([Span(2.95, 5.0)], PAUSES).taken[0]
    # starts 0.25 s after: only 0.05 s inside the window
    assert not windowed_takeover([Span(3.05, 5.0)], PAUSES).taken[0]
    assert not windowed_takeover([Span(2.95, 5.0)], PAUSES, grace=0.0).taken[0]


def test_windowed_merges_short_gaps_only() -> None:
    chopped = [Span(2.1, 2.4), Span(2.75, 3.3)]  # a 0.35 s comma pause -> one 1.2 s segment
    assert windowed_takeover(chopped, PAUSES).to == 1
    apart = [Span(2.1, 2.6), Span(3.1, 3.6)]  # 0.5 s apart -> two short segments
    assert windowed_takeover(apart, PAUSES).to == 0
    assert windowed_takeover(chopped, PAUSES, merge_gap=0.2).to == 0


def test_windowed_without_pauses_is_undefined() -> None:
    r = windowed_takeover([Span(0, 5)], ())
    assert r.to is None and r.fraction is None


def test_merge_and_seconds_inside() -> None:
    assert merge_gaps([Span(3, 4), Span(0, 1), Span(1.1, 2)], 0.2) == [Span(0, 2), Span(3, 4)]
    assert merge_gaps([Span(0, 3), Span(1, 2)], 0.0) == [Span(0, 3)]
    windows = [Span(1, 3), Span(2, 4)]  # overlapping windows count once
    assert seconds_inside([Span(0, 5)], windows) == 3
    assert seconds_inside([Span(0, 1.5), Span(3.5, 6)], windows) == 1.0


spans_st = st.lists(
    st.tuples(st.floats(0, 20), st.floats(0.01, 5)).map(lambda t: Span(t[0], t[0] + t[1])),
    max_size=6,
)


@given(spans_st, spans_st)
def test_windowed_is_monotone_in_activity(a: list[Span], b: list[Span]) -> None:
    # more model speech can only take more pauses
    small = windowed_takeover(a, PAUSES).taken
    big = windowed_takeover(a + b, PAUSES).taken
    assert all(bb or not s for s, bb in zip(small, big, strict=True))
