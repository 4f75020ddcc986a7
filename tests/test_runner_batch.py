"""`run` with the in-process Moshi model: every suite in lock-step, and `--batch`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from duplex.cli import main
from duplex.errors import ConfigError
from duplex.runner import RunConfig, run_suite
from tests.support.moshi_inproc import needs_moshi, tiny_checkpoint


def rows(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines()]


def test_batch_needs_a_batch_model_and_the_lockstep_clock(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not step batches"):
        run_suite(RunConfig(suite="pause_handling", model="silent", batch=2, out=tmp_path / "a"))
    with pytest.raises(ConfigError, match="--batch must be at least 1"):
        run_suite(RunConfig(suite="pause_handling", model="silent", batch=0, out=tmp_path / "b"))


def test_batch_flag_error_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", "--scenario", "pause_handling", "--model", "silent", "--batch", "2"]
    assert main([*argv, "--out", str(tmp_path / "r")]) == 2
    assert "error: model 'silent' does not step batches" in capsys.readouterr().err


@needs_moshi
@pytest.mark.slow
@pytest.mark.parametrize(
    "suite", ["pause_handling", "backchannel", "turn_taking", "user_interruption"]
)
def test_one_item_of_every_suite_in_lockstep(
    suite: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    ckpt = tiny_checkpoint(tmp_path_factory)
    out = tmp_path / suite
    argv = ["run", "--scenario", suite, "--model", f"moshi:dir={ckpt},threads=1", "--limit", "1"]
    assert main([*argv, "--out", str(out), "--no-progress"]) == 0
    [row] = rows(out)
    assert row["status"] == "ok", row
    assert row["timings"]["clock"] == "lockstep" and row["timings"]["compute_s_total"] > 0
    assert (out / "sessions" / row["item_id"] / "session.wav").exists()
    run = json.loads((out / "run.json").read_text())
    assert run["model"]["moshi"] == "0.2.13" and run["model"]["checkpoint"]["lm"]["sha256"]


@needs_moshi
@pytest.mark.slow
def test_run_batch_scores_every_item(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    ckpt = tiny_checkpoint(tmp_path_factory)
    out = tmp_path / "batched"
    argv = ["run", "--scenario", "turn_taking", "--model", f"moshi:dir={ckpt},threads=1"]
    assert main([*argv, "--limit", "3", "--batch", "2", "--out", str(out), "--no-progress"]) == 0
    got = rows(out)
    assert sorted(r["item_id"] for r in got) == ["tt-001", "tt-002", "tt-003"]
    assert all(r["status"] == "ok" and r["timings"]["batch"] == 2 for r in got)
    # Every session is charged each batched step it was in: never less than its share.
    for r in got:
        assert r["timings"]["compute_s_total"] >= r["timings"]["compute_s_shared_total"] > 0
    assert json.loads((out / "run.json").read_text())["config"]["batch"] == 2
