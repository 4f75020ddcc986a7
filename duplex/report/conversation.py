"""Judging a conversation run folder: ``duplex-bench judge RUN`` (and ``run``, by default).

Every scored conversation (its row's ``turns``, the exchanges, and its session's annotations,
the goals and the examiner's turns) is rated by a conversation judge
(:mod:`duplex.judges.conversation`). The judge's figures go into the item's row: ``fluency`` and
``instruction`` (means of the per-exchange 1-5 scores) and ``task_score`` in ``metrics``, each
exchange's scores and reasons in ``turns``. Results stay append-only: the judged row is appended
(readers take the last line per item), so ``compare`` pairs the judge's figures item by item like
any other, and judging again with another judge appends again. The summary is rebuilt from the
rows, with a ``judge`` block naming the judge and listing conversations it could not rate.
Every verdict also goes to ``RUN/judgements.jsonl``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from duplex.annotations import Annotations
from duplex.errors import ConfigError, ResultsError
from duplex.judges import load_conversation_judge
from duplex.judges.conversation import (
    ConversationCache,
    ConversationInput,
    ConversationJudge,
    ConversationVerdict,
    judge_conversation,
)
from duplex.judges.engine import owned
from duplex.metrics.tasks import TASKS
from duplex.report.documents import ResultRow, build_summary, to_json
from duplex.report.judged import RunJudge, format_judging
from duplex.report.store import RunStore
from duplex.writing import append_line

TASK = "conversation"
JUDGEMENTS = "judgements.jsonl"


def _conversation(store: RunStore, item_id: str) -> Any:
    path = store.session_dir(item_id) / "session.json"
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ResultsError(f"{path}: unreadable ({exc})") from exc
    conv = Annotations.from_json(doc.get("annotations") or {}).conversation
    if conv is None:
        raise ResultsError(f"{path}: the session holds no conversation")
    return conv


def judged_row(row: ResultRow, verdict: ConversationVerdict) -> ResultRow:
    """The row with the judge's figures in ``metrics`` and its scores in each exchange."""
    turns = []
    for turn, v in zip(row.turns, verdict.exchanges, strict=False):
        turns.append(
            {**turn, "fluency": v.fluency, "instruction": v.instruction, "judge": v.reason}
        )
    return row.model_copy(
        update={
            "metrics": {**row.metrics, **verdict.figures()},
            "turns": turns or row.turns,
            "details": {**row.details, "judge_task": verdict.reason or None},
        }
    )


def judge_conversation_run(
    run_dir: Path | str,
    judge_spec: str,
    *,
    judge: ConversationJudge | None = None,
    cache: ConversationCache | None = None,
) -> dict[str, Any]:
    """Judge every scored conversation of a run folder; returns the new summary (also written)."""
    folder = Path(run_dir)
    store = RunStore(folder)
    old = store.read_summary()
    if old is None or old.task != TASK:
        raise ConfigError(f"{folder}: not a conversation run (task {old.task if old else None!r})")
    run_doc = store.read_run_doc()
    rows = store.read_results()
    judged: list[ResultRow] = []
    log: list[dict[str, Any]] = []
    missing: list[dict[str, Any]] = []
    cached = 0
    with (
        owned(judge, lambda: load_conversation_judge(judge_spec)) as j,
        owned(cache, ConversationCache.default) as c,
    ):
        describe = j.describe()
        for row in rows.values():
            if row.status != "ok":
                continue
            item = ConversationInput.of(_conversation(store, row.item_id), row.turns)
            verdict = judge_conversation(j, item, cache=c)
            cached += verdict.cached
            if verdict.task_score is None:
                missing.append({"item_id": row.item_id, "reason": verdict.reason})
            judged.append(judged_row(row, verdict))
            log.append(
                {
                    "item_id": row.item_id,
                    "judge": describe,
                    "verdict": verdict.to_json(),
                    "cached": verdict.cached,
                    "judged_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                }
            )
    for row in judged:
        store.append(row)
    for doc in log:
        append_line(folder / JUDGEMENTS, json.dumps(doc, ensure_ascii=False), what="judgements")
    latest = list(store.read_results().values())
    summary = build_summary(
        latest, TASKS.get(TASK), old.items.planned, run_doc.config, seed=run_doc.config.seed
    )
    summary.judge = {
        **describe,
        "items": {"judged": len(judged) - len(missing), "missing": len(missing), "cached": cached},
        "missing": missing,
    }
    store.write_summary(summary)
    return to_json(summary)


def format_conversation_judged(summary: dict[str, Any]) -> str:
    items = (summary.get("judge") or {}).get("items", {})
    counts = (
        f"conversations: {items.get('judged', 0)} judged ({items.get('cached', 0)} from "
        f"cache), {items.get('missing', 0)} missing"
    )
    return format_judging(summary, ("task_score", "instruction", "fluency"), counts)


def _judge(folder: Path, spec: str | None, concurrency: int | None) -> dict[str, Any]:
    del concurrency  # conversations are judged one at a time (the embedded judge holds one LM)
    if spec is None:
        raise ConfigError("conversation runs need a judge spec")
    return judge_conversation_run(folder, spec)


#: how ``run`` and ``judge RUN`` judge a conversation run (duplex.report.judged.RUN_JUDGES)
JUDGING = RunJudge(_judge, format_conversation_judged)
