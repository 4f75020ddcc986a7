"""Pairs of known order from the suites: how they are built and tallied (fast, fake judges)."""

from __future__ import annotations

import pytest

from duplex.arena.calibrate import (
    TUNE_IDS,
    build_pairs,
    calibrate_arena,
    format_arena_calibration,
    load_items,
    select,
)
from duplex.arena.judging import PairInput, PairVerdict
from duplex.errors import ConfigError


class Judge:
    name, model, prompt_version, prompt_sha = "fake", "none", "v", "x"
    max_concurrency = max_attempts = 1

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def compare(self, item: PairInput) -> PairVerdict:
        if self.mode == "first":
            winner = "A"
        else:
            wa, wb = item.a.features.words, item.b.features.words
            winner = "tie" if wa == wb else "A" if wa > wb else "B"
        return PairVerdict(winner, reason="", judge="fake", model="none", prompt_version="v")  # type: ignore[arg-type]

    def describe(self) -> dict[str, str]:
        return {"spec": "fake"}

    def close(self) -> None:
        pass


def test_items_and_split() -> None:
    items = load_items()
    assert len(items) >= 40
    assert all(i["turn"] and i["reply"] for i in items)
    tune, held = select(items, "tune"), select(items, "held-out")
    assert {i["id"] for i in tune} == TUNE_IDS
    assert not {i["id"] for i in held} & TUNE_IDS
    assert len(tune) + len(held) == len(items) == len(select(items, "all"))
    with pytest.raises(ConfigError):
        select(items, "train")


def test_pairs_have_the_better_response_first() -> None:
    items = select(load_items(), "held-out")
    pairs = build_pairs(items)
    assert len(pairs) == 4 * len(items)
    for _id, kind, p in pairs:
        if kind == "full>cut":
            assert p.b.text == " ".join(p.a.text.split()[:2])
        if kind.endswith("empty"):
            assert p.b.empty and not p.a.empty
        if kind == "full>irrelevant":
            assert p.a.text != p.b.text


def test_tally_of_a_length_judge_and_a_position_judge() -> None:
    good = calibrate_arena(Judge("length"), split="held-out")
    # A judge that prefers more words is right on every kind except "irrelevant" (chance).
    for kind in ("full>cut", "full>empty", "cut>empty"):
        assert good.by_kind[kind].accuracy == 1.0
        assert good.by_kind[kind].agreement == 1.0
    first = calibrate_arena(Judge("first"), split="held-out")
    # Always "A": right when the better one is shown first, wrong after the swap.
    assert first.overall.accuracy == 0.5 and first.overall.agreement == 0.0
    text = format_arena_calibration(first)
    assert "split held-out: 28 items" in text and "position agreement 0.000" in text
