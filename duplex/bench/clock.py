"""Benchmarks of the session loop itself: real-time pacing accuracy and lock-step speed.

Reported as medians over repeats because the machines are noisy; targets: send jitter p99 <= 2 ms,
end-of-session drift <= 2 ms, lock-step >= 500x real time for a trivial model.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import numpy as np

from duplex.annotations import Annotations
from duplex.audio import SESSION_RATE
from duplex.bench.base import Benchmark
from duplex.models.instruments import make_silent
from duplex.models.registry import parse_spec
from duplex.scenarios.base import ScenarioItem
from duplex.simulator.session import SessionOptions, run_lockstep, run_realtime
from duplex.timeline import no_compute


def _blank_item(seconds: float) -> ScenarioItem:
    rng = np.random.default_rng(0)
    audio = (rng.standard_normal(int(seconds * SESSION_RATE)) * 0.01).astype(np.float32)
    return ScenarioItem("bench", "0", "bench", audio, SESSION_RATE, Annotations(speech=()), "")


def run_clock_bench(seconds: float = 60.0, repeats: int = 3) -> dict[str, Any]:
    item = _blank_item(seconds)
    model = make_silent(parse_spec("silent"))
    model.spec = "silent"
    realtime: list[dict[str, float]] = []
    for _ in range(repeats):
        t = time.perf_counter()
        rec = asyncio.run(run_realtime(model, item, SessionOptions(drain_s=0.0)))
        wall = time.perf_counter() - t
        realtime.append(
            {
                "p50_ms": rec.timings["send_lateness_ms_p50"],
                "p99_ms": rec.timings["send_lateness_ms_p99"],
                "max_ms": rec.timings["send_lateness_ms_max"],
                # the last frame's lateness is the accumulated drift of the schedule
                "drift_ms": rec.timings["send_lateness_ms_last"],
                "wall_s": wall,
            }
        )
    long_item = _blank_item(max(seconds, 600.0))
    speeds = []
    for _ in range(repeats):
        t = time.perf_counter()
        run_lockstep(model, long_item, SessionOptions(stopwatch=no_compute()))
        speeds.append(long_item.duration / (time.perf_counter() - t))
    return {
        "session_s": seconds,
        "repeats": repeats,
        "realtime": {k: statistics.median(r[k] for r in realtime) for k in realtime[0]},
        "lockstep_x_realtime": statistics.median(speeds),
        "lockstep_audio_s": long_item.duration,
    }


def format_clock_bench(r: dict[str, Any]) -> str:
    rt = r["realtime"]
    return "\n".join(
        [
            f"real-time clock, {r['session_s']:.0f} s session, median of {r['repeats']} runs:",
            f"  send lateness p50 {rt['p50_ms']:.3f} ms  p99 {rt['p99_ms']:.3f} ms  "
            f"max {rt['max_ms']:.3f} ms   (target p99 <= 2 ms)",
            f"  end-of-session drift {rt['drift_ms']:.3f} ms   (target <= 2 ms)",
            f"lock-step, trivial model over {r['lockstep_audio_s']:.0f} s of audio: "
            f"{r['lockstep_x_realtime']:.0f}x real time   (target >= 500x)",
        ]
    )


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seconds", type=float, default=60.0, help="real-time session length")
    p.add_argument("--repeats", type=int, default=3)


BENCH = Benchmark(
    "clock",
    "real-time send jitter and drift; lock-step speed",
    _arguments,
    lambda a: run_clock_bench(seconds=a.seconds, repeats=a.repeats),
    format_clock_bench,
)
