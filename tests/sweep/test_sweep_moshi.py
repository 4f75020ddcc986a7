"""A sweep over three tiny random Moshi checkpoints (the genuine moshi package, in process)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from duplex.cli import main
from duplex.report.store import RunStore
from tests.support.moshi_inproc import needs_moshi

pytestmark = [pytest.mark.slow, needs_moshi]
STEPS = {1000: 0, 2000: 1, 3000: 2}  # step -> the seed of its LM weights
SUITES = ("pause_handling", "turn_taking")


def test_a_sweep_over_three_tiny_checkpoints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from duplex.models import moshi_tiny

    for step, seed in STEPS.items():
        moshi_tiny.write(tmp_path / "ckpts" / f"step-{step}", seed)
    out = tmp_path / "sweep"
    argv = ["sweep", "--checkpoints", str(tmp_path / "ckpts" / "step-*")]
    argv += ["--model", "moshi:dir={checkpoint},threads=1", "--limit", "1", "--out", str(out)]
    argv += ["--judge", "none", "--no-progress"]
    for suite in SUITES:
        argv += ["--scenario", suite]
    assert main(argv) == 0
    assert f"sweep: {out / 'sweep.csv'}, {out / 'sweep.html'}" in capsys.readouterr().out
    with (out / "sweep.csv").open() as f:
        table = list(csv.DictReader(f))
    assert {(int(r["step"]), r["task"]) for r in table} == {(s, t) for s in STEPS for t in SUITES}
    assert all(r["n"] == "1" for r in table if r["mean"])
    for step in STEPS:
        for suite in SUITES:
            store = RunStore(out / f"step-{step}" / suite)
            assert store.read_run_doc().step == step
            assert [r.status for r in store.read_results().values()] == ["ok"]
    # Different weights, different replies: the sweep really loaded each checkpoint.
    first = [(out / f"step-{s}" / "turn_taking" / "sessions").glob("*/output.wav") for s in STEPS]
    audio = [next(iter(files)).read_bytes() for files in first]
    assert len(set(audio)) == 3
    page = (out / "sweep.html").read_text()
    assert 'class="stepplot"' in page and 'id="regressions"' in page
    # Everything is there: a rerun loads no checkpoint and runs nothing.
    assert main(argv) == 0
    assert "nothing left to run" in capsys.readouterr().err
