"""The pause_handling scorer on hand-made analyses and on recordings with real speech placed."""

from __future__ import annotations

import numpy as np
import pytest

from duplex.annotations import Annotations
from duplex.errors import ConfigError
from duplex.metrics import TASKS, OutputAnalysis, Task, analyze_output
from duplex.metrics.pause_handling import score
from duplex.metrics.tasks import Metric
from duplex.simulator.recording import Recording
from duplex.speech.asr import EMPTY, Transcript, Word
from duplex.timeline import Span, SpeechSpan
from tests.speech.speechdata import RATE, place, say

ANN = Annotations(
    speech=(SpeechSpan(0.5, 2.0, "so I was thinking"), SpeechSpan(2.8, 4.5, "about the trip")),
    pauses=(Span(2.0, 2.8),),
)
DUR = 8.0


def rec(model: np.ndarray | None = None) -> Recording:
    n = round(DUR * RATE)
    m = np.zeros(n, np.float32) if model is None else model
    return Recording(RATE, np.zeros(n, np.float32), m)


def test_silent_model_scores_zero() -> None:
    s = score(rec(), ANN, OutputAnalysis((), EMPTY))
    assert s == {
        "tor_fdb": 0,
        "tor_window": 0,
        "pauses_taken_frac": 0.0,
        "n_pauses": 1,
        "model_speech_s": 0.0,
        "first_onset_s": None,
        "talks_in_pause_s": 0.0,
    }


def test_polite_answer_after_the_turn_counts_only_for_the_fdb_rule() -> None:
    words = tuple(Word(5.0 + 0.3 * i, 5.25 + 0.3 * i, "w", 1.0) for i in range(6))
    s = score(rec(), ANN, OutputAnalysis((Span(5.0, 6.8),), Transcript("w " * 6, words)))
    assert s["tor_fdb"] == 1 and s["tor_window"] == 0
    assert s["first_onset_s"] == 5.0 and s["model_speech_s"] == pytest.approx(1.8)
    assert s["talks_in_pause_s"] == 0.0


def test_backchannel_in_the_pause_talks_but_does_not_take_over() -> None:
    s = score(
        rec(),
        ANN,
        OutputAnalysis((Span(2.2, 2.6),), Transcript("yeah", (Word(2.2, 2.6, "yeah", 1.0),))),
    )
    assert s["tor_fdb"] == 0 and s["tor_window"] == 0
    assert s["talks_in_pause_s"] == pytest.approx(0.4)


def test_no_pauses_leaves_the_windowed_figures_undefined() -> None:
    s = score(rec(), Annotations(speech=ANN.speech), OutputAnalysis((), EMPTY))
    assert s["tor_window"] is None and s["pauses_taken_frac"] is None and s["n_pauses"] == 0


def test_task_registry_entry() -> None:
    task = TASKS.get("pause_handling")
    assert task.name == "pause_handling" and task.version
    assert [tuple(h) for h in task.headline] == [
        ("tor_fdb", "TOR (FDB rule)", "lower"),
        ("tor_window", "TOR (windowed)", "lower"),
    ]
    assert task.score is score


def test_real_speech_in_the_pause_is_a_take_over() -> None:
    reply = say("Where are you going this summer?")
    r = rec(place([(2.3, reply)], DUR))
    analysis = analyze_output(r)
    assert analysis.vad_backend == "silero" and analysis.asr_backend == "faster-whisper-tiny.en"
    assert analysis.provenance["vad"]["backend"] == "silero"
    assert analysis.activity[0].start == pytest.approx(2.3, abs=0.02)
    s = TASKS.get("pause_handling").score(r, ANN, analysis)
    assert s["tor_fdb"] == 1 and s["tor_window"] == 1 and s["pauses_taken_frac"] == 1.0
    assert s["talks_in_pause_s"] == pytest.approx(0.8, abs=0.03)  # 2.3 -> 3.1 (grace)
    assert OutputAnalysis.from_json(analysis.to_json()) == analysis


def test_real_backchannel_and_silence() -> None:
    r = rec(place([(2.2, say("Mm-hmm."))], DUR))
    s = score(r, ANN, analyze_output(r))
    assert s["tor_fdb"] == 0 and s["tor_window"] == 0
    assert (s["talks_in_pause_s"] or 0) > 0.1
    quiet = analyze_output(rec())
    assert quiet.activity == () and quiet.transcript.words == ()
    assert analyze_output(rec(), asr=None).transcript == EMPTY


def test_a_headline_direction_is_checked() -> None:
    with pytest.raises(ConfigError, match="direction"):
        Task("t", "1", score, (Metric("tor_fdb", "TOR", "down"),))  # type: ignore[arg-type]
