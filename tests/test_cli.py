"""The command line: one clear error line and exit code 2 for bad input; resumable runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from duplex.cli import main
from duplex.report.documents import to_json as J
from duplex.runner import RunConfig, run_suite
from tests.simulator.fakes import Beeper


def test_unknown_model_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(
        ["run", "--scenario", "pause_handling", "--model", "scriptd", "--out", str(tmp_path / "r")]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "did you mean 'scripted'" in err and "Traceback" not in err


def test_unknown_suite_and_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # an explicit cheap model: these fail on the suite, and should not wait for a model load
    cheap = ["--model", "silent"]
    assert main(["run", "--scenario", "pause_handlin", *cheap, "--out", str(tmp_path / "a")]) == 2
    assert "did you mean 'pause_handling'" in capsys.readouterr().err
    missing = str(tmp_path / "nope.yaml")
    assert main(["run", "--scenario", missing, *cheap, "--out", str(tmp_path / "b")]) == 2
    assert "nope.yaml" in capsys.readouterr().err


def test_malformed_scenario_file_names_file_item_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "mine.yaml"
    bad.write_text(
        "suite: mine\nversion: '1'\ndescription: x\ntask: pause_handling\n"
        "items:\n  - id: a1\n    script:\n      - say: hello there\n      - pause: lots\n"
    )
    assert (
        main(["run", "--scenario", str(bad), "--model", "silent", "--out", str(tmp_path / "r")])
        == 2
    )
    err = capsys.readouterr().err
    assert "mine.yaml" in err and "a1" in err and "pause" in err and err.count("\n") == 1


def test_listing_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    assert "oracle" in capsys.readouterr().out
    assert main(["scenarios"]) == 0
    assert "pause_handling" in capsys.readouterr().out


@pytest.mark.slow
def test_crashing_model_is_recorded_and_the_suite_goes_on(tmp_path: Path) -> None:
    result = run_suite(
        RunConfig(suite="pause_handling", model="beeper", limit=2, out=tmp_path / "r"),
        model=Beeper(crash_at=3),
    )
    assert J(result.summary)["items"]["failed"] == 2
    assert "RuntimeError: boom" in J(result.summary)["failures"][0]["reason"]


@pytest.mark.slow
def test_interrupted_run_resumes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r"
    config = RunConfig(suite="pause_handling", model="silent", limit=3, out=out)

    def stop_after_two(outcome, done, total) -> None:  # type: ignore[no-untyped-def]
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_suite(config, on_item=stop_after_two)
    assert len((out / "results.jsonl").read_text().splitlines()) == 2
    assert json.loads((out / "summary.json").read_text())["complete"] is False
    # without --resume the folder is protected
    args = [
        "run",
        "--scenario",
        "pause_handling",
        "--model",
        "silent",
        "--limit",
        "3",
        "--out",
        str(out),
    ]
    assert main([*args, "--no-progress"]) == 2
    assert "--resume" in capsys.readouterr().err
    # a different model cannot resume it
    assert (
        main(
            [
                "run",
                "--scenario",
                "pause_handling",
                "--model",
                "eager",
                "--limit",
                "3",
                "--out",
                str(out),
                "--resume",
                "--no-progress",
            ]
        )
        == 2
    )
    assert "cannot resume, model" in capsys.readouterr().err
    assert main([*args, "--resume", "--no-progress"]) == 0
    stdout = capsys.readouterr().out
    assert "TOR" in stdout
    rows = (out / "results.jsonl").read_text().splitlines()
    assert len(rows) == 3
    assert json.loads((out / "summary.json").read_text())["complete"] is True


@pytest.mark.slow
def test_export_fdb_then_score_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fdb = tmp_path / "fdb"
    args = ["run", "--scenario", "pause_handling", "--model", "eager", "--limit", "2"]
    assert (
        main([*args, "--out", str(tmp_path / "r"), "--export-fdb", str(fdb), "--no-progress"]) == 0
    )
    fdb = fdb / "pause_handling"  # one folder a task, as the anchor's scripts read them
    samples = sorted(p.name for p in fdb.iterdir() if p.is_dir())
    assert len(samples) == 2
    for name in ("input.wav", "output.wav", "pause.json", "output.json"):
        assert (fdb / samples[0] / name).is_file()
    capsys.readouterr()
    out_json = tmp_path / "scored.json"
    assert (
        main(["score", "--fdb", str(fdb), "--task", "pause_handling", "--json", str(out_json)]) == 0
    )
    assert "TOR" in capsys.readouterr().out
    summary = json.loads(out_json.read_text())["summary"]
    # the eager instrument talks over everything: both take-over rules say 1, as in the run
    assert summary["metrics"]["tor_fdb"]["mean"] == 1.0
    assert summary["metrics"]["tor_window"]["mean"] == 1.0


def test_score_missing_folder_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["score", "--fdb", str(tmp_path / "none"), "--task", "turn_taking"]) == 2
    err = capsys.readouterr().err
    assert "none" in err and err.count("\n") == 1


@pytest.mark.slow
def test_an_interruption_run_is_judged_by_default(tmp_path: Path) -> None:
    # The anchor's table has a "judge 0-5" column: the embedded judge fills it unless told not to.
    out = tmp_path / "ui"
    args = ["run", "--scenario", "user_interruption", "--model", "oracle:stop=0.3,respond=0.6"]
    assert main([*args, "--limit", "1", "--out", str(out), "--no-progress"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["judge"]["name"] == "smollm2"
    assert summary["metrics"]["judge_score"]["n"] == 1
    skipped = tmp_path / "none"
    args = [*args, "--limit", "1", "--out", str(skipped), "--no-progress", "--judge", "none"]
    assert main(args) == 0
    assert "judge" not in json.loads((skipped / "summary.json").read_text()) or (
        json.loads((skipped / "summary.json").read_text())["judge"] is None
    )


def test_a_benchmark_reads_its_own_options(capsys: pytest.CaptureFixture[str]) -> None:
    # argparse's REMAINDER drops options that come first: `bench NAME --help` must reach the
    # benchmark's parser, in order.
    from duplex.cli import build_arguments

    args = build_arguments(["bench", "overlap-labels", "--items", "2", "--json", "f.json"])
    assert (args.bench, args.options) == ("overlap-labels", ["--items", "2", "--json", "f.json"])
    with pytest.raises(SystemExit) as exc:
        main(["bench", "overlap-labels", "--help"])
    assert exc.value.code == 0
    assert "--items" in capsys.readouterr().out


def test_the_parsers_score_batch_is_the_runs() -> None:
    import duplex.cli
    from duplex.metrics.analysis import SCORE_BATCH

    assert duplex.cli.SCORE_BATCH == SCORE_BATCH == RunConfig(suite="x").score_batch
