"""The backchannel scorer: segment kinds, the anchor's defect, distributions and distances."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from duplex.annotations import Annotations, BackchannelPoint
from duplex.metrics import TASKS, OutputAnalysis, analyze_output
from duplex.metrics.backchannel import score, segment_kind
from duplex.metrics.timing_bins import n_bins, onset_distribution, span_distribution
from duplex.simulator.recording import Recording
from duplex.speech.asr import EMPTY, Transcript, Word
from duplex.timeline import Span, SpeechSpan
from tests.speech.speechdata import RATE, place, say

DUR = 20.0
POINTS = [3.0, 7.4, 11.8, 16.2]
ANN = Annotations(
    speech=(SpeechSpan(0.3, 19.0, "a long story"),),
    backchannel_points=tuple(BackchannelPoint(t, 1.0) for t in POINTS),
)


def rec(model: np.ndarray | None = None) -> Recording:
    n = round(DUR * RATE)
    return Recording(
        RATE, np.zeros(n, np.float32), np.zeros(n, np.float32) if model is None else model
    )


def w(a: float, b: float, text: str = "w") -> Word:
    return Word(a, b, text, 1.0)


def test_segment_kinds_follow_the_anchor_rule() -> None:
    assert segment_kind(Span(1.0, 1.4), [w(1.0, 1.4)]) == "backchannel"
    assert segment_kind(Span(1.0, 1.4), []) == "backchannel"  # a short wordless sound
    assert segment_kind(Span(1.0, 1.8), [w(1.0, 1.3), w(1.3, 1.5), w(1.5, 1.8)]) == "turn"
    assert segment_kind(Span(1.0, 2.2), [w(1.0, 2.2)]) == "turn"  # 1 s or more
    assert segment_kind(Span(1.0, 4.5), []) == "turn"  # longer than 3 s
    five = [w(1.0 + 0.1 * i, 1.1 + 0.1 * i) for i in range(5)]
    assert segment_kind(Span(1.0, 1.5), five) == "turn"
    assert segment_kind(Span(1.0, 1.4), [w(1.4, 1.4), w(0.5, 0.9)]) == "backchannel"


def test_ours_counts_any_turn_where_the_anchor_lets_the_last_segment_decide() -> None:
    # The anchor's loop (last short segment decides) is fdb_rules.backchannel_sample, tested
    # there on segments; here, ours on our activity: a turn, then a "yeah".
    turn = Span(2.0, 4.0)  # 2 s: a turn by the word rule
    ack = Span(8.0, 8.3)
    ws = [w(2.0 + 0.4 * i, 2.3 + 0.4 * i) for i in range(5)] + [w(8.0, 8.3, "yeah")]
    analysis = OutputAnalysis((turn, ack), Transcript("", tuple(ws)))
    s = score(rec(), ANN, analysis)
    assert s["tor"] == 1  # ours: a turn was taken
    assert s["n_backchannels"] == 1 and s["frequency"] == pytest.approx(1 / DUR)


def test_silent_model_gets_the_worst_distance() -> None:
    s = score(rec(), ANN, OutputAnalysis((), EMPTY))
    assert s["tor"] == 0 and s["tor_fdb"] == 0
    assert s["jsd_fdb"] == 1.0 and s["js_divergence"] == 1.0
    assert s["frequency"] == 0.0 and s["n_reference"] == 4


def test_backchannels_at_the_reference_points() -> None:
    acks = tuple(Span(t, t + 0.35) for t in POINTS)
    words = tuple(w(t, t + 0.35, "mm") for t in POINTS)
    s = score(rec(), ANN, OutputAnalysis(acks, Transcript("", words)))
    assert s["tor"] == 0 and s["js_divergence"] == pytest.approx(0.0, abs=1e-9)
    # the same backchannels 1.5 s late are far off (the anchor's figure, which reads the audio,
    # is checked on real speech below)
    late = tuple(Span(t + 1.5, t + 1.85) for t in POINTS)
    s2 = score(rec(), ANN, OutputAnalysis(late, EMPTY))
    assert (s2["js_divergence"] or 0) > 0.9


def test_no_reference_leaves_distances_undefined_and_a_given_distribution_is_used() -> None:
    bare = Annotations(speech=ANN.speech)
    analysis = OutputAnalysis((Span(3.0, 3.3),), EMPTY)
    s = score(rec(), bare, analysis)
    assert s["jsd_fdb"] is None and s["js_divergence"] is None and s["n_reference"] == 0
    given = [0.0] * 15 + [1.0, 1.0] + [0.0] * 84  # 101 bins: 20 s / 0.2 s + 1
    ann = Annotations(speech=ANN.speech, backchannel_distribution=tuple(given))
    s = score(rec(), ann, analysis)
    assert s["jsd_fdb"] == 1.0  # a given truth: the anchor's figure exists (no backchannel: 1)
    assert s["js_divergence"] is None


def test_distribution_construction() -> None:
    assert n_bins(20.0) == 101 and n_bins(0.1) == 1
    onset = onset_distribution([(3.0, 1.0)], DUR)
    assert onset.sum() == pytest.approx(1.0)
    # triangle +-0.4 s around 3.0: bins 13..16 (2.6 .. 3.4), symmetric mass about 3.0
    assert set(np.flatnonzero(onset > 1e-12)) == {13, 14, 15, 16}
    assert onset[14] + onset[13] == pytest.approx(0.5) and onset[13] == pytest.approx(onset[16])
    assert onset[14] == pytest.approx(0.5 - 0.125)  # the triangle's mass within 0.2 s of 3.0
    span = span_distribution([(3.0, 1.0)], DUR)
    assert span.sum() == pytest.approx(1.0) and span[15] == span.max()


def test_registry_entry() -> None:
    task = TASKS.get("backchannel")
    assert task.score is score
    assert [h[0] for h in task.headline] == ["tor_fdb", "jsd_fdb", "tor", "js_divergence"]


segments = st.lists(
    st.tuples(st.floats(0, 19), st.floats(0.05, 4)).map(lambda t: Span(t[0], min(20, t[0] + t[1]))),
    max_size=6,
)
point_lists = st.lists(
    st.tuples(st.floats(0, 19.9), st.floats(0.1, 3)).map(lambda t: {"t": t[0], "weight": t[1]}),
    min_size=1,
    max_size=6,
)


word_lists = st.lists(
    st.tuples(st.floats(0, 19.5), st.floats(0.0, 0.6)).map(lambda t: w(t[0], t[0] + t[1])),
    max_size=10,
)


@settings(max_examples=60, deadline=None)
@given(segments, point_lists, word_lists)
def test_score_invariants(
    activity: list[Span], points: list[dict[str, float]], ws: list[Word]
) -> None:
    activity = sorted(activity, key=lambda s: s.start)
    ann = Annotations(speech=(), backchannel_points=tuple(BackchannelPoint(**p) for p in points))
    s = score(rec(), ann, OutputAnalysis(tuple(activity), Transcript("", tuple(ws))))
    jsd, div = s["jsd_fdb"], s["js_divergence"]
    assert jsd is not None and div is not None
    assert 0.0 <= jsd <= math.sqrt(math.log(2)) + 1e-6 or jsd == 1.0
    assert 0.0 <= div <= 1.0
    assert (s["frequency"] or 0) >= 0 and (s["frequency_fdb"] or 0) >= 0
    assert s["tor"] in (0, 1) and s["tor_fdb"] == 0  # the anchor reads the (silent) audio


@settings(max_examples=40, deadline=None)
@given(point_lists)
def test_reference_distributions_are_distributions(points: list[dict[str, float]]) -> None:
    pts = [(p["t"], p["weight"]) for p in points]
    for d in (onset_distribution(pts, DUR), span_distribution(pts, DUR)):
        assert d.shape == (n_bins(DUR),)
        assert (d >= 0).all() and d.sum() == pytest.approx(1.0)
    # backchannels exactly at equally weighted points: zero divergence
    equal = [(t, 1.0) for t, _ in pts]
    ann = Annotations(speech=(), backchannel_points=tuple(BackchannelPoint(t) for t, _ in equal))
    acks = sorted({round(t, 6) for t, _ in equal})
    spaced = all(b - a >= 0.6 for a, b in itertools.pairwise(acks))
    if spaced:  # separate utterances (gaps < 0.5 s would join them)
        act = tuple(Span(t, t + 0.1) for t in acks)
        s = score(rec(), ann, OutputAnalysis(act, EMPTY))
        if len(acks) == len(equal):
            assert s["js_divergence"] == pytest.approx(0.0, abs=1e-9)


def noise_floor(x: np.ndarray, db: float = -60.0) -> np.ndarray:
    """A deterministic -60 dBFS hiss under the track. Silero as we run it goes deaf to short
    utterances after about 9 s of *digital* silence (a short "mm-hmm" at 12 s is missed or found
    0.1-0.2 s late; resetting its state on all-zero chunks cures it) - a VAD issue reported
    separately; real outputs are never digitally silent."""
    rng = np.random.default_rng(0)
    return (x + 10 ** (db / 20) * rng.standard_normal(x.size)).astype(np.float32)


def test_real_backchannels_at_the_reference_points() -> None:
    mm = say("Mm-hmm.")
    r = rec(noise_floor(place([(t, mm) for t in POINTS], DUR)))
    s = score(r, ANN, analyze_output(r))
    assert s["tor"] == 0 and s["n_backchannels"] == 4
    assert s["js_divergence"] is not None and s["js_divergence"] < 0.01
    # the anchor's whole-bin span counting of 0.29 s "mm-hmm"s against a 0.4 s nominal span
    assert s["jsd_fdb"] is not None and s["jsd_fdb"] < 0.45
    assert s["tor_fdb"] == 0 and s["frequency_fdb"] == pytest.approx(4 / DUR, rel=0.01)
    assert s["frequency"] == pytest.approx(4 / DUR)
    quiet = score(rec(), ANN, analyze_output(rec()))
    assert quiet["jsd_fdb"] == 1.0 and quiet["js_divergence"] == 1.0
