"""The anchor's take-over rule on hand-made words; the windowed pause rule on hand-made activity."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from duplex.metrics.fdb_rules import takeover
from duplex.metrics.takeover import (
    merge_gaps,
    seconds_inside,
    windowed_takeover,
)
from duplex.timeline import Span


def stamps(*spans: tuple[float, float]) -> list[tuple[float | None, float | None]]:
    return [(a, b) for a, b in spans]


def test_fdb_rule_known_answers() -> None:
    # The anchor's rule lives in fdb_rules (list order, as its scripts read output.json).
    assert takeover([]) == 0
    assert takeover(stamps((1.0, 1.3))) == 0  # "yeah": a backchannel
    assert takeover(stamps((1.0, 1.2), (1.2, 1.5), (1.5, 1.9))) == 0  # 3 words in 0.9 s
    assert takeover(stamps((1.0, 1.2), (1.2, 1.4), (1.4, 1.6), (1.6, 1.8))) == 1  # 4 words
    assert takeover(stamps((1.0, 1.5), (1.6, 2.0))) == 1  # exactly 1 s is not < 1 s
    assert takeover(stamps((1.0, 2.5))) == 1  # one long word


word_lists = st.lists(
    st.tuples(st.floats(0, 30), st.floats(0.01, 2)).map(lambda t: (t[0], t[0] + t[1])),
    max_size=8,
).map(lambda spans: sorted(spans))


@given(word_lists)
def test_fdb_rule_matches_its_definition_on_words_in_time_order(
    ws: list[tuple[float, float]],
) -> None:
    if not ws:
        expected = 0
    else:
        dur = ws[-1][1] - ws[0][0]
        expected = 0 if dur < 1.0 and len(ws) <= 3 else 1
    assert takeover(ws) == expected  # type: ignore[arg-type]


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
