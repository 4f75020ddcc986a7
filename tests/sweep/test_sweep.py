"""``duplex-bench sweep``: run folders per checkpoint, sweep.csv, the page, regressions, resume."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from duplex.cli import main
from duplex.probes.run import ProbeConfig
from duplex.report.store import RunStore
from duplex.sweep import SweepConfig, sweep
from duplex.sweep.table import CSV_FIELDS
from tests.sweep.ckpt_model import RUDE, write

MODEL = "python:tests.sweep.ckpt_model:make:{checkpoint}"
#: six items: the fewest with which a paired sign-flip test can reach p < 0.05 (2 / 2**6)
ITEMS = 6


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--checkpoints", "/no/such/step-*", "--model", MODEL], "matches nothing"),
        (["--checkpoints", "{ckpts}/step-*", "--model", "oracle"], "must contain {checkpoint}"),
        (
            ["--checkpoints", "{ckpts}/step-*", "--model", MODEL, "--scenario", "pause_handlin"],
            "did you mean 'pause_handling'",
        ),
        (["--checkpoints", "{ckpts}/step-*", "--model", MODEL, "--limit", "0"], "--limit"),
        (
            ["--checkpoints", "{ckpts}/step-*", "--model", MODEL, "--probe-model", "x"],
            "need --probe SET",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "c" / "step-10")
    argv = [a.replace("{ckpts}", str(tmp_path / "c")) for a in argv]
    code = main(["sweep", *argv, "--out", str(tmp_path / "o"), "--judge", "none"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and needle in err, err


@pytest.mark.slow
def test_a_sweep_flags_the_checkpoint_that_got_worse_and_resumes(tmp_path: Path) -> None:
    ckpts = tmp_path / "ckpts"
    write(ckpts / "step-100")
    write(ckpts / "step-200")
    write(ckpts / "step-300", RUDE)  # talks in every pause: a regression of a headline metric
    config = SweepConfig(
        checkpoints=str(ckpts / "step-*"),
        model=MODEL,
        suites=("pause_handling",),
        out=tmp_path / "sweep",
        limit=ITEMS,
        # The probes per checkpoint too (text contexts only: no speech to render).
        probe=ProbeConfig(sets=("copa",), conditions=("t2t",), limit=ITEMS),
        probe_model="python:tests.probes.fakes:make_copy_scorer:{checkpoint}",
    )
    result = sweep(config)
    assert [s.step for s in result.steps] == [100, 200, 300]
    for step in (100, 200, 300):
        run_doc = RunStore(tmp_path / f"sweep/step-{step}/pause_handling").read_run_doc()
        assert run_doc.step == step
        assert run_doc.config.model == f"python:tests.sweep.ckpt_model:make:{ckpts}/step-{step}"
    with (tmp_path / "sweep/sweep.csv").open() as f:
        table = list(csv.DictReader(f))
    assert list(table[0]) == list(CSV_FIELDS)
    assert CSV_FIELDS == ("step", "checkpoint", "task", "metric", "mean", "ci_low", "ci_high", "n")
    assert {r["task"] for r in table} == {"pause_handling", "probe"}
    probe = {int(r["step"]) for r in table if r["task"] == "probe"}
    assert probe == {100, 200, 300}
    assert (tmp_path / "sweep/step-300/probe/probe.json").is_file()
    tor = {int(r["step"]): r for r in table if r["metric"] == "tor_window"}
    assert sorted(tor) == [100, 200, 300]
    assert float(tor[200]["mean"]) == 0.0 and float(tor[300]["mean"]) == 1.0
    assert tor[100]["n"] == str(ITEMS) and tor[100]["task"] == "pause_handling"
    onset = next(r for r in table if r["metric"] == "first_onset_s" and r["step"] == "100")
    assert float(onset["ci_low"]) <= float(onset["mean"]) <= float(onset["ci_high"])
    # The regression: found between 200 and 300 (gated: a headline metric), not before.
    flagged = {(t.task, t.base_step, t.step): t.worse for t in result.transitions}
    assert flagged[("pause_handling", 100, 200)] == []
    worse = {m.key: m for m in flagged[("pause_handling", 200, 300)]}
    assert worse["tor_window"].regression and worse["tor_window"].p_value < 0.05
    page = (tmp_path / "sweep/sweep.html").read_text()
    assert page.count('class="stepplot"') >= 3  # two of pause_handling's, the probe's
    assert 'class="sweep flagged"' in page and "significantly worse at step 300" in page
    assert "tor_window" in page.split('id="regressions"')[1]
    # A rerun finishes what is missing: one checkpoint lost two items' lines.
    results = tmp_path / "sweep/step-200/pause_handling/results.jsonl"
    lines = results.read_text().splitlines()
    results.write_text("\n".join(lines[:-2]) + "\n")
    again = sweep(config)
    assert again.ran == {100: [], 200: ["pause_handling"], 300: []}
    ids = [json.loads(ln)["item_id"] for ln in results.read_text().splitlines()]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == ITEMS
    with (tmp_path / "sweep/sweep.csv").open() as f:
        assert len(list(csv.DictReader(f))) == len(table)
