"""The embedded arena judge: its settings without the model, then (slow) its calibration on the
held-out items it was not tuned on."""

from __future__ import annotations

import pytest

from duplex.arena.calibrate import calibrate_arena, format_arena_calibration, spoken
from duplex.arena.embedded import EmbeddedPairJudge, keyword_score, load_settings
from duplex.arena.judging import BattleCache, load_arena_judge
from duplex.errors import ConfigError
from duplex.judges.base import JudgeSpec


def test_settings_and_content_steps() -> None:
    settings, sha = load_settings()
    assert len(sha) == 16 and settings["empty_quality"] < settings["ending_floor"] * 2
    judge = EmbeddedPairJudge(JudgeSpec("smollm2", "smollm2"))  # the model loads lazily
    steps = settings["content_steps"]
    assert steps == sorted(steps)
    assert [judge.content_score(q) for q in (-50, -20, 0, 8, 15, 40)] == [0, 1, 2, 3, 4, 5]
    with pytest.raises(ConfigError):
        load_arena_judge("smollm2:colour=red")


def test_keyword_score() -> None:
    assert keyword_score(spoken("It closes at nine."), ["nine", "ten"]) == 5
    assert keyword_score(spoken("It closes at nineteen."), ["nine"]) == 1
    assert keyword_score(spoken(""), ["nine"]) == 0


@pytest.mark.slow
def test_held_out_calibration() -> None:
    judge = load_arena_judge("smollm2")
    try:
        cal = calibrate_arena(judge, split="held-out", cache=BattleCache())
        # The same response pair is never scored twice: one likelihood pass per response.
        assert len(judge._scores) <= 3 * len(cal.items)  # type: ignore[attr-defined]
    finally:
        judge.close()
    print(format_arena_calibration(cal))
    assert len(cal.items) == 28 and not set(cal.items) & {f"tt-{i:03d}" for i in range(1, 15)}
    assert cal.overall.missing == 0 and cal.overall.wrong == 0
    assert cal.overall.accuracy is not None and cal.overall.accuracy >= 0.95
    for kind in ("full>empty", "cut>empty", "full>irrelevant"):
        assert cal.by_kind[kind].accuracy == 1.0
    # Each response is scored alone: the verdict never depends on the order shown.
    assert cal.overall.agreement == 1.0
