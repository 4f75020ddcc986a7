"""Probe results (``probe.json`` from ``duplex-bench probe``) read as a run, so that checkpoints
are compared and reported like suite runs.

Per item (``SET/ID``) the numbers are recomputed from the stored choice scores, with the probe's
rules: ``acc_mean`` (mean token NLL, plausible strictly lower) and ``acc_sum`` (summed
log-likelihood, plausible strictly higher) as the item's fraction of correct comparisons; ``nll``
the plausible continuation's mean token NLL; ``gap_RULE`` = acc(t2t) - acc(condition) on the
item. Keys are ``SET/CONDITION/FIGURE``, and ``all/CONDITION/FIGURE`` over every set (a mean of
per-item fractions, which equals the pooled ratio when a set's items have the same number of
choices). The summary keeps the probe's own pooled figures and intervals where it has them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from duplex.errors import ResultsError
from duplex.metrics.stats import number, summarize
from duplex.report.rundata import RunData

TASK = "probe"
REFERENCE = "t2t"
RULES = ("mean", "sum")

#: What must agree between two probe runs: the sets (file hashes), the conditions and how they
#: were rendered, the scoring rules and the item selection rule.
IDENTITY = (
    "format",
    "config.suite",
    "config.task",
    "provenance.sets",
    "provenance.conditions",
    "provenance.render_version",
    "provenance.render_pad_s",
    "provenance.tts",
    "provenance.rules",
    "provenance.limit_rule",
)
NOTED = ("config.model", "config.seed", "config.limit", "provenance.environment.packages")
DIRECTIONS = {"*/acc_*": "higher", "*/gap_*": "lower", "*/nll": "lower"}


def _item_figures(rec: dict[str, Any], where: str) -> dict[str, float]:
    choices = rec.get("choices") or []
    label = rec.get("label")
    if not isinstance(label, int) or not 0 <= label < len(choices) or len(choices) < 2:
        raise ResultsError(f"{where}: item {rec.get('id')!r} has no valid label and choices")
    good = choices[label]
    others = [c for j, c in enumerate(choices) if j != label]
    return {
        "acc_mean": sum(good["mean_nll"] < o["mean_nll"] for o in others) / len(others),
        "acc_sum": sum(good["logprob_sum"] > o["logprob_sum"] for o in others) / len(others),
        "nll": float(good["mean_nll"]),
    }


def _rows(doc: dict[str, Any], where: str) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for rec in doc["items"]:
        key = f"{rec['set']}/{rec['id']}"
        row = rows.setdefault(key, {"item_id": key, "status": "ok", "metrics": {}})
        for fig, v in _item_figures(rec, where).items():
            for scope in (rec["set"], "all"):
                row["metrics"][f"{scope}/{rec['condition']}/{fig}"] = v
    # An item the model failed on under any condition is a failed item, as in a suite run: its
    # other conditions are left out too (the probe's own summary does the same).
    for failure in doc.get("failures") or []:
        key = f"{failure['set']}/{failure['id']}"
        rows[key] = {
            "item_id": key,
            "status": "failed",
            "reason": str(failure.get("reason", "")),
            "metrics": {},
        }
    for row in rows.values():
        m = row["metrics"]
        for key in list(m):
            scope, cond, fig = key.split("/")
            ref = m.get(f"{scope}/{REFERENCE}/{fig}")
            if fig.startswith("acc_") and cond != REFERENCE and ref is not None:
                m[f"{scope}/{cond}/gap_{fig[4:]}"] = ref - m[key]
    return rows


def _summary_metrics(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for row in doc.get("summary") or []:
        base = f"{row['set']}/{row['condition']}"
        figures = {f"acc_{r}": row.get(f"acc_{r}") for r in RULES}
        figures |= {f"gap_{r}": row.get(f"gap_{r}") for r in RULES}
        figures["nll"] = row.get("nll")
        for fig, est in figures.items():
            if isinstance(est, dict) and number(est.get("value")) is not None:
                out[f"{base}/{fig}"] = {
                    "mean": est["value"],
                    "ci_low": est.get("ci_low"),
                    "ci_high": est.get("ci_high"),
                    "n": row.get("items"),
                }
    return out


def load_probe_run(folder: Path) -> RunData | None:
    path = folder / "probe.json"
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text())
        if not isinstance(doc.get("items"), list) or not isinstance(doc.get("summary"), list):
            raise ResultsError(f"{path}: not probe results (no items or summary)")
        rows = _rows(doc, str(path))
    except (OSError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise ResultsError(f"{path}: unreadable probe results ({exc})") from exc
    fmt = str(doc.get("format"))
    cfg = doc.get("config") or {}
    run_doc = {
        "format": doc.get("format"),
        "config": {
            **cfg,
            "suite": "probes",
            "suite_version": fmt,
            "task": TASK,
            "task_version": fmt,
        },
        "provenance": doc.get("provenance") or {},
    }
    failed = sum(r["status"] == "failed" for r in rows.values())
    metrics = _summary_metrics(doc)
    keys = sorted({k for r in rows.values() for k in r["metrics"]} - set(metrics))
    metrics |= summarize([r["metrics"] for r in rows.values()], keys)
    conditions = sorted({k.split("/")[1] for k in metrics if k.startswith("all/")})
    conditions.sort(key=lambda c: c != REFERENCE)
    summary = {
        "suite": "probes",
        "task": TASK,
        "model": cfg.get("model", "?"),
        "items": {"planned": len(rows), "ok": len(rows) - failed, "failed": failed},
        "metrics": metrics,
    }
    headline = [(f"all/{c}/acc_mean", f"accuracy {c} (all sets)", "higher") for c in conditions]
    return RunData(
        folder,
        run_doc,
        summary,
        rows,
        headline=headline,
        kind="probe",
        identity=IDENTITY,
        noted=NOTED,
        pattern_directions=dict(DIRECTIONS),
    )
