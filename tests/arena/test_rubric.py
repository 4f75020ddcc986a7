"""Rubric scores: the delivery rule, scoring a run with a fake judge, and how the scores become
metrics of the loaded run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from duplex.arena.calibrate import spoken
from duplex.arena.judging import BattleCache, RubricInput, RubricVerdict
from duplex.arena.responses import Response, SpeechFeatures
from duplex.errors import ResultsError
from duplex.report.compare import compare_runs
from duplex.report.rubric import delivery_score, format_rubric, rubric_run
from duplex.report.runs import directions, load_run
from tests.arena.fake_runs import make_run


def _r(latency: float, rate: float, gaps: list[tuple[float, float]] | None = None) -> Response:
    utt = tuple(gaps or [(latency, latency + 2.0)])
    return Response("some words here", utt, SpeechFeatures(2.0, 2.0, 6, rate, latency, -20, 110))


def test_delivery_rule() -> None:
    assert delivery_score(_r(0.5, 160)) == 5
    assert delivery_score(_r(1.5, 160)) == 4
    assert delivery_score(_r(2.5, 160)) == 3
    assert delivery_score(_r(5.0, 160)) == 2
    assert delivery_score(_r(0.5, 230)) == 4
    assert delivery_score(_r(0.5, 300)) == 3
    assert delivery_score(_r(0.5, 160, [(0.5, 1.5), (3.0, 4.0)])) == 4  # a 1.5 s gap
    assert delivery_score(_r(5.0, 400, [(5.0, 6.0), (8.0, 9.0)])) == 1  # floor while answering
    assert delivery_score(spoken("")) == 0


class WordsJudge:
    """Content = number of words (capped at 5); criterion k = 5 when it has a keyword."""

    name, model, prompt_version, prompt_sha = "fake-rubric", "none", "v", "x"
    max_concurrency = max_attempts = 1

    def __init__(self) -> None:
        self.calls = 0

    def score(self, item: RubricInput) -> RubricVerdict:
        self.calls += 1
        n = min(5, len(item.response.text.split()))
        crit = tuple(5 if item.keywords else None for _ in item.criteria)
        return RubricVerdict(n, crit, "counted", self.name, self.model, self.prompt_version)

    def describe(self) -> dict[str, str]:
        return {"name": self.name, "spec": self.name, "model": "none", "prompt_version": "v"}

    def close(self) -> None:
        pass


ITEMS = {
    "tt-001": ("What time does the pharmacy close?", "It closes at nine tonight."),
    "tt-002": ("Can you give me a curry recipe?", "Sure."),
    "tt-003": ("What should I see in Rome?", None),
}


def test_rubric_run_writes_scores_that_compare_gates(tmp_path: Path) -> None:
    good = make_run(tmp_path / "good", "good", ITEMS)
    worse = make_run(tmp_path / "worse", "worse", {k: (t, None) for k, (t, _) in ITEMS.items()})
    judge, cache = WordsJudge(), BattleCache()
    doc = rubric_run(good, judge=judge, cache=cache)
    items = doc["items"]
    # tt-001 and tt-002 carry item rubrics in the bundled suite (criteria with keywords).
    assert items["tt-001"]["metrics"]["rubric_content"] == 5
    assert items["tt-001"]["metrics"]["rubric_item"] == 5.0
    assert items["tt-002"]["metrics"]["rubric_content"] == 1
    assert items["tt-003"]["metrics"] == {
        "rubric_content": 0,
        "rubric_delivery": 0,
        "rubric_item": 5.0,
        "rubric_overall": 1.6667,
    }
    assert doc["summary"]["rubric_overall"]["n"] == 3
    assert "rubric_overall" in format_rubric(doc)
    calls = judge.calls
    rubric_run(good, judge=judge, cache=cache)
    assert judge.calls == calls  # all from the cache
    rubric_run(worse, judge=judge, cache=cache)

    run = load_run(good)
    assert run.values("rubric_content") == {"tt-001": 5.0, "tt-002": 1.0, "tt-003": 0.0}
    assert run.summary["metrics"]["rubric_overall"]["n"] == 3
    assert directions(run)["rubric_overall"] == "higher"
    assert run.run_doc["rubric"]["judge"]["name"] == "fake-rubric"
    c = compare_runs(run, load_run(worse), max_regression={"rubric_content": 0.5})
    m = next(m for m in c.metrics if m.key == "rubric_content")
    assert m.direction == "higher" and m.diff == pytest.approx(-2.0)


def test_scores_from_different_judges_are_not_compared(tmp_path: Path) -> None:
    a = make_run(tmp_path / "a", "a", ITEMS)
    b = make_run(tmp_path / "b", "b", ITEMS)
    rubric_run(a, judge=WordsJudge(), cache=BattleCache())
    other = WordsJudge()
    other.name = "other-judge"
    rubric_run(b, judge=other, cache=BattleCache())
    with pytest.raises(ResultsError, match=r"rubric\.judge\.name"):
        compare_runs(load_run(a), load_run(b))


def test_unreadable_rubric_file(tmp_path: Path) -> None:
    run = make_run(tmp_path / "r", "r", ITEMS)
    (run / "rubric.json").write_text(json.dumps({"format": "duplex-bench-rubric", "version": 7}))
    with pytest.raises(ResultsError, match=r"rubric\.json: unreadable rubric scores"):
        load_run(run)
