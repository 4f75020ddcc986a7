"""`duplex-bench`: a thin command line over the library. ``main(argv) -> exit code``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from duplex.errors import ConfigError, DuplexError

Command = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, Command] = {}


def command(name: str) -> Callable[[Command], Command]:
    def deco(fn: Command) -> Command:
        COMMANDS[name] = fn
        return fn

    return deco


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="duplex-bench",
        description="Measure how full-duplex speech systems behave in conversation.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a scenario suite against a model and score it")
    run.add_argument(
        "--scenario",
        required=True,
        help="suite name (see `scenarios`), a YAML path, or `all` for every registered suite",
    )
    run.add_argument("--model", default=None, help="model spec (see `models`); default: scripted")
    run.add_argument("--clock", default="auto", choices=("auto", "lockstep", "realtime"))
    run.add_argument("--limit", type=int, default=None, help="only the first N items")
    run.add_argument("--out", type=Path, default=None, help="run folder (default: runs/...)")
    run.add_argument("--resume", action="store_true", help="finish an interrupted run in --out")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument(
        "--concurrency", type=int, default=1, help="real-time sessions in flight at once"
    )
    run.add_argument("--retries", type=int, default=0, help="extra attempts for a failed session")
    run.add_argument(
        "--export-fdb", type=Path, default=None, help="also write sessions as FDB sample folders"
    )
    run.add_argument("--no-progress", action="store_true")

    sub.add_parser("scenarios", help="list scenario suites")
    sub.add_parser("models", help="list model specs")

    serve = sub.add_parser("serve", help="expose a model over Moshi's websocket protocol")
    serve.add_argument("--model", required=True, help="model spec (see `models`)")
    serve.add_argument("--host", default="127.0.0.1", help="default: loopback only")
    serve.add_argument("--port", type=int, default=8998)
    serve.add_argument("--max-sessions", type=int, default=1, help="sessions served at once")
    serve.add_argument(
        "--busy",
        choices=("wait", "refuse"),
        default="wait",
        help="past --max-sessions: hold the handshake until a slot frees, or answer HTTP 503",
    )
    serve.add_argument("--max-message-bytes", type=int, default=1 << 20)

    bench = sub.add_parser("bench", help="timing benchmarks of the harness itself")
    bench.add_argument(
        "what", choices=("clock",), help="clock: real-time jitter, drift, lock-step speed"
    )
    bench.add_argument("--seconds", type=float, default=60.0)
    bench.add_argument("--repeats", type=int, default=3)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except DuplexError as exc:
        print(f"duplex-bench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("duplex-bench: interrupted", file=sys.stderr)
        return 130


@command("run")
def _run(args: argparse.Namespace) -> int:
    from duplex.report.table import format_leaderboard, format_summary
    from duplex.runner import DEFAULT_MODEL, RunConfig, default_out, run_all, run_suite

    model = args.model or DEFAULT_MODEL
    every = args.scenario == "all"
    out = args.out or default_out("all" if every else Path(args.scenario).stem, model)
    config = RunConfig(
        suite=args.scenario,
        model=model,
        clock=args.clock,
        limit=args.limit,
        out=out,
        resume=args.resume,
        seed=args.seed,
        concurrency=args.concurrency,
        retries=args.retries,
        export_fdb=args.export_fdb,
    )
    on_item = _progress(args.no_progress)
    try:
        if every:
            results = run_all(config, on_item=on_item)
            for r in results:
                print(format_summary(r.summary), end="\n\n")
            print(format_leaderboard([r.summary for r in results]))
            print(f"run folders: {out}/<suite>")
            return 0
        result = run_suite(config, on_item=on_item)
    except KeyboardInterrupt:
        print(
            f"\nduplex-bench: interrupted; finished items are kept in {out}; "
            f"`duplex-bench run --scenario {args.scenario} --model '{model}' --out {out} --resume` "
            "finishes the rest",
            file=sys.stderr,
        )
        return 130
    print(format_summary(result.summary))
    print(f"run folder: {result.folder}")
    return 0


def _progress(disabled: bool) -> Callable[[Any, int, int], None]:
    from tqdm import tqdm

    state: dict[str, Any] = {}

    def update(outcome: Any, done: int, total: int) -> None:
        if done == 1:  # a new suite (``run --scenario all`` runs several)
            state["bar"] = tqdm(total=total, unit="item", disable=disabled, file=sys.stderr)
        bar = state["bar"]
        bar.set_postfix_str(f"{outcome.item_id} {outcome.status}")
        bar.update(1)
        if done == total:
            bar.close()

    return update


@command("scenarios")
def _scenarios(args: argparse.Namespace) -> int:
    from duplex.scenarios import describe_suites

    for s in describe_suites():
        print(f"{s['name']:<20} v{s['version']:<6} {s['items']:>4} items  task={s['task']}")
        print(f"    {s['description']}")
    return 0


@command("models")
def _models(args: argparse.Namespace) -> int:
    from duplex.models.registry import MODELS

    for entry in MODELS:
        print(f"{entry.name:<12} {entry.summary}")
    print("\nspecs: NAME or NAME:key=value,... e.g. 'oracle:latency=0.6', 'scripted:latency=0.4'")
    return 0


@command("bench")
def _bench(args: argparse.Namespace) -> int:
    from duplex.simulator.bench import format_clock_bench, run_clock_bench

    print(format_clock_bench(run_clock_bench(seconds=args.seconds, repeats=args.repeats)))
    return 0


@command("serve")
def _serve(args: argparse.Namespace) -> int:
    import asyncio

    from duplex.models.registry import load_model
    from duplex.serve import ServeOptions, serve

    if args.max_message_bytes < 1024:
        raise ConfigError(f"--max-message-bytes must be >= 1024, not {args.max_message_bytes}")
    opts = ServeOptions(
        host=args.host,
        port=args.port,
        max_sessions=args.max_sessions,
        busy=args.busy,
        max_message_bytes=args.max_message_bytes,
    )
    model = load_model(args.model)
    try:
        asyncio.run(serve(model, opts))
    except OSError as exc:  # the port is taken, the host is not ours
        where = f"{args.host}:{args.port}"
        raise ConfigError(f"cannot listen on {where}: {exc.strerror or exc}") from exc
    finally:
        model.close()
    return 0
