"""Battles, both orders, ratings and the bias report, with test judges of known behaviour."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from duplex.arena.calibrate import spoken
from duplex.arena.document import format_leaderboard
from duplex.arena.judging import BattleCache, PairInput, PairVerdict
from duplex.errors import ConfigError, ResultsError
from duplex.report.arena_responses import ItemResponse
from duplex.report.arena_runs import ArenaConfig, judge_and_rate, plan_battles, run_arena
from tests.arena.fake_runs import make_run

ITEMS = [f"it-{i}" for i in range(8)]


class QualityJudge:
    """Knows each response's quality (its word count); ``bias``: when the two differ by at most
    ``within`` words it does not call a tie but answers "A" - a pure position bias."""

    name = "test-quality"
    model = "none"
    prompt_version = "test"
    prompt_sha = "test"
    max_concurrency = 1
    max_attempts = 1

    def __init__(self, *, bias: bool, within: int = 0) -> None:
        self.bias, self.within = bias, within
        self.calls = 0

    def compare(self, item: PairInput) -> PairVerdict:
        self.calls += 1
        qa, qb = item.a.features.words, item.b.features.words
        if abs(qa - qb) <= self.within:
            winner = "A" if self.bias else "tie"
        else:
            winner = "A" if qa > qb else "B"
        return PairVerdict(
            winner, reason="", judge=self.name, model=self.model, prompt_version=self.prompt_version
        )

    def describe(self) -> dict[str, str]:
        return {"name": self.name, "spec": self.name}

    def close(self) -> None:
        pass


def _arena(words: list[int], judge: QualityJudge, *, swap: bool = True, cache=None):
    """Systems whose responses have ``words[k]`` words on every item."""
    texts = [" ".join(["word"] * n) for n in words]

    def response(run: int, item_id: str) -> ItemResponse:
        return ItemResponse(
            item_id, "h", f"question {item_id}?", spoken(texts[run] + f" {item_id}")
        )

    shared = {p: list(ITEMS) for p in itertools.combinations(range(len(words)), 2)}
    battles = plan_battles(len(words), shared, response, swap=swap)
    labels = [f"s{k}" for k in range(len(words))]
    config = ArenaConfig(judge="test", resamples=200, swap=swap)
    return judge_and_rate(labels, battles, judge, config, cache=cache)


def _ratings(result) -> dict[str, float]:
    return {r.label: r.bt.rating for r in result.ratings}


def test_swapping_cancels_a_position_bias() -> None:
    """s0 and s1 are equally good, s2 worse. A judge that answers "A" whenever it cannot tell
    rates s0 far above s1 when s0 is always shown first; judged in both orders, its ratings are
    those of an honest judge that calls those battles ties."""
    words = [5, 5, 2]
    biased = _arena(words, QualityJudge(bias=True))
    honest = _arena(words, QualityJudge(bias=False))
    assert _ratings(biased) == pytest.approx(_ratings(honest), abs=0.2)
    r = _ratings(biased)
    assert abs(r["s0"] - r["s1"]) < 1
    assert r["s1"] > r["s2"] + 100
    # Shown one way only, the bias decides between the equals.
    one_way = _ratings(_arena(words, QualityJudge(bias=True), swap=False))
    assert one_way["s0"] > one_way["s1"] + 100


def test_the_bias_report_shows_the_position_bias() -> None:
    biased = _arena([5, 5, 2], QualityJudge(bias=True)).bias
    honest = _arena([5, 5, 2], QualityJudge(bias=False)).bias
    # 8 items x 3 pairs, each judged twice; the s0-s1 comparisons (8) flip with the order.
    assert biased.compared_both_orders == 24 and biased.agreeing == 16
    assert biased.position_agreement == pytest.approx(16 / 24, abs=1e-3)
    assert biased.first_position_win_rate == pytest.approx(32 / 48, abs=1e-3)
    assert biased.tie_rate == 0
    assert honest.position_agreement == 1.0
    assert honest.first_position_win_rate == 0.5
    assert honest.tie_rate == pytest.approx(16 / 48, abs=1e-3)
    # The longer response wins every decisive verdict between different lengths.
    assert honest.length_preference == 1.0


def test_known_order_elo_agrees_and_intervals_separate() -> None:
    result = _arena([9, 4, 0], QualityJudge(bias=False))
    assert [r.label for r in result.ratings] == ["s0", "s1", "s2"]
    top, mid, low = result.ratings
    assert top.bt.low > mid.bt.high and mid.bt.low > low.bt.high
    assert top.elo_k32 > mid.elo_k32 > low.elo_k32
    assert top.elo_k4 > mid.elo_k4 > low.elo_k4
    assert top.wins == top.judgements == 32


def test_battles_are_cached_and_resumed() -> None:
    cache = BattleCache()
    first = QualityJudge(bias=False)
    a = _arena([5, 3, 1], first, cache=cache)
    assert first.calls == 48
    again = QualityJudge(bias=False)
    b = _arena([5, 3, 1], again, cache=cache)
    assert again.calls == 0
    assert all(j.cached for j in b.judgements)
    assert _ratings(a) == _ratings(b)
    # A changed response is a new battle: only the battles with system 2 are asked again.
    changed = QualityJudge(bias=False)
    _arena([5, 3, 2], changed, cache=cache)
    assert changed.calls == 32


def test_run_arena_on_run_folders(tmp_path: Path) -> None:
    turns = {f"tt-00{i}": f"Question number {i}?" for i in range(1, 4)}
    long = make_run(
        tmp_path / "long", "m", {k: (t, "A long and full answer.") for k, t in turns.items()}
    )
    short = make_run(tmp_path / "short", "m", {k: (t, "Yes.") for k, t in turns.items()})
    # A run of the same model with one item rendered from another spec: not shared.
    other = make_run(tmp_path / "other", "x", {"tt-001": (turns["tt-001"], "Hm.")}, spec_hash="z")
    doc = run_arena(
        [long, short, other],
        ArenaConfig(judge="test", resamples=100),
        judge=QualityJudge(bias=False),
        cache=BattleCache(),
    )
    assert [r.label for r in doc.runs] == ["m (long)", "m (short)", "x"]
    assert doc.pairs == {"m (long)|m (short)": list(turns), "m (long)|x": [], "m (short)|x": []}
    assert [r.label for r in doc.ratings] == ["m (long)", "m (short)"]
    assert "not rated (no judged item shared with another run): x" in format_leaderboard(doc)
    assert doc.responses["m (short)"]["tt-001"]["text"] == "Yes."
    assert doc.settings["judge_spec"] == "test-quality"
    with pytest.raises(ConfigError, match="at least two"):
        run_arena([long], judge=QualityJudge(bias=False), cache=BattleCache())
    elsewhere = make_run(
        tmp_path / "pause", "p", {"tt-001": ("Hi?", "Hello.")}, suite="pause_handling"
    )
    with pytest.raises(ResultsError, match="one suite"):
        run_arena([long, elsewhere], judge=QualityJudge(bias=False), cache=BattleCache())
    with pytest.raises(ResultsError, match="share no scored item"):
        run_arena([short, other], judge=QualityJudge(bias=False), cache=BattleCache())
