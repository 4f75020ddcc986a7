"""Three systems of known order, end to end: the cascade, the cascade cut to two words, silent.

Real runs (lock-step, 6 turn_taking items), the embedded judge, the CLI. The sessions use the
``no_compute`` stopwatch: the cascade's compute time is not put on the timeline, so its replies
are not cut short by the 5.5 s tail on a busy machine and the order is known by construction
(a whole reply > its first two words > nothing), whatever the load.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import duplex.runner
from duplex.arena.document import load_arena
from duplex.cli import main
from duplex.report.compare import compare_runs
from duplex.report.runs import load_run
from duplex.runner import RunConfig, run_suite
from duplex.timeline import no_compute

pytestmark = pytest.mark.slow

ITEMS = 6
SYSTEMS = {"full": "cascade", "cut": "cascade:max_words=2", "silent": "silent"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("arena-runs")
    mp = pytest.MonkeyPatch()
    mp.setattr(duplex.runner, "measured", no_compute)
    try:
        out = {}
        for name, model in SYSTEMS.items():
            out[name] = root / name
            run_suite(
                RunConfig(
                    suite="turn_taking", model=model, limit=ITEMS, out=out[name], clock="lockstep"
                )
            )
    finally:
        mp.undo()
    return out


def test_known_order_with_separate_intervals_and_elo_agreeing(
    runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    out = runs["full"].parent / "arena.json"
    code = main(
        ["arena", str(runs["cut"]), str(runs["silent"]), str(runs["full"]), "--style-control"]
    )
    printed = capsys.readouterr().out
    print(printed)
    assert code == 0
    doc = load_arena(out)
    order = [r.label for r in doc.ratings]
    assert order == list(SYSTEMS.values()), order
    full, cut, silent = doc.ratings
    assert full.bt.low > cut.bt.high, (full.bt, cut.bt)
    assert cut.bt.low > silent.bt.high, (cut.bt, silent.bt)
    for k in ("elo_k32", "elo_k4"):
        assert getattr(full, k) > getattr(cut, k) > getattr(silent, k)
    # Both orders of every comparison; the embedded judge scores each response alone, so it
    # cannot lean on position.
    assert doc.bias.compared_both_orders == 3 * ITEMS
    assert doc.bias.position_agreement == 1.0
    assert doc.bias.missing == 0
    assert "position agreement" in printed and "Elo K=32" in printed
    # Features were measured: the full replies are longer and start after the turn end.
    for item in doc.responses["cascade"].values():
        assert item["features"]["words"] > 2 and item["features"]["latency_s"] > -0.5
    assert all(not r["text"] for r in doc.responses["silent"].values())
    # A second arena is answered from the battle cache.
    assert main(["arena", str(runs["full"]), str(runs["cut"]), str(runs["silent"])]) == 0
    again = load_arena(out)
    assert all(j.cached for j in again.judgements)
    assert [r.label for r in again.ratings] == order


def test_rubric_scores_order_and_gate_compare(
    runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    means = {}
    for name, folder in runs.items():
        assert main(["rubric", str(folder)]) == 0
        doc = json.loads((folder / "rubric.json").read_text())
        means[name] = {k: v["mean"] for k, v in doc["summary"].items()}
    print(capsys.readouterr().out)
    print(json.dumps(means, indent=1))
    overall = {k: v["rubric_overall"] for k, v in means.items()}
    assert overall["full"] > overall["cut"] > overall["silent"] == 0
    assert means["full"]["rubric_content"] > means["cut"]["rubric_content"]
    # tt-001..tt-006 carry item rubrics with keywords: the embedded judge scores them.
    assert means["full"]["rubric_item"] is not None
    # The scores are metrics of the loaded run, with a direction, so compare gates on them.
    full, cut, silent = (load_run(runs[k]) for k in ("full", "cut", "silent"))
    assert "rubric_overall" in cut.metric_keys()
    c = compare_runs(full, cut, max_regression={"rubric_overall": 0.0})
    gate = next(m for m in c.metrics if m.key == "rubric_overall")
    assert gate.direction == "higher" and gate.diff is not None and gate.diff < 0
    # Six items: the paired sign-flip test reaches p < 0.05 only when all six move one way,
    # as they do from the full cascade to silence.
    c = compare_runs(full, silent, max_regression={"rubric_overall": 0.0})
    gate = next(m for m in c.metrics if m.key == "rubric_overall")
    assert gate.regression and c.exit_code == 1


def test_html_report_shows_the_arena_and_rubric_columns(runs: dict[str, Path]) -> None:
    if not (runs["full"].parent / "arena.json").is_file():
        assert main(["arena", *(str(p) for p in runs.values())]) == 0
    for folder in runs.values():
        if not (folder / "rubric.json").is_file():
            assert main(["rubric", str(folder)]) == 0
    page = runs["full"].parent / "report.html"
    assert (
        main(
            ["report", *(str(p) for p in runs.values()), "--html", str(page), "--audio-items", "0"]
        )
        == 0
    )
    html = page.read_text()
    assert 'id="arena"' in html and "Elo K=32" in html and "position agreement" in html
    assert "Rubric scores" in html and "turn_taking overall" in html
