"""The runner: concurrency, retries, failures recorded, results comparable across clocks."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from duplex.errors import ConfigError, ResultsError
from duplex.models.base import LockstepSession, SessionInfo
from duplex.report.documents import to_json as J
from duplex.runner import RunConfig, run_suite
from tests.simulator.fakes import Beeper, _Beeper

pytestmark = pytest.mark.slow


class FlakyOnce(Beeper):
    """Crashes in its first session only, like a server that restarts once."""

    def __init__(self) -> None:
        super().__init__(at_step=1000)
        self.sessions = 0

    def open(self, info: SessionInfo) -> LockstepSession:
        self.sessions += 1
        return _Beeper(info, 1000, crash_at=2 if self.sessions == 1 else None)


def test_retry_turns_a_transient_failure_into_a_result(tmp_path: Path) -> None:
    config = RunConfig(
        suite="pause_handling", model="flaky", limit=2, out=tmp_path / "r", retries=1
    )
    result = run_suite(config, model=FlakyOnce())
    assert J(result.summary)["items"]["ok"] == 2
    assert [J(o.row)["attempts"] for o in result.outcomes] == [2, 1]


def test_without_retries_the_failure_is_recorded(tmp_path: Path) -> None:
    config = RunConfig(suite="pause_handling", model="flaky", limit=2, out=tmp_path / "r")
    result = run_suite(config, model=FlakyOnce())
    assert J(result.summary)["items"] == {"planned": 2, "ok": 1, "failed": 1}
    assert "boom" in J(result.summary)["failures"][0]["reason"]


def test_concurrency_needs_the_realtime_clock(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--clock realtime"):
        run_suite(
            RunConfig(suite="pause_handling", model="silent", concurrency=2, out=tmp_path / "r")
        )


def test_concurrent_realtime_sessions_measure_what_lockstep_measures(tmp_path: Path) -> None:
    spec = "oracle:latency=0.6,length=2"
    lock = run_suite(RunConfig(suite="pause_handling", model=spec, limit=3, out=tmp_path / "l"))
    t = time.perf_counter()
    real = run_suite(
        RunConfig(
            suite="pause_handling",
            model=spec,
            limit=3,
            clock="realtime",
            concurrency=3,
            out=tmp_path / "c",
        )
    )
    wall = time.perf_counter() - t
    durations = [J(o.row)["duration_s"] for o in real.outcomes]
    assert wall < sum(durations)  # the sessions overlapped
    by_id = {o.item_id: J(o.row)["metrics"] for o in lock.outcomes}
    for o in real.outcomes:
        a, b = by_id[o.item_id], J(o.row)["metrics"]
        assert a["tor_window"] == b["tor_window"] and a["tor_fdb"] == b["tor_fdb"]
        assert abs(a["first_onset_s"] - b["first_onset_s"]) < 0.08
        assert J(o.row)["timings"]["send_lateness_ms_p99"] < 20
    assert np.isclose(J(lock.summary)["metrics"]["tor_fdb"]["mean"], 1.0)


def test_a_scoring_error_with_concurrent_sessions_is_a_recorded_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # With --concurrency > 1 sessions run in a task group: a deliberate error while scoring used
    # to escape it as an ExceptionGroup (a traceback) instead of failing its item.
    import duplex.metrics.analysis
    from duplex.cli import main
    from duplex.errors import BackendError

    def broken(*args: object, **kwargs: object) -> None:
        raise BackendError("the ASR backend fell over")

    monkeypatch.setattr(duplex.metrics.analysis, "analyze_outputs", broken)
    out = tmp_path / "run"
    args = ["run", "--scenario", "turn_taking", "--model", "silent", "--clock", "realtime"]
    code = main([*args, "--concurrency", "2", "--limit", "2", "--out", str(out), "--no-progress"])
    assert code in (0, 1)
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["status"] for r in rows] == ["failed", "failed"]
    assert all("the ASR backend fell over" in r["reason"] for r in rows)


def test_compute_none_keeps_the_models_compute_off_the_timeline(tmp_path: Path) -> None:
    def compute(how: str) -> list[float]:
        config = RunConfig(
            suite="pause_handling", model="b", limit=1, out=tmp_path / how, compute=how
        )
        result = run_suite(config, model=Beeper())
        assert J(result.outcomes[0].row)["status"] == "ok"
        return [J(o.row)["timings"]["compute_s_total"] for o in result.outcomes]

    assert compute("none") == [0.0]
    assert compute("measured")[0] > 0
    with pytest.raises(ConfigError, match="--clock lockstep"):
        run_suite(
            RunConfig(suite="pause_handling", model="b", clock="realtime", compute="none"),
            model=Beeper(),
        )
    with pytest.raises(ConfigError, match="--compute"):
        run_suite(RunConfig(suite="pause_handling", model="b", compute="some"), model=Beeper())


def test_a_run_resumes_only_with_the_same_compute(tmp_path: Path) -> None:
    out = tmp_path / "r"
    run_suite(RunConfig(suite="pause_handling", model="b", limit=1, out=out), model=Beeper())
    with pytest.raises(ResultsError, match="compute was 'measured', now 'none'"):
        run_suite(
            RunConfig(suite="pause_handling", model="b", out=out, resume=True, compute="none"),
            model=Beeper(),
        )
