"""Benchmark the cascade model; prints medians (see duplex.models.cascade.bench).

.venv/bin/python benchmarks/cascade_bench.py [--repeats 3] [--suite-limit 20] [--no-suites]
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from duplex.models.cascade.bench import format_cascade_bench, run_cascade_bench

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spec", default="cascade")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--suite-limit", type=int, default=20)
    parser.add_argument("--no-suites", action="store_true")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    result = run_cascade_bench(
        args.spec,
        repeats=args.repeats,
        suite_limit=args.suite_limit,
        suites=not args.no_suites,
        progress=lambda msg: print(msg, file=sys.stderr),
    )
    from _report import emit

    return emit(format_cascade_bench(result), result, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
