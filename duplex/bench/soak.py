"""The reliability campaign: nothing lost, nobody stuck, no secret written (issue 20).

    duplex-bench bench soak [--sessions 120] [--fuzz 10000] [--items 4] [--seed 20]
        [--serve-model SPEC] [--concurrency 6] [--out DIR] [--json FILE]

On loopback, with planted secrets (a serve token, URL credentials and keys, an API key in the
environment, a judge's key), it runs:

1. ``serve`` in a child process (``python -m duplex serve``, token from the environment), and
   ``--sessions`` sessions split between three sides, several at once, each under a deadline:
   hostile clients of ``serve`` and our own ``moshi+ws`` client (idle, stalled, disconnecting,
   garbage, text and oversized frames, bursts, error closes, malformed kinds, no or a wrong token,
   an upgrade never finished: :mod:`duplex.bench.soak_sessions`); ``moshi+ws`` and
   ``realtime+ws`` against servers that misbehave (:mod:`duplex.bench.soak_faults`). Every fault
   has an expected end; a session that ends otherwise is counted as unexpected.
2. ``--fuzz`` seeded random messages to ``serve`` (:mod:`duplex.bench.soak_serve`), each reaction
   checked against the protocol.
3. ``duplex-bench run`` in child processes (:mod:`duplex.bench.soak_runner`): ``moshi+ws`` and
   ``realtime+ws`` against the faulty servers drawing a fault per connection, each killed with
   SIGKILL after its first result and resumed; a lock-step ``user_interruption`` run judged by an
   endpoint that echoes the judge's key in its error.
4. ``serve``'s resident memory before (after a warm-up) and after everything, and a last healthy
   session; then every file written (run folders, logs, the judge cache) is searched for every
   planted secret, in the forms it travels in (as is, URL-quoted, inside a Basic header).

It prints sessions run, faults injected, crashes, hangs, unexpected ends, failures recorded with
a reason, items lost, the fuzz's tally, the server's RSS growth and secrets found; ``pass`` is
true when crashes, hangs, unexpected ends, items lost and secrets found are all 0 and RSS grew at
most 10 %. Numbers are comparable only at the same seed and sizes; timing depends on the machine
(the load average is printed). The short version runs in CI (``tests/bench/test_soak.py``).

Figures, defaults (seed 20), 2 cores shared with other work (load average 9.2 before, 8.9
after), 117 s: 135 sessions (serve 43, moshi+ws 40, realtime+ws 40, 12 items of runs), 114
faults injected (+2 runs whose every session meets an echoing error), 0 crashes, 0 hangs, 0
unexpected ends, 91 failures recorded, each with a reason, 0 items lost (both live runs killed
with SIGKILL after their first result, then resumed), 10,000 fuzz messages over 2,575
connections (2,450 malformed ones answered with an error, 123 closed with 1009, 0 hangs, 0
unexplained), serve RSS 331.5 -> 349.4 MB (+5.4 %), 0 secrets in 72 files (27.5 MB). Before the
fix of issue 20's defect 4, 2,000 fuzz messages (472 sessions ended by an error) grew serve from
343 to 576 MB (+68 %); now 337 -> 344 MB, and 30,000 messages (7,223 errored sessions) 337 ->
353 MB: what is left is asyncio's own transport cycle, freed by the next young collection, so
the growth levels off.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import os
import shutil
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import numpy as np

from duplex.bench.base import Benchmark, Figures, load_average
from duplex.bench.soak_faults import MOSHI_FAULTS, REALTIME_FAULTS, faulty_servers
from duplex.bench.soak_runner import PassResult, echoing_judge, runner_pass
from duplex.bench.soak_serve import FuzzTally, ServeProcess, child_env, fuzz
from duplex.bench.soak_sessions import (
    SERVE_FAULTS,
    Outcome,
    client_session,
    ogg_messages,
    serve_session,
    short_item,
)
from duplex.writing import redact

#: the environment variable the realtime client takes its key from (``#auth_env=``)
REALTIME_KEY_ENV = "SOAK_REALTIME_KEY"
RSS_GROWTH_LIMIT = 0.10
RUN_BOUND_S = 600.0


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclasses.dataclass(frozen=True)
class Planted:
    """Secrets put where a careless harness would write them; none may appear in a file."""

    serve_token: str
    url_password: str
    url_key: str
    env_key: str
    judge_key: str

    @classmethod
    def draw(cls, seed: int) -> Planted:
        rng = np.random.default_rng(seed)
        return cls(*(f"{n}-{rng.bytes(9).hex()}" for n in ("stok", "pw", "ukey", "sk-env", "jk")))

    def forms(self) -> dict[str, list[bytes]]:
        """Each secret in every form it travels in."""
        basic = base64.b64encode(f"soak:{self.url_password}".encode())
        out = {}
        for name, value in dataclasses.asdict(self).items():
            forms = {value.encode(), urllib.parse.quote(value, safe="").encode()}
            out[name] = sorted(forms | ({basic} if name == "url_password" else set()))
        return out


def _plan(seed: int, n: int) -> list[tuple[str, str, int]]:
    """(side, fault, frame) for ``n`` sessions: every fault of every side once, then random."""
    rng = np.random.default_rng(seed)
    sides = {"serve": SERVE_FAULTS, "moshi": MOSHI_FAULTS, "realtime": REALTIME_FAULTS}
    plan: list[tuple[str, str, int]] = []
    for i in range(n):
        side = list(sides)[i % 3]
        faults = sides[side]
        k = i // 3
        fault = faults[k] if k < len(faults) else str(rng.choice(faults))
        plan.append((side, fault, int(rng.integers(3, 20))))
    rng.shuffle(plan)
    return plan


def _item() -> tuple[Any, list[bytes]]:
    """The sessions' item (2.5 s: real speech, then silence) and its Ogg/Opus frames."""
    from duplex.scenarios import load_suite

    item = short_item(load_suite("turn_taking").render("tt-001"))
    return item, ogg_messages(item.audio)


