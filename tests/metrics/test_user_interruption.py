"""The user_interruption scorer: resolved cues, stop and response latencies, judge details."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from duplex.annotations import Annotations, Cue, Interrupt
from duplex.metrics import TASKS, OutputAnalysis, analyze_output, summarize
from duplex.metrics.user_interruption import details, score
from duplex.simulator.recording import Recording
from duplex.speech.asr import EMPTY, Transcript, Word
from duplex.timeline import Span, SpeechSpan
from tests.speech.speechdata import RATE, place, say

DUR = 16.0
ITEM = Annotations(
    speech=(SpeechSpan(0.5, 2.5, "tell me about the history of tea"),),
    interrupt=Interrupt(text="actually, what about coffee?", context="tell me about tea"),
)


def cue(start: float, end: float, trigger: Any = "model_onset") -> Cue:
    return Cue(
        name="interrupt",
        start=start,
        end=end,
        text="actually, what about coffee?",
        trigger=trigger,
        model_onset=3.1 if trigger == "model_onset" else None,
    )


def resolved(start: float = 5.0, end: float = 6.5, trigger: str = "model_onset") -> Annotations:
    return replace(ITEM, cues=(cue(start, end, trigger),))


def rec(model: np.ndarray | None = None, ann: Annotations | None = None) -> Recording:
    n = round(DUR * RATE)
    m = np.zeros(n, np.float32) if model is None else model
    return Recording(RATE, np.zeros(n, np.float32), m, annotations=ann)


def words(*spans: tuple[float, float]) -> Transcript:
    ws = tuple(Word(a, b, f"w{i}", 1.0) for i, (a, b) in enumerate(spans))
    return Transcript(" ".join(w.text for w in ws), ws)


def test_silent_model() -> None:
    s = score(rec(ann=resolved(trigger="fallback")), ITEM, OutputAnalysis((), EMPTY))
    assert s["tor_fdb"] == 0 and s["tor"] == 0
    assert s["latency_fdb_s"] is None and s["latency_vad_s"] is None
    assert s["stop_latency_s"] is None and s["fallback"] == 1
    assert s["interrupt_start_s"] == 5.0 and s["interrupt_end_s"] == 6.5


def test_stops_then_answers() -> None:
    before = [(3.1 + 0.3 * i, 3.35 + 0.3 * i) for i in range(7)]  # 3.1 .. 5.15
    after = [(7.0 + 0.3 * i, 7.25 + 0.3 * i) for i in range(6)]
    analysis = OutputAnalysis((Span(3.1, 5.3), Span(7.0, 8.75)), words(*before, *after))
    r = rec(ann=resolved())
    s = score(r, ITEM, analysis)
    assert s["stop_latency_s"] == pytest.approx(0.3)
    assert s["tor_fdb"] == 1 and s["latency_fdb_s"] == pytest.approx(0.5)
    assert s["tor"] == 1 and s["latency_vad_s"] == pytest.approx(0.5)
    assert s["fallback"] == 0
    d = details(r, ITEM, analysis)
    assert d == {
        "context": "tell me about tea",
        "interrupt_text": "actually, what about coffee?",
        "response_transcript": "w7 w8 w9 w10 w11 w12",
    }


def test_talking_straight_through() -> None:
    ws = [(3.1 + 0.3 * i, 3.35 + 0.3 * i) for i in range(30)]  # to 12.1
    s = score(rec(ann=resolved()), ITEM, OutputAnalysis((Span(3.1, 12.1),), words(*ws)))
    assert s["tor_fdb"] == 1  # the anchor sees words after the interruption: a take-over
    assert s["tor"] == 0 and s["latency_vad_s"] is None  # ours: no response to it
    assert s["stop_latency_s"] == pytest.approx(7.1)


def test_item_annotations_are_used_when_the_recording_has_none() -> None:
    s = score(rec(), resolved(), OutputAnalysis((), EMPTY))
    assert s["interrupt_start_s"] == 5.0
    s = score(rec(), ITEM, OutputAnalysis((Span(3.0, 4.0),), EMPTY))  # no cue resolved
    assert s["tor"] is None and s["stop_latency_s"] is None and s["model_speech_s"] == 1.0
    assert details(rec(), ITEM, OutputAnalysis((), EMPTY))["response_transcript"] is None


def test_rows_with_details_still_summarise() -> None:
    r = rec(ann=resolved())
    analysis = OutputAnalysis((Span(3.1, 5.3),), EMPTY)
    metrics = score(r, ITEM, analysis)
    assert all(v is None or isinstance(v, int | float) for v in metrics.values())
    out = summarize([metrics], sorted(metrics))
    assert out["stop_latency_s"]["mean"] == pytest.approx(0.3)


def test_registry_entry() -> None:
    task = TASKS.get("user_interruption")
    assert task.score is score and task.details is details
    assert ("stop_latency_s", "stop latency s", "lower") in [tuple(h) for h in task.headline]


@pytest.mark.parametrize("stop", [0.3, 0.9])
def test_stop_latency_is_sample_accurate(stop: float) -> None:
    start, end = 6.0, 7.4
    talk = say("Tea was first drunk in China, many centuries ago, as a medicine.")
    answer = say("Coffee came much later, from Ethiopia.")
    # the model's speech ends exactly `stop` s after the interruption starts; it answers 0.6 s
    # after the interruption ends
    model = place([(start + stop - talk.size / RATE, talk), (end + 0.6, answer)], DUR)
    r = rec(model, resolved(start, end))
    s = score(r, ITEM, analyze_output(r, asr=None))
    assert s["stop_latency_s"] == pytest.approx(stop, abs=0.02)
    assert s["tor"] == 1 and s["latency_vad_s"] == pytest.approx(0.6, abs=0.02)
