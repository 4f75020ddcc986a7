"""Benchmark the intelligence probes: s2t and t2t items per minute, batched and one at a time.

    .venv/bin/python benchmarks/probe_bench.py [--limit 16] [--repeats 3] [--batch-size 16]

Prints medians over repeats with the load average (see duplex.probes.bench); the same as
`duplex-bench bench probes`. ASR figures are cold (no transcript cache); TTS is not per item.
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from duplex.probes.bench import DEFAULT_SETS, format_probe_bench, run_probe_bench
    from duplex.probes.run import DEFAULT_BATCH

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", dest="sets", action="append", help=f"default: {DEFAULT_SETS}")
    parser.add_argument("--limit", type=int, default=16, help="items per set")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-unbatched", action="store_true", help="skip the one-item path")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    result = run_probe_bench(
        sets=tuple(args.sets or DEFAULT_SETS),
        limit=args.limit,
        repeats=args.repeats,
        batch_size=args.batch_size,
        threads=args.threads,
        unbatched=not args.no_unbatched,
        progress=lambda msg: print(msg, file=sys.stderr, flush=True),
    )
    from _report import emit

    return emit(format_probe_bench(result), result, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
