"""`duplex-bench`: a thin command line over the library. ``main(argv) -> exit code``."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from duplex.errors import ConfigError, DuplexError
from duplex.writing import check_output_file, redact, redact_logging

Command = Callable[[argparse.Namespace], int]
#: The judge ``run`` uses for interruption responses: the embedded one, offline.
DEFAULT_JUDGE = "smollm2"
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

    _run_parser(sub)
    _sweep_parser(sub)
    judge = sub.add_parser(
        "judge",
        help="judge a run: rate user_interruption responses, label overlap pairs, judge "
        "conversations; or calibrate a judge",
        description="Judges: smollm2 (embedded, offline), "
        "anthropic:model=claude-sonnet-4-5 (key from ANTHROPIC_API_KEY), "
        "openai-compatible:base_url=http://127.0.0.1:8000/v1,model=NAME.",
    )
    judge.add_argument(
        "run_dir",
        type=Path,
        nargs="?",
        help="a user_interruption, overlap or conversation run folder",
    )
    judge.add_argument("--judge", default="smollm2", metavar="SPEC", help="default: smollm2")
    judge.add_argument(
        "--calibrate", action="store_true", help="order the calibration set and report accuracy"
    )
    judge.add_argument("--concurrency", type=int, default=None, help="judgements in flight")
    judge.add_argument(
        "--task",
        choices=("user_interruption", "conversation"),
        default="user_interruption",
        help="with --calibrate: whose calibration set (default user_interruption)",
    )

    _score_parser(sub)
    sub.add_parser("scenarios", help="list scenario suites")
    sub.add_parser("models", help="list model specs")

    _serve_parser(sub)
    _bench_parsers(sub)
    _probe_parser(sub)
    _report_parsers(sub)
    _live_parsers(sub)
    _arena_parsers(sub)
    return p


def _run_parser(sub: Any) -> None:
    run = sub.add_parser("run", help="run a scenario suite against a model and score it")
    run.add_argument(
        "--scenario",
        required=True,
        help="suite name (see `scenarios`), a YAML path, `all` for every registered suite, or "
        "fdb:PATH for a folder of Full-Duplex-Bench samples",
    )
    run.add_argument(
        "--model",
        default=None,
        help="model spec (see `models`); default: cascade (the embedded voice agent)",
    )
    run.add_argument("--clock", default="auto", choices=("auto", "lockstep", "realtime"))
    run.add_argument(
        "--compute",
        default="measured",
        choices=("measured", "none"),
        help="lock-step: put the model's measured compute time on the timeline (default), or "
        "none of it (its reaction alone: figures a loaded machine does not inflate, and reruns "
        "that are bit-identical)",
    )
    run.add_argument("--limit", type=int, default=None, help="only the first N items")
    run.add_argument("--out", type=Path, default=None, help="run folder (default: runs/...)")
    run.add_argument("--resume", action="store_true", help="finish an interrupted run in --out")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument(
        "--concurrency", type=int, default=1, help="real-time sessions in flight at once"
    )
    run.add_argument("--retries", type=int, default=0, help="extra attempts for a failed session")
    run.add_argument(
        "--batch",
        type=int,
        default=1,
        help="lock-step: step N items together, one batched forward per frame (batch models "
        "such as moshi:; see docs/models.md)",
    )
    _score_batch_argument(run)
    run.add_argument(
        "--export-fdb", type=Path, default=None, help="also write sessions as FDB sample folders"
    )
    run.add_argument(
        "--task",
        default=None,
        help="for --scenario fdb:PATH, the task when the folder's files do not tell it",
    )
    run.add_argument(
        "--examiner",
        default="smollm2",
        metavar="SPEC",
        help="conversation suites: who writes the examiner's lines: smollm2 (embedded, default), "
        "script (each goal's line as written), anthropic:model=..., "
        "openai-compatible:base_url=...,model=...",
    )
    run.add_argument("--no-progress", action="store_true")
    _executor_argument(run)
    run.add_argument(
        "--judge",
        default=DEFAULT_JUDGE,
        metavar="SPEC",
        help="the judge that rates user_interruption responses (the anchor's 'judge 0-5' column), "
        "labels the pairs of overlap runs and judges conversations (fluency, instruction "
        f"following, task score; see `judge --help`); default {DEFAULT_JUDGE} (embedded, "
        "offline); 'none' skips it",
    )


EXECUTOR_HELP = (
    "where sessions run: local (this process, default) or "
    "ray[:address=HOST:PORT,workers=N,cpus=C,gpus=G,retries=R] (actors that load the model once; "
    "extra [ray]; docs/scale.md)"
)


def _executor_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--executor", default="local", metavar="SPEC", help=EXECUTOR_HELP)


def _sweep_parser(sub: Any) -> None:
    sweep = sub.add_parser(
        "sweep",
        help="run every suite (and the probes) per checkpoint; metrics against training step",
        description="Each path the --checkpoints glob matches is one checkpoint. Its training "
        "step is read from its name: the number after checkpoint, global_step, step, iter, "
        "iteration or ckpt (joined by nothing, - or _), else the last number in the name "
        "(step-1200, checkpoint_1200, global_step1200 -> 1200). Writes OUT/step-N/<suite>/ (an "
        "ordinary run folder, its run.json carrying the step), OUT/sweep.csv and OUT/sweep.html. "
        "Rerunning the same command finishes what is missing.",
    )
    sweep.add_argument("--checkpoints", required=True, metavar="GLOB", help="e.g. 'ckpts/step-*'")
    sweep.add_argument(
        "--model",
        required=True,
        metavar="TEMPLATE",
        help="model spec with {checkpoint} for the path, e.g. 'moshi:dir={checkpoint}'",
    )
    sweep.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="SUITE",
        help="suite name or YAML path (repeat); default: all (every registered suite)",
    )
    sweep.add_argument(
        "--probe",
        action="append",
        default=[],
        metavar="SET",
        help="also run the intelligence probes on this set per checkpoint (repeat; 'all' for "
        "every set)",
    )
    sweep.add_argument(
        "--probe-model",
        default=None,
        metavar="TEMPLATE",
        help="probe model template with {checkpoint} (default: cascade:hf:{checkpoint}, "
        "cascade:gguf:{checkpoint} for .gguf files)",
    )
    sweep.add_argument(
        "--probe-condition", action="append", default=[], metavar="NAME", help="(repeat)"
    )
    sweep.add_argument("--limit", type=int, default=None, help="only the first N items a suite")
    sweep.add_argument(
        "--out", type=Path, default=None, help="sweep folder (default: runs/sweep-<model>)"
    )
    sweep.add_argument("--seed", type=int, default=0)
    sweep.add_argument("--clock", default="auto", choices=("auto", "lockstep", "realtime"))
    sweep.add_argument("--batch", type=int, default=1, help="as run --batch")
    _score_batch_argument(sweep)
    sweep.add_argument("--retries", type=int, default=0, help="extra attempts for a failed session")
    sweep.add_argument(
        "--judge",
        default=DEFAULT_JUDGE,
        metavar="SPEC",
        help=f"as run --judge (default {DEFAULT_JUDGE}; 'none' skips it)",
    )
    _executor_argument(sweep)
    sweep.add_argument("--no-progress", action="store_true")


#: metrics.analysis.SCORE_BATCH, written here so that building the parser imports no scorer
#: (tests/test_cli.py checks they agree)
SCORE_BATCH = 8


def _score_batch_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--score-batch",
        type=int,
        default=SCORE_BATCH,
        metavar="N",
        help="score N finished sessions together: their ASR shares batches on every core (same "
        "words as one at a time; real-time --concurrency runs score each as it ends)",
    )


def _score_parser(sub: Any) -> None:
    score = sub.add_parser("score", help="score existing Full-Duplex-Bench sample folders")
    score.add_argument("--fdb", type=Path, required=True, help="a folder of FDB sample folders")
    score.add_argument(
        "--task",
        required=True,
        choices=_task_names(),
        help="the task whose FDB folder format and scorer to use",
    )
    score.add_argument("--json", type=Path, default=None, help="also write rows and summary here")


def _serve_parser(sub: Any) -> None:
    serve = sub.add_parser("serve", help="expose a model over Moshi's websocket protocol")
    serve.add_argument("--model", required=True, help="model spec (see `models`)")
    serve.add_argument("--host", default="127.0.0.1", help="default: loopback only")
    serve.add_argument("--port", type=_port, default=8998, help="0 picks a free port")
    serve.add_argument("--max-sessions", type=int, default=1, help="sessions served at once")
    serve.add_argument(
        "--busy",
        choices=("wait", "refuse"),
        default="wait",
        help="past --max-sessions: hold the handshake until a slot frees, or answer HTTP 503",
    )
    serve.add_argument("--max-message-bytes", type=int, default=1 << 20)
    serve.add_argument(
        "--handshake-timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="a websocket upgrade not done within S seconds is dropped (default 10)",
    )
    serve.add_argument(
        "--idle-timeout",
        type=float,
        default=15.0,
        metavar="S",
        help="a session whose client sends nothing for S seconds ends, freeing its slot "
        "(default 15)",
    )
    serve.add_argument(
        "--max-session",
        type=float,
        default=3600.0,
        metavar="S",
        help="every session ends after S seconds (default 3600)",
    )
    serve.add_argument(
        "--token",
        default=None,
        help="require this bearer token (Authorization: Bearer TOKEN or ?token=TOKEN) before "
        "the upgrade, else HTTP 401; default: $DUPLEX_BENCH_TOKEN if set (prefer it: a command "
        "line is visible to other users), else none",
    )


def build_arguments(words: list[str]) -> argparse.Namespace:
    """``words`` parsed. Everything after a benchmark's name is its own, in order
    (``args.options``, parsed in :func:`_bench`): argparse's REMAINDER would hand options such as
    ``bench ray --items 8`` back as unknown, reordered."""
    parser = build_parser()
    args, extra = parser.parse_known_args(words)
    if args.command == "bench":
        at = words.index(args.bench, words.index("bench") + 1)
        args.options = words[at + 1 :]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    args = build_arguments(words)
    args.argv = words  # as typed: the resume command repeats them
    redact_logging()
    try:
        return COMMANDS[args.command](args)
    except DuplexError as exc:
        # Redacted: an error may quote a spec or a server's answer that carries a key.
        print(f"duplex-bench: error: {redact(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("duplex-bench: interrupted", file=sys.stderr)
        return 130


@command("run")
def _run(args: argparse.Namespace) -> int:
    from duplex.executors import load_executor
    from duplex.report.table import format_leaderboard, format_summary
    from duplex.runner import DEFAULT_MODEL, RunConfig, default_out, run_all, run_suite

    model = args.model or DEFAULT_MODEL
    every = args.scenario == "all"
    judge = None if args.judge == "none" else args.judge
    if judge:
        from duplex.judges import check_judge_spec

        check_judge_spec(judge)  # a typo fails now, not after the run
    out = args.out or default_out("all" if every else Path(args.scenario).stem, model)
    executor = load_executor(args.executor)
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
        task=args.task,
        batch=args.batch,
        score_batch=args.score_batch,
        examiner=args.examiner,
        compute=args.compute,
    )
    on_item = _progress(args.no_progress)
    try:
        if every:
            results = run_all(config, on_item=on_item, executor=executor)
            for r in results:
                print(format_summary(r.summary), end="\n\n")
            _judge_results(results, judge)
            print(format_leaderboard([r.summary for r in results]))
            print(f"run folders: {out}/<suite>")
            return _scored_exit(results)
        result = run_suite(config, on_item=on_item, executor=executor)
    except KeyboardInterrupt:
        print(
            f"\nduplex-bench: interrupted; finished items are kept in {out}; "
            f"`{resume_command(args.argv, out)}` finishes the rest",
            file=sys.stderr,
        )
        return 130
    finally:
        if executor is not None:
            executor.close()
    _judge_results([result], judge)
    print(format_summary(result.summary))
    print(f"run folder: {result.folder}")
    return _scored_exit([result])


def resume_command(argv: Sequence[str], out: Path) -> str:
    """The command that finishes an interrupted run: the same words, the run folder, --resume."""
    words = [w for w in argv if w != "--resume"]
    if not any(w == "--out" or w.startswith("--out=") for w in words):
        words += ["--out", str(out)]
    # Credentials typed in a model URL are masked here too: this line may end up in a log.
    return redact(shlex.join(["duplex-bench", *words, "--resume"]))


def _scored_exit(results: list[Any]) -> int:
    """0 when something was scored; 1 when items were planned and every one failed."""
    dead = [r for r in results if r.summary.items.planned and not r.summary.items.ok]
    for r in dead:
        print(f"duplex-bench: every item of {r.folder} failed", file=sys.stderr)
    return 1 if dead else 0


@command("sweep")
def _sweep(args: argparse.Namespace) -> int:
    from duplex.executors import load_executor
    from duplex.sweep import SweepConfig, sweep
    from duplex.sweep.table import format_transitions

    if args.limit is not None and args.limit <= 0:
        raise ConfigError(f"--limit must be positive, got {args.limit}")
    judge = None if args.judge == "none" else args.judge
    if judge:
        from duplex.judges import check_judge_spec

        check_judge_spec(judge)
    config = SweepConfig(
        checkpoints=args.checkpoints,
        model=args.model,
        suites=tuple(args.scenario) or ("all",),
        out=args.out,
        limit=args.limit,
        seed=args.seed,
        clock=args.clock,
        batch=args.batch,
        score_batch=args.score_batch,
        retries=args.retries,
        judge=judge,
        probe=_sweep_probe(args),
        probe_model=args.probe_model,
    )
    executor = load_executor(args.executor)
    try:
        result = sweep(
            config,
            executor=executor,
            on_item=_progress(args.no_progress),
            on_step=lambda s: print(
                f"step {s.checkpoint.step}: {s.checkpoint.path} "
                f"({', '.join(s.ran) or 'nothing left to run'})",
                file=sys.stderr,
            ),
            judge=lambda folder: _judge_folder(folder, judge),
        )
    finally:
        if executor is not None:
            executor.close()
    print(format_transitions(result.transitions))
    print(f"sweep: {result.csv}, {result.page}")
    return 0


def _sweep_probe(args: argparse.Namespace) -> Any:
    if not args.probe:
        if args.probe_model or args.probe_condition:
            raise ConfigError("--probe-model and --probe-condition need --probe SET")
        return None
    from duplex.probes.run import ProbeConfig, check_condition_names, load_sets

    sets = () if "all" in args.probe else tuple(args.probe)
    load_sets(sets, args.limit)  # names checked before any checkpoint loads
    check_condition_names(args.probe_condition)
    return ProbeConfig(
        sets=sets, conditions=tuple(args.probe_condition), limit=args.limit, seed=args.seed
    )


def _judge_folder(folder: Path, spec: str | None) -> None:
    """Judge ``folder`` as ``run`` judges its runs (see :func:`_judge_results`)."""
    from duplex.report.judged import RUN_JUDGES
    from duplex.report.store import RunStore

    task = RunStore(folder).read_run_doc().config.task
    if task in RUN_JUDGES and (spec is not None or RUN_JUDGES.get(task).always):
        RUN_JUDGES.get(task).judge(folder, spec, None)


def _judge_results(results: list[Any], spec: str | None) -> None:
    """Judge the runs among ``results`` whose task has a run judging (interruption ratings,
    overlap labels) and update their summaries; ``spec`` None does only what needs no judge."""
    from duplex.report.documents import upgrade_summary
    from duplex.report.judged import RUN_JUDGES

    for r in results:
        if r.summary.task not in RUN_JUDGES:
            continue
        judging = RUN_JUDGES.get(r.summary.task)
        if spec is None and not judging.always:
            continue
        judged = judging.judge(r.folder, spec, None)
        print(judging.format(judged), file=sys.stderr)
        r.summary = upgrade_summary(judged, str(r.folder / "summary.json"))


@command("judge")
def _judge(args: argparse.Namespace) -> int:
    from duplex.judges import load_judge

    if args.concurrency is not None and args.concurrency < 1:
        raise ConfigError(f"--concurrency must be at least 1, got {args.concurrency}")
    if args.calibrate == (args.run_dir is not None):
        raise ConfigError("give either RUN_DIR or --calibrate")
    if args.calibrate and args.task == "conversation":
        return _calibrate_conversation_judge(args.judge)
    if args.calibrate:
        from duplex.judges.cache import VerdictCache
        from duplex.judges.calibrate import calibrate, format_calibration

        judge, cache = load_judge(args.judge), VerdictCache.default()
        try:
            print(format_calibration(calibrate(judge, cache=cache)))
        finally:
            judge.close()
            cache.close()
        return 0
    from duplex.report.judged import judge_any_run

    spec = None if args.judge == "none" else args.judge
    print(judge_any_run(args.run_dir, spec, args.concurrency))
    return 0


def _calibrate_conversation_judge(spec: str) -> int:
    from duplex.judges import load_conversation_judge
    from duplex.judges.conversation import ConversationCache
    from duplex.judges.conversation_calibrate import (
        calibrate_conversations,
        format_conversation_calibration,
    )

    judge, cache = load_conversation_judge(spec), ConversationCache.default()
    try:
        cal = calibrate_conversations(judge, cache=cache)
    finally:
        judge.close()
        cache.close()
    print(format_conversation_calibration(cal))
    return 0


def _progress(disabled: bool) -> Callable[[Any, int, int], None]:
    from duplex.progress import progress

    show = progress(not disabled)
    return lambda outcome, done, total: show(f"{outcome.item_id} {outcome.status}", done, total)


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


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0-65535, not {port}")
    return port


def _task_names() -> list[str]:
    from duplex.metrics.tasks import TASKS

    return TASKS.names()


def _bench_parsers(sub: Any) -> None:
    from duplex.bench import BENCHMARKS

    bench = sub.add_parser(
        "bench",
        help="benchmarks of the harness and its embedded models (medians, load average)",
        description="`duplex-bench bench NAME --help` lists a benchmark's options.",
    )
    names = bench.add_subparsers(dest="bench", required=True, metavar="NAME")
    for entry in BENCHMARKS:
        # A benchmark's options are parsed when it is chosen (see _bench): building them here
        # would import every benchmark, and the models they load, on every command.
        p = names.add_parser(entry.name, help=entry.summary, add_help=False)
        p.add_argument("options", nargs=argparse.REMAINDER)


@command("bench")
def _bench(args: argparse.Namespace) -> int:
    import os

    from duplex.bench import BENCHMARKS
    from duplex.bench.base import emit

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    bench = BENCHMARKS.get(args.bench)
    parser = argparse.ArgumentParser(
        prog=f"duplex-bench bench {bench.name}", description=bench.summary
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    bench.arguments(parser)
    options = parser.parse_args(args.options)
    figures = bench.run(options)
    return emit(bench.format(figures), figures, options.json)


@command("serve")
def _serve(args: argparse.Namespace) -> int:
    import asyncio

    from duplex.models.registry import load_model
    from duplex.serve import MoshiServer, serve, serve_options

    if args.max_message_bytes < 1024:
        raise ConfigError(f"--max-message-bytes must be >= 1024, not {args.max_message_bytes}")
    opts = serve_options(
        host=args.host,
        port=args.port,
        max_sessions=args.max_sessions,
        busy=args.busy,
        max_message_bytes=args.max_message_bytes,
        handshake_timeout_s=args.handshake_timeout,
        idle_timeout_s=args.idle_timeout,
        max_session_s=args.max_session,
        token=args.token,
    )
    MoshiServer.check(opts)  # before the model loads
    model = load_model(args.model)
    try:
        model.require_annotations_absent("served")
        from duplex.simulator.gcpause import few_gc_pauses

        with few_gc_pauses():
            asyncio.run(serve(model, opts))
    except OSError as exc:  # the port is taken, the host is not ours
        where = f"{args.host}:{args.port}"
        raise ConfigError(f"cannot listen on {where}: {exc.strerror or exc}") from exc
    finally:
        model.close()
    return 0


def _probe_parser(sub: Any) -> None:
    probe = sub.add_parser(
        "probe", help="intelligence probes: continuation accuracy from text vs spoken context"
    )
    probe.add_argument(
        "--model", default=None, help="probe model spec (see --list); default: cascade"
    )
    probe.add_argument(
        "--set", action="append", default=[], metavar="NAME", help="probe set (repeat); default all"
    )
    probe.add_argument(
        "--condition",
        action="append",
        default=[],
        metavar="NAME",
        help="condition (repeat); default: every one the model takes",
    )
    probe.add_argument("--limit", type=int, default=None, help="N items per set (lowest id hash)")
    probe.add_argument("--out", type=Path, default=None, help="results folder")
    probe.add_argument("--seed", type=int, default=0, help="noise and bootstrap seed")
    probe.add_argument("--threads", type=int, default=2, help="torch threads")
    probe.add_argument(
        "--checkpoints",
        default=None,
        metavar="GLOB",
        help="sweep: every matching checkpoint; --model is a template with {checkpoint}",
    )
    probe.add_argument("--list", action="store_true", help="list sets, conditions and models")
    probe.add_argument("--no-progress", action="store_true")


@command("probe")
def _probe(args: argparse.Namespace) -> int:
    from duplex.probes.cli import list_probe_choices, probe_command

    if args.list:
        print(list_probe_choices())
        return 0
    return probe_command(
        model=args.model,
        sets=args.set,
        conditions=args.condition,
        limit=args.limit,
        out=args.out,
        seed=args.seed,
        threads=args.threads,
        checkpoints=args.checkpoints,
        progress=not args.no_progress,
    )


def _report_parsers(sub: Any) -> None:
    cmp = sub.add_parser(
        "compare",
        help="compare a candidate run with a base run, item by item; exit 1 on a regression",
        description="Exit codes: 0 no gated regression, 1 a gated metric is significantly worse "
        "beyond its allowed delta (or the candidate failed items the base scored), 2 error "
        "(unreadable runs, runs measured under different conditions without --force).",
    )
    cmp.add_argument("base", type=Path, help="the baseline run folder")
    cmp.add_argument("candidate", type=Path, help="the run folder to check")
    cmp.add_argument(
        "--max-regression",
        action="append",
        default=[],
        metavar="METRIC=DELTA",
        help="allowed worsening of METRIC (or TASK.METRIC), in its units (repeat); "
        "headline metrics default to 0, other metrics are gated only when named",
    )
    cmp.add_argument(
        "--direction",
        action="append",
        default=[],
        metavar="METRIC=lower|higher",
        help="which way is better, for a metric with no known direction (repeat)",
    )
    cmp.add_argument("--format", choices=("table", "markdown", "json"), default="table")
    cmp.add_argument("--alpha", type=float, default=0.05, help="significance level")
    cmp.add_argument("--resamples", type=int, default=5000, help="bootstrap resamples")
    cmp.add_argument("--seed", type=int, default=0, help="bootstrap and permutation seed")
    cmp.add_argument(
        "--max-new-failures",
        type=int,
        default=0,
        help="items the base scored that the candidate may fail before the gate fails",
    )
    cmp.add_argument(
        "--force", action="store_true", help="compare runs measured under different conditions"
    )

    rep = sub.add_parser("report", help="leaderboard across runs; --html writes a report page")
    rep.add_argument("runs", nargs="+", type=Path, help="run folders, or parents of run folders")
    rep.add_argument("--html", type=Path, default=None, help="write a self-contained HTML file")
    rep.add_argument(
        "--steps",
        default=None,
        help="comma-separated training steps, one per RUN (default: from the runs)",
    )
    rep.add_argument("--audio-items", type=int, default=8, help="items per run with audio")
    rep.add_argument("--audio-seconds", type=float, default=30.0, help="audio cap per item")
    rep.add_argument("--max-items", type=int, default=64, help="item sections per run")
    rep.add_argument("--title", default="duplex-bench report")


@command("compare")
def _compare(args: argparse.Namespace) -> int:
    from duplex.report.compare import (
        compare_runs,
        format_comparison,
        parse_directions,
        parse_max_regression,
    )
    from duplex.report.runs import load_run

    if args.resamples < 100:
        raise ConfigError(f"--resamples must be at least 100, got {args.resamples}")
    comparison = compare_runs(
        load_run(args.base),
        load_run(args.candidate),
        max_regression=parse_max_regression(args.max_regression),
        direction_overrides=parse_directions(args.direction),
        alpha=args.alpha,
        n_resamples=args.resamples,
        seed=args.seed,
        force=args.force,
        max_new_failures=args.max_new_failures,
    )
    print(format_comparison(comparison, args.format))
    return comparison.exit_code


@command("report")
def _report(args: argparse.Namespace) -> int:
    from duplex.report.html import ReportOptions, run_labels, write_report
    from duplex.report.runs import expand_runs, text_leaderboard

    if args.html is None:
        runs = expand_runs(args.runs)
        print(text_leaderboard(runs, run_labels(runs)))
        return 0
    steps = None
    if args.steps is not None:
        try:
            steps = [int(s) for s in args.steps.split(",")]
        except ValueError:
            raise ConfigError(f"--steps {args.steps!r}: expected integers like 1000,2000") from None
    opts = ReportOptions(
        audio_items=args.audio_items,
        audio_seconds=args.audio_seconds,
        max_items=args.max_items,
        title=args.title,
        steps=steps,
    )
    info = write_report(args.runs, args.html, opts)
    print(
        f"wrote {info.path} ({info.nbytes / 1e6:.1f} MB: {info.runs} runs, {info.items} items, "
        f"{info.clips} audio clips of {info.audio_bytes / 1e6:.1f} MB)"
    )
    return 0


def _live_parsers(sub: Any) -> None:
    from duplex.live.cli import add_live_parsers

    add_live_parsers(sub)


@command("live")
def _live(args: argparse.Namespace) -> int:
    from duplex.live.cli import live_command

    return live_command(args)


@command("devices")
def _devices(args: argparse.Namespace) -> int:
    from duplex.live.cli import devices_command

    return devices_command(args)


def _arena_parsers(sub: Any) -> None:
    from duplex.report.arena_cli import add_parsers

    add_parsers(sub)


@command("arena")
def _arena(args: argparse.Namespace) -> int:
    from duplex.report.arena_cli import arena_command

    return arena_command(args)


@command("rubric")
def _rubric(args: argparse.Namespace) -> int:
    from duplex.report.arena_cli import rubric_command

    return rubric_command(args)


@command("score")
def _score(args: argparse.Namespace) -> int:

    from duplex.report.fdb import score_fdb_folder
    from duplex.report.table import format_summary

    if args.json is not None:  # a bad path is found now, not after every sample was scored
        check_output_file(args.json, "--json")
    results = score_fdb_folder(args.fdb, args.task)
    print(format_summary(results.summary))
    if args.json is not None:
        from duplex.report.documents import to_json
        from duplex.writing import write_json

        doc = {"summary": to_json(results.summary), "rows": [to_json(r) for r in results.rows]}
        write_json(args.json, doc, what="the scores")
    if results.summary.items.ok == 0:
        print("duplex-bench: nothing could be scored (every sample failed)", file=sys.stderr)
        return 1
    return 0
