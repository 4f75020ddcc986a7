"""``duplex-bench judge RUN``: judge a run folder and add the judge's figures to its summary.

Which judging a run gets is its task's (:data:`RUN_JUDGES`): a user_interruption run's responses
are rated (:mod:`duplex.judges.interruption`), an overlap run's pairs are labelled
(:mod:`duplex.report.overlap_pairs`), a conversation run's conversations are judged
(:mod:`duplex.report.conversation`). ``run`` calls the same after its items.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

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
from duplex.registry import Registry
from duplex.report.documents import FORMAT, to_json, upgrade_summary
from duplex.report.store import RunStore
from duplex.writing import append_line


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
    if summary.get("task") != TASK:
        raise ConfigError(f"{folder}: task is {summary.get('task')!r}; judges rate {TASK!r} runs")
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
    return save_judged_summary(store, summary)


def save_judged_summary(store: RunStore, summary: dict[str, Any]) -> dict[str, Any]:
    """Write ``summary`` with what a judging added; returns it as written. A summary of an older
    format is updated as it is: we do not invent what it lacks."""
    if summary.get("format", 1) >= FORMAT:
        typed = upgrade_summary(summary, str(store.summary_path))
        store.write_summary(typed)
        return to_json(typed)
    store.write_json(store.summary_path, summary)
    return summary


def format_judged(summary: dict[str, Any]) -> str:
    """A few lines for the terminal."""
    items = summary.get("judge", {}).get("items", {})
    counts = (
        f"items: {items.get('judged', 0)} judged ({items.get('cached', 0)} from cache), "
        f"{items.get('no_response', 0)} without a response, {items.get('missing', 0)} missing"
    )
    return format_judging(summary, ("judge_score", "judge_score_strict"), counts)


def format_judging(summary: dict[str, Any], keys: tuple[str, ...], counts: str) -> str:
    """The judge, each metric of ``keys`` with its interval, the ``counts`` line and what is
    missing: how every run judging is said on the terminal."""
    judge = summary.get("judge") or {}
    lines = [
        f"judge {judge.get('spec')} (model {judge.get('model')}, "
        f"prompt {judge.get('prompt_version')})"
    ]
    width = max(len(k) for k in keys)
    for key in keys:
        m = summary.get("metrics", {}).get(key, {})
        if m.get("mean") is None:
            lines.append(f"  {key:<{width}} -  (n=0)")
        else:
            lines.append(
                f"  {key:<{width}} {m['mean']:.2f}  [{m['ci_low']:.2f}, {m['ci_high']:.2f}]  "
                f"n={m['n']}"
            )
    lines.append(f"  {counts}")
    lines += [f"  missing {m['item_id']}: {m['reason']}" for m in judge.get("missing", [])]
    return "\n".join(lines)


class RunJudge(NamedTuple):
    """How a task's run folders are judged: ``judge(folder, spec, concurrency)`` returns the
    updated summary, ``format`` says it in a few lines. ``spec`` None (``--judge none``): only
    what needs no judge, when ``always`` (an overlap run's prosody shifts); else nothing."""

    judge: Callable[[Path, str | None, int | None], dict[str, Any]]
    format: Callable[[dict[str, Any]], str]
    always: bool = False


def _judge_interruptions(folder: Path, spec: str | None, concurrency: int | None) -> dict[str, Any]:
    if spec is None:
        raise ConfigError("user_interruption runs need a judge spec")
    return judge_run(folder, spec, concurrency=concurrency)


INTERRUPTION = RunJudge(_judge_interruptions, format_judged)

#: Task name -> its run-folder judging.
RUN_JUDGES: Registry[RunJudge] = Registry("run judge")
RUN_JUDGES.add(
    "user_interruption", "duplex.report.judged:INTERRUPTION", "rates responses to interruptions"
)
RUN_JUDGES.add(
    "conversation",
    "duplex.report.conversation:JUDGING",
    "judges each exchange (fluency, instruction following) and each conversation's task",
)
RUN_JUDGES.add(
    "overlap",
    "duplex.report.overlap_pairs:PAIRS",
    "labels each clean/overlapped pair (respond, resume, uncertain, unknown); prosody shifts",
)


def judge_any_run(folder: Path | str, spec: str | None, concurrency: int | None = None) -> str:
    """Judge a run folder with its task's judging; the lines to print."""
    folder = Path(folder)
    store = RunStore(folder)
    task = store.read_json(store.summary_path).get("task")
    if task not in RUN_JUDGES:
        raise ConfigError(
            f"{folder}: task is {task!r}; judges read runs of {', '.join(RUN_JUDGES.names())}"
        )
    judging = RUN_JUDGES.get(str(task))
    return judging.format(judging.judge(folder, spec, concurrency))
