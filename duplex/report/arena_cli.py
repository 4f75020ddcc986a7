"""``duplex-bench arena`` and ``duplex-bench rubric``: argument parsers and thin commands.

Kept out of :mod:`duplex.cli` so that command stays a list of entries; nothing heavy is imported
until a command runs.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from duplex.errors import ConfigError

JUDGES_HELP = (
    "Judges: smollm2 (embedded, offline; the default), anthropic:model=claude-sonnet-4-5 (key "
    "from ANTHROPIC_API_KEY), openai-compatible:base_url=http://127.0.0.1:8000/v1,model=NAME."
)


def add_parsers(sub: Any) -> None:
    arena = sub.add_parser(
        "arena",
        help="pairwise preference between runs: Bradley-Terry ratings with intervals, Elo",
        description="Every pair of runs is judged on the items they share, in both orders. "
        + JUDGES_HELP,
    )
    arena.add_argument("runs", nargs="*", type=Path, help="two or more run folders of one suite")
    arena.add_argument("--judge", default="smollm2", metavar="SPEC", help="default: smollm2")
    arena.add_argument(
        "--out", type=Path, default=None, help="arena.json (default: beside the run folders)"
    )
    arena.add_argument("--seed", type=int, default=0, help="bootstrap and Elo-order seed")
    arena.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    arena.add_argument(
        "--style-control",
        action="store_true",
        help="also fit ratings controlled for response duration and length",
    )
    arena.add_argument("--concurrency", type=int, default=None, help="judgements in flight")
    arena.add_argument(
        "--calibrate", action="store_true", help="judge pairs of known order and report accuracy"
    )
    arena.add_argument(
        "--split",
        default="held-out",
        choices=("held-out", "tune", "all"),
        help="calibration items (default: those the embedded judge was not tuned on)",
    )

    rubric = sub.add_parser(
        "rubric",
        help="absolute rubric scores per item (content, delivery, item criteria) into the run",
        description="Scores go to RUN/rubric.json and are read as metrics by compare and report. "
        + JUDGES_HELP,
    )
    rubric.add_argument("run_dir", type=Path, help="a suite run folder")
    rubric.add_argument(
        "--rubric",
        default="general_v1",
        metavar="NAME",
        help="general rubric (prompts/rubric_NAME.txt)",
    )
    rubric.add_argument("--judge", default="smollm2", metavar="SPEC", help="default: smollm2")


def default_out(runs: list[Path]) -> Path:
    """``arena.json`` in the folder holding the runs (their common parent)."""
    parent = Path(os.path.commonpath([str(p.resolve().parent) for p in runs]))
    return parent / "arena.json"


def arena_command(args: argparse.Namespace) -> int:
    from duplex.arena.judging import BattleCache, load_arena_judge

    if args.concurrency is not None and args.concurrency < 1:
        raise ConfigError(f"--concurrency must be at least 1, got {args.concurrency}")
    if args.calibrate:
        if args.runs:
            raise ConfigError("give either RUN folders or --calibrate")
        from duplex.arena.calibrate import calibrate_arena, format_arena_calibration

        judge, cache = load_arena_judge(args.judge), BattleCache.default()
        try:
            print(format_arena_calibration(calibrate_arena(judge, split=args.split, cache=cache)))
        finally:
            judge.close()
            cache.close()
        return 0
    from duplex.arena.document import format_leaderboard, write_arena
    from duplex.arena.judging import check_arena_judge
    from duplex.report.arena_runs import ArenaConfig, run_arena

    if len(args.runs) < 2:
        raise ConfigError("an arena needs at least two run folders")
    check_arena_judge(args.judge)  # a typo fails now, not after reading every session
    config = ArenaConfig(
        judge=args.judge,
        seed=args.seed,
        resamples=args.resamples,
        style_control=args.style_control,
        concurrency=args.concurrency,
    )
    doc = run_arena(args.runs, config)
    out = args.out or default_out(args.runs)
    write_arena(doc, out)
    print(format_leaderboard(doc))
    print(f"arena results: {out}")
    return 0


def rubric_command(args: argparse.Namespace) -> int:
    from duplex.arena.judging import check_arena_judge
    from duplex.report.rubric import format_rubric, rubric_run

    check_arena_judge(args.judge)
    doc = rubric_run(args.run_dir, args.judge, args.rubric)
    print(format_rubric(doc))
    print(f"rubric scores: {Path(args.run_dir) / 'rubric.json'}")
    return 0
