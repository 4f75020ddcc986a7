"""Judging the responses of a user_interruption run (the run folder side is
:func:`duplex.report.judged.judge_run`).

Per ok item (``results.jsonl`` rows with ``metrics`` and ``details``):

- ``tor_fdb == 1`` (the model took the turn after the interruption, the anchor's rule): the judge
  rates ``details.response_transcript`` given ``context`` and ``interrupt_text``;
- ``tor_fdb == 0``: not judged (no response to rate);
- ``tor_fdb`` None (no resolved interruption) or texts missing: a missing score with its reason.

Two figures go into ``summary.json`` under ``metrics`` (mean with a bootstrap interval and n):

- ``judge_score``: the anchor's figure, the mean over items with TO = 1 that got a score;
- ``judge_score_strict``: over every item with a known TO, a missing response counting as 0
  (a model that never answers interruptions cannot score well by answering one of them).

Items whose judgement failed are left out of both means and listed under ``summary["judge"]``
with their reasons. Every verdict is appended to ``RUN/judgements.jsonl`` (one line per item and
judging; a re-run appends again, and readers take the last line per item and judge).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from duplex.judges.base import Judge, JudgeInput, Verdict
from duplex.judges.cache import VerdictCache
from duplex.judges.engine import DEFAULT_BACKOFF, Backoff, judge_items, missing
from duplex.metrics.stats import summarize

TASK = "user_interruption"
JUDGEMENTS = "judgements.jsonl"
HEADLINE = {"key": "judge_score", "label": "judge 0-5 (items with TO = 1)", "better": "higher"}


@dataclass(frozen=True)
class ItemJudgement:
    item_id: str
    tor_fdb: int | None
    inputs: JudgeInput | None
    verdict: Verdict | None  # None: not judged (tor_fdb == 0)

    @property
    def fdb_score(self) -> int | None:
        return self.verdict.score if self.verdict is not None and self.tor_fdb == 1 else None

    @property
    def strict_score(self) -> int | None:
        if self.tor_fdb == 0:
            return 0
        return self.fdb_score


def _inputs(row: dict[str, Any]) -> tuple[JudgeInput | None, str]:
    details = row.get("details") or {}
    context, interrupt = details.get("context"), details.get("interrupt_text")
    response = details.get("response_transcript")
    for name, value in (("context", context), ("interrupt_text", interrupt)):
        if not value:
            return None, f"no {name} in the item's details"
    if not response or not str(response).strip():
        return None, "no response transcript although TO = 1"
    return JudgeInput(str(context), str(interrupt), str(response)), ""


def judge_rows(
    judge: Judge,
    rows: Sequence[dict[str, Any]],
    *,
    cache: VerdictCache | None = None,
    concurrency: int | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
) -> list[ItemJudgement]:
    """Judgements of the ok rows, in their order."""
    plan: list[tuple[str, int | None, JudgeInput | None, Verdict | None]] = []
    for row in rows:
        if row.get("status") != "ok":
            continue
        tor = (row.get("metrics") or {}).get("tor_fdb")
        tor_fdb = None if tor is None else int(tor)
        if tor_fdb == 0:
            plan.append((row["item_id"], 0, None, None))
            continue
        inputs, why = _inputs(row) if tor_fdb == 1 else (None, "no resolved interruption")
        plan.append((row["item_id"], tor_fdb, inputs, None if inputs else missing(judge, why)))
    asked = [p[2] for p in plan if p[2] is not None]
    verdicts = iter(
        judge_items(judge, asked, cache=cache, concurrency=concurrency, backoff=backoff)
    )
    out = []
    for item_id, tor_fdb, inputs, verdict in plan:
        if inputs is not None:
            verdict = next(verdicts)
        out.append(ItemJudgement(item_id, tor_fdb, inputs, verdict))
    return out


def aggregate(judgements: Sequence[ItemJudgement], describe: dict[str, Any]) -> dict[str, Any]:
    """The figures and the ``judge`` block for summary.json."""
    metrics = summarize(
        [{"judge_score": j.fdb_score, "judge_score_strict": j.strict_score} for j in judgements],
        ["judge_score", "judge_score_strict"],
    )
    failed = [j for j in judgements if j.verdict is not None and j.verdict.score is None]
    block = {
        **describe,
        "items": {
            "judged": sum(j.fdb_score is not None for j in judgements),
            "no_response": sum(j.tor_fdb == 0 for j in judgements),
            "missing": len(failed),
            "cached": sum(bool(j.verdict and j.verdict.cached) for j in judgements),
        },
        "missing": [
            {"item_id": j.item_id, "reason": j.verdict.reason} for j in failed if j.verdict
        ],
    }
    return {"metrics": metrics, "judge": block}
