"""Plain-text result tables for the terminal."""

from __future__ import annotations

from typing import Any

#: The anchor's published v1 columns, then ours. (task, metric key, header). A missing metric or
#: suite shows as "-". The judge score comes with the judges; FDB-rule figures are comparable with
#: the anchor's table only up to the ASR backend, which every summary names.
LEADERBOARD_COLUMNS: list[tuple[str, str, str]] = [
    ("pause_handling", "tor_fdb", "pause TOR"),
    ("backchannel", "tor", "bc TOR"),
    ("backchannel", "frequency_fdb", "bc freq"),
    ("backchannel", "jsd_fdb", "JSD"),
    ("turn_taking", "tor_fdb", "turn TOR"),
    ("turn_taking", "latency_fdb_s", "turn lat s"),
    ("user_interruption", "tor_fdb", "int TOR"),
    ("user_interruption", "judge_score", "judge 0-5"),
    ("user_interruption", "latency_fdb_s", "int lat s"),
    # ours
    ("pause_handling", "tor_window", "pause TOR win"),
    ("turn_taking", "latency_vad_s", "turn lat VAD"),
    ("backchannel", "frequency", "bc freq ours"),
    ("backchannel", "js_divergence", "bc JS div"),
    ("user_interruption", "stop_latency_s", "stop lat s"),
]


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
    return "\n".join(lines)


def format_leaderboard(summaries: list[dict[str, Any]]) -> str:
    """One row per model, the anchor's columns then ours, from per-suite summaries."""
    by_model: dict[str, dict[str, dict[str, Any]]] = {}
    for s in summaries:
        by_model.setdefault(s["model"], {})[s.get("task", s["suite"])] = s["metrics"]
    headers = [h for _, _, h in LEADERBOARD_COLUMNS]
    width = max(len(h) for h in headers)
    lines = [f"{'model':<28} " + " ".join(f"{h:>{width}}" for h in headers)]
    for model, tasks in by_model.items():
        cells = []
        for task, key, _ in LEADERBOARD_COLUMNS:
            m = tasks.get(task, {}).get(key)
            cells.append(f"{_fmt(None if m is None else m['mean']):>{width}}")
        lines.append(f"{model[:28]:<28} " + " ".join(cells))
    return "\n".join(lines)
