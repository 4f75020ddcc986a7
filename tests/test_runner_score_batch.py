"""Finished sessions scored together (`run --score-batch`): the rows of one at a time, a batch
member that cannot be scored fails alone, and an interrupt leaves no ended session unscored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import duplex.metrics.analysis
from duplex.errors import BackendError, ConfigError
from duplex.metrics import analyze_outputs
from duplex.models.base import LockstepSession, SessionInfo
from duplex.report.documents import to_json as J
from duplex.runner import RunConfig, run_suite
from tests.simulator.fakes import Beeper

pytestmark = pytest.mark.slow


def _rows(folder: Path) -> dict[str, dict[str, Any]]:
    lines = (folder / "results.jsonl").read_text().splitlines()
    return {r["item_id"]: r for r in map(json.loads, lines)}


def _config(out: Path, model: str = "eager", **kw: Any) -> RunConfig:
    return RunConfig(
        suite="pause_handling", model=model, clock="lockstep", compute="none", out=out, **kw
    )


def test_scoring_in_batches_gives_the_rows_of_one_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes: list[int] = []

    def counted(recordings: Any, **kw: Any) -> Any:
        sizes.append(len(recordings))
        return analyze_outputs(recordings, **kw)

    monkeypatch.setattr(duplex.metrics.analysis, "analyze_outputs", counted)
    run_suite(_config(tmp_path / "one", limit=5, score_batch=1))
    assert sizes == [1] * 5
    sizes.clear()
    run_suite(_config(tmp_path / "three", limit=5, score_batch=3))
    assert sizes == [3, 2]
    one, three = _rows(tmp_path / "one"), _rows(tmp_path / "three")
    assert list(one) == list(three)
    assert any(r["transcript"] for r in one.values())  # the eager model's words are compared
    for key in ("status", "metrics", "details", "transcript", "turns"):
        assert [r[key] for r in one.values()] == [r[key] for r in three.values()], key
    run_json = json.loads((tmp_path / "three" / "run.json").read_text())
    assert run_json["config"]["score_batch"] == 3


def test_an_item_that_cannot_be_scored_fails_alone_in_its_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []

    def second_is_broken(recordings: Any, **kw: Any) -> Any:
        for r in recordings:
            if id(r) not in seen:
                seen.append(id(r))
        if any(id(r) == seen[1] for r in recordings):
            raise BackendError("the ASR fell over on this one")
        return analyze_outputs(recordings, **kw)

    monkeypatch.setattr(duplex.metrics.analysis, "analyze_outputs", second_is_broken)
    result = run_suite(_config(tmp_path / "r", limit=3, score_batch=3))
    rows = _rows(tmp_path / "r")
    assert [r["status"] for r in rows.values()] == ["ok", "failed", "ok"]
    failed = next(r for r in rows.values() if r["status"] == "failed")
    assert "the ASR fell over on this one" in failed["reason"]
    assert J(result.summary)["items"] == {"planned": 3, "ok": 2, "failed": 1}


class StopsAtThird(Beeper):
    """A model whose third session is interrupted (Ctrl-C) as it opens."""

    def __init__(self) -> None:
        super().__init__(at_step=5)
        self.sessions = 0

    def open(self, info: SessionInfo) -> LockstepSession:
        self.sessions += 1
        if self.sessions == 3:
            raise KeyboardInterrupt
        return super().open(info)


def test_an_interrupt_scores_the_sessions_that_ended(tmp_path: Path) -> None:
    config = _config(tmp_path / "r", limit=5, score_batch=8, model="b")
    with pytest.raises(KeyboardInterrupt):
        run_suite(config, model=StopsAtThird())
    rows = _rows(tmp_path / "r")
    assert [r["status"] for r in rows.values()] == ["ok", "ok"]
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["items"]["ok"] == 2


def test_a_score_batch_under_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--score-batch must be at least 1"):
        run_suite(_config(tmp_path / "r", score_batch=0), model=Beeper())