async def _sessions(
    plan: list[tuple[str, str, int]],
    serve: ServeProcess,
    faulty: Any,
    token: str,
    args: Any,
    item: Any,
    frames: list[bytes],
) -> list[Outcome]:
    gate = asyncio.Semaphore(args.concurrency)
    done = 0

    async def one(i: int, side: str, fault: str, at: int) -> Outcome:
        nonlocal done
        async with gate:
            if side == "serve":
                out = await serve_session(serve.url, token, fault, item, frames, args.seed + i)
            else:
                base = faulty.moshi if side == "moshi" else faulty.realtime
                out = await client_session(side, base, fault, at, item)
        done += 1
        if done % 20 == 0:
            _log(f"  {done}/{len(plan)} sessions")
        return out

    return list(await asyncio.gather(*(one(i, *p) for i, p in enumerate(plan))))


def _runner_args(planted: Planted, faulty: Any, judge_url: str, items: int) -> dict[str, Any]:
    mhost = faulty.moshi.removeprefix("ws://")
    rhost = faulty.realtime.removeprefix("ws://")
    creds = f"soak:{planted.url_password}@"
    moshi = (
        f"moshi+ws://{creds}{mhost}/api/chat?token={planted.serve_token}"
        f"&api_key={planted.url_key}&fault=random#handshake_timeout=5,stall_timeout=2"
    )
    realtime = (
        f"realtime+ws://{creds}{rhost}/v1/realtime?api_key={planted.url_key}&fault=random"
        f"#auth_env={REALTIME_KEY_ENV},stall_timeout=2"
    )
    judge = f"openai-compatible:base_url={judge_url},model=soak-judge,api_key={planted.judge_key}"
    live = ["--scenario", "turn_taking", "--clock", "realtime", "--concurrency", "2"]
    one = [*live, "--limit", "1", "--judge", "none"]
    # One item more than run at once, so that the kill lands between the first row and the last
    # (with --limit 2 both sessions could end together, before the kill).
    live += ["--limit", str(max(3, items)), "--judge", "none"]
    # Runs whose every session meets a server error quoting the request's credentials back (the
    # random draws above may not): the planted keys reach the results, where they must be masked.
    echo = {p: f"fault={'error_close' if p == 'moshi' else 'error'}" for p in ("moshi", "realtime")}
    return {
        "moshi+ws": ([*live, "--model", moshi], True),
        "realtime+ws": ([*live, "--model", realtime], True),
        "moshi+ws-echo": ([*one, "--model", moshi.replace("fault=random", echo["moshi"])], False),
        "realtime+ws-echo": (
            [*one, "--model", realtime.replace("fault=random", echo["realtime"])],
            False,
        ),
        "judged": (
            # a 4 s answer takes the turn by the FDB rule, so the item goes to the judge
            ["--scenario", "user_interruption", "--model", "scripted:latency=0.4,length=4",
             "--clock", "lockstep", "--limit", str(max(1, items // 2)), "--judge", judge],
            False,
        ),
    }  # fmt: skip


async def _runner_passes(
    planted: Planted, faulty: Any, folder: Path, env: dict[str, str], items: int
) -> list[PassResult]:
    from duplex.scenarios import load_suite

    server, judge_url = await echoing_judge()
    try:
        passes = _runner_args(planted, faulty, judge_url, items)

        async def one(name: str, args: list[str], kill: bool) -> PassResult:
            suite = load_suite(args[args.index("--scenario") + 1])
            planned = suite.item_ids()[: int(args[args.index("--limit") + 1])]
            result = await runner_pass(
                name, args, planned, folder, env, kill=kill, bound_s=RUN_BOUND_S
            )
            _log(f"  run {name}: {result.rows}/{result.planned} rows, {result.seconds} s")
            return result

        return list(await asyncio.gather(*(one(n, a, k) for n, (a, k) in passes.items())))
    finally:
        server.close()


def _scan(roots: list[Path], planted: Planted) -> dict[str, Any]:
    """Every file under ``roots`` searched for every planted secret."""
    forms = planted.forms()
    found: list[str] = []
    files = nbytes = 0
    for root in roots:
        if not root.exists():
            continue
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            data = path.read_bytes()
            files += 1
            nbytes += len(data)
            for name, variants in forms.items():
                if any(v in data for v in variants):
                    found.append(f"{name} in {path}")
    return {"found": len(found), "where": found[:20], "files": files, "bytes": nbytes}


async def _campaign(args: argparse.Namespace, folder: Path, planted: Planted) -> Figures:
    env = child_env({"DUPLEX_BENCH_TOKEN": planted.serve_token, REALTIME_KEY_ENV: planted.env_key})
    figures: Figures = {}
    async with AsyncExitStack() as stack:
        _log(f"serve ({args.serve_model}) in a child process ...")
        serve = await ServeProcess.start(args.serve_model, folder / "serve.log", env, 8)
        stack.push_async_callback(serve.stop)
        faulty = await stack.enter_async_context(faulty_servers(args.seed))
        item, frames = _item()
        token = planted.serve_token
        warm = [
            await serve_session(serve.url, token, "our_client", item, frames, 0) for _ in range(2)
        ]
        rss_before = serve.rss_mb()
        _log(f"  serve RSS after warm-up {rss_before:.1f} MB; {args.sessions} sessions ...")
        os.environ[REALTIME_KEY_ENV] = planted.env_key
        try:
            plan = _plan(args.seed, args.sessions)
            outcomes = await _sessions(plan, serve, faulty, token, args, item, frames)
        finally:
            del os.environ[REALTIME_KEY_ENV]
        _log(f"fuzz: {args.fuzz} messages ...")
        tally = await fuzz(serve.url, planted.serve_token, args.fuzz, args.seed, workers=4)
        _log("runs killed and resumed ...")
        passes = await _runner_passes(planted, faulty, folder, env, args.items)
        last = await serve_session(serve.url, token, "our_client", item, frames, 0)
        await asyncio.sleep(1.0)
        rss_after = serve.rss_mb() if serve.alive else float("nan")
        figures["drawn"] = Counter(faulty.moshi_picker.drawn + faulty.realtime_picker.drawn)
        figures["serve_alive"] = serve.alive
        figures["serve_exit"] = await serve.stop()
    figures.update(outcomes=warm + outcomes + [last], fuzz=tally, passes=passes)
    figures["rss"] = (rss_before, rss_after)
    return figures


def _summarise(raw: Figures, args: argparse.Namespace, scan: dict[str, Any]) -> Figures:
    outcomes: list[Outcome] = raw["outcomes"]
    tally: FuzzTally = raw["fuzz"]
    passes: list[PassResult] = raw["passes"]
    runner_rows = sum(p.rows for p in passes)
    by_status = Counter(o.status for o in outcomes)
    faults = Counter(o.fault for o in outcomes if o.fault not in ("none", "our_client"))
    faults.update({f"runner:{k}": v for k, v in raw["drawn"].items() if k != "none"})
    faults["runner:echo"] += sum(p.rows for p in passes if p.name.endswith("-echo"))
    crashes = [f"{o.part}/{o.fault}: {o.reason}" for o in outcomes if o.status == "crash"]
    crashes += [c for p in passes for c in p.crashes]
    crashes += [f"fuzz: {u}" for u in tally.unexplained if u.startswith("fuzzer:")]
    if not raw["serve_alive"]:
        crashes.append(f"serve died (exit code {raw['serve_exit']})")
    hangs = [f"{o.part}/{o.fault}: {o.reason}" for o in outcomes if o.status == "hang"]
    hangs += [f"run {p.name}" for p in passes for _ in range(p.hangs)]
    hangs += ["fuzz"] * tally.hangs
    unexpected = [f"{o.part}/{o.fault}: {o.reason}" for o in outcomes if o.status == "unexpected"]
    unexpected += [f"fuzz: {u}" for u in tally.unexplained if not u.startswith("fuzzer:")]
    before, after = raw["rss"]
    growth = (after - before) / before if before else float("nan")
    failed = by_status["failed"] + sum(p.failed_with_reason for p in passes)
    without = sum(p.failed_without_reason for p in passes)
    figures: Figures = {
        "seed": args.seed,
        "cores": os.cpu_count(),
        "sessions": {
            **Counter(o.part for o in outcomes),
            "runner items": runner_rows,
            "total": len(outcomes) + runner_rows,
        },
        "faults_injected": {"total": sum(faults.values()), **dict(sorted(faults.items()))},
        "crashes": len(crashes),
        "hangs": len(hangs),
        "unexpected": len(unexpected),
        "failures_recorded_with_reason": failed,
        "failures_without_reason": without,
        "items_lost": sum(p.lost for p in passes),
        "runs": [dataclasses.asdict(p) for p in passes],
        "fuzz": dataclasses.asdict(tally),
        "server_rss_mb": {
            "before": round(before, 1),
            "after": round(after, 1),
            "growth_pct": round(100 * growth, 1),
        },
        "secrets": scan,
        "details": {"crashes": crashes[:20], "hangs": hangs[:20], "unexpected": unexpected[:20]},
        "failure_reasons": sorted({o.reason for o in outcomes if o.status == "failed"})[:40],
    }
    figures["pass"] = (
        not crashes
        and not hangs
        and not unexpected
        and not without
        and figures["items_lost"] == 0
        and scan["found"] == 0
        and growth <= RSS_GROWTH_LIMIT
    )
    # The figures are printed and may be written: what the sessions said is redacted like any
    # other output (a server's error may quote a key), and the scan above already ran.
    return _redacted(figures, args)


def _redacted(figures: Any, args: argparse.Namespace) -> Any:
    if isinstance(figures, dict):
        return {k: _redacted(v, args) for k, v in figures.items()}
    if isinstance(figures, list):
        return [_redacted(v, args) for v in figures]
    return redact(figures) if isinstance(figures, str) else figures


def run_soak(args: argparse.Namespace) -> Figures:
    keep = args.out is not None
    folder = Path(args.out) if keep else Path(tempfile.mkdtemp(prefix="duplex-soak-"))
    folder.mkdir(parents=True, exist_ok=True)
    planted = Planted.draw(args.seed)
    load_before = load_average()
    t = time.perf_counter()
    try:
        raw = asyncio.run(_campaign(args, folder, planted))
        from duplex.cache import cache_dir

        scan = _scan([folder, cache_dir("judges")], planted)
        figures = _summarise(raw, args, scan)
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    figures.update(
        load_before=load_before,
        load_after=load_average(),
        seconds=round(time.perf_counter() - t, 1),
        folder=str(folder) if keep else "(temporary, removed)",
    )
    return figures


def format_soak(f: Figures) -> str:
    s, r, z = f["sessions"], f["server_rss_mb"], f["fuzz"]
    sides = ", ".join(f"{k} {v}" for k, v in s.items() if k != "total")
    kinds = ", ".join(f"{k} {v}" for k, v in f["faults_injected"].items() if k != "total")
    runs = "; ".join(
        f"{p['name']}: {p['rows']}/{p['planned']} rows"
        + (f", killed after {p['killed_after_rows']}" if p["killed_after_rows"] is not None else "")
        for p in f["runs"]
    )
    lines = [
        f"soak  (seed {f['seed']}, {f['cores']} cores, load average before {f['load_before']},"
        f" after {f['load_after']}; {f['seconds']:.0f} s)",
        f"sessions run          {s['total']:>6}   ({sides})",
        f"faults injected       {f['faults_injected']['total']:>6}   ({kinds})",
        f"crashes               {f['crashes']:>6}   (want 0)",
        f"hangs                 {f['hangs']:>6}   (want 0: every session ended by its deadline)",
        f"unexpected ends       {f['unexpected']:>6}   (want 0: each fault ended as it must)",
        f"failures recorded     {f['failures_recorded_with_reason']:>6}   with a reason"
        f" ({f['failures_without_reason']} without one, want 0)",
        f"items lost            {f['items_lost']:>6}   (want 0; {runs})",
        f"fuzz                  {z['messages']:>6}   messages over {z['connections']} connections:"
        f" {z['errors_answered']} malformed ones answered with an error, {z['too_big']} too big"
        f" (1009), {z['hangs']} hangs, {len(z['unexplained'])} unexplained",
        f"server RSS            before {r['before']} MB, after {r['after']} MB"
        f" ({r['growth_pct']:+.1f} %, want at most +{100 * RSS_GROWTH_LIMIT:.0f} %)",
        f"secrets found         {f['secrets']['found']:>6}   (want 0;"
        f" {f['secrets']['files']} files, {f['secrets']['bytes'] / 1e6:.1f} MB searched)",
        f"verdict               {'PASS' if f['pass'] else 'FAIL'}   (files: {f['folder']})",
    ]
    for what, items in f["details"].items():
        lines += [f"  {what}: {x}" for x in items]
    lines += [f"  secret: {w}" for w in f["secrets"]["where"]]
    return "\n".join(lines)


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sessions", type=int, default=120, help="fault sessions (split in three)")
    p.add_argument("--fuzz", type=int, default=10_000, help="random messages sent to serve")
    p.add_argument("--items", type=int, default=4, help="items of each killed-and-resumed run")
    p.add_argument("--seed", type=int, default=20)
    p.add_argument("--serve-model", default="scripted:latency=0.4,length=1")
    p.add_argument("--concurrency", type=int, default=6, help="sessions at once (at most 8)")
    p.add_argument("--out", type=Path, default=None, help="keep the soak's files here")


BENCH = Benchmark(
    "soak",
    "faults, kill -9 and --resume, a fuzz of serve, memory and planted secrets: the campaign",
    _arguments,
    run_soak,
    format_soak,
)
