"""Which stretches Whisper reads: the window plan from VAD segments."""

from __future__ import annotations

import itertools

import numpy as np

from duplex.speech.windows import LEAD_S, RATE, TAIL_S, WINDOW_S, plan_windows
from duplex.timeline import Span

WIDTH = round(WINDOW_S * RATE)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * RATE), np.float32)


def test_no_speech_no_window() -> None:
    assert plan_windows([], silence(10)) == []
    assert plan_windows([Span(1, 2)], np.zeros(0, np.float32)) == []


def test_a_recording_of_up_to_30s_is_one_window_over_all_of_it() -> None:
    for seconds in (3.0, 15.0, WINDOW_S):
        assert plan_windows([Span(1.0, 2.0)], silence(seconds)) == [(0, round(seconds * RATE))]


def covered(windows: list[tuple[int, int]], span: Span) -> bool:
    a, b = round((span.start - TAIL_S) * RATE), round((span.end + TAIL_S) * RATE)
    return any(lo <= a and b <= hi for lo, hi in windows)


def test_long_recording_windows_hold_whole_utterances_and_skip_long_silences() -> None:
    speech = [Span(2.0, 5.0), Span(5.5, 12.0), Span(20.0, 29.0), Span(70.0, 71.0), Span(80, 85)]
    windows = plan_windows(speech, silence(100.0))
    assert all(0 < b - a <= WIDTH for a, b in windows)
    assert all(b1 <= a2 for (_, b1), (a2, _) in itertools.pairwise(windows))
    assert all(covered(windows, s) for s in speech)
    # 2-29 s fit one window; 70-85 s another, starting LEAD_S before the utterance's padding
    assert len(windows) == 2
    assert windows[1][0] == round((70.0 - TAIL_S - LEAD_S) * RATE)
    assert windows[0][0] == round((2.0 - TAIL_S - LEAD_S) * RATE)


def test_lead_never_reaches_back_into_the_previous_window() -> None:
    speech = [Span(1.0, 29.5), Span(29.9, 40.0)]
    windows = plan_windows(speech, silence(45.0))
    assert len(windows) == 2 and windows[1][0] == windows[0][1]


def test_utterance_longer_than_a_window_is_cut_at_its_quietest_point() -> None:
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(round(70 * RATE)) * 0.1).astype(np.float32)
    quiet = round(27.0 * RATE)
    x[quiet : quiet + 640] *= 0.001  # a 40 ms dip inside continuous "speech"
    windows = plan_windows([Span(0.0, 70.0)], x)
    assert all(b - a <= WIDTH for a, b in windows)
    assert windows[0] == (0, quiet)  # cut at the dip, not at 30 s
    assert windows[-1][1] == x.size and len(windows) == 3
    assert all(b1 == a2 for (_, b1), (a2, _) in itertools.pairwise(windows))
