"""Benchmark: the in-process Moshi model stepped one item at a time and in batches.

``python -m duplex.bench.moshi [--batch 8] [--items 16] [--repeats 3] [--checkpoint DIR]``

Items are the first ``items`` of a suite (default turn_taking), rendered before timing starts.
Batch 1 is what ``run`` does (:func:`~duplex.simulator.session.run_lockstep`, item after item);
batch N is what ``run --batch N`` does (:func:`~duplex.simulator.batch.run_lockstep_batch`). Both
use the measured stopwatch, so compute goes on the timelines as in a real run; scoring is left out.

Figures, medians over ``repeats``:

* items per minute at batch 1 and batch N, and their ratio (target: batch 8 at least 4x batch 1);
* the harness's own time per frame outside the model's forward (Mimi encode, LM step, Mimi
  decode: :attr:`MoshiModel.forward_s`) as a share of the step at batch 1 (target at most 5 %):
  the user playback, recorder, timeline, batch assembly and token decoding.

Without ``--checkpoint`` the tiny random checkpoint (:mod:`duplex.models.moshi_tiny`) is written
to a temporary folder. Torch runs ``threads`` threads (default 1: on a 2-core machine the tiny
model is bound by per-step overhead, and a second thread only adds contention).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from duplex.bench.base import Benchmark
from duplex.scenarios import load_suite
from duplex.scenarios.base import ScenarioItem
from duplex.simulator.batch import run_lockstep_batch
from duplex.simulator.session import SessionOptions, run_lockstep
from duplex.timeline import measured

TARGET_SPEEDUP = 4.0
TARGET_HARNESS_SHARE = 0.05


def _items(suite: str, n: int) -> list[ScenarioItem]:
    s = load_suite(suite)
    return [s.render(i) for i in s.item_ids()[:n]]


def _once(model: Any, items: list[ScenarioItem], batch: int) -> dict[str, float]:
    opts = SessionOptions(stopwatch=measured())
    forward0, steps0 = model.forward_s, model.steps
    t = time.perf_counter()
    if batch == 1:
        for it in items:
            run_lockstep(model, it, opts)
    else:
        run_lockstep_batch(model, items, opts, batch)
    wall = time.perf_counter() - t
    forward, steps = model.forward_s - forward0, model.steps - steps0
    return {
        "wall_s": wall,
        "items_per_min": len(items) / wall * 60.0,
        "audio_x_realtime": sum(it.duration for it in items) / wall,
        "steps": float(steps),
        "step_ms": wall / steps * 1000.0,
        "forward_ms": forward / steps * 1000.0,
        "harness_share": (wall - forward) / wall,
    }


def run(
    *,
    checkpoint: str | Path | None = None,
    suite: str = "turn_taking",
    items: int = 16,
    batch: int = 8,
    repeats: int = 3,
    threads: int = 1,
) -> dict[str, Any]:
    from duplex.models.registry import load_model

    with tempfile.TemporaryDirectory(prefix="duplex-moshi-bench-") as tmp:
        if checkpoint is None:
            from duplex.models.moshi_tiny import write

            checkpoint = write(Path(tmp) / "tiny")
        spec = f"moshi:dir={checkpoint},threads={threads},batch={max(batch, 1)}"
        rendered = _items(suite, items)
        model: Any = load_model(spec)
        try:
            model.open_batch(batch).close()  # the first step of a batch size is slow: warm it
            runs: dict[int, list[dict[str, float]]] = {1: [], batch: []}
            for _ in range(repeats):
                for b in runs:
                    runs[b].append(_once(model, rendered, b))
            describe = model.describe()
        finally:
            model.close()
    med = {b: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for b, rs in runs.items()}
    return {
        "spec": spec.replace(str(checkpoint), "CHECKPOINT"),
        "checkpoint": str(checkpoint),
        "lm_parameters": describe["lm_parameters"],
        "suite": suite,
        "items": items,
        "audio_s": sum(it.duration for it in rendered),
        "batch": batch,
        "repeats": repeats,
        "threads": threads,
        "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "loadavg": os.getloadavg(),
        "batch_1": med[1],
        f"batch_{batch}": med[batch],
        "speedup": med[batch]["items_per_min"] / med[1]["items_per_min"],
        "all_runs": {str(b): rs for b, rs in runs.items()},
    }


def format(result: dict[str, Any]) -> str:
    b = result["batch"]
    one, many = result["batch_1"], result[f"batch_{b}"]
    load = " ".join(f"{x:.2f}" for x in result["loadavg"])
    lines = [
        f"moshi in process: {result['lm_parameters'] / 1e6:.1f}M-parameter LM, "
        f"{result['items']} {result['suite']} items ({result['audio_s']:.0f} s of audio), "
        f"{result['threads']} torch thread(s), {result['cpus']} CPUs, load {load}; "
        f"median of {result['repeats']}",
        f"  batch 1: {one['items_per_min']:6.1f} items/min  ({one['audio_x_realtime']:.2f}x real "
        f"time, step {one['step_ms']:.1f} ms, forward {one['forward_ms']:.1f} ms)",
        f"  batch {b}: {many['items_per_min']:6.1f} items/min  ({many['audio_x_realtime']:.2f}x "
        f"real time, step {many['step_ms']:.1f} ms, forward {many['forward_ms']:.1f} ms)",
        f"  batch {b} / batch 1: {result['speedup']:.2f}x   (target >= {TARGET_SPEEDUP:.0f}x at "
        "batch 8)",
        f"  harness time outside the forward at batch 1: {one['harness_share'] * 100:.1f} % of "
        f"the step ({one['step_ms'] - one['forward_ms']:.2f} ms a frame)   (target <= "
        f"{TARGET_HARNESS_SHARE * 100:.0f} %)",
    ]
    return "\n".join(lines)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", default=None, help="a moshi:dir= folder (default: tiny)")
    parser.add_argument("--suite", default="turn_taking")
    parser.add_argument("--items", type=int, default=16)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)


BENCH = Benchmark(
    "moshi",
    "the moshi: adapter with tiny random weights: items per minute at batch 1 and N",
    _arguments,
    lambda a: run(
        checkpoint=a.checkpoint,
        suite=a.suite,
        items=a.items,
        batch=a.batch,
        repeats=a.repeats,
        threads=a.threads,
    ),
    format,
)
