"""The defects a hostile but realistic user found (bad inputs, crashes mid-write, planted secrets):
each is reproduced here through the command line and must stay fixed."""

from __future__ import annotations

import errno
import json
import os
import shlex
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import duplex.runner
from duplex.cli import main

SILENT = ["--scenario", "turn_taking", "--model", "silent", "--no-progress", "--judge", "none"]


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_a_torn_last_line_is_cut_before_the_next_append(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["run", *SILENT, "--limit", "2", "--out", str(out)]) == 0
    with (out / "results.jsonl").open("a") as f:
        f.write('{"item_id": "tt-003", "status": "o')  # a crash (or a full disk) mid-write
    assert main(["run", *SILENT, "--limit", "3", "--out", str(out), "--resume"]) == 0
    rows = [json.loads(line) for line in _lines(out / "results.jsonl")]  # every line parses
    assert [r["item_id"] for r in rows] == ["tt-001", "tt-002", "tt-003"]
    assert main(["run", *SILENT, "--limit", "3", "--out", str(out), "--resume"]) == 0
    assert main(["report", str(out)]) == 0


def test_the_resume_command_printed_on_ctrl_c_repeats_every_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(duplex.runner, "run_suite", interrupted)
    out = tmp_path / "run"
    words = ["run", *SILENT, "--clock", "lockstep", "--limit", "12", "--seed", "3"]
    words += ["--concurrency", "1", "--out", str(out)]
    assert main(words) == 130
    err = capsys.readouterr().err
    command = shlex.split(err.split("`")[1])
    assert command[0] == "duplex-bench" and command[-1] == "--resume"
    assert command[1:-1] == words


def test_credentials_in_a_model_url_are_written_nowhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    url = "moshi+ws://alice:hunter2-secret@127.0.0.1:1/api/chat?token=tok-5ecret&api_key=k-5ecret"
    args = ["run", "--scenario", "turn_taking", "--model", url, "--limit", "1", "--no-progress"]
    code = main([*args, "--out", str(out), "--judge", "none", "--export-fdb", str(tmp_path / "x")])
    assert code == 1  # the only item failed: nothing scored
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "run.json" for p in written)
    streams = capsys.readouterr()
    for secret in ("hunter2-secret", "tok-5ecret", "k-5ecret"):
        for p in written:
            if p.suffix in (".json", ".jsonl"):
                assert secret not in p.read_text(), (secret, p)
        assert secret not in streams.out + streams.err


def test_a_judge_spec_error_does_not_echo_its_key(capsys: pytest.CaptureFixture[str]) -> None:
    spec = "anthropic:model=x,api_key=sk-very-secret,timeout=abc"
    assert main(["run", *SILENT, "--limit", "1", "--judge", spec]) == 2
    err = capsys.readouterr().err
    assert "sk-very-secret" not in err and "timeout" in err


def test_a_judge_that_cannot_run_is_found_before_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("anthropic")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    out = tmp_path / "run"
    args = ["run", "--scenario", "user_interruption", "--model", "silent", "--limit", "1"]
    assert main([*args, "--out", str(out), "--judge", "anthropic:model=x"]) == 2
    assert "ANTHROPIC_API_KEY" in capsys.readouterr().err
    assert not out.exists()  # refused before any session ran


@pytest.mark.parametrize("where", ["file", "under-file"])
def test_a_bad_out_is_one_line_and_exit_2(
    tmp_path: Path, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    out = blocker if where == "file" else blocker / "run"
    assert main(["run", *SILENT, "--limit", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("duplex-bench: error:") and "Traceback" not in err


def test_an_export_folder_at_a_file_is_refused_before_any_session(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "export"
    blocker.write_text("x")
    out = tmp_path / "run"
    args = ["run", *SILENT, "--limit", "1", "--out", str(out), "--export-fdb", str(blocker)]
    assert main(args) == 2
    assert "--export-fdb" in capsys.readouterr().err
    assert not (out / "sessions").exists()


def test_a_full_disk_is_one_line_and_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    real_replace = os.replace

    def full(src: str, dst: str) -> None:
        if str(dst).endswith("summary.json"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", full)
    assert main(["run", *SILENT, "--limit", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Traceback" not in err
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    assert len(_lines(out / "results.jsonl")) == 1  # what was computed is kept


def test_score_json_to_a_bad_path_is_refused_before_scoring(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    args = ["score", "--fdb", str(tmp_path), "--task", "turn_taking"]
    assert main([*args, "--json", str(blocker / "scores.json")]) == 2
    assert "--json" in capsys.readouterr().err


def test_serve_refuses_a_port_that_does_not_exist(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--model", "silent", "--port", "70000"])
    assert exit_.value.code == 2
    assert "0-65535" in capsys.readouterr().err


def test_nothing_scored_is_not_success(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sample = tmp_path / "fdb" / "1"
    sample.mkdir(parents=True)
    (sample / "turn_taking.json").write_text("not json")
    sf.write(str(sample / "output.wav"), np.zeros(16000, np.float32), 16000, subtype="PCM_16")
    assert main(["score", "--fdb", str(tmp_path / "fdb"), "--task", "turn_taking"]) == 1
    assert "nothing could be scored" in capsys.readouterr().err


def test_a_truncated_output_is_scored_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = tmp_path / "fdb" / "1"
    sample.mkdir(parents=True)
    (sample / "turn_taking.json").write_text(json.dumps([{"timestamp": [0.5, 2.0]}]))
    wav = sample / "output.wav"
    sf.write(str(wav), np.zeros(32000, np.float32), 16000, subtype="PCM_16")
    wav.write_bytes(wav.read_bytes()[:-20000])  # the header still says 2 s
    out = tmp_path / "scores.json"
    args = ["score", "--fdb", str(tmp_path / "fdb"), "--task", "turn_taking", "--json", str(out)]
    assert main(args) == 0
    row = json.loads(out.read_text())["rows"][0]
    assert row["notes"]["output_truncated_bytes"] == 20000
    assert "shorter than its header" in capsys.readouterr().err


@pytest.mark.parametrize("line", ["{}", "[1, 2]", '{"item_id": "tt-001", "status": "maybe"}'])
def test_lines_that_are_json_but_not_rows_are_one_error(
    tmp_path: Path, line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main(["run", *SILENT, "--limit", "1", "--out", str(out)]) == 0
    with (out / "results.jsonl").open("a") as f:
        f.write(line + "\n")
    f_line = len(_lines(out / "results.jsonl"))
    capsys.readouterr()
    assert main(["report", str(out)]) == 2
    assert main(["run", *SILENT, "--limit", "1", "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert f"line {f_line}" in err and "Traceback" not in err


def test_an_ok_row_without_metrics_is_read_as_one(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["run", *SILENT, "--limit", "1", "--out", str(out)]) == 0
    with (out / "results.jsonl").open("a") as f:
        f.write('{"item_id": "tt-002", "status": "ok"}\n')
    assert main(["report", str(out)]) == 0
    assert main(["run", *SILENT, "--limit", "2", "--out", str(out), "--resume"]) == 0
