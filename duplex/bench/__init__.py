"""Benchmarks of the harness and its embedded models: ``duplex-bench bench NAME [options]``.

One module per benchmark, each defining ``BENCH`` (:class:`duplex.bench.base.Benchmark`); adding
one is adding its module and a line here. Entries are lazy, so listing benchmarks imports none.
"""

from __future__ import annotations

from duplex.bench.base import Benchmark
from duplex.registry import Registry

BENCHMARKS: Registry[Benchmark] = Registry("benchmark")
BENCHMARKS.add(
    "clock", "duplex.bench.clock:BENCH", "real-time send jitter and drift; lock-step speed"
)
BENCHMARKS.add(
    "cascade",
    "duplex.bench.cascade:BENCH",
    "the cascade's latency, barge-in, backchannels, stage compute and suite figures",
)
BENCHMARKS.add(
    "probes", "duplex.bench.probes:BENCH", "probe items per minute (s2t, t2t), batched or not"
)
BENCHMARKS.add(
    "serve",
    "duplex.bench.serve:BENCH",
    "moshi+ws sessions against `serve` on loopback: send lateness, drift, served-oracle error",
)
BENCHMARKS.add(
    "live-memory",
    "duplex.bench.live_memory:BENCH",
    "a long live session on a fake device: resident memory while recording and scoring",
)
BENCHMARKS.add(
    "moshi",
    "duplex.bench.moshi:BENCH",
    "the moshi: adapter with tiny random weights: items per minute at batch 1 and 8, harness share",
)
BENCHMARKS.add(
    "ray",
    "duplex.bench.ray:BENCH",
    "a CPU-bound lock-step suite through Ray (extra [ray]): 1 vs 2 workers, same results",
)
BENCHMARKS.add(
    "scoring",
    "duplex.bench.scoring:BENCH",
    "model speech scored per wall second (talking and sparse models), split by stage",
)
BENCHMARKS.add(
    "soak",
    "duplex.bench.soak:BENCH",
    "faults, kill -9 and --resume, a fuzz of serve, memory and planted secrets: the campaign",
)
BENCHMARKS.add(
    "voices",
    "duplex.bench.voices:BENCH",
    "the overlap suites' other talkers vs the user's voices: pitch, formants, Whisper WER",
)
BENCHMARKS.add(
    "overlap-labels",
    "duplex.bench.overlap_labels:BENCH",
    "the overlap labeller against oracles of known behaviour; stop/response latency errors",
)
