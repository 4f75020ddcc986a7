"""``duplex-bench judge RUN``: judge the responses of a user_interruption run folder and add the
judge's figures to its summary (see :mod:`duplex.judges.interruption` for what is judged); a
conversation run is judged by :mod:`duplex.report.conversation`."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from duplex.errors import ConfigError
from duplex.judges import load_judge
from duplex.judges.base import Judge
from duplex.judges.cache import VerdictCache
from duplex.judges.engine import DEFAULT_BACKOFF, Backoff, owned
from duplex.judges.interruption import (
    HEADLINE,
    JUDGEMENTS,
    TASK,
    ItemJudgement,
    aggregate,
    judge_rows,
)
from duplex.report.conversation import TASK as CONVERSATION
from duplex.report.conversation import format_conversation_judged, judge_conversation_run
from duplex.report.documents import FORMAT, to_json, upgrade_summary
from duplex.report.store import RunStore
from duplex.writing import append_line

#: tasks whose runs a judge rates
JUDGED_TASKS = (TASK, CONVERSATION)


def _append(path: Path, judgements: Sequence[ItemJudgement], describe: dict[str, Any]) -> None:
    for j in judgements:
        doc = {
            "item_id": j.item_id,
            "tor_fdb": j.tor_fdb,
            "judge": describe,
            "inputs": None if j.inputs is None else json.loads(j.inputs.key()),
            "verdict": None if j.verdict is None else j.verdict.to_json(),
            "cached": bool(j.verdict and j.verdict.cached),
            "judged_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        append_line(path, json.dumps(doc, ensure_ascii=False), what="the judgements")


def judge_run(
    run_dir: Path | str,
    judge_spec: str,
    *,
    judge: Judge | None = None,
    cache: VerdictCache | None = None,
    concurrency: int | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
) -> dict[str, Any]:
    """Judge a user_interruption run folder; returns the updated summary (also written)."""
    folder = Path(run_dir)
    store = RunStore(folder)
    summary = store.read_json(store.summary_path)
    if summary.get("task") == CONVERSATION:
        return judge_conversation_run(folder, judge_spec)
    if summary.get("task") != TASK:
        raise ConfigError(
            f"{folder}: task is {summary.get('task')!r}; judges rate "
            f"{' and '.join(repr(t) for t in JUDGED_TASKS)} runs"
        )
    rows = [to_json(r) for r in store.read_results().values()]
    with owned(judge, lambda: load_judge(judge_spec)) as j, owned(cache, VerdictCache.default) as c:
        judgements = judge_rows(j, rows, cache=c, concurrency=concurrency, backoff=backoff)
        describe = j.describe()
    _append(folder / JUDGEMENTS, judgements, describe)
    result = aggregate(judgements, describe)
    summary.setdefault("metrics", {}).update(result["metrics"])
    summary["judge"] = result["judge"]
    headline = summary.setdefault("headline", [])
    if not any(h.get("key") == HEADLINE["key"] for h in headline):
        headline.append(dict(HEADLINE))
    if summary.get("format", 1) >= FORMAT:
        typed = upgrade_summary(summary, str(store.summary_path))
        store.write_summary(typed)
        return to_json(typed)
    # A summary of an older format is updated as it is: we do not invent what it lacks.
    store.write_json(store.summary_path, summary)
    return summary


def format_judged(summary: dict[str, Any]) -> str:
    """A few lines for the terminal."""
    if summary.get("task") == CONVERSATION:
        return format_conversation_judged(summary)
    judge = summary.get("judge", {})
    lines = [
        f"judge {judge.get('spec')} (model {judge.get('model')}, "
        f"prompt {judge.get('prompt_version')})"
    ]
    for key in ("judge_score", "judge_score_strict"):
        m = summary.get("metrics", {}).get(key, {})
        if m.get("mean") is None:
            lines.append(f"  {key:<20} -  (n=0)")
        else:
            lines.append(
                f"  {key:<20} {m['mean']:.2f}  [{m['ci_low']:.2f}, {m['ci_high']:.2f}]  n={m['n']}"
            )
    items = judge.get("items", {})
    lines.append(
        f"  items: {items.get('judged', 0)} judged ({items.get('cached', 0)} from cache), "
        f"{items.get('no_response', 0)} without a response, {items.get('missing', 0)} missing"
    )
    lines += [f"  missing {m['item_id']}: {m['reason']}" for m in judge.get("missing", [])]
    return "\n".join(lines)
