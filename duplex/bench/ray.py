"""Benchmark: a lock-step suite through Ray with 1 and 2 workers (``duplex-bench bench ray``).

The model is CPU-bound by construction: ``python:duplex.bench.ray:make_busy:ms=M`` is the oracle
instrument (it speaks ``latency`` s after each turn end, so results are known) that spends ``M``
ms of its own thread's CPU time on every 80 ms step. A fixed amount of CPU work per step, rather
than a sleep or a real network, is what makes the figure about the executor: two workers on two
cores can only finish sooner if the work truly runs in parallel, and the result does not depend
on the model's own threading (the tiny Moshi model would measure torch's thread pool as much as
Ray). Scoring (VAD, Whisper on the model's speech) runs on the workers too, as in a real run.

Each configuration runs the first ``items`` items of ``suite`` (default 40 of pause_handling,
rendered before timing) ``repeats`` times on one local Ray cluster started beforehand; the wall
time covers the whole ``run_suite`` (actors started, the model loaded in each, every item run,
scored, written and appended by the driver). Printed: medians, the speedup of 2 workers over 1
(target >= 1.5x) and whether both gave the same results (statuses and transcripts equal,
metrics within 0.05 s: the step's measured compute time is on the timeline), with the load
average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from duplex.audio import Samples
from duplex.bench.base import Benchmark, load_average
from duplex.models.base import LockstepModel, LockstepSession, SessionInfo, StepOutput
from duplex.models.registry import load_model

TARGET_SPEEDUP = 1.5
#: metrics of the two configurations may differ by the jitter of measured compute time
TOLERANCE = 0.05


def burn(seconds: float) -> None:
    """Spend ``seconds`` of this thread's CPU time (not wall time: a busy machine only delays)."""
    end = time.thread_time() + seconds
    x = 0
    while time.thread_time() < end:
        for i in range(200):
            x ^= i * i


class _BusySession(LockstepSession):
    def __init__(self, inner: LockstepSession, seconds: float) -> None:
        self.inner, self.seconds = inner, seconds

    def step(self, frame: Samples) -> StepOutput:
        burn(self.seconds)
        return self.inner.step(frame)

    def close(self) -> None:
        self.inner.close()


class BusyModel(LockstepModel):
    """The oracle, plus a fixed CPU cost per step."""

    needs_annotations = True

    def __init__(self, ms: float, oracle: str) -> None:
        inner = load_model(oracle)
        assert isinstance(inner, LockstepModel)
        self.inner: LockstepModel = inner
        self.seconds = ms / 1000.0
        self.spec = f"busy:ms={ms:g}"

    def open(self, info: SessionInfo) -> LockstepSession:
        return _BusySession(self.inner.open(info), self.seconds)

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "cpu_ms_per_step": self.seconds * 1000,
            "oracle": self.inner.spec,
        }

    def close(self) -> None:
        self.inner.close()


def make_busy(arg: str | None = None) -> BusyModel:
    """``ms=M[,latency=L]``: M ms of CPU per step (default 10), the oracle's latency (0.6 s)."""
    opts = dict(p.split("=", 1) for p in (arg or "").split(",") if p)
    unknown = set(opts) - {"ms", "latency"}
    if unknown:
        raise ValueError(f"unknown parameter(s) {sorted(unknown)}; busy takes ms, latency")
    return BusyModel(float(opts.get("ms", 10)), f"oracle:latency={opts.get('latency', '0.6')}")


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Where two runs' rows differ: status, transcript, or a metric by more than TOLERANCE."""
    out = [f"{i}: only in one run" for i in sorted(set(a) ^ set(b))]
    for item_id in sorted(set(a) & set(b)):
        ra, rb = a[item_id], b[item_id]
        if (ra.status, ra.transcript) != (rb.status, rb.transcript):
            out.append(f"{item_id}: status or transcript")
        for k in sorted(set(ra.metrics) | set(rb.metrics)):
            va, vb = ra.metrics.get(k), rb.metrics.get(k)
            if (va is None) != (vb is None) or (
                va is not None and vb is not None and abs(va - vb) > TOLERANCE
            ):
                out.append(f"{item_id}: {k} {va} vs {vb}")
    return out


def run(opts: argparse.Namespace) -> dict[str, Any]:
    import ray

    from duplex.executors.ray import RayExecutor, RayOptions
    from duplex.report.store import RunStore
    from duplex.runner import RunConfig, open_suite, run_suite

    suite, _task = open_suite(opts.suite)
    ids = suite.item_ids()[: opts.items]
    for item_id in ids:  # rendered (and cached) before any timing
        suite.render(item_id)
    model = f"python:duplex.bench.ray:make_busy:ms={opts.ms:g}"
    ray.init(num_cpus=opts.cpus, include_dashboard=False, log_to_driver=False)
    walls: dict[int, list[float]] = {}
    rows: dict[int, dict[str, Any]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
            for rep in range(opts.repeats):
                for workers in opts.workers:
                    out = Path(tmp) / f"w{workers}-r{rep}"
                    config = RunConfig(suite=opts.suite, model=model, limit=opts.items, out=out)
                    executor = RayExecutor(RayOptions(workers=workers, cpus=1))
                    t = time.perf_counter()
                    run_suite(config, executor=executor)
                    walls.setdefault(workers, []).append(time.perf_counter() - t)
                    rows.setdefault(workers, RunStore(out).read_results())
    finally:
        ray.shutdown()
    med = {w: statistics.median(v) for w, v in walls.items()}
    one, two = min(med), max(med)
    return {
        "suite": opts.suite,
        "items": len(ids),
        "cpu_ms_per_step": opts.ms,
        "repeats": opts.repeats,
        "wall_s": {str(w): v for w, v in walls.items()},
        "median_s": {str(w): v for w, v in med.items()},
        "items_per_min": {str(w): len(ids) / v * 60 for w, v in med.items()},
        "speedup": med[one] / med[two] if two != one else 1.0,
        "differences": [d for w in rows for d in differences(rows[one], rows[w])],
        "target_speedup": TARGET_SPEEDUP,
        "cpus": os.cpu_count(),
        "load_average": load_average(),
    }


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--suite", default="pause_handling")
    p.add_argument("--items", type=int, default=40)
    p.add_argument("--ms", type=float, default=10.0, help="CPU ms per 80 ms step (default 10)")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray cluster")


def format_figures(f: dict[str, Any]) -> str:
    lines = [
        f"{f['items']} items of {f['suite']}, {f['cpu_ms_per_step']:g} ms CPU per step, "
        f"median of {f['repeats']} (load average {f['load_average']}, {f['cpus']} CPUs)",
    ]
    for w, v in f["median_s"].items():
        runs = ", ".join(f"{x:.1f}" for x in f["wall_s"][w])
        lines.append(
            f"  {w} worker(s): {v:7.1f} s  ({f['items_per_min'][w]:.1f} items/min; runs {runs})"
        )
    lines.append(
        f"  speedup {f['speedup']:.2f}x (target >= {f['target_speedup']:g}x); "
        f"same results: {'yes' if not f['differences'] else 'NO'}"
    )
    lines += [f"  differs: {d}" for d in f["differences"][:10]]
    return "\n".join(lines)


BENCH = Benchmark(
    name="ray",
    summary="a CPU-bound lock-step suite through Ray: 1 vs 2 workers (median, speedup)",
    arguments=arguments,
    run=run,
    format=format_figures,
)
