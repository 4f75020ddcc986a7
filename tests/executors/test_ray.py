"""``--executor ray`` on a local Ray cluster started by the test (and stopped by it).

Ray enables token authentication and writes the token under the user's home, and keeps its
sockets and logs under ``$RAY_TMPDIR/ray``: both point into a temporary folder here, so the tests
leave nothing in the real home or /tmp/ray (and share no cluster with anyone else). The cluster
listens on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from duplex.errors import ConfigError
from duplex.executors import load_executor
from duplex.runner import RunConfig, run_suite

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("ray") is None, reason="ray is not installed (extra [ray])"
    ),
]
ROOT = Path(__file__).resolve().parents[2]
ORACLE = "oracle:latency=0.6"


@pytest.fixture(scope="module")
def ray_env() -> Iterator[dict[str, str]]:
    """HOME and RAY_TMPDIR in a short temporary folder (Ray's socket paths must stay short)."""
    root = Path(tempfile.mkdtemp(prefix="dray", dir="/tmp"))
    (root / "home").mkdir()
    # RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0: a one-machine cluster whose services listen on
    # 127.0.0.1 only (what the executor sets for the local cluster it starts itself).
    env = {
        "HOME": str(root / "home"),
        "RAY_TMPDIR": str(root),
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield env
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(ray_env: dict[str, str]) -> Iterator[None]:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    assert ray.get_runtime_context().gcs_address.startswith("127.0.0.1:")
    try:
        yield
    finally:
        ray.shutdown()


def rows(folder: Path) -> list[dict[str, object]]:
    return [json.loads(ln) for ln in (folder / "results.jsonl").read_text().splitlines()]


def by_id(folder: Path) -> dict[str, dict[str, object]]:
    return {str(r["item_id"]): r for r in rows(folder)}


def test_same_rows_as_a_local_run(cluster: None, tmp_path: Path) -> None:
    local = RunConfig(suite="pause_handling", model=ORACLE, limit=4, out=tmp_path / "local")
    run_suite(local)
    executor = load_executor("ray:workers=2,cpus=1")
    assert executor is not None
    try:
        result = run_suite(
            RunConfig(suite="pause_handling", model=ORACLE, limit=4, out=tmp_path / "ray"),
            executor=executor,
        )
    finally:
        executor.close()
    assert sorted(o.item_id for o in result.outcomes) == ["ph-001", "ph-002", "ph-003", "ph-004"]
    a, b = by_id(tmp_path / "local"), by_id(tmp_path / "ray")
    assert a.keys() == b.keys()
    for item_id, ra in a.items():
        rb = b[item_id]
        assert (ra["status"], ra["transcript"], ra["spec_hash"]) == (
            rb["status"],
            rb["transcript"],
            rb["spec_hash"],
        )
        ma, mb = ra["metrics"], rb["metrics"]
        assert isinstance(ma, dict) and isinstance(mb, dict) and ma.keys() == mb.keys()
        # Lock-step puts each step's measured compute time on the timeline: times agree to
        # that jitter, counts and rates exactly.
        assert ma["tor_fdb"] == mb["tor_fdb"] and ma["n_pauses"] == mb["n_pauses"]
        assert mb["first_onset_s"] == pytest.approx(ma["first_onset_s"], abs=0.08)
        for name in ("input.wav", "output.wav", "session.wav", "session.json"):
            assert (tmp_path / "ray/sessions" / item_id / name).is_file()
    run_doc = json.loads((tmp_path / "ray/run.json").read_text())
    assert run_doc["config"]["executor"].startswith("ray:address=local,workers=2")
    summary = json.loads((tmp_path / "ray/summary.json").read_text())
    assert summary["items"] == {"planned": 4, "ok": 4, "failed": 0}


def test_a_killed_workers_item_is_retried(cluster: None, tmp_path: Path) -> None:
    marker = tmp_path / "killed-once"
    model = f"python:tests.executors.models:make_killer:ph-002,{marker}"
    executor = load_executor("ray:workers=1,retries=1")
    assert executor is not None
    try:
        run_suite(
            RunConfig(suite="pause_handling", model=model, limit=3, out=tmp_path / "r"),
            executor=executor,
        )
    finally:
        executor.close()
    assert marker.is_file()  # the worker really was killed once
    found = rows(tmp_path / "r")
    assert sorted(str(r["item_id"]) for r in found) == ["ph-001", "ph-002", "ph-003"]
    assert all(r["status"] == "ok" for r in found)
    assert by_id(tmp_path / "r")["ph-002"]["attempts"] == 2  # the lost attempt counts


def test_an_item_that_kills_every_worker_is_recorded_failed(cluster: None, tmp_path: Path) -> None:
    model = "python:tests.executors.models:make_killer:ph-001,always"
    executor = load_executor("ray:workers=1,retries=1")
    assert executor is not None
    try:
        run_suite(
            RunConfig(suite="pause_handling", model=model, limit=2, out=tmp_path / "r"),
            executor=executor,
        )
    finally:
        executor.close()
    found = by_id(tmp_path / "r")
    assert found["ph-002"]["status"] == "ok"  # the suite went on, on a replacement worker
    failed = found["ph-001"]
    assert failed["status"] == "failed" and failed["attempts"] == 2
    assert "ray worker died (2 attempts)" in str(failed["reason"])


def test_a_model_that_does_not_load_is_one_clear_error(cluster: None, tmp_path: Path) -> None:
    executor = load_executor("ray")
    assert executor is not None
    try:
        with pytest.raises(ConfigError, match="has no attribute 'nope'"):
            run_suite(
                RunConfig(
                    suite="pause_handling",
                    model="python:tests.executors.models:nope",
                    out=tmp_path / "r",
                ),
                executor=executor,
            )
    finally:
        executor.close()


def _driver(out: Path, env: dict[str, str], resume: bool) -> subprocess.Popen[bytes]:
    argv = [
        sys.executable,
        "-m",
        "duplex",
        "run",
        "--scenario",
        "pause_handling",
        "--model",
        "python:duplex.bench.ray:make_busy:ms=10",
        "--limit",
        "8",
        "--out",
        str(out),
        "--judge",
        "none",
        "--no-progress",
        "--executor",
        "ray:workers=2",
        *(["--resume"] if resume else []),
    ]
    # A session of its own: after the driver is killed, its local cluster's processes (in its
    # process group) are ended by that group's id.
    return subprocess.Popen(
        argv,
        cwd=ROOT,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _end_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def test_kill_9_of_the_driver_then_resume_gives_every_item_once(
    ray_env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "run"
    driver = _driver(out, ray_env, resume=False)
    try:
        deadline = time.monotonic() + 600
        results = out / "results.jsonl"
        while not (results.is_file() and len(results.read_text().splitlines()) >= 2):
            assert driver.poll() is None, driver.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "no result within 10 minutes"
            time.sleep(0.2)
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(30)
    finally:
        _end_group(driver)
    before = len(rows(out))
    assert 2 <= before < 8, "the driver was not killed mid-suite"
    again = _driver(out, ray_env, resume=True)
    try:
        _, err = again.communicate(timeout=900)
    finally:
        _end_group(again)
    assert again.returncode == 0, err.decode()[-2000:]
    ids = [str(r["item_id"]) for r in rows(out)]
    assert sorted(ids) == [f"ph-{i:03d}" for i in range(1, 9)]  # each exactly once
    assert all(r["status"] == "ok" for r in rows(out))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["items"] == {"planned": 8, "ok": 8, "failed": 0}


def test_realtime_sessions_on_workers_keep_their_own_clock(cluster: None, tmp_path: Path) -> None:
    executor = load_executor("ray:workers=2")
    assert executor is not None
    try:
        result = run_suite(
            RunConfig(
                suite="pause_handling", model=ORACLE, limit=2, clock="realtime", out=tmp_path / "r"
            ),
            executor=executor,
        )
    finally:
        executor.close()
    assert [o.status for o in result.outcomes] == ["ok", "ok"]
    for row in rows(tmp_path / "r"):
        timings = row["timings"]
        assert isinstance(timings, dict)
        # Paced by the worker's own clock: each frame sent when due, lateness measured there.
        assert timings["send_lateness_ms_p99"] < 20
        assert row["duration_s"] and float(row["duration_s"]) > 5  # type: ignore[arg-type]


def test_a_sweep_through_ray(cluster: None, tmp_path: Path) -> None:
    from duplex.sweep import SweepConfig, sweep
    from tests.sweep.ckpt_model import write

    for step in (10, 20):
        write(tmp_path / "ckpts" / f"step-{step}")
    executor = load_executor("ray:workers=2")
    assert executor is not None
    config = SweepConfig(
        checkpoints=str(tmp_path / "ckpts" / "step-*"),
        model="python:tests.sweep.ckpt_model:make:{checkpoint}",
        suites=("pause_handling",),
        out=tmp_path / "sweep",
        limit=2,
    )
    try:
        result = sweep(config, executor=executor)
    finally:
        executor.close()
    assert result.ran == {10: ["pause_handling"], 20: ["pause_handling"]}
    for step in (10, 20):
        folder = tmp_path / f"sweep/step-{step}/pause_handling"
        run_doc = json.loads((folder / "run.json").read_text())
        assert run_doc["step"] == step and run_doc["config"]["executor"].startswith("ray:")
        assert [r["status"] for r in rows(folder)] == ["ok", "ok"]
    assert (tmp_path / "sweep/sweep.csv").is_file() and (tmp_path / "sweep/sweep.html").is_file()


def test_workers_the_cluster_cannot_place_are_an_error_not_a_hang(
    cluster: None, tmp_path: Path
) -> None:
    executor = load_executor("ray:gpus=1,load_timeout=5")  # the local cluster has no GPU
    assert executor is not None
    try:
        with pytest.raises(ConfigError, match=r"did not load model .* within 5 s.*gpus=1"):
            run_suite(
                RunConfig(suite="pause_handling", model=ORACLE, out=tmp_path / "r"),
                executor=executor,
            )
    finally:
        executor.close()
