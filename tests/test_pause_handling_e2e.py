"""End to end on the pause_handling suite: instruments must give their known answers."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest

from duplex.annotations import Annotations
from duplex.metrics import TASKS, analyze_output
from duplex.models.registry import load_model
from duplex.report.documents import to_json as J
from duplex.runner import RunConfig, run_suite
from duplex.scenarios import load_suite
from duplex.scenarios.base import ScenarioItem
from duplex.simulator.session import SessionOptions, run_lockstep, run_realtime
from duplex.timeline import SpeechSpan, no_compute
from tests.speech.speechdata import RATE, place, say

pytestmark = pytest.mark.slow
LIMIT = 3
FRAME_S = 0.08


def run(model: str, tmp_path: Path, limit: int = LIMIT) -> dict:
    result = run_suite(
        RunConfig(suite="pause_handling", model=model, limit=limit, out=tmp_path / "run")
    )
    assert J(result.summary)["items"] == {"planned": limit, "ok": limit, "failed": 0}
    return J(result.summary)["metrics"]


def test_silent_never_takes_over(tmp_path: Path) -> None:
    m = run("silent", tmp_path)
    assert m["tor_fdb"]["mean"] == 0 and m["tor_window"]["mean"] == 0


def test_eager_always_takes_over(tmp_path: Path) -> None:
    m = run("eager", tmp_path)
    assert m["tor_fdb"]["mean"] == 1 and m["tor_window"]["mean"] == 1


def test_oracle_speaking_in_pauses_takes_over_in_the_window(tmp_path: Path) -> None:
    m = run("oracle:mode=pause,latency=0.1,length=1.5", tmp_path)
    assert m["tor_window"]["mean"] == 1 and m["tor_fdb"]["mean"] == 1


def test_polite_oracle_is_windowed_zero_but_fdb_rule_counts_it(tmp_path: Path) -> None:
    # It waits for the end of the turn: the windowed rule says it kept quiet in every pause, while
    # the anchor's whole-output rule counts its answer after the turn as a take-over.
    m = run("oracle:latency=0.6,length=2", tmp_path)
    assert m["tor_window"]["mean"] == 0
    assert m["tor_fdb"]["mean"] == 1


def _first_item():
    suite = load_suite("pause_handling")
    return suite.render(suite.item_ids()[0])


@pytest.mark.parametrize("latency", [0.2, 0.6, 1.0])
def test_oracle_latency_is_measured_within_20ms(latency: float) -> None:
    item = _first_item()
    model = load_model(f"oracle:latency={latency},length=2")
    rec = run_lockstep(model, item, SessionOptions(stopwatch=no_compute()))
    analysis = analyze_output(rec, asr=None)
    onset = analysis.activity[0].start
    assert abs(onset - item.annotations.turn_end - latency) < 0.02


def _one_sentence_item() -> ScenarioItem:
    """A single unbroken user sentence from 0.5 s, then silence: its turn end is exact."""
    speech = say("Could you tell me what the weather will be like tomorrow in Paris?")
    audio = place([(0.5, speech)], 0.5 + speech.size / RATE + 3.0)
    end = 0.5 + speech.size / RATE
    ann = Annotations(speech=(SpeechSpan(0.5, end, "weather question"),))
    return ScenarioItem("t", "1", "one", audio, RATE, ann, "h")


@pytest.mark.parametrize("latency", [0.6, 1.0])
def test_scripted_answers_latency_after_the_user_stops_within_a_frame(latency: float) -> None:
    item = _one_sentence_item()
    model = load_model(f"scripted:latency={latency},silence=0.4,length=1.5")
    rec = run_lockstep(model, item, SessionOptions())
    onset = analyze_output(rec, asr=None).activity[0].start
    assert abs(onset - item.annotations.turn_end - latency) < FRAME_S


def test_scripted_with_long_silence_waits_through_every_pause() -> None:
    item = _first_item()
    model = load_model("scripted:latency=0.6,silence=2.5,length=2")
    rec = run_lockstep(model, item, SessionOptions(stopwatch=no_compute()))
    scores = TASKS.get("pause_handling").score(rec, item.annotations, analyze_output(rec, asr=None))
    assert scores["tor_window"] == 0
    # it decides only after 2.5 s of silence, and then answers at once
    assert abs(scores["first_onset_s"] - item.annotations.turn_end - 2.5) < FRAME_S


def test_lockstep_and_realtime_recordings_agree_within_one_frame() -> None:
    item = _first_item()
    model = load_model("scripted:latency=0.6,silence=2.5,length=2")
    lock = run_lockstep(model, item, SessionOptions())
    real = asyncio.run(run_realtime(model, item, SessionOptions(drain_s=0.1)))
    assert lock.model.size == real.model.size == item.audio.size
    on_lock = int(np.flatnonzero(lock.model)[0])
    on_real = int(np.flatnonzero(real.model)[0])
    assert abs(on_lock - on_real) < 1920
    # the same reply in both (a late frame in real time may leave a small gap, never lose speech)
    energy_l, energy_r = float(np.sum(lock.model**2)), float(np.sum(real.model**2))
    assert abs(energy_l - energy_r) / energy_l < 0.05


def test_run_folder_layout(tmp_path: Path) -> None:
    run("silent", tmp_path, limit=1)
    folder = tmp_path / "run"
    rows = [json.loads(x) for x in (folder / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["status"] == "ok"
    session = folder / "sessions" / rows[0]["item_id"]
    for name in ("input.wav", "output.wav", "session.wav", "session.json"):
        assert (session / name).is_file()
    doc = json.loads((session / "session.json").read_text())
    assert doc["annotations"]["pauses"] and doc["suite_version"]
    run_doc = json.loads((folder / "run.json").read_text())
    assert run_doc["backends"]["asr"] and run_doc["backends"]["vad"]
    assert run_doc["environment"]["packages"]["numpy"]
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["complete"] and summary["metrics"]["tor_fdb"]["n"] == 1
