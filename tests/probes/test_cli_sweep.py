"""`duplex-bench probe`: one clear error line (exit 2) for bad input; checkpoint sweeps."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from duplex.cli import main
from duplex.errors import ConfigError
from duplex.probes.sweep import find_checkpoints, parse_step


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--set", "copaa"], "did you mean 'copa'"),
        (["--condition", "s2t-snr50"], "unknown condition 's2t-snr50'"),
        (["--model", "smollm3"], "did you mean 'smollm2'"),
        (["--model", "hf:/no/such/folder"], "does not exist"),
        (["--limit", "0"], "--limit must be positive"),
        (["--checkpoints", "/no/such/ckpt-*"], "matches nothing"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(["probe", *argv, "--out", str(tmp_path / "o"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "--list"]) == 0
    out = capsys.readouterr().out
    for name in ("hellaswag", "s2t-snr5", "cascade", "python"):
        assert name in out


def test_probe_with_a_python_model_writes_results(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    model = "python:tests.probes.fakes:make_copy_scorer:step_900"
    code = main(
        [
            "probe",
            "--model",
            model,
            "--set",
            "copa",
            "--limit",
            "10",
            "--out",
            str(tmp_path),
            "--no-progress",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "copa" in out and "t2t" in out
    data = json.loads((tmp_path / "probe.json").read_text())
    assert data["summary"][0]["acc_mean"]["value"] == 1.0


@pytest.mark.parametrize(
    ("name", "step"),
    [
        ("checkpoint-1200", 1200),
        ("step_300", 300),
        ("global_step40", 40),
        ("run7-iter-90", 90),
        ("model_5000.gguf", 5000),
    ],
)
def test_parse_step(name: str, step: int) -> None:
    assert parse_step(Path("/x") / name) == step


def test_checkpoints_without_steps_or_duplicates_are_errors(tmp_path: Path) -> None:
    (tmp_path / "final").mkdir()
    with pytest.raises(ConfigError, match="no training step"):
        find_checkpoints(str(tmp_path / "*"))
    for name in ("step_1", "checkpoint-1"):
        (tmp_path / name).mkdir()
    with pytest.raises(ConfigError, match="step 1 appears more than once"):
        find_checkpoints(str(tmp_path / "*p*"))


def test_sweep_writes_csv_and_svg(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ckpts = tmp_path / "ckpts"
    for step in (100, 500, 900):
        (ckpts / f"checkpoint-{step}").mkdir(parents=True)
    out = tmp_path / "sweep"
    code = main(
        [
            "probe",
            "--model",
            "python:tests.probes.fakes:make_copy_scorer:{checkpoint}",
            "--checkpoints",
            str(ckpts / "checkpoint-*"),
            "--set",
            "copa",
            "--limit",
            "12",
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    rows = list(csv.DictReader((out / "sweep.csv").open()))
    assert [int(r["step"]) for r in rows] == [100, 500, 900]
    accs = [float(r["acc_mean"]) for r in rows]
    assert accs == sorted(accs) and accs[-1] == 1.0  # the fake learns with the step
    root = ET.parse(out / "sweep.svg").getroot()
    assert root.tag.endswith("svg")
    assert (out / "step-500" / "probe.json").is_file()


def test_sweep_model_template_needs_the_placeholder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "step_1").mkdir()
    code = main(
        [
            "probe",
            "--model",
            "cascade",
            "--checkpoints",
            str(tmp_path / "step_*"),
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert code == 2
    assert "{checkpoint}" in capsys.readouterr().err
