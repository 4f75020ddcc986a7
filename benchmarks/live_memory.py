"""Memory of a long live session: `python benchmarks/live_memory.py [--minutes 10] [--speed 4]`.

A fake clocked device loops 6 s of mic audio (2 s of speech, then silence) at 48 kHz for the
given session length against `scripted:latency=0.6,silence=0.4`; ``--speed`` > 1 runs the device
faster than real time (the same audio and work per session second, in less wall time). Prints the
process RSS before, at the end of the session and after writing and scoring the run folder (no
ASR), and the peak (ru_maxrss).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from duplex.audio import resample
from duplex.live.devices import FakeClockedIO
from duplex.live.run import LiveRunConfig, write_live_run
from duplex.live.session import LiveOptions, run_live
from duplex.models.registry import load_model
from duplex.models.voice import utterance


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--speed", type=float, default=4.0)
    ap.add_argument("--model", default="scripted:latency=0.6,silence=0.4")
    args = ap.parse_args()
    rate = 24000
    speech = utterance(2.0, rate, "Could you tell me what the weather will be like tomorrow?")
    pattern = np.concatenate([speech, np.zeros(4 * rate, np.float32)])
    mic = resample(pattern, rate, 48000)
    model = load_model(args.model)
    device = FakeClockedIO(mic, 48000, speed=args.speed, keep_played=False, loop=True)
    before = rss_mb()
    t = time.perf_counter()
    opts = LiveOptions(duration_s=args.minutes * 60)
    result = asyncio.run(run_live(model, device, opts, status_out=None))
    wall = time.perf_counter() - t
    after_session = rss_mb()
    with tempfile.TemporaryDirectory() as tmp:
        config = LiveRunConfig(model=model.spec, out=Path(tmp) / "run", asr=None)
        row = write_live_run(result, config, model.describe(), "live-memory")
    after_write = rss_mb()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    m = row["metrics"]
    print(
        f"session {result.recording.duration:.0f} s in {wall:.0f} s wall; "
        f"RSS before {before:.0f} MB, after session {after_session:.0f} MB, "
        f"after write+score {after_write:.0f} MB, peak {peak:.0f} MB; "
        f"turns {m['user_turns']}, latency median {m['latency_median_s']}"
    )


if __name__ == "__main__":
    main()
