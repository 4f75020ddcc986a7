"""The turn_taking scorer: hand-made analyses, then real speech placed at known latencies."""

from __future__ import annotations

import numpy as np
import pytest

from duplex.annotations import Annotations
from duplex.metrics import TASKS, OutputAnalysis, analyze_output
from duplex.metrics.turn_taking import score
from duplex.simulator.recording import Recording
from duplex.speech.asr import EMPTY, Transcript, Word
from duplex.timeline import Span, SpeechSpan
from tests.speech.speechdata import RATE, place, say

TURN_END = 3.0
ANN = Annotations(speech=(SpeechSpan(0.5, TURN_END, "can you tell me the way to the station"),))
DUR = 8.5


def rec(model: np.ndarray | None = None) -> Recording:
    n = round(DUR * RATE)
    return Recording(
        RATE, np.zeros(n, np.float32), np.zeros(n, np.float32) if model is None else model
    )


def words(*spans: tuple[float, float]) -> Transcript:
    ws = tuple(Word(a, b, f"w{i}", 1.0) for i, (a, b) in enumerate(spans))
    return Transcript(" ".join(w.text for w in ws), ws)


def test_silent_model() -> None:
    s = score(rec(), ANN, OutputAnalysis((), EMPTY))
    assert s == {
        "tor_fdb": 0,
        "latency_fdb_s": None,
        "tor": 0,
        "latency_vad_s": None,
        "talking_at_turn_end": 0,
        "model_speech_s": 0.0,
    }


def test_prompt_reply() -> None:
    t = words((3.45, 3.7), (3.7, 4.0), (4.1, 4.5), (4.5, 5.0))
    s = score(rec(), ANN, OutputAnalysis((Span(3.4, 5.0),), t))
    assert s["tor_fdb"] == 1 and s["latency_fdb_s"] == pytest.approx(0.45)
    assert s["tor"] == 1 and s["latency_vad_s"] == pytest.approx(0.4)
    assert s["talking_at_turn_end"] == 0


def test_early_start_is_negative_for_us_and_clipped_for_the_anchor() -> None:
    t = words((2.8, 3.2), (3.2, 3.6), (3.6, 4.0), (4.0, 4.4))
    s = score(rec(), ANN, OutputAnalysis((Span(2.8, 4.4),), t))
    assert s["latency_fdb_s"] == 0.0 and s["latency_vad_s"] == pytest.approx(-0.2)
    assert s["talking_at_turn_end"] == 1


def test_talking_over_the_whole_turn_is_not_taking_it() -> None:
    t = words(*[(0.6 + 0.4 * i, 0.9 + 0.4 * i) for i in range(15)])
    s = score(rec(), ANN, OutputAnalysis((Span(0.6, 6.5),), t))
    assert s["tor_fdb"] == 1 and s["latency_fdb_s"] == 0.0  # the anchor: a take-over at once
    assert s["tor"] == 0 and s["latency_vad_s"] is None and s["talking_at_turn_end"] == 1


def test_a_short_ack_is_no_turn_by_either_rule() -> None:
    s = score(rec(), ANN, OutputAnalysis((Span(3.5, 3.8),), words((3.5, 3.8))))
    assert s["tor_fdb"] == 0 and s["latency_fdb_s"] is None
    assert s["tor"] == 0 and s["latency_vad_s"] is None


def test_registry_entry() -> None:
    task = TASKS.get("turn_taking")
    assert task.score is score and task.details is None
    assert {h[0]: h[2] for h in task.headline} == {
        "tor_fdb": "higher",
        "latency_fdb_s": "lower",
        "tor": "higher",
        "latency_vad_s": "lower",
    }


@pytest.mark.parametrize("latency", [0.2, 0.6, 1.0])
def test_voice_onset_latency_is_sample_accurate(latency: float) -> None:
    # the user's turn is real speech too, on the other channel; the metric reads the model's
    reply = say("Sure, go straight ahead and turn left at the bank.")
    r = rec(place([(TURN_END + latency, reply)], DUR))
    s = score(r, ANN, analyze_output(r, asr=None))
    assert s["tor"] == 1
    assert s["latency_vad_s"] == pytest.approx(latency, abs=0.02)


def test_fdb_latency_from_real_words() -> None:
    reply = say("Sure, go straight ahead and turn left at the bank.")
    r = rec(place([(TURN_END + 0.6, reply)], DUR))
    s = score(r, ANN, analyze_output(r))
    assert s["tor_fdb"] == 1
    # Whisper's first word is clamped into the VAD segment: not earlier than the voice onset
    assert s["latency_fdb_s"] == pytest.approx(0.6, abs=0.1)
    fdb, vad = s["latency_fdb_s"], s["latency_vad_s"]
    assert fdb is not None and vad is not None and fdb >= vad - 1e-4  # ours rounds to 0.1 ms
