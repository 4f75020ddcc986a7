"""arena.json: round trip, version check, the printed leaderboard."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from duplex.arena.bias import bias_report
from duplex.arena.document import (
    ArenaDoc,
    ArenaRun,
    Judgement,
    Rating,
    format_leaderboard,
    load_arena,
    write_arena,
)
from duplex.arena.ratings import Interval
from duplex.errors import ResultsError


def _doc() -> ArenaDoc:
    iv = Interval(1200.0, 1199.0, 1150.0, 1260.0)
    return ArenaDoc(
        judge={"spec": "smollm2", "model": "m", "prompt_version": "p"},
        settings={"seed": 0, "resamples": 1000},
        runs=[ArenaRun("a", "/x/a", "a", "turn_taking", "1.0", "turn_taking")],
        pairs={"a|b": ["tt-001"]},
        ratings=[
            Rating("a", iv, 1016.0, 1002.0, 2.0, 2, bt_style=iv),
            Rating("b", Interval(800.0, 801.0, 740.0, 850.0), 984.0, 998.0, 0.0, 2),
        ],
        bias=bias_report([]),
        judgements=[Judgement("tt-001", "a", "b", "A", "why", False, 3.5)],
        style={"words": Interval(100.0, 100.0, 50.0, 150.0)},
    )


def test_round_trip_and_version(tmp_path: Path) -> None:
    path = tmp_path / "arena.json"
    write_arena(_doc(), path)
    assert load_arena(path) == _doc()
    doc = json.loads(path.read_text())
    assert (doc["format"], doc["version"]) == ("duplex-bench-arena", 1)
    doc["version"] = 99
    path.write_text(json.dumps(doc))
    with pytest.raises(ResultsError, match="version 1"):
        load_arena(path)
    path.write_text("{")
    with pytest.raises(ResultsError, match="unreadable"):
        load_arena(path)


def test_leaderboard_text() -> None:
    text = format_leaderboard(_doc())
    lines = text.splitlines()
    assert "Elo K=32" in lines[2] and "BT style" in lines[2]
    assert lines[3].split()[:3] == ["1", "a", "1200"] and "[1150, 1260]" in lines[3]
    assert "style control" in text and "words +100 [50, 150]" in text
    assert "bias: position agreement -" in text
