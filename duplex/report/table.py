"""Plain-text result tables for the terminal."""

from __future__ import annotations

from typing import Any


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def format_summary(summary: dict[str, Any]) -> str:
    """Headline metrics first (with their direction), then every other metric."""
    items = summary["items"]
    lines = [
        f"{summary['suite']} v{summary['suite_version']} | model {summary['model']} | "
        f"clock {summary['clock']} | VAD {summary['backends']['vad']} | "
        f"ASR {summary['backends']['asr']}",
        f"items: {items['ok']} scored, {items['failed']} failed, {items['planned']} planned"
        + ("" if summary["complete"] else " (incomplete: --resume finishes it)"),
        "",
        f"{'metric':<34} {'mean':>7}  {'95% CI':>17}  {'n':>4}",
    ]
    metrics = summary["metrics"]
    headline = {h["key"]: h for h in summary["headline"]}
    order = [k for k in headline if k in metrics] + sorted(k for k in metrics if k not in headline)
    for key in order:
        m = metrics[key]
        label = (
            headline[key]["label"] + f" ({headline[key]['better']} better)"
            if key in headline
            else key
        )
        ci = f"[{_fmt(m['ci_low'])}, {_fmt(m['ci_high'])}]"
        lines.append(f"{label:<34} {_fmt(m['mean']):>7}  {ci:>17}  {m['n']:>4}")
        if key == order[len([k for k in headline if k in metrics]) - 1] and len(order) > len(
            headline
        ):
            lines.append("")
    for f in summary.get("failures", [])[:10]:
        lines.append(f"failed {f['item_id']}: {f['reason']}")
    return "\n".join(lines)
