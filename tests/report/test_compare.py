"""`duplex-bench compare`: paired statistics, verdicts, the exit-code gate and refusals."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from duplex.cli import main
from duplex.errors import ConfigError, ResultsError
from duplex.report.compare import compare_runs, parse_max_regression
from duplex.report.paired import paired_bootstrap_ci, sign_flip_pvalue
from duplex.report.runs import load_run

# ------------------------------------------------------------------ statistics (fast, no runs)


def test_sign_flip_is_exact_for_small_n() -> None:
    # Six equal shifts: only "all +" and "all -" are as extreme -> 2 / 64.
    assert sign_flip_pvalue([0.3] * 6) == pytest.approx(2 / 64)
    assert sign_flip_pvalue([0.3] * 5) == pytest.approx(2 / 32)  # never < 0.05 with 5 items
    assert sign_flip_pvalue([0.0] * 8) == 1.0
    assert sign_flip_pvalue([1.0, -1.0]) == 1.0
    assert np.isnan(sign_flip_pvalue([]))


def test_sign_flip_monte_carlo_is_seeded_and_sane() -> None:
    rng = np.random.default_rng(1)
    shifted = rng.normal(0.5, 1.0, 40)
    null = rng.normal(0.0, 1.0, 40)
    assert sign_flip_pvalue(shifted, seed=3) == sign_flip_pvalue(shifted, seed=3)
    assert sign_flip_pvalue(shifted) < 0.05 < sign_flip_pvalue(null)


def test_paired_bootstrap_interval() -> None:
    assert paired_bootstrap_ci([0.3] * 6) == pytest.approx((0.3, 0.3))
    d = np.random.default_rng(0).normal(1.0, 0.5, 50)
    lo, hi = paired_bootstrap_ci(d, seed=7)
    assert lo < d.mean() < hi and (lo, hi) == paired_bootstrap_ci(d, seed=7)
    assert paired_bootstrap_ci([2.0]) == (2.0, 2.0)


def test_max_regression_parsing() -> None:
    assert parse_max_regression(["tor=0.05", "turn_taking.latency_vad_s=inf"]) == {
        "tor": 0.05,
        "turn_taking.latency_vad_s": float("inf"),
    }
    for bad in ("tor", "tor=x", "tor=-1", "=1"):
        with pytest.raises(ConfigError, match="--max-regression"):
            parse_max_regression([bad])


# ----------------------------------------------------------------------- on real runs (slow)

LATER = ["--direction", "first_onset_s=lower"]


@pytest.mark.slow
def test_same_deterministic_model_is_no_significant_change(
    report_runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    c = compare_runs(load_run(report_runs["base"]), load_run(report_runs["rerun"]))
    assert c.exit_code == 0 and not c.refused and c.shared_items == 6
    judged = [m for m in c.metrics if m.verdict is not None]
    assert {m.key for m in judged} >= {"tor_fdb", "tor_window"}
    assert all(m.verdict == "no significant change" for m in judged)
    args = ["compare", str(report_runs["base"]), str(report_runs["rerun"]), *LATER]
    assert main(args) == 0
    assert "PASS" in capsys.readouterr().out


@pytest.mark.slow
def test_later_candidate_is_flagged_worse_with_exit_1(
    report_runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    base, worse = load_run(report_runs["base"]), load_run(report_runs["worse"])
    c = compare_runs(
        base,
        worse,
        direction_overrides={"first_onset_s": "lower"},
        max_regression={"first_onset_s": 0.1},
    )
    onset = next(m for m in c.metrics if m.key == "first_onset_s")
    assert onset.verdict == "worse" and onset.regression
    assert onset.diff == pytest.approx(0.3, abs=0.02)
    assert onset.p_value is not None and onset.p_value < 0.05
    assert onset.ci_low is not None and onset.ci_low > 0.1
    assert c.exit_code == 1 and [m.key for m in c.regressions] == ["first_onset_s"]

    args = ["compare", str(report_runs["base"]), str(report_runs["worse"]), *LATER]
    assert main([*args, "--max-regression", "first_onset_s=0.1"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"FAIL: first_onset_s worse by 0\.[23]\d\d \(allowed 0\.1\)", out)
    # Worse, but within an allowed 0.5 s: the gate passes and the verdict still says worse.
    assert main([*args, "--max-regression", "first_onset_s=0.5"]) == 0
    out = capsys.readouterr().out
    assert "worse" in out and "PASS" in out
    # Not gated unless named (it is not a headline metric of the task).
    assert main(args) == 0
    capsys.readouterr()
    # The same runs the other way round: better.
    back = compare_runs(worse, base, direction_overrides={"first_onset_s": "lower"})
    assert next(m for m in back.metrics if m.key == "first_onset_s").verdict == "better"


@pytest.mark.slow
def test_markdown_and_json_outputs_parse(
    report_runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["compare", str(report_runs["base"]), str(report_runs["worse"]), *LATER]
    assert main([*args, "--format", "json", "--max-regression", "first_onset_s=0.1"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["exit_code"] == 1 and doc["regressions"] == ["first_onset_s"]
    assert doc["forced"] is False and doc["base"]["model"] == "oracle:latency=0.6"
    by_key = {m["key"]: m for m in doc["metrics"]}
    assert by_key["tor_fdb"]["headline"] and by_key["tor_fdb"]["direction"] == "lower"
    assert by_key["n_pauses"]["verdict"] is None  # no known direction: no verdict

    assert main([*args, "--format", "markdown"]) == 0
    md = capsys.readouterr().out
    table = [line for line in md.splitlines() if line.startswith("|")]
    assert table[0].startswith("| metric |") and set(table[1]) <= set("|-: ")
    assert len({line.replace("\\|", "").count("|") for line in table}) == 1  # same columns
    assert any("first_onset_s" in line and "**worse**" in line for line in table)
    assert md.startswith("### duplex-bench compare: PASS")


def _copy_with(src: Path, dst: Path, edit: dict[str, object]) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("sessions"))
    doc = json.loads((dst / "run.json").read_text())
    for path, value in edit.items():
        *parents, leaf = path.split(".")
        node = doc
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    (dst / "run.json").write_text(json.dumps(doc))
    return dst


@pytest.mark.slow
def test_different_scenario_version_is_refused_unless_forced(
    report_runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = _copy_with(report_runs["rerun"], tmp_path / "v2", {"config.suite_version": "9.9"})
    with pytest.raises(ResultsError, match=r"config\.suite_version: '1\.0' vs '9\.9'"):
        compare_runs(load_run(report_runs["base"]), load_run(other))
    assert main(["compare", str(report_runs["base"]), str(other)]) == 2
    err = capsys.readouterr().err
    assert "suite_version" in err and "--force" in err and err.count("\n") == 1

    assert main(["compare", str(report_runs["base"]), str(other), "--force"]) == 0
    assert "FORCED" in capsys.readouterr().out
    forced = ["compare", str(report_runs["base"]), str(other), "--force", "--format", "json"]
    assert main(forced) == 0
    assert json.loads(capsys.readouterr().out)["forced"] is True


@pytest.mark.slow
def test_backend_and_judge_differences_are_refused(
    report_runs: dict[str, Path], tmp_path: Path
) -> None:
    base = load_run(report_runs["base"])
    asr = _copy_with(report_runs["rerun"], tmp_path / "asr", {"backends.asr.beam": 1})
    with pytest.raises(ResultsError, match=r"backends\.asr\.beam"):
        compare_runs(base, load_run(asr))
    judged = _copy_with(report_runs["rerun"], tmp_path / "judge", {"config.judge": "embedded"})
    with pytest.raises(ResultsError, match=r"config\.judge: None vs 'embedded'"):
        compare_runs(base, load_run(judged))
    # The model is what is being compared: a different one is noted, not refused.
    c = compare_runs(base, load_run(report_runs["worse"]))
    assert [d.path for d in c.notes] == ["config.model"]


@pytest.mark.slow
def test_unknown_metric_limit_and_missing_direction_are_errors(
    report_runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    base, worse = str(report_runs["base"]), str(report_runs["worse"])
    assert main(["compare", base, worse, "--max-regression", "tor_fbd=0"]) == 2
    assert "did you mean 'tor_fdb'" in capsys.readouterr().err
    assert main(["compare", base, worse, "--max-regression", "first_onset_s=0.1"]) == 2
    assert "--direction first_onset_s=lower" in capsys.readouterr().err
    # A limit qualified with another task is for another suite's comparison: ignored, noted.
    assert main(["compare", base, worse, "--max-regression", "turn_taking.tor=0"]) == 0
    assert "turn_taking.tor is for another task" in capsys.readouterr().out
    assert main(["compare", base, str(report_runs["base"] / "nope")]) == 2
    assert "no such run folder" in capsys.readouterr().err


@pytest.mark.slow
def test_items_the_candidate_failed_fail_the_gate(
    report_runs: dict[str, Path], tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(report_runs["rerun"], broken, ignore=shutil.ignore_patterns("sessions"))
    rows = [json.loads(line) for line in (broken / "results.jsonl").read_text().splitlines()]
    rows[0] = {**rows[0], "status": "failed", "reason": "boom", "metrics": {}}
    (broken / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    base = load_run(report_runs["base"])
    c = compare_runs(base, load_run(broken))
    assert c.new_failures == [rows[0]["item_id"]] and c.shared_items == 5 and c.exit_code == 1
    assert compare_runs(base, load_run(broken), max_new_failures=1).exit_code == 0


# ------------------------------------------------------------- probe results (probe.json, fast)


def write_probe_json(folder: Path, model: str, s2t_right: int, n: int = 8) -> Path:
    """A probe.json in the layout `duplex-bench probe` writes: n COPA items under t2t and s2t,
    all right in t2t, the first ``s2t_right`` right in s2t."""

    def choices(right: bool) -> list[dict[str, float]]:
        good, bad = (1.0, 2.0) if right else (2.0, 1.0)
        return [
            {"tokens": 3, "mean_nll": good, "logprob_sum": -3 * good},
            {"tokens": 3, "mean_nll": bad, "logprob_sum": -3 * bad},
        ]

    items = [
        {
            "set": "copa",
            "id": f"c{i}",
            "condition": cond,
            "label": 0,
            "context_heard": None,
            "choices": choices(cond == "t2t" or i < s2t_right),
        }
        for i in range(n)
        for cond in ("t2t", "s2t")
    ]
    est = {"value": 1.0, "ci_low": 1.0, "ci_high": 1.0}
    doc = {
        "format": 1,
        "config": {"model": model, "sets": ["copa"], "conditions": [], "limit": n, "seed": 0},
        "provenance": {"sets": [{"name": "copa", "sha256": "abc"}], "rules": {"mean": "..."}},
        "summary": [{"set": "copa", "condition": "t2t", "items": n, "acc_mean": est}],
        "items": items,
    }
    folder.mkdir(parents=True)
    (folder / "probe.json").write_text(json.dumps(doc))
    return folder


def test_probe_results_are_compared_per_item(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = write_probe_json(tmp_path / "step-1000", "cascade", s2t_right=8)
    worse = write_probe_json(tmp_path / "step-2000", "cascade:ckpt=2000", s2t_right=0)
    c = compare_runs(load_run(base), load_run(worse))
    by_key = {m.key: m for m in c.metrics}
    s2t = by_key["all/s2t/acc_mean"]
    assert s2t.headline and s2t.direction == "higher" and s2t.verdict == "worse"
    assert s2t.diff == pytest.approx(-1.0) and s2t.p_value == pytest.approx(2 / 256)
    assert by_key["copa/s2t/gap_mean"].direction == "lower"
    assert by_key["all/t2t/acc_mean"].verdict == "no significant change"
    assert c.exit_code == 1 and c.candidate.step == 2000
    assert main(["compare", str(base), str(worse), "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["regressions"] == ["all/s2t/acc_mean"]
    # The probe's own pooled figure (with its interval) is kept for the leaderboard.
    assert load_run(base).summary["metrics"]["copa/t2t/acc_mean"]["n"] == 8


def test_items_a_probe_failed_on_are_new_failures_in_compare(tmp_path: Path) -> None:
    base = write_probe_json(tmp_path / "a", "m", s2t_right=8)
    cand = write_probe_json(tmp_path / "b", "m", s2t_right=8)
    doc = json.loads((cand / "probe.json").read_text())
    doc["items"] = [r for r in doc["items"] if not (r["id"] == "c3" and r["condition"] == "s2t")]
    reason = "probe model 'm' crashed on c3: RuntimeError: CUDA out of memory"
    doc["failures"] = [{"set": "copa", "id": "c3", "condition": "s2t", "reason": reason}]
    (cand / "probe.json").write_text(json.dumps(doc))
    run = load_run(cand)
    assert run.rows["copa/c3"]["status"] == "failed" and run.rows["copa/c3"]["reason"] == reason
    assert run.summary["items"] == {"planned": 8, "ok": 7, "failed": 1}
    c = compare_runs(load_run(base), run)
    assert c.new_failures == ["copa/c3"] and c.exit_code == 1  # a crash fails the gate


def test_probe_runs_with_other_sets_are_refused(tmp_path: Path) -> None:
    base = write_probe_json(tmp_path / "a", "m", s2t_right=8)
    other = write_probe_json(tmp_path / "b", "m", s2t_right=8)
    doc = json.loads((other / "probe.json").read_text())
    doc["provenance"]["sets"][0]["sha256"] = "def"
    (other / "probe.json").write_text(json.dumps(doc))
    with pytest.raises(ResultsError, match=r"provenance\.sets"):
        compare_runs(load_run(base), load_run(other))
    (other / "probe.json").write_text("{")
    with pytest.raises(ResultsError, match="unreadable probe results"):
        load_run(other)
