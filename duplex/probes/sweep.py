"""Checkpoint sweeps: the probe over every checkpoint a glob matches, against training step.

Each matched path is one checkpoint; its step is parsed from its name (``checkpoint-1200``,
``step_1200``, ``global_step1200``, ``iter-1200``; else the last number in the name). The model
spec is a template with ``{checkpoint}`` (default ``cascade:hf:{checkpoint}``, or
``cascade:gguf:{checkpoint}`` for ``.gguf`` files). Spoken contexts and transcripts are cached, so
after the first checkpoint only the language model runs. Writes ``sweep.csv`` (one row per step,
set and condition), ``sweep.svg`` (accuracy and gap against step; no plotting dependency) and each
checkpoint's ``probe.json`` under ``step-N/``.
"""

from __future__ import annotations

import csv
import gc
import glob
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from duplex.errors import ConfigError
from duplex.probes.run import ALL, REFERENCE, ProbeConfig, ProbeRun, run_probe, write_results
from duplex.probes.svg import Series, line_chart
from duplex.writing import write_text

PLACEHOLDER = "{checkpoint}"
_STEP = re.compile(r"(?:checkpoint|global_step|step|iter|iteration|ckpt)[-_]?(\d+)", re.IGNORECASE)
_NUMBER = re.compile(r"(\d+)")


@dataclass(frozen=True)
class Checkpoint:
    step: int
    path: Path


def parse_step(path: Path) -> int:
    """The training step in a checkpoint's name; ConfigError naming the path if there is none."""
    name = path.name
    match = _STEP.search(name)
    if match:
        return int(match.group(1))
    numbers = _NUMBER.findall(name)
    if numbers:
        return int(numbers[-1])
    raise ConfigError(f"checkpoint {str(path)!r}: no training step in its name")


def find_checkpoints(pattern: str) -> list[Checkpoint]:
    paths = sorted(Path(p) for p in glob.glob(str(Path(pattern).expanduser())))
    if not paths:
        raise ConfigError(f"--checkpoints {pattern!r} matches nothing")
    found = sorted((Checkpoint(parse_step(p), p) for p in paths), key=lambda c: (c.step, c.path))
    steps = [c.step for c in found]
    dupes = sorted({s for s in steps if steps.count(s) > 1})
    if dupes:
        raise ConfigError(f"--checkpoints {pattern!r}: step {dupes[0]} appears more than once")
    return found


def model_for(template: str | None, checkpoint: Path) -> str:
    if template is None:
        kind = "gguf" if checkpoint.suffix == ".gguf" else "hf"
        template = f"cascade:{kind}:{PLACEHOLDER}"
    if PLACEHOLDER not in template:
        raise ConfigError(
            f"with --checkpoints, --model must contain {PLACEHOLDER} "
            f"(e.g. 'cascade:hf:{PLACEHOLDER}')"
        )
    return template.replace(PLACEHOLDER, str(checkpoint))


def run_sweep(
    base: ProbeConfig, pattern: str, out: Path, *, template: str | None = None
) -> list[tuple[Checkpoint, ProbeRun]]:
    """The probe over every checkpoint, in step order; writes CSV, SVG and per-step JSON."""
    checkpoints = find_checkpoints(pattern)
    for c in checkpoints:
        model_for(template, c.path)  # a bad template fails before any model loads
    runs: list[tuple[Checkpoint, ProbeRun]] = []
    for c in checkpoints:
        run = run_probe(replace(base, model=model_for(template, c.path)))
        write_results(run, out / f"step-{c.step}")
        runs.append((c, run))
        write_csv(runs, out / "sweep.csv")  # rewritten each step: an interrupted sweep keeps data
        gc.collect()  # the previous checkpoint's weights
    write_plot(runs, out / "sweep.svg")
    return runs


CSV_FIELDS = (
    "step", "checkpoint", "set", "condition", "items",
    "acc_mean", "acc_mean_low", "acc_mean_high", "acc_sum", "acc_sum_low", "acc_sum_high",
    "gap_mean", "gap_mean_low", "gap_mean_high", "gap_sum", "gap_sum_low", "gap_sum_high",
    "nll", "nll_shift", "nll_shift_low", "nll_shift_high", "context_wer",
)  # fmt: skip


def _flat(step: int, path: Path, row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"step": step, "checkpoint": str(path)}
    for key in ("set", "condition", "items", "context_wer"):
        out[key] = row.get(key)
    for key in ("acc_mean", "acc_sum", "gap_mean", "gap_sum", "nll_shift"):
        est = row.get(key) or {}
        out[key] = est.get("value")
        if f"{key}_low" in CSV_FIELDS:
            out[f"{key}_low"], out[f"{key}_high"] = est.get("ci_low"), est.get("ci_high")
    out["nll"] = (row.get("nll") or {}).get("value")
    return out


def write_csv(runs: Sequence[tuple[Checkpoint, ProbeRun]], path: Path) -> None:
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS)
    writer.writeheader()
    for c, run in runs:
        for row in run.rows:
            writer.writerow(_flat(c.step, c.path, row))
    write_text(path, buf.getvalue(), what="the sweep table")


def write_plot(runs: Sequence[tuple[Checkpoint, ProbeRun]], path: Path) -> None:
    """Two panels: accuracy per condition, and the gap to t2t with its interval, vs step."""
    if not runs:
        return
    rows0 = runs[0][1].rows
    set_name = ALL if any(r["set"] == ALL for r in rows0) else rows0[0]["set"]
    rule = "sum" if rows0[0].get("primary_rule") == "sum" and set_name != ALL else "mean"
    conditions = list(dict.fromkeys(r["condition"] for r in rows0 if r["set"] == set_name))
    acc: list[Series] = []
    gaps: list[Series] = []
    for name in conditions:
        points = []
        gap_points = []
        for c, run in runs:
            rows = (r for r in run.rows if r["set"] == set_name and r["condition"] == name)
            row = next(rows, None)
            if row is None:  # the model failed on every item of the set at this step
                continue
            a = row[f"acc_{rule}"]
            points.append((c.step, 100 * a["value"], 100 * a["ci_low"], 100 * a["ci_high"]))
            g = row.get(f"gap_{rule}")
            if g and g["value"] is not None:
                gap_points.append((c.step, 100 * g["value"], 100 * g["ci_low"], 100 * g["ci_high"]))
        acc.append(Series(name, points))
        if name != REFERENCE and gap_points:
            gaps.append(Series(name, gap_points))
    title = f"{set_name}, rule: {'mean token NLL' if rule == 'mean' else 'summed log-likelihood'}"
    svg = line_chart(
        [
            (f"accuracy (%) - {title}", acc),
            ("gap acc(t2t) - acc(condition), points, 95% paired bootstrap", gaps),
        ],
        x_label="training step",
    )
    write_text(path, svg, what="the sweep plot")
