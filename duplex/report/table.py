"""Plain-text result tables for the terminal.

The leaderboard's columns are the tasks' (:meth:`duplex.metrics.tasks.Task.columns`): the
anchor's published figures first, in its task order, then ours. A missing metric or suite shows
as "-". FDB-rule figures are comparable with the anchor's table only up to the ASR backend,
which every summary names.
"""

from __future__ import annotations

from typing import Any

from duplex.metrics.tasks import all_tasks, leaderboard_columns


def suite_columns() -> list[tuple[str, str, str]]:
    """(task, metric key, header) per leaderboard column, from the registered tasks."""
    return [(task, m.key, str(m.column)) for task, m in leaderboard_columns(all_tasks())]


def pooled(figures: list[dict[str, Any]]) -> dict[str, Any] | None:
    """One leaderboard cell from a task's figure in several suites (the overlap task has four):
    the item-weighted mean over the suites that have it, without an interval (the items are not
    at hand to resample); a single suite's figure as it is."""
    have = [m for m in figures if m and m.get("mean") is not None and m.get("n")]
    if len(have) <= 1:
        return have[0] if have else None
    n = sum(int(m["n"]) for m in have)
    mean = sum(float(m["mean"]) * int(m["n"]) for m in have) / n
    return {"mean": mean, "ci_low": None, "ci_high": None, "n": n, "suites": len(have)}


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _doc(summary: Any) -> dict[str, Any]:
    """A summary as its JSON object, whether typed (:class:`~duplex.report.documents.Summary`)
    or already read as JSON."""
    if hasattr(summary, "model_dump"):
        out: dict[str, Any] = summary.model_dump(mode="json")
        return out
    return dict(summary)


def format_summary(summary: Any) -> str:
    """Headline metrics first (with their direction), then every other metric."""
    summary = _doc(summary)
    items = summary["items"]
    lines = [
        f"{summary['suite']} v{summary['suite_version']} | model {summary['model']} | "
        f"clock {summary['clock']} | VAD {summary['backends']['vad']} | "
        f"ASR {summary['backends']['asr']}",
        f"items: {items['ok']} scored, {items['failed']} failed, {items['planned']} planned"
        + ("" if summary["complete"] else " (incomplete: --resume finishes it)"),
        "",
    ]
    metrics = summary["metrics"]
    headline = [h for h in summary["headline"] if h["key"] in metrics]
    rest = sorted(k for k in metrics if k not in {h["key"] for h in headline})
    rows = [(h["key"], f"{h['label']} ({h['better']} is better)") for h in headline]
    rows += [(k, k) for k in rest]
    w = max([len(label) for _, label in rows] + [6])
    lines.append(f"{'metric':<{w}} {'mean':>7}  {'95% CI':>17}  {'n':>4}")
    for i, (key, label) in enumerate(rows):
        if i == len(headline) and headline:
            lines.append("")
        m = metrics[key]
        ci = f"[{_fmt(m['ci_low'])}, {_fmt(m['ci_high'])}]"
        lines.append(f"{label:<{w}} {_fmt(m['mean']):>7}  {ci:>17}  {m['n']:>4}")
    for f in summary.get("failures", [])[:10]:
        lines.append(f"failed {f['item_id']}: {f['reason']}")
    lines += [f"warning: {w}" for w in summary.get("warnings", [])]
    return "\n".join(lines)


def format_leaderboard(summaries: list[Any]) -> str:
    """One row per model, the anchor's columns then ours (as the tasks declare them), from
    per-suite summaries; a task scored on several suites is pooled (:func:`pooled`)."""
    by_model: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for s in map(_doc, summaries):
        by_model.setdefault(s["model"], {}).setdefault(s.get("task", s["suite"]), []).append(
            s["metrics"]
        )
    columns = suite_columns()
    headers = [h for _, _, h in columns]
    width = max(len(h) for h in headers)
    lines = [f"{'model':<28} " + " ".join(f"{h:>{width}}" for h in headers)]
    for model, tasks in by_model.items():
        cells = []
        for task, key, _ in columns:
            m = pooled([metrics.get(key) or {} for metrics in tasks.get(task, [])])
            cells.append(f"{_fmt(None if m is None else m['mean']):>{width}}")
        lines.append(f"{model[:28]:<28} " + " ".join(cells))
    return "\n".join(lines)
