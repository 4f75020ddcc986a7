"""Speech features measured on real (synthesised) speech placed at known times."""

from __future__ import annotations

import numpy as np
import pytest

from duplex.arena.responses import Response, SpeechFeatures, measure
from duplex.audio import rms_db
from duplex.metrics import TASKS
from tests.speech.speechdata import RATE, place, say
from tests.support.praat import HAVE_PRAAT

SENTENCE = "The pharmacy on Main Street closes at nine tonight."
EVENT = 2.0


def test_features_of_a_response_at_a_known_time() -> None:
    clip = say(SENTENCE)
    model = place([(EVENT + 0.8, clip)], 10.0)
    r = measure(model, RATE, EVENT, SENTENCE)
    f = r.features
    seconds = clip.size / RATE
    assert f.latency_s == pytest.approx(0.8, abs=0.05)
    assert f.duration_s == pytest.approx(seconds, abs=0.1)
    assert f.words == 9
    assert f.rate_wpm == pytest.approx(60 * 9 / f.speech_s, rel=1e-3)
    assert 100 < f.rate_wpm < 300
    assert f.loudness_dbfs is not None
    assert f.loudness_dbfs == pytest.approx(rms_db(clip), abs=1.5)
    # The bundled voice is a male voice (joe): mean F0 well inside 70-200 Hz (Praat's pitch: the
    # extra 'praat'; without it the figure is None).
    if HAVE_PRAAT:
        assert f.pitch_hz is not None and 70 < f.pitch_hz < 200
    else:
        assert f.pitch_hz is None
    assert r.text == SENTENCE
    assert r.utterances[0][0] == pytest.approx(0.8, abs=0.05)


def test_speech_before_the_turn_end_is_not_the_response() -> None:
    early = say("Hello there.")
    model = place([(0.2, early)], 6.0)
    r = measure(model, RATE, EVENT, "Hello there.")
    assert r.empty and r.text == "" and r.features.latency_s is None
    assert r.features.speech_s == 0 and r.features.pitch_hz is None and r.features.words == 0


def test_silence_is_an_empty_response() -> None:
    r = measure(np.zeros(RATE * 5, np.float32), RATE, EVENT, "")
    assert r.empty
    assert r.features == SpeechFeatures(0.0, 0, 0, None, None, None, None)


def test_louder_and_two_utterances() -> None:
    a, b = say("Sure."), say("Let me check that for you.")
    quiet = measure(place([(2.5, a * 0.25), (4.6, b * 0.25)], 9.0), RATE, EVENT, "x y")
    loud = measure(place([(2.5, a), (4.6, b)], 9.0), RATE, EVENT, "x y")
    assert len(loud.utterances) == 2
    assert loud.features.loudness_dbfs - quiet.features.loudness_dbfs == pytest.approx(
        12.0, abs=1.0
    )
    assert "+0.50 s" in loud.timing_text()


def test_content_hash_follows_the_content() -> None:
    f = SpeechFeatures(1.0, 1.0, 2, 120.0, 0.5, -20.0, 110.0)
    a = Response("hello there", ((0.5, 1.5),), f)
    assert a.content_hash() == Response.from_json(a.to_json()).content_hash()
    assert a.content_hash() != Response("hello here", ((0.5, 1.5),), f).content_hash()


def test_views_per_task() -> None:
    session = {
        "annotations": {"speech": [{"start": 0.5, "end": 2.0, "text": "Hi?"}], "turn_end": 2.0}
    }
    view = TASKS.get("turn_taking").view({"transcript": "Hello."}, session)
    assert view is not None and (view.turn, view.event, view.text) == ("Hi?", 2.0, "Hello.")
    row = {
        "metrics": {"interrupt_end_s": 5.5},
        "details": {
            "context": "Tell me a story.",
            "interrupt_text": "Wait, stop.",
            "response_transcript": "Okay.",
        },
    }
    view = TASKS.get("user_interruption").view(row, session)
    assert view is not None and view.event == 5.5 and "Wait, stop." in view.turn
    assert TASKS.get("user_interruption").view({"metrics": {}}, session) is None
