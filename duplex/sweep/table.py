"""A sweep's figures: ``sweep.csv`` and the regressions between consecutive checkpoints.

``sweep.csv`` has one row per checkpoint x task x metric: ``step, checkpoint, task, metric, mean,
ci_low, ci_high, n`` (the run's summary: mean over items with its 95 % bootstrap interval), rows in
step, task and metric order. ``task`` is the run's task (``probe`` for the probes); where two swept
suites share a task it is ``task (suite)``.

Regressions are :func:`duplex.report.compare.compare_runs` of each checkpoint against the one
before it, per task: item-paired differences, a paired bootstrap interval and a sign-flip p-value;
a metric is flagged when the change is significant and worse by the metric's direction, and
marked *gated* when ``compare`` would fail on it (a headline metric).
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from duplex.errors import ResultsError
from duplex.report.compare import ALPHA, MetricComparison, compare_runs
from duplex.report.rundata import RunData
from duplex.report.runs import load_run
from duplex.sweep.run import StepRuns

CSV_FIELDS = ("step", "checkpoint", "task", "metric", "mean", "ci_low", "ci_high", "n")


@dataclass
class SweepStep:
    """One checkpoint's runs as read back: task label -> run."""

    step: int
    checkpoint: Path
    runs: dict[str, RunData]


def load_steps(steps: Sequence[StepRuns]) -> list[SweepStep]:
    """Every run folder of the sweep read back (a missing folder is left out)."""
    found: list[tuple[StepRuns, list[RunData]]] = []
    for s in steps:
        folders = [*s.suites.values(), *([s.probe] if s.probe is not None else [])]
        found.append((s, [load_run(f) for f in folders if f.is_dir()]))
    per_task: dict[str, set[str]] = {}
    for _s, runs in found:
        for r in runs:
            per_task.setdefault(r.task, set()).add(r.suite)
    out = []
    for s, runs in found:
        labelled = {_label(r, per_task): r for r in runs}
        out.append(SweepStep(s.checkpoint.step, s.checkpoint.path, labelled))
    return out


def _label(run: RunData, per_task: dict[str, set[str]]) -> str:
    return run.task if len(per_task[run.task]) == 1 else f"{run.task} ({run.suite})"


def csv_rows(steps: Sequence[SweepStep]) -> list[dict[str, object]]:
    rows = []
    for s in steps:
        for task in sorted(s.runs):
            metrics = s.runs[task].summary.get("metrics", {})
            for key in sorted(metrics):
                m = metrics[key] or {}
                rows.append(
                    {
                        "step": s.step,
                        "checkpoint": str(s.checkpoint),
                        "task": task,
                        "metric": key,
                        "mean": m.get("mean"),
                        "ci_low": m.get("ci_low"),
                        "ci_high": m.get("ci_high"),
                        "n": m.get("n"),
                    }
                )
    return rows


def write_csv(steps: Sequence[SweepStep], path: Path) -> Path:
    """``sweep.csv``, written whole and then moved into place."""
    tmp = path.with_suffix(".csv.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
            writer.writeheader()
            writer.writerows(csv_rows(steps))
        tmp.replace(path)
    except OSError as exc:
        raise ResultsError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


@dataclass
class Transition:
    """One task from one checkpoint to the next."""

    task: str
    base_step: int
    step: int
    #: metrics significantly worse (by their direction) at ``step``
    worse: list[MetricComparison] = field(default_factory=list)
    #: items scored at ``base_step`` and failed at ``step``
    new_failures: list[str] = field(default_factory=list)
    #: why the two runs were not compared (different conditions, no shared item)
    skipped: str | None = None

    @property
    def flagged(self) -> bool:
        return bool(self.worse or self.new_failures)


def transitions(
    steps: Sequence[SweepStep], *, alpha: float = ALPHA, seed: int = 0
) -> list[Transition]:
    """Each task's consecutive checkpoints compared with ``compare``'s statistics."""
    out = []
    for prev, cur in itertools.pairwise(steps):
        for task in sorted(set(prev.runs) & set(cur.runs)):
            t = Transition(task, prev.step, cur.step)
            try:
                c = compare_runs(prev.runs[task], cur.runs[task], alpha=alpha, seed=seed)
            except ResultsError as exc:
                t.skipped = str(exc)
            else:
                t.worse = [m for m in c.metrics if m.verdict == "worse"]
                t.new_failures = c.new_failures
            out.append(t)
    return out


def format_transitions(found: Sequence[Transition]) -> str:
    """The terminal summary: one line per flagged metric, failure or skipped comparison."""
    lines = []
    for t in found:
        where = f"{t.task} step {t.base_step} -> {t.step}"
        if t.skipped:
            lines.append(f"{where}: not compared ({t.skipped})")
        for m in t.worse:
            gate = " [gated]" if m.regression else ""
            lines.append(
                f"{where}: {m.key} worse{gate}: {m.base_mean:.4g} -> {m.candidate_mean:.4g} "
                f"(diff {m.diff:+.4g}, 95% CI [{m.ci_low:.4g}, {m.ci_high:.4g}], "
                f"p={m.p_value:.3g}, n={m.n})"
            )
        if t.new_failures:
            lines.append(f"{where}: {len(t.new_failures)} newly failed item(s)")
    return "\n".join(lines) or "no significant regression between consecutive checkpoints"
