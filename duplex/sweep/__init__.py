"""Checkpoint sweeps: every suite (and the probes) per checkpoint of a training run, the metrics
against the training step, regressions between consecutive checkpoints (``duplex-bench sweep``).

:mod:`duplex.sweep.run` runs the checkpoints, :mod:`duplex.sweep.table` writes ``sweep.csv`` and
finds the regressions, :mod:`duplex.sweep.page` writes ``sweep.html``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from duplex.runner import Executor, OnItem
from duplex.sweep.page import write_page
from duplex.sweep.run import StepRuns, SweepConfig, run_sweep
from duplex.sweep.table import SweepStep, Transition, load_steps, transitions, write_csv

__all__ = ["SweepConfig", "SweepResult", "sweep"]


@dataclass
class SweepResult:
    folder: Path
    steps: list[SweepStep]
    transitions: list[Transition]
    csv: Path
    page: Path
    #: step -> the suites whose items ran in this invocation (the rest were complete)
    ran: dict[int, list[str]]


def sweep(
    config: SweepConfig,
    *,
    executor: Executor | None = None,
    on_item: OnItem | None = None,
    on_step: Callable[[StepRuns], None] | None = None,
    judge: Callable[[Path], None] | None = None,
) -> SweepResult:
    """Run (or finish) the sweep, then write ``sweep.csv`` and ``sweep.html`` from every run."""
    root, ran = run_sweep(config, executor=executor, on_item=on_item, on_step=on_step, judge=judge)
    steps = load_steps(ran)
    found = transitions(steps, seed=config.seed)
    csv = write_csv(steps, root / "sweep.csv")
    page = write_page(steps, found, root / "sweep.html", f"duplex-bench sweep: {config.model}")
    return SweepResult(root, steps, found, csv, page, {s.checkpoint.step: s.ran for s in ran})
