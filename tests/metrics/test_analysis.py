"""The output analysis: one recording or several at once give the same activity and words."""

from __future__ import annotations

import numpy as np

from duplex.metrics import analyze_output, analyze_outputs
from duplex.simulator.recording import Recording
from duplex.speech.asr import EMPTY
from tests.speech.speechdata import RATE, place, say


def recording(model: np.ndarray) -> Recording:
    return Recording(RATE, np.zeros_like(model), model)


def test_several_at_once_equal_one_at_a_time_and_stage_times_are_reported() -> None:
    recs = [
        recording(place([(0.5, say("Yeah."))], 3.0)),
        recording(place([(1.0, say("The quick brown fox jumps over the lazy dog."))], 8.0)),
        recording(np.zeros(RATE * 2, np.float32)),
    ]
    timings: dict[str, float] = {}
    together = analyze_outputs(recs, workers=2, timings=timings)
    alone = [analyze_output(r) for r in recs]
    assert [a.activity for a in together] == [a.activity for a in alone]
    assert [a.transcript for a in together] == [a.transcript for a in alone]
    assert together[1].transcript.words and together[2].transcript == EMPTY
    assert together[0].provenance == alone[0].provenance and "asr" in alone[0].provenance
    assert timings["vad_s"] > 0 and timings["asr_s"] > 0


def test_without_asr_only_the_activity() -> None:
    rec = recording(place([(0.5, say("Yeah."))], 3.0))
    (analysis,) = analyze_outputs([rec], asr=None)
    assert analysis.activity and analysis.transcript == EMPTY
    assert analysis.asr_backend is None and "asr" not in analysis.provenance
