"""Plain-text table of a probe run's summary rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _fig(est: dict[str, Any] | None, *, pct: bool = True, signed: bool = False) -> str:
    if not est or est.get("value") is None:
        return "-"
    scale = 100.0 if pct else 1.0
    sign = "+" if signed else ""
    v, lo, hi = (est[k] * scale for k in ("value", "ci_low", "ci_high"))
    digits = 1 if pct else 3
    return f"{v:{sign}.{digits}f} [{lo:{sign}.{digits}f},{hi:{sign}.{digits}f}]"


def format_table(
    rows: Sequence[dict[str, Any]],
    timing: dict[str, Any] | None = None,
    failures: Sequence[dict[str, str]] = (),
) -> str:
    """Accuracy (%) under both rules, gaps to t2t (points) and NLL with 95% intervals."""
    header = (
        f"{'set':<10} {'condition':<13} {'n':>4}  {'acc mean-NLL %':<19} {'acc sum-LL %':<19} "
        f"{'gap mean (pts)':<20} {'gap sum (pts)':<20} {'dNLL':<22} {'WER':>5}"
    )
    lines = [header, "-" * len(header)]
    last_set = None
    for r in rows:
        if last_set is not None and r["set"] != last_set:
            lines.append("")
        last_set = r["set"]
        wer = r.get("context_wer")
        lines.append(
            f"{r['set']:<10} {r['condition']:<13} {r['items']:>4}  "
            f"{_fig(r['acc_mean']):<19} {_fig(r['acc_sum']):<19} "
            f"{_fig(r.get('gap_mean'), signed=True):<20} {_fig(r.get('gap_sum'), signed=True):<20} "
            f"{_fig(r.get('nll_shift'), pct=False, signed=True):<22} "
            f"{'-' if wer is None else f'{100 * wer:.1f}':>5}"
        )
    lines.append("")
    lines.append(
        "acc: pairwise accuracy (plausible continuation strictly better), 95% paired bootstrap "
        "over items; gap = acc(t2t) - acc(condition); dNLL = NLL(condition) - NLL(t2t) of the "
        "plausible continuation; WER (%) of the context the cascade heard"
    )
    if timing:
        speed = ", ".join(
            f"{name} {t['items_per_minute']:.0f}/min"
            + (f" ({t['cpu_seconds'] / t['items']:.2f} cpu-s/item)" if t.get("cpu_seconds") else "")
            for name, t in timing.items()
            if t.get("items_per_minute") is not None and t.get("items")
        )
        lines.append(
            f"throughput (wall; speaking the contexts excluded, cached transcripts count): {speed}"
        )
    if failures:
        items = {(f["set"], f["id"]) for f in failures}
        lines.append(
            f"failed: the model failed on {len(items)} items ({len(failures)} item-conditions), "
            f"left out of every condition (reasons in the results); first: "
            f"{failures[0]['reason']}"
        )
    return "\n".join(lines)
