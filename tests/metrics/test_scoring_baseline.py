"""Scoring keeps its results: the e2e suites' metrics and words against a recorded baseline.

``scoring_baseline.json`` was written by the scoring code *before* it was made faster (issue 15,
commit recorded in the file), from lock-step sessions of instrument models with the ``no_compute``
stopwatch, so the recordings are the same on every run. This test records the same sessions,
scores them with the current code and compares. Regenerate only when a scorer's definition
changes on purpose (bump the task version then): ``python -m tests.metrics.test_scoring_baseline``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

FIXTURE = Path(__file__).with_name("scoring_baseline.json")

#: (suite, instrument spec, item indices): a model that talks all the time and ones that talk a
#: little, on every task; the oracle/scripted cases put words exactly where the metrics look.
CASES: list[tuple[str, str, tuple[int, ...]]] = [
    ("pause_handling", "eager", (0, 1)),
    ("pause_handling", "oracle:mode=pause,latency=0.1,length=1.5", (0, 1)),
    ("pause_handling", "scripted:latency=0.6,silence=2.5,length=2", (0, 1)),
    ("turn_taking", "eager", (0, 1)),
    ("turn_taking", "oracle:latency=0.6,length=2", (0, 1)),
    ("backchannel", "eager", (0, 1)),
    ("backchannel", "oracle:mode=backchannel,latency=0", (0, 1)),
    ("user_interruption", "eager", (0, 1)),
    ("user_interruption", "oracle:latency=0.5,length=8,stop=0.3,respond=0.4", (0, 1)),
]


def _r(x: float) -> float:
    return round(float(x), 4)


def score_case(suite_name: str, spec: str, item_id: str) -> dict[str, Any]:
    """Session, analysis and scores of one item, as a run computes them."""
    from duplex.metrics import TASKS, analyze_output
    from duplex.models.base import LockstepModel
    from duplex.models.registry import load_model
    from duplex.scenarios import load_suite
    from duplex.simulator.session import SessionOptions, run_lockstep
    from duplex.timeline import no_compute

    suite = load_suite(suite_name)
    task = TASKS.get(suite.task)
    item = task.prepare_item(suite.render(item_id))  # as the runner does (backchannel points)
    model = load_model(spec)
    assert isinstance(model, LockstepModel)
    rec = run_lockstep(model, item, SessionOptions(stopwatch=no_compute()))
    annotations = rec.annotations or item.annotations
    analysis = analyze_output(rec)
    return {
        "suite": suite_name,
        "spec": spec,
        "item_id": item.item_id,
        "duration_s": _r(rec.model.size / rec.sample_rate),
        "activity": [[_r(s.start), _r(s.end)] for s in analysis.activity],
        "text": analysis.transcript.text,
        "words": [[w.text, _r(w.start), _r(w.end)] for w in analysis.transcript.words],
        "metrics": task.score(rec, annotations, analysis),
        "details": task.details(rec, annotations, analysis) if task.details else None,
    }


def write_fixture() -> None:
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    from duplex.scenarios import load_suite

    cases = [
        score_case(s, spec, load_suite(s).item_ids()[i]) for s, spec, idx in CASES for i in idx
    ]
    doc = {"made_by_commit": commit, "cases": cases}
    FIXTURE.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    write_fixture()
    sys.exit(0)


pytestmark = pytest.mark.slow

# Tolerances, and why. The VAD is unchanged; the ASR reads other windows than before (the whole
# recording once, no timestamp tokens, instead of Whisper's window-after-window loop, see
# duplex.speech.asr), and Whisper's words and word times depend on the window around them.
#: Activity edges: the same VAD, so the same edges; 0.2 ms covers the fixture's rounding.
EDGE_TOL_S = 0.0002
#: Words, as lower-case words without punctuation (no metric reads capitals or commas): edits
#: (substituted, inserted or deleted words) over all recordings, and per recording (a handful
#: of edits allowed where a transcript has few words: the instruments' "mm-hmm" is heard as
#: "no", or not at all, depending on the context).
MAX_WORD_ERROR = 0.05
MAX_WORD_ERROR_ONE = 0.10
FEW_EDITS = 5
#: Times of the words both transcripts share: Whisper's alignment has a 20 ms step, and a word
#: moves by a step or more when its window changes. Most must not move at all.
WORD_STEP_S = 0.02
WITHIN_STEP = 0.8
WITHIN_100MS = 0.9
#: Metrics: exact (within the rounding) except the first-word latencies, which move with the
#: word times; by at most Whisper's spread of word times (p95 of the moves above, ~0.09 s).
WORD_METRICS = {"latency_fdb_s": 0.1}


def _norm(text: str) -> list[str]:
    return [w for w in (t.strip(".,!?;:\"'-").lower() for t in text.split()) if w]


def _timed(words: list[list[Any]]) -> list[tuple[str, float, float]]:
    """``(normalised word, start, end)``, dropping words that are only punctuation."""
    return [(w, float(s), float(e)) for text, s, e in words for w in _norm(str(text))]


def align(a: list[str], b: list[str]) -> tuple[int, list[tuple[int, int]]]:
    """Levenshtein distance of two word sequences and the index pairs of their equal words.

    Not difflib: on the instruments' looped sentence its longest-block matching pairs a word
    with the same word one loop away."""
    d = [[i + j if i == 0 or j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            same = a[i - 1] == b[j - 1]
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (not same))
    pairs, i, j = [], len(a), len(b)
    while i and j:
        if d[i][j] == d[i - 1][j - 1] + (a[i - 1] != b[j - 1]):
            if a[i - 1] == b[j - 1]:
                pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif d[i][j] == d[i - 1][j] + 1:
            i -= 1
        else:
            j -= 1
    return d[-1][-1], pairs[::-1]


def _baseline() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads(FIXTURE.read_text())["cases"]
    return cases


def _id(case: dict[str, Any]) -> str:
    return f"{case['suite']}-{case['spec'].split(':')[0]}-{case['item_id']}"


@pytest.fixture(scope="module")
def rescored() -> dict[str, dict[str, Any]]:
    return {_id(c): score_case(c["suite"], c["spec"], c["item_id"]) for c in _baseline()}


@pytest.mark.parametrize("case", _baseline(), ids=_id)
def test_activity_and_metrics_are_kept(
    case: dict[str, Any], rescored: dict[str, dict[str, Any]]
) -> None:
    now = rescored[_id(case)]
    assert now["duration_s"] == case["duration_s"], "the recording changed: not a scoring change"
    assert len(now["activity"]) == len(case["activity"])
    for (a0, b0), (a1, b1) in zip(case["activity"], now["activity"], strict=True):
        assert abs(a0 - a1) <= EDGE_TOL_S and abs(b0 - b1) <= EDGE_TOL_S, (a0, b0, a1, b1)
    for key, old in case["metrics"].items():
        new, tol = now["metrics"][key], WORD_METRICS.get(key, EDGE_TOL_S)
        if old is None or new is None:
            assert old == new, key
        else:
            assert abs(float(old) - float(new)) <= tol, (key, old, new)
    for key, old in (case["details"] or {}).items():
        new = now["details"][key]
        if key == "response_transcript" and old is not None:
            edits, _ = align(_norm(old), _norm(new))
            assert edits <= max(FEW_EDITS, MAX_WORD_ERROR_ONE * len(_norm(old))), (old, new)
        else:
            assert old == new, key


def test_words_and_word_times_are_kept(rescored: dict[str, dict[str, Any]]) -> None:
    edits_all = words_all = 0
    moves: list[float] = []
    for case in _baseline():
        old, new = _timed(case["words"]), _timed(rescored[_id(case)]["words"])
        edits, pairs = align([w[0] for w in old], [w[0] for w in new])
        assert edits <= max(FEW_EDITS, MAX_WORD_ERROR_ONE * len(old)), (_id(case), edits)
        edits_all += edits
        words_all += len(old)
        moves += [max(abs(old[i][1] - new[j][1]), abs(old[i][2] - new[j][2])) for i, j in pairs]
    assert edits_all <= MAX_WORD_ERROR * words_all, (edits_all, words_all)
    moved = sorted(moves)
    assert moved[len(moved) // 2] <= WORD_STEP_S / 2  # the median word does not move
    assert sum(m <= WORD_STEP_S for m in moved) >= WITHIN_STEP * len(moved)
    assert sum(m <= 0.1 for m in moved) >= WITHIN_100MS * len(moved)
