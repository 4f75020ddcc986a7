"""Issue 3's instrument checks, end to end on the real suites (rendered, streamed, scored)."""

from __future__ import annotations

import pytest

from duplex.metrics import TASKS, analyze_output
from duplex.models.registry import load_model
from duplex.scenarios import load_suite
from duplex.simulator.session import SessionOptions, run_lockstep
from duplex.timeline import no_compute

pytestmark = pytest.mark.slow
TOL = 0.02


def scored(suite_name: str, spec: str, index: int = 0, asr: bool = False) -> dict:
    suite = load_suite(suite_name)
    task = TASKS.get(suite.task)
    item = task.prepare_item(suite.render(suite.item_ids()[index]))
    rec = run_lockstep(load_model(spec), item, SessionOptions(stopwatch=no_compute()))
    analysis = analyze_output(rec, asr="faster-whisper-tiny.en" if asr else None)
    return task.score(rec, rec.annotations or item.annotations, analysis)


@pytest.mark.parametrize("suite", ["turn_taking", "user_interruption", "backchannel"])
def test_silent_has_tor_0_and_no_latency(suite: str) -> None:
    m = scored(suite, "silent")
    assert m["tor"] == 0
    for key in ("latency_vad_s", "latency_fdb_s"):
        assert m.get(key) is None
    if suite == "backchannel":
        assert m["jsd_fdb"] == 1.0 and m["js_divergence"] == 1.0  # the worst values


@pytest.mark.parametrize("latency", [0.2, 0.6, 1.0])
def test_turn_taking_oracle_latency_measured_within_20ms(latency: float) -> None:
    m = scored("turn_taking", f"oracle:latency={latency},length=2", index=1)
    assert m["tor"] == 1
    assert abs(m["latency_vad_s"] - latency) < TOL


def test_backchannel_oracle_at_the_reference_points_is_near_zero() -> None:
    m = scored("backchannel", "oracle:mode=backchannel,latency=0")
    assert m["js_divergence"] < 0.05
    assert m["tor"] == 0  # backchannels only, never the floor
    assert m["frequency"] > 0


@pytest.mark.parametrize("stop", [0.3, 0.9])
def test_interruption_stop_latency_measured_within_20ms(stop: float) -> None:
    m = scored("user_interruption", f"oracle:latency=0.5,length=8,stop={stop},respond=0.4")
    assert abs(m["stop_latency_s"] - stop) < TOL
    assert m["tor"] == 1 and abs(m["latency_vad_s"] - 0.4) < TOL
