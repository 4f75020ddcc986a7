"""Conversation runs end to end (slow: real VAD, ASR and TTS): `run` writes valid documents,
the judge adds its figures item by item, `compare` and the HTML report work on them."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from duplex.cli import main
from duplex.judges.conversation import (
    ConversationCache,
    ConversationInput,
    ConversationVerdict,
    ExchangeVerdict,
)
from duplex.judges.evidence import any_of
from duplex.report.compare import compare_runs
from duplex.report.conversation import judge_conversation_run
from duplex.report.html import ReportOptions, write_report
from duplex.report.runs import load_run
from duplex.report.store import RunStore
from tests.report.test_documents import check_run_folder

pytestmark = pytest.mark.slow

SUITE = """\
suite: talk
version: "1.0"
task: conversation
defaults:
  conversation: {kind: correction, policy: fast, max_turns: 3, max_seconds: 30}
items:
  - id: c-1
    conversation:
      references: {old_fact: [Tuesday], new_fact: [Thursday]}
      goals:
        - goal: "Correct the day."
          say: "My appointment is on Thursday, not Tuesday."
          reply: "Got it, Thursday."
          expect: [Thursday]
        - goal: "Ask which day to take off."
          say: "Which day should I take off work?"
          reply: "Take Thursday off."
          bad_reply: "Take Tuesday off."
          expect: [Thursday]
          avoid: [Tuesday]
  - id: c-2
    conversation:
      references: {old_fact: [red], new_fact: [blue]}
      goals:
        - goal: "Correct the colour."
          say: "Sorry, my rental car is blue, not red."
          reply: "Okay, a blue car."
          expect: [blue]
        - goal: "Ask which car to look for."
          say: "Which car should I look for in the lot?"
          reply: "Look for the blue car."
          bad_reply: "Look for the red car."
          expect: [blue]
          avoid: [red]
"""


class WordJudge:
    """A stand-in judge: instruction 5 when a goal's expected word was said, else 1."""

    name, model, prompt_version, prompt_sha, max_attempts = "words", "w-1", "t1", "x", 1

    def rate(self, item: ConversationInput) -> ConversationVerdict:
        out = []
        for e in item.exchanges:
            if e.goal is None:
                out.append(ExchangeVerdict(None, None, "closing"))
                continue
            hit = any_of(e.model_text, item.goals[e.goal].expect)
            out.append(ExchangeVerdict(5 if e.response_start else 1, 5 if hit else 1, "words"))
        task = 5 if all(v.instruction == 5 for v in out if v.instruction) else 1
        return ConversationVerdict(tuple(out), task, "", self.name, self.model, self.prompt_version)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "spec": self.name, "model": self.model}

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("conv")
    suite = root / "talk.yaml"
    suite.write_text(textwrap.dedent(SUITE))
    out = {}
    for name, model in (("good", "replier"), ("bad", "replier:replies=bad"), ("silent", "silent")):
        out[name] = root / name
        args = ["run", "--scenario", str(suite), "--model", model, "--out", str(out[name])]
        args += ["--examiner", "script", "--judge", "none", "--compute", "none", "--no-progress"]
        assert main(args) == 0
    return out


def test_a_conversation_run_writes_valid_documents(runs: dict[str, Path]) -> None:
    for folder in runs.values():
        check_run_folder(folder)
    rows = list(RunStore(runs["good"]).read_results().values())
    assert [r.details["ended"] for r in rows] == ["goal_met", "goal_met"]
    assert all(len(r.turns) == 3 and r.metrics["response_rate"] == 1.0 for r in rows)
    assert "Thursday" in rows[0].turns[1]["model_text"]
    run_doc = json.loads((runs["good"] / "run.json").read_text())
    assert run_doc["backends"]["examiner"]["writer"] == {"name": "script"}
    assert run_doc["config"]["compute"] == "none" and run_doc["config"]["examiner"] == "script"
    silent = list(RunStore(runs["silent"]).read_results().values())
    assert [r.details["ended"] for r in silent] == ["model_silent"] * 2


def test_the_judge_adds_figures_row_by_row_and_compare_uses_them(runs: dict[str, Path]) -> None:
    summaries = {
        name: judge_conversation_run(
            runs[name], "words", judge=WordJudge(), cache=ConversationCache()
        )
        for name in ("good", "bad")
    }
    assert summaries["good"]["metrics"]["task_score"]["mean"] == 5.0
    assert summaries["bad"]["metrics"]["task_score"]["mean"] == 1.0
    assert summaries["good"]["judge"]["items"] == {"judged": 2, "missing": 0, "cached": 0}
    rows = RunStore(runs["good"]).read_results()
    assert rows["c-1"].turns[1]["instruction"] == 5 and rows["c-1"].metrics["instruction"] == 5.0
    assert len((runs["good"] / "results.jsonl").read_text().splitlines()) == 4  # appended
    assert (runs["good"] / "judgements.jsonl").is_file()
    check_run_folder(runs["good"])
    comparison = compare_runs(load_run(runs["good"]), load_run(runs["bad"]), n_resamples=200)
    task = next(m for m in comparison.metrics if m.key == "task_score")
    assert task.n == 2 and task.diff == -4.0 and task.direction == "higher"


def test_the_report_shows_each_conversation(runs: dict[str, Path], tmp_path: Path) -> None:
    info = write_report([runs["good"]], tmp_path / "r.html", ReportOptions(audio_items=0))
    page = info.path.read_text()
    assert page.count('<svg class="turns"') == 2 and "conversation (correction, fast" in page
    assert "Take Thursday off." in page and "ended: goal_met" in page
