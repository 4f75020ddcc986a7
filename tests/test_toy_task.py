"""A task registered from a test module, with no other file touched, goes through every command:
``run`` (with ``--export-fdb``), ``score --fdb``, ``report`` and ``compare``.

The toy task asks one thing: does the model answer the user's turn, and how soon? Its FDB-style
folder format is a ``toy.json`` holding the turn end. The oracle answers a known latency after the
turn end, so the figures are known: 0.5 s for one run, 0.8 s for the other. Six items, the fewest
with which the paired sign-flip test can reach p < 0.05.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from duplex.annotations import Annotations
from duplex.cli import main
from duplex.metrics.analysis import OutputAnalysis
from duplex.metrics.tasks import TASKS, FdbFormat, Metric, Task, Value
from duplex.simulator.recording import Recording
from duplex.speech.asr import Transcript, Word
from duplex.timeline import SpeechSpan

SUITE = """\
suite: toy_suite
version: "1"
task: toy
description: short questions the model should answer
items:
  - id: toy-1
    script:
      - say: What time does the library open tomorrow?
  - id: toy-2
    script:
      - say: Could you tell me how to get to the station?
  - id: toy-3
    script:
      - say: Which bus goes to the airport?
  - id: toy-4
    script:
      - say: Is it going to rain this afternoon?
  - id: toy-5
    script:
      - say: How long should I boil an egg?
  - id: toy-6
    script:
      - say: What is the capital of Portugal?
"""


def score(rec: Recording, ann: Annotations, analysis: OutputAnalysis) -> dict[str, Value]:
    after = [s for s in analysis.activity if s.start >= ann.turn_end - 0.2]
    return {
        "answered": int(bool(after)),
        "answer_latency_s": round(after[0].start - ann.turn_end, 4) if after else None,
    }


def read(folder: Path, context: Any) -> Annotations:
    end = json.loads((folder / "toy.json").read_text())["turn_end"]
    return Annotations(speech=(SpeechSpan(0.0, float(end), ""),), source="fdb")


def write(dest: Path, rec: Recording, ann: Annotations, words: Transcript) -> Sequence[Word]:
    (dest / "toy.json").write_text(json.dumps({"turn_end": ann.turn_end}))
    return words.words


TOY = Task(
    name="toy",
    version="1",
    score=score,
    metrics=(
        Metric("answered", "answered", "higher", headline=True, column="toy answered"),
        Metric("answer_latency_s", "answer latency s", "lower", headline=True, column="toy lat"),
    ),
    fdb=FdbFormat("toy.json", read, write),
    needs_words=False,
)


@pytest.fixture
def toy(tmp_path: Path) -> Iterator[Path]:
    TASKS.add("toy", TOY)
    suite = tmp_path / "toy_suite.yaml"
    suite.write_text(SUITE)
    try:
        yield suite
    finally:
        TASKS.remove("toy")


def test_a_toy_task_runs_through_every_command(
    toy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, slow, fdb = tmp_path / "base", tmp_path / "slow", tmp_path / "fdb"
    common = ["run", "--scenario", str(toy), "--no-progress"]
    assert main([*common, "--model", "oracle:latency=0.5", "--out", str(base)]) == 0
    assert main([*common, "--model", "oracle:latency=0.8", "--out", str(slow)]) == 0
    assert main([*common, "--model", "oracle:latency=0.5", "--out", str(tmp_path / "x")]) == 0
    summary = json.loads((base / "summary.json").read_text())
    assert summary["task"] == "toy" and summary["items"]["ok"] == 6
    assert summary["metrics"]["answered"]["mean"] == 1.0
    assert summary["metrics"]["answer_latency_s"]["mean"] == pytest.approx(0.5, abs=0.03)
    assert [h["key"] for h in summary["headline"]] == ["answered", "answer_latency_s"]
    run = json.loads((base / "run.json").read_text())
    assert run["config"]["asr"] is None  # the task reads no words: no ASR ran

    # export while running, then score the folders as Full-Duplex-Bench samples
    args = [*common, "--model", "oracle:latency=0.5", "--out", str(tmp_path / "e")]
    assert main([*args, "--export-fdb", str(fdb)]) == 0
    assert sorted(p.name for p in (fdb / "toy").iterdir()) == [str(i) for i in range(1, 7)]
    assert json.loads((fdb / "fdb_map.json").read_text())["toy"]["1"] == "toy-1"
    scored = tmp_path / "scored.json"
    assert main(["score", "--fdb", str(fdb / "toy"), "--task", "toy", "--json", str(scored)]) == 0
    doc = json.loads(scored.read_text())
    lat = doc["summary"]["metrics"]["answer_latency_s"]["mean"]
    assert lat == pytest.approx(summary["metrics"]["answer_latency_s"]["mean"], abs=1e-3)

    capsys.readouterr()
    assert main(["report", str(base), str(slow)]) == 0
    board = capsys.readouterr().out
    assert "toy answered" in board and "toy lat" in board
    assert main(["report", str(base), str(slow), "--html", str(tmp_path / "r.html")]) == 0

    # the candidate answers 0.3 s later on every item: a regression of a headline figure
    assert main(["compare", str(base), str(slow)]) == 1
    assert "answer_latency_s" in capsys.readouterr().out
    assert main(["compare", str(base), str(tmp_path / "x")]) == 0


def test_an_unregistered_task_is_an_error_not_a_run_without_gates(
    toy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    args = ["run", "--scenario", str(toy), "--model", "silent", "--out", str(out)]
    assert main([*args, "--limit", "1", "--no-progress"]) == 0
    TASKS.remove("toy")
    try:
        capsys.readouterr()
        assert main(["compare", str(out), str(out)]) == 2
        assert "unknown task 'toy'" in capsys.readouterr().err
    finally:
        TASKS.add("toy", TOY)
