"""Memory of a long live session: `duplex-bench bench live-memory [--minutes 10] [--speed 4]`.

A fake clocked device loops 6 s of mic audio (2 s of speech, then silence) at 48 kHz for the
given session length against `scripted:latency=0.6,silence=0.4`; ``--speed`` > 1 runs the device
faster than real time (the same audio and work per session second, in less wall time). A thread
samples the process RSS every 10 ms and the peak of each phase is printed:

- load: imports and model load (``load_model``), and the RSS the session starts from;
- session: the live session itself;
- write+score: the run folder written and scored (no ASR unless ``--asr``).

``ru_maxrss`` (the kernel's own peak) is printed as a cross-check of the sampled peaks. Run it in
a fresh process (as the command does): the peak covers the whole process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from duplex.bench.base import Benchmark


class RssSampler:
    """Peak RSS per named phase, sampled from /proc/self/statm on a thread."""

    def __init__(self, every_s: float = 0.01) -> None:
        self.phase = "load"
        self.peaks: dict[str, float] = {}
        self._every = every_s
        self._page_mb = os.sysconf("SC_PAGE_SIZE") / 2**20
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def rss_mb(self) -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self._page_mb

    def enter(self, phase: str) -> float:
        """Start ``phase``; returns the RSS now (the previous phase's end)."""
        now = self.rss_mb()
        self._note(now)
        self.phase = phase
        self._note(now)
        return now

    def _note(self, mb: float) -> None:
        self.peaks[self.phase] = max(self.peaks.get(self.phase, 0.0), mb)

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            self._note(self.rss_mb())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._note(self.rss_mb())


def _arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--speed", type=float, default=4.0)
    ap.add_argument("--model", default="scripted:latency=0.6,silence=0.4")
    ap.add_argument("--asr", action="store_true", help="transcribe the model (as `live` does)")


def run_live_memory(args: argparse.Namespace) -> dict[str, Any]:
    sampler = RssSampler()

    import numpy as np

    from duplex.audio import resample
    from duplex.live.devices import FakeClockedIO
    from duplex.live.run import LiveRunConfig, prepare_model, write_live_run
    from duplex.live.session import LiveOptions, run_live
    from duplex.models.registry import load_model
    from duplex.models.voice import utterance

    rate = 24000
    speech = utterance(2.0, rate, "Could you tell me what the weather will be like tomorrow?")
    pattern = np.concatenate([speech, np.zeros(4 * rate, np.float32)])
    mic = resample(pattern, rate, 48000)
    model = load_model(args.model)
    prepare_model(model)
    device = FakeClockedIO(mic, 48000, speed=args.speed, keep_played=False, loop=True)
    with tempfile.TemporaryDirectory() as tmp:
        start = sampler.enter("session")
        t = time.perf_counter()
        opts = LiveOptions(duration_s=args.minutes * 60)
        folder = Path(tmp) / "rec"
        result = asyncio.run(run_live(model, device, opts, folder=folder, status_out=None))
        wall = time.perf_counter() - t
        end = sampler.enter("write+score")
        asr = "faster-whisper-tiny.en" if args.asr else None
        config = LiveRunConfig(model=model.spec, out=Path(tmp) / "run", asr=asr)
        row = write_live_run(result, config, model.describe(), "live-memory")
        sampler.stop()
    m = row.metrics
    return {
        "session_s": result.duration,
        "wall_s": wall,
        "speed": args.speed,
        "asr": bool(args.asr),
        "user_turns": m["user_turns"],
        "responses": m["responses"],
        "latency_median_s": m["latency_median_s"],
        "rss_mb": {
            "load_peak": sampler.peaks["load"],
            "session_start": start,
            "session_peak": sampler.peaks["session"],
            "session_end": end,
            "write_score_peak": sampler.peaks["write+score"],
            "ru_maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        },
    }


def format_live_memory(r: dict[str, Any]) -> str:
    rss = r["rss_mb"]
    return (
        f"session {r['session_s']:.0f} s in {r['wall_s']:.0f} s wall (speed {r['speed']}); "
        f"turns {r['user_turns']}, answered {r['responses']}, "
        f"latency median {r['latency_median_s']}, asr {'on' if r['asr'] else 'off'}\n"
        f"RSS MB: load peak {rss['load_peak']:.0f}, session start {rss['session_start']:.0f}, "
        f"session peak {rss['session_peak']:.0f}, session end {rss['session_end']:.0f}, "
        f"write+score peak {rss['write_score_peak']:.0f}; ru_maxrss {rss['ru_maxrss']:.0f}"
    )


BENCH = Benchmark(
    "live-memory",
    "a long live session on a fake device: resident memory while recording and scoring",
    _arguments,
    run_live_memory,
    format_live_memory,
)
