"""Reactive cues: an interruption placed from what the model actually did."""

from __future__ import annotations

import asyncio
import dataclasses

import numpy as np
import pytest

from duplex.annotations import Annotations
from duplex.events import UserCueFired
from duplex.models.registry import load_model
from duplex.scenarios.base import ReactiveCue, ScenarioItem
from duplex.simulator.session import SessionOptions, run_lockstep, run_realtime
from duplex.timeline import SpeechSpan, no_compute
from tests.speech.speechdata import RATE, place, say

pytestmark = pytest.mark.slow


def interrupt_item(fallback_after: float = 4.0) -> ScenarioItem:
    context = say("Can you tell me about the history of the Roman empire?")
    cue_audio = say("Wait, just tell me when it fell.")
    turn_end = 0.5 + context.size / RATE
    total = turn_end + fallback_after + cue_audio.size / RATE + 10.5
    cue = ReactiveCue(
        "interrupt",
        "wait, just tell me when it fell",
        cue_audio,
        1.5,
        turn_end,
        turn_end + fallback_after,
    )
    ann = Annotations(speech=(SpeechSpan(0.5, turn_end, "roman empire"),))
    return ScenarioItem(
        "t", "1", "int-1", place([(0.5, context)], total), RATE, ann, "h", cues=(cue,)
    )


def cue_record(rec) -> dict:  # type: ignore[no-untyped-def]
    cues = rec.annotations.cues
    assert len(cues) == 1
    return dataclasses.asdict(cues[0])


def test_cue_starts_after_the_model_starts_speaking() -> None:
    item = interrupt_item()
    rec = run_lockstep(
        load_model("oracle:latency=0.6,length=6"), item, SessionOptions(stopwatch=no_compute())
    )
    cue = cue_record(rec)
    model_onset = item.annotations.turn_end + 0.6
    assert cue["trigger"] == "model_onset"
    assert abs(cue["model_onset"] - model_onset) < 0.02  # refined by energy
    assert abs(cue["start"] - (model_onset + 1.5)) < 0.02
    # the user channel holds the interruption exactly where it says
    start = round(cue["start"] * RATE)
    n = item.cues[0].audio.size
    assert np.allclose(rec.user[start : start + n], item.cues[0].audio)
    assert any(isinstance(e, UserCueFired) and e.at == start for e in rec.events)


def test_cue_falls_back_when_the_model_never_speaks() -> None:
    item = interrupt_item()
    rec = run_lockstep(load_model("silent"), item, SessionOptions(stopwatch=no_compute()))
    cue = cue_record(rec)
    assert cue["trigger"] == "fallback" and cue["model_onset"] is None
    assert cue["start"] == pytest.approx(item.cues[0].fallback_at, abs=1 / RATE)


def test_model_speech_before_arming_does_not_trigger() -> None:
    # the oracle in pause mode speaks nowhere here (no pauses); eager speaks during the context,
    # before the cue is armed, and keeps talking: its onset after arming is the arming time itself
    item = interrupt_item()
    rec = run_lockstep(load_model("eager"), item, SessionOptions(stopwatch=no_compute()))
    cue = cue_record(rec)
    assert cue["trigger"] == "model_onset"
    assert cue["model_onset"] >= item.cues[0].armed_at - 0.04


def test_same_cue_time_in_lockstep_and_realtime() -> None:
    item = interrupt_item()
    model = load_model("oracle:latency=0.6,length=6")
    lock = cue_record(run_lockstep(model, item, SessionOptions()))
    real = cue_record(asyncio.run(run_realtime(model, item, SessionOptions(drain_s=0.1))))
    assert abs(lock["start"] - real["start"]) < 0.02
