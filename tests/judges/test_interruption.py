"""judge_run on a user_interruption run folder: figures, judgements.jsonl, the cache, the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from duplex.cli import main
from duplex.errors import ConfigError
from duplex.judges.cache import VerdictCache
from duplex.judges.engine import Backoff
from duplex.report.judged import judge_run
from tests.judges.fake_api import FakeApi, Reply, anthropic_text, serve

pytest.importorskip("anthropic")  # an optional dependency (the judges extra)

KEY = "sk-test-secret-run"


def _row(item_id: str, tor_fdb: int | None, response: str | None, status: str = "ok") -> dict:
    if status != "ok":
        return {"item_id": item_id, "status": status, "reason": "model crashed"}
    return {
        "item_id": item_id,
        "status": "ok",
        "metrics": {"tor_fdb": tor_fdb, "tor": tor_fdb},
        "details": {
            "context": f"Tell me about topic {item_id}.",
            "interrupt_text": f"Wait, just one thing about {item_id}?",
            "response_transcript": response,
        },
    }


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    rows = [
        _row("ui-001", 1, "Good answer one."),
        _row("ui-002", 1, "Good answer two."),
        _row("ui-003", 1, "Poor answer."),
        _row("ui-004", 0, ""),
        _row("ui-005", None, None),
        _row("ui-006", 0, "", status="failed"),
    ]
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = {"task": "user_interruption", "metrics": {"tor_fdb": {"mean": 0.6}}, "headline": []}
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    return tmp_path


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with serve() as a:
        yield a


def test_judge_run_figures_and_cache(run_dir: Path, api: FakeApi) -> None:
    api.set(Reply(body=anthropic_text("Answers it.\nRating: 4")))
    spec = f"anthropic:model=claude-test,base_url={api.url},api_key={KEY}"
    cache = VerdictCache(run_dir.parent / "cache.sqlite")
    summary = judge_run(run_dir, spec, cache=cache, backoff=Backoff(base=0.01))
    assert len(api.requests) == 3  # the three items with TO = 1 and a response

    m = summary["metrics"]
    assert m["judge_score"]["mean"] == 4.0 and m["judge_score"]["n"] == 3
    # strict: ui-004 (no response) counts as 0, ui-005 (no interruption) is missing
    assert m["judge_score_strict"]["mean"] == pytest.approx(12 / 4)
    assert m["judge_score_strict"]["n"] == 4
    assert m["tor_fdb"] == {"mean": 0.6}  # other metrics untouched
    judge = summary["judge"]
    assert (judge["name"], judge["model"], judge["prompt_version"]) == (
        "anthropic",
        "claude-test",
        "interruption_v1",
    )
    assert judge["items"] == {"judged": 3, "no_response": 1, "missing": 1, "cached": 0}
    assert judge["missing"] == [{"item_id": "ui-005", "reason": "no resolved interruption"}]
    assert any(h["key"] == "judge_score" for h in summary["headline"])
    on_disk = json.loads((run_dir / "summary.json").read_text())
    assert on_disk["metrics"]["judge_score"] == m["judge_score"]

    # Again: every verdict from the cache, no new call, identical figures.
    again = judge_run(run_dir, spec, cache=cache)
    assert len(api.requests) == 3
    assert again["metrics"]["judge_score"] == m["judge_score"]
    assert again["metrics"]["judge_score_strict"] == m["judge_score_strict"]
    assert again["judge"]["items"]["cached"] == 3

    lines = [json.loads(x) for x in (run_dir / "judgements.jsonl").read_text().splitlines()]
    assert len(lines) == 2 * 5  # append-only: five ok items, judged twice
    first = {x["item_id"]: x for x in lines[:5]}
    assert first["ui-001"]["verdict"]["score"] == 4
    assert first["ui-001"]["inputs"]["response"] == "Good answer one."
    assert first["ui-004"]["verdict"] is None
    assert first["ui-005"]["verdict"]["score"] is None
    for path in run_dir.iterdir():
        assert KEY not in path.read_text(), path


def test_failed_judgements_are_missing_not_zero(run_dir: Path, api: FakeApi) -> None:
    api.set(Reply(500, {"type": "error", "error": {"type": "api_error", "message": "x"}}))
    spec = f"anthropic:model=claude-test,base_url={api.url},api_key={KEY},attempts=2"
    summary = judge_run(run_dir, spec, cache=VerdictCache(), backoff=Backoff(base=0.01))
    assert summary["metrics"]["judge_score"]["n"] == 0
    assert summary["metrics"]["judge_score"]["mean"] is None
    assert summary["metrics"]["judge_score_strict"]["n"] == 1  # only the no-response item
    missing = {m["item_id"]: m["reason"] for m in summary["judge"]["missing"]}
    assert "gave up after 2 attempts" in missing["ui-001"]


def test_judge_run_refuses_other_tasks(run_dir: Path) -> None:
    (run_dir / "summary.json").write_text(json.dumps({"task": "turn_taking"}))
    with pytest.raises(ConfigError, match="turn_taking"):
        judge_run(run_dir, "smollm2")


def test_cli_judge(run_dir: Path, api: FakeApi, capsys: Any) -> None:
    api.set(Reply(body=anthropic_text("Rating: 5")))
    spec = f"anthropic:model=claude-test,base_url={api.url},api_key={KEY}"
    assert main(["judge", str(run_dir), "--judge", spec]) == 0
    out = capsys.readouterr().out
    assert "judge_score" in out and "5.00" in out and KEY not in out
    assert main(["judge", "--judge", "nope"]) == 2
    assert "give either RUN_DIR or --calibrate" in capsys.readouterr().err
    assert main(["judge", str(run_dir), "--judge", "smollm3"]) == 2
    assert "did you mean 'smollm2'" in capsys.readouterr().err


def test_cli_calibrate_through_an_api(api: FakeApi, capsys: Any) -> None:
    api.set(Reply(body=anthropic_text("Rating: 3")))  # a judge that cannot tell anything apart
    spec = f"anthropic:model=claude-test,base_url={api.url},api_key={KEY}"
    assert main(["judge", "--calibrate", "--judge", spec]) == 0
    out = capsys.readouterr().out
    assert "all pairs            accuracy 0.500  tau +0.000" in out


def test_cli_run_checks_the_judge_spec_first(capsys: Any) -> None:
    assert main(["run", "--scenario", "user_interruption", "--judge", "anthropc"]) == 2
    assert "did you mean 'anthropic'" in capsys.readouterr().err
