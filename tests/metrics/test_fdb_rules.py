"""Full-Duplex-Bench's definitions, the anchor's way, on cases worked out by hand from its scripts
(v1_v1.5/evaluation at d7336bd); the quirks are pinned as quirks, each named in the test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.interpolate import interp1d
from scipy.spatial.distance import jensenshannon

from duplex.errors import ScenarioError
from duplex.metrics import fdb_rules as r

# ------------------------------------------------------------------------- take-over rule


def test_takeover_rule() -> None:
    assert r.takeover([]) == 0  # no words: the model did not take the turn
    three_short = [(1.0, 1.2), (1.3, 1.5), (1.6, 1.9)]  # 0.9 s, 3 words
    assert r.takeover(three_short) == 0
    assert r.takeover([*three_short, (1.9, 1.95)]) == 1  # a 4th word, still < 1 s
    assert r.takeover([(1.0, 1.2), (1.8, 2.0)]) == 1  # exactly 1 s is not "< 1 s"
    assert r.takeover([(2.0, 2.0)]) == 0  # one zero-length word


def test_takeover_uses_list_order_not_min_max() -> None:
    # last listed end - first listed start = 1.1 - 5.0 < 1 s with 2 words: TO 0 (a min/max
    # reading would give 4.2 s and TO 1)
    assert r.takeover([(5.0, 5.2), (1.0, 1.1)]) == 0


def test_takeover_null_times() -> None:
    # the pause script falls back to the last word's start when its end is null
    assert r.takeover([(1.0, 1.2), (2.5, None)]) == 1
    assert r.takeover([(1.0, 1.2), (1.5, None)]) == 0
    with pytest.raises(ScenarioError, match="first word"):
        r.takeover([(None, 1.0), (1.5, 2.8)])


def test_take_turn_latency_is_first_word_start_minus_event() -> None:
    words = [(3.4, 3.7), (3.7, 3.8), (3.8, 4.0), (4.0, 4.3)]
    tt = r.take_turn(words, 2.9)
    assert tt.to == 1 and tt.latency == 3.4 - 2.9 and tt.clipped == tt.latency
    early = r.take_turn([(2.5, 2.8), (2.9, 3.0), (3.0, 3.6), (3.6, 3.8)], 2.9)
    assert early.latency == pytest.approx(-0.4) and early.clipped == 0  # printed raw, averaged 0
    short = r.take_turn([(3.0, 3.2)], 2.9)
    assert short.to == 0 and short.latency is None and short.clipped is None
    none = r.take_turn([], 2.9)
    assert none.to == 0 and none.latency is None
    assert r.mean_latency([tt, early, short, none]) == (3.4 - 2.9 + 0) / 2
    assert r.mean([tt.to, early.to, short.to, none.to]) == 0.5


def test_take_turn_refuses_null_times_the_anchor_crashes_on() -> None:
    with pytest.raises(ScenarioError, match="crash"):
        r.take_turn([(3.0, 3.5), (4.0, None)], 2.9)
    with pytest.raises(ScenarioError, match="nothing to average"):
        r.mean([])


# ----------------------------------------------------------------------------- backchannel


@pytest.mark.parametrize(
    ("word", "counted"),
    [
        ((1.2, 1.5), True),  # inside
        ((0.5, 1.0), False),  # ends exactly at the segment start
        ((0.5, 1.1), True),  # runs over the start
        ((1.9, 2.3), True),  # runs over the end
        ((2.0, 2.4), True),  # starts exactly at the end: counted
        ((2.1, 2.5), False),  # after
        ((1.0, 1.0), True),  # zero-length at the start
        ((2.0, 2.0), True),  # zero-length at the end
        ((None, 1.5), False),  # no start: skipped
        ((1.5, None), False),  # no end, starts before the segment end: skipped
        ((2.0, None), True),  # no end, starts at the end: a zero-length word there
        ((2.5, None), False),  # no end, after the segment
    ],
)
def test_words_in_segment(word: r.Stamp, counted: bool) -> None:
    assert r.words_in_segment([word], 1.0, 2.0) == int(counted)


def test_segment_rule() -> None:
    assert r.segment_to(0.5, 2) == 0  # short, few words: backchannel
    assert r.segment_to(0.5, 0) == 0  # a wordless short sound too
    assert r.segment_to(0.5, 3) == 1
    assert r.segment_to(1.0, 1) == 1  # 1 s is not "< 1 s"
    assert r.segment_to(2.9, 4) == 1


def test_backchannel_loop_last_segment_decides() -> None:
    # a 1.5 s segment with 4 words (a turn), then a wordless 0.3 s one (a backchannel): the
    # loop overwrites TO at each segment, so the sample scores 0; both are "predictions"
    words = [(1.0, 1.3), (1.3, 1.6), (1.6, 2.0), (2.0, 2.4)]
    s = r.backchannel_sample([(1.0, 2.5), (4.0, 4.3)], words, 10.0)
    assert s.segment_tos == (1, 0) and s.to == 0
    assert s.predictions == ((1.0, 2.5), (4.0, 4.3)) and s.frequency == 2 / 10.0


def test_backchannel_loop_stops_at_a_long_segment() -> None:
    s = r.backchannel_sample([(1.0, 1.4), (5.0, 9.0), (10.0, 10.3)], [], 20.0)
    assert s.segment_tos == (0,) and s.to == 1 and s.predictions == ((1.0, 1.4),)
    assert s.frequency == 1 / 20.0
    exactly_3 = r.backchannel_sample([(1.0, 4.0)], [], 20.0)  # 3.0 s is not "> 3 s"
    assert exactly_3.to == 1 and exactly_3.predictions == ((1.0, 4.0),)
    empty = r.backchannel_sample([], [], 20.0)
    assert (empty.to, empty.predictions, empty.frequency) == (0, (), 0.0)


def test_histogram_bins_with_float_division() -> None:
    # 1.0 s -> int(1.0 / 0.2) + 1 = 6 bins; (0.2, 0.6): int(0.6 / 0.2) = int(2.9999999999999996)
    # = 2, so bins 1 and 2 only
    h = r.histogram([(0.2, 0.6)], 1.0)
    e = r.EPSILON
    assert h.tolist() == pytest.approx([x / (2 + 6 * e) for x in (e, 1 + e, 1 + e, e, e, e)])
    assert h[3] < 1e-9
    # bins past the end are dropped
    tail = r.histogram([(0.9, 1.5)], 1.0)
    assert tail[4] == tail[5] and tail[4] > 0.49 and tail[:4].max() < 1e-9


def test_resize_is_interp1d_bit_for_bit() -> None:
    assert r.resize_ground_truth([1, 2, 3], 5).tolist() == [1.0, 1.5, 2.0, 2.5, 3.0]
    rng = np.random.default_rng(7)
    for _ in range(300):
        m, n = int(rng.integers(2, 40)), int(rng.integers(2, 200))
        gt = np.where(rng.random(m) < 0.4, 0.0, rng.random(m))
        f = interp1d(np.linspace(0, 1, m), gt, kind="linear", fill_value="extrapolate")
        assert np.array_equal(r.resize_ground_truth(gt.tolist(), n), f(np.linspace(0, 1, n)))
    with pytest.raises(ScenarioError, match="at least 2 bins"):
        r.resize_ground_truth([1.0], 5)


def test_exact_zeros_in_the_ground_truth_give_an_infinite_distance() -> None:
    gt = [0.277363, 0.271432, 0.451205, 0.0]
    resized = r.resize_ground_truth(gt, 6)
    # the last point equals the last knot but is computed from the interval to its left:
    # 0.451205 + (-0.451205 / (1/3)) * (1 - 2/3) rounds below zero
    assert resized[5] < 0 and resized[5] > -1e-15
    assert np.interp(1.0, np.linspace(0, 1, 4), gt) == 0.0  # numpy's interp would not
    assert r.backchannel_jsd([(0.2, 0.6)], 1.0, gt) == math.inf
    # the same truth with the anchor's own epsilon instead of exact zeros stays finite
    eps = [(v + r.EPSILON) / (sum(gt) + 4 * r.EPSILON) for v in gt]
    assert math.isfinite(r.backchannel_jsd([(0.2, 0.6)], 1.0, eps))


def test_jsd_is_scipy_distance_against_the_resized_truth() -> None:
    assert r.backchannel_jsd([], 8.0, [0.5, 0.5]) == 1.0  # no backchannel at all
    gt = [0.1, 0.4, 0.3, 0.2, 0.05]
    preds = [(1.0, 1.3), (4.2, 4.5)]
    p = r.histogram(preds, 8.0)
    q = interp1d(np.linspace(0, 1, 5), gt, fill_value="extrapolate")(np.linspace(0, 1, p.size))
    assert r.backchannel_jsd(preds, 8.0, gt) == float(jensenshannon(p, q))
    # a histogram compared with itself: distance 0 (up to rounding)
    same = r.backchannel_jsd([(0.2, 0.6)], 1.0, r.histogram([(0.2, 0.6)], 1.0).tolist())
    assert same < 1e-6


# --------------------------------------------------------------------------- v1.5 timing


def test_merge_joins_gaps_up_to_and_including_the_threshold() -> None:
    segs = [(2.6, 3.0), (0.0, 1.0), (1.5, 2.0)]
    assert r.merge_segments(segs, 0.5) == [(0.0, 2.0), (2.6, 3.0)]  # 0.5 joins, 0.6 does not
    assert r.merge_segments([], 0.5) == []


def test_stop_intervals_are_overlaps_rounded_to_ms() -> None:
    user = [(0.0, 2.0), (5.0, 8.0)]
    model = [(1.5, 6.0)]
    assert r.stop_intervals(user, model) == [[1.5, 2.0], [5.0, 6.0]]
    assert r.stop_intervals([(1.23456, 3.0)], [(0.0, 2.00049)]) == [[1.235, 2.0]]
    assert r.stop_intervals([(0.0, 1.0)], [(2.0, 3.0)]) == []
    # two overlaps ending in the same millisecond: the shorter is kept
    assert r.stop_intervals([(0.0, 2.0), (1.8, 2.0)], [(1.0, 2.0), (1.9, 3.0)]) == [[1.9, 2.0]]


def test_response_intervals_pair_user_ends_with_the_next_model_start() -> None:
    user = [(0.0, 2.0), (3.0, 4.0), (8.0, 9.0)]
    model = [(2.5, 5.0), (6.0, 7.0)]
    assert r.response_intervals(user, model) == [[2.0, 2.5], [4.0, 6.0]]  # none after 9 s
    # two user ends before the same model start: the later one (the shorter gap) is kept
    assert r.response_intervals([(0.0, 1.0), (1.5, 2.0)], [(3.0, 4.0)]) == [[2.0, 3.0]]


def test_timing_merges_user_and_model_gaps_differently() -> None:
    user = [(0.0, 1.0), (1.6, 2.0)]  # 0.6 s gap: joined for the user (<= 0.6)
    model = [(2.4, 3.0), (3.55, 4.0)]  # 0.55 s gap: not joined for the model (> 0.5)
    t = r.timing(user, model)
    assert t["latency_resp_list"] == [[2.0, 2.4]]
    assert t["latency_stop_list"] == []
    overlap = r.timing([(0.0, 3.0)], [(2.0, 2.4), (2.8, 4.0)])  # 0.4 s model gap joined
    assert overlap["latency_stop_list"] == [[2.0, 3.0]]
