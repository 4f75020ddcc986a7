"""Scoring keeps its results: the e2e suites' metrics and words against a recorded baseline.

``scoring_baseline.json`` was written by the scoring code *before* it was made faster (issue 15,
commit recorded in the file), from lock-step sessions of instrument models with the ``no_compute``
stopwatch, so the recordings are the same on every run. This test records the same sessions,
scores them with the current code and compares. Regenerate only when a scorer's definition
changes on purpose (bump the task version then): ``python -m tests.metrics.test_scoring_baseline``.
"""

from __future__ import annotations

import difflib
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
    from duplex.simulator.session import SessionOptions, no_compute, run_lockstep

    suite = load_suite(suite_name)
    item = suite.render(item_id)
    model = load_model(spec)
    assert isinstance(model, LockstepModel)
    rec = run_lockstep(model, item, SessionOptions(stopwatch=no_compute()))
    annotations = rec.annotations or item.annotations
    analysis = analyze_output(rec)
    task = TASKS.get(suite.task)
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

#: Tolerances, and why:
#: - activity edges: the VAD path computes the same probabilities and edges; 0.2 ms covers the
#:   fixture's rounding to 0.1 ms.
EDGE_TOL_S = 0.0002
#: - word times: Whisper's own grid is 20 ms, and a word's time moves by a step of it when the
#:   audio window around it changes (batched windows start elsewhere than the sequential ones);
#:   edges snapped to the VAD are unaffected.
WORD_TOL_S = 0.02
#: - words: compared as lower-case words without punctuation (capitals and commas do not count
#:   in any metric); at most this share may be substituted, inserted or deleted per recording.
MAX_WORD_ERROR = 0.05
#: - metrics: exact for counts, flags and activity figures (within the rounding); first-word
#:   latencies move with the word times.
WORD_METRICS = {"latency_fdb_s"}


def _norm(text: str) -> list[str]:
    return [w for w in (t.strip(".,!?;:\"'-").lower() for t in text.split()) if w]


def _timed(words: list[list[Any]]) -> list[tuple[str, float, float]]:
    """``(normalised word, start, end)``, dropping words that are only punctuation."""
    out = []
    for text, start, end in words:
        for w in _norm(str(text)):
            out.append((w, float(start), float(end)))
    return out


def _edits(a: list[str], b: list[str]) -> int:
    """Levenshtein distance between two word sequences."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


def _word_error(old: list[str], new: list[str]) -> float:
    return _edits(old, new) / max(1, len(old))


def _close(old: Any, new: Any, tol: float) -> bool:
    if old is None or new is None or isinstance(old, str):
        return bool(old == new)
    return abs(float(old) - float(new)) <= tol


def _baseline() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads(FIXTURE.read_text())["cases"]
    return cases


@pytest.mark.parametrize(
    "case", _baseline(), ids=lambda c: f"{c['suite']}-{c['spec'].split(':')[0]}-{c['item_id']}"
)
def test_scoring_reproduces_the_baseline(case: dict[str, Any]) -> None:
    now = score_case(case["suite"], case["spec"], case["item_id"])
    assert now["duration_s"] == case["duration_s"], "the recording changed: not a scoring change"
    assert len(now["activity"]) == len(case["activity"])
    for (a0, b0), (a1, b1) in zip(case["activity"], now["activity"], strict=True):
        assert abs(a0 - a1) <= EDGE_TOL_S and abs(b0 - b1) <= EDGE_TOL_S, (a0, b0, a1, b1)
    old_words, new_words = _timed(case["words"]), _timed(now["words"])
    old_text, new_text = [w[0] for w in old_words], [w[0] for w in new_words]
    assert _word_error(old_text, new_text) <= MAX_WORD_ERROR, (case["text"], now["text"])
    matcher = difflib.SequenceMatcher(None, old_text, new_text, autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            (w, s0, e0), (_, s1, e1) = old_words[block.a + k], new_words[block.b + k]
            assert abs(s0 - s1) <= WORD_TOL_S and abs(e0 - e1) <= WORD_TOL_S, (w, s0, e0, s1, e1)
    for key, old in case["metrics"].items():
        tol = WORD_TOL_S if key in WORD_METRICS else EDGE_TOL_S
        assert _close(old, now["metrics"][key], tol), (key, old, now["metrics"][key])
    for key, old in (case["details"] or {}).items():
        new = now["details"][key]
        if key == "response_transcript" and old is not None:
            assert _word_error(_norm(old), _norm(new)) <= MAX_WORD_ERROR, (old, new)
        else:
            assert old == new, key
