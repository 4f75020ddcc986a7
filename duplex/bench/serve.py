"""Benchmark the websocket path: our Moshi client against our own `serve`, on loopback.

    duplex-bench bench serve [--sessions 1 32] [--seconds 20] [--repeats 3]
        [--server-loop process|thread|shared] [--no-oracle] [--json FILE]

1. Send-time jitter and drift. A silent model is served (``--max-sessions`` = the largest N);
   N real-time sessions run at once through ``run_realtime`` with the ``moshi+ws://`` client, all
   on one event loop (``precise_wait_s=0`` when N > 1, as the runner does). From each recording's
   timings: send lateness p50/p99 (ms from each frame's due time to its bytes being written to
   the socket) and the lateness of the last frame (end-of-session drift). Per run the sessions'
   p50s are summarised by their median, the p99s by their median and their maximum (the worst
   session); figures are medians over repeats.
2. Latency of a served oracle. ``oracle:latency=0.6`` is served and one item of the
   ``turn_taking`` suite streamed to it; its latency is measured as the harness measures any
   model (first voice onset in the recording, Silero VAD, minus the item's turn end) and compared
   with its true 0.6 s. The same oracle stepped in lock-step with zero compute time gives the
   measurement's own offset (VAD edge, the voice's attack), so ``served - lockstep`` is the error
   the transport adds.

Why the oracle is wrapped: ``serve`` opens every session with empty annotations (a served model
cannot see the item), and the oracle reads the turn end from the annotations. The wrapper hands it
the item's annotations, which is what an oracle on the far side of a real connection would need.

Where the server runs (``--server-loop``): by default in a child process (``process``), which
is what a real deployment looks like (the server is never the client's process) and what the
figures below are for. ``thread`` runs it in this process on its own thread and event loop,
``shared`` on the clients' loop; both make the server's Opus work compete with the clients' for
one GIL, so at 32 sessions they measure this process's CPU, not the transport.

Why encoding is off the deadline: sphn's Opus encoder takes 1.2-1.8 ms per 80 ms frame at 24 kHz
and holds the GIL while it does (two threads encode no faster than one). Encoding each frame at
its deadline made a burst of sessions with nearly the same phase (sessions started together
begin within a few ms of each other) send one after another, 1.2 ms apart: the last of 20
sessions sent 20+ ms late. The client now encodes each frame in the slack before its deadline
(``duplex/models/transports/ahead.py``) and at the deadline only writes its bytes; the send
time stamped is the deadline wake-up, and ``send call`` below shows how long it then took to
hand the bytes to the socket. Decoding (about 0.1 ms a frame) stays on arrival.

Figures, 2 cores, ``--seconds 10 --repeats 3``, server in a process. Lateness in ms; p99 is the
median session's ("worst" the worst session's). The 32 clients need about 0.6 of a core (0.75 of it
sphn's encoder), the server about 0.5, so a machine shared with other work starves them.

    idle machine (load 0.6), encoding ahead and few GC pauses (duplex.simulator.gcpause):
      N=1   p50 0.48  p99 1.24  drift 0.40
      N=32  p50 0.92  p99 2.42 (worst session 3.10)  max 4.87  drift 1.03, every frame
            encoded ahead, longest send call 1.51
      served oracle: error 13.0 ms
    the same machine a few minutes earlier, encoding ahead with the default GC policy:
      N=32  p50 0.96  p99 8.27 (worst session 22.99)  max 28.3; 97.5 % encoded ahead
      (one run with only the GC policy changed: p99 2.22, worst session 3.06)
    encoding at the deadline (the version before), load 2.4 -> 2.2:
      N=1   p50 2.00  p99 6.31  drift 3.19   (the frame's own encode, now inside the lateness)
      N=32  p50 23.2, p99 158; no repeat below p99 136
    before that, idle machine, encoding at the deadline and lateness taken at the wake-up
    (before the encode): N=1 p99 0.45; N=32 p99 2449 (server on a thread), 21.8 (process).

Where the time went at 32 sessions (CPU time per 80 ms frame in the client process, profiled):
encode 1.19 ms, decode 0.10 ms, the send call itself 0.04 ms (p99 0.25); sessions started
together begin within 1 ms of each other in groups of up to 20, so each group's sends queue.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import multiprocessing
import os
import statistics
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import numpy as np

from duplex.bench.base import Benchmark, load_average


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _server_model(spec: str, annotations: Any) -> Any:
    from duplex.models.registry import load_model

    model = load_model(spec)
    return model if annotations is None else _annotated(model, annotations)


async def _serve_until(model: Any, opts: Any, on_port: Callable[[int], None], stop: Any) -> None:
    from duplex.serve import MoshiServer

    async with MoshiServer(model, opts) as server:
        on_port(server.port)
        await stop()


def _child(spec: str, annotations: Any, max_sessions: int, conn: Any) -> None:
    """``--server-loop process``: the server in a child process, stopped by a message."""
    from duplex.serve import ServeOptions

    opts = ServeOptions(host="127.0.0.1", port=0, max_sessions=max_sessions)
    model = _server_model(spec, annotations)

    async def stop() -> None:
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)

    from duplex.simulator.gcpause import few_gc_pauses

    with few_gc_pauses():  # as `duplex-bench serve` does
        asyncio.run(_serve_until(model, opts, conn.send, stop))


@asynccontextmanager
async def _served(
    spec: str, max_sessions: int, where: str, annotations: Any = None
) -> AsyncIterator[str]:
    """``moshi+ws://`` URL of our ``serve`` (model ``spec``) on an ephemeral loopback port."""
    from duplex.serve import ServeOptions

    opts = ServeOptions(host="127.0.0.1", port=0, max_sessions=max_sessions)
    options = "#stall_timeout=30&handshake_timeout=30"
    if where == "process":
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_child, args=(spec, annotations, max_sessions, child))
        proc.start()
        try:
            if not parent.poll(120):
                raise RuntimeError("server process did not start")
            yield f"moshi+ws://127.0.0.1:{parent.recv()}/api/chat{options}"
        finally:
            parent.send("stop")
            proc.join(10)
            if proc.is_alive():
                proc.terminate()
        return
    model = _server_model(spec, annotations)
    if where == "shared":
        from duplex.serve import MoshiServer

        async with MoshiServer(model, opts) as server:
            yield f"moshi+ws://127.0.0.1:{server.port}/api/chat{options}"
        return
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def run_server() -> None:
        stop = asyncio.Event()
        box["loop"], box["stop"] = asyncio.get_running_loop(), stop

        def on_port(port: int) -> None:
            box["port"] = port
            ready.set()

        await _serve_until(model, opts, on_port, stop.wait)

    def thread_main() -> None:
        try:
            asyncio.run(run_server())
        except BaseException as exc:  # reported to the waiting side
            box["error"] = exc
            ready.set()

    thread = threading.Thread(target=thread_main, name="serve", daemon=True)
    thread.start()
    ready.wait(30)
    if "error" in box or "port" not in box:
        raise RuntimeError(f"server did not start: {box.get('error')!r}")
    try:
        yield f"moshi+ws://127.0.0.1:{box['port']}/api/chat{options}"
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(10)


def _annotated(model: Any, annotations: Any) -> Any:
    """A lock-step model that opens every session of ``model`` with ``annotations``."""
    from duplex.models.base import LockstepModel, LockstepSession, SessionInfo

    class Annotated(LockstepModel):
        def __init__(self) -> None:
            self.spec = model.spec
            self.sample_rate = model.sample_rate
            self.frame_size = model.frame_size

        def open(self, info: SessionInfo) -> LockstepSession:
            session: LockstepSession = model.open(
                dataclasses.replace(info, annotations=annotations)
            )
            return session

    return Annotated()


def _long_item(item: Any, seconds: float) -> Any:
    """``item``'s audio repeated to ``seconds``: real speech, so the Opus work is realistic."""
    n = round(seconds * item.sample_rate)
    audio = np.resize(item.audio, n).astype(np.float32)
    return dataclasses.replace(item, item_id=f"{item.item_id}-x{seconds:g}s", audio=audio, cues=())


async def _jitter_run(url: str, item: Any, n: int) -> list[dict[str, Any]]:
    from duplex.models.registry import load_model
    from duplex.simulator.session import SessionOptions, run_realtime
    from duplex.timeline import SPIN_MARGIN_S

    client = load_model(url)
    # As the runner: the clock's blocking final wait only when one session has the loop.
    opts = SessionOptions(drain_s=0.3, precise_wait_s=SPIN_MARGIN_S if n == 1 else 0.0)
    recordings = await asyncio.gather(*(run_realtime(client, item, opts) for _ in range(n)))
    return [r.timings for r in recordings]


def _summary(timings: list[dict[str, Any]]) -> dict[str, float]:
    p50 = [t["send_lateness_ms_p50"] for t in timings]
    p99 = [t["send_lateness_ms_p99"] for t in timings]
    last = [t["send_lateness_ms_last"] for t in timings]
    transport = [t.get("transport", {}) for t in timings]
    ahead = sum(t.get("frames_encoded_ahead", 0) for t in transport)
    sent = sum(t.get("frames_sent", 0) for t in transport)
    return {
        "p50_ms": statistics.median(p50),
        "p99_ms_median": statistics.median(p99),
        "p99_ms_worst": max(p99),
        "max_ms_worst": max(t["send_lateness_ms_max"] for t in timings),
        "drift_ms_median": statistics.median(last),
        "drift_ms_worst": max(last, key=abs),
        # the time from the stamped send to the bytes handed to the socket (encoding off it)
        "send_call_ms_worst": max(t.get("send_ms_max", float("nan")) for t in transport),
        "encoded_ahead_pct": 100 * ahead / sent if sent else float("nan"),
    }


def _median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0]}


def bench_jitter(
    sessions: list[int], seconds: float, repeats: int, item: Any, where: str
) -> dict[str, Any]:
    from duplex.simulator.gcpause import few_gc_pauses

    long_item = _long_item(item, seconds)
    out: dict[str, Any] = {}

    async def go() -> None:
        async with _served("silent", max(sessions), where) as url:
            for n in sessions:
                runs = []
                for r in range(repeats):
                    t = time.perf_counter()
                    with few_gc_pauses():  # as the runner does for real-time sessions
                        runs.append(_summary(await _jitter_run(url, long_item, n)))
                    _log(f"  N={n} repeat {r + 1}: {runs[-1]} ({time.perf_counter() - t:.1f} s)")
                out[str(n)] = _median_of(runs)

    asyncio.run(go())
    return out


def _onset_latency(recording: Any, turn_end: float) -> float | None:
    """Latency as the metrics see it: the first VAD segment of the model channel."""
    from duplex.metrics import analyze_output

    activity = analyze_output(recording, asr=None).activity
    return activity[0].start - turn_end if activity else None


def _sample_latency(recording: Any, turn_end: float) -> float | None:
    """Latency to the first sample above -40 dBFS: no VAD, so the transport's shift alone."""
    loud = np.flatnonzero(np.abs(recording.model) > 0.01)
    return loud[0] / recording.sample_rate - turn_end if loud.size else None


def _arrival_delays_ms(recording: Any, until_s: float) -> list[float]:
    """How late each answered frame arrived after its input frame was sent, up to ``until_s``.

    ``serve`` answers input frame k with exactly one frame, so the k-th audio message is the
    answer to frame k, due at (k+1)F. The Recorder plays audio continuously from the earliest
    arrival, so the largest of these delays before the onset shifts the onset by as much.
    """
    from duplex.events import ModelAudio

    audio = [e for e in recording.events if isinstance(e, ModelAudio)]
    frame = audio[0].samples.size if audio else 1
    rate = recording.sample_rate
    return [
        (e.at - (k + 1) * frame) / rate * 1000 for k, e in enumerate(audio) if e.at < until_s * rate
    ]


def bench_oracle(repeats: int, item: Any, latency: float, where: str) -> dict[str, Any]:
    from duplex.models.registry import load_model
    from duplex.simulator.session import SessionOptions, run_lockstep, run_realtime
    from duplex.timeline import no_compute

    spec = f"oracle:latency={latency:g}"
    oracle = _server_model(spec, item.annotations)
    turn_end = item.annotations.turn_end
    lockstep = run_lockstep(oracle, item, SessionOptions(stopwatch=no_compute()))
    reference = _onset_latency(lockstep, turn_end)
    reference_sample = _sample_latency(lockstep, turn_end)
    served: list[float] = []
    served_sample: list[float] = []
    delay_p50: list[float] = []
    delay_max: list[float] = []

    async def go() -> None:
        async with _served(spec, 1, where, item.annotations) as url:
            client = load_model(url)
            for r in range(repeats):
                rec = await run_realtime(client, item, SessionOptions(drain_s=0.3))
                measured = _onset_latency(rec, turn_end)
                if measured is None:
                    raise RuntimeError("the served oracle's voice was not found in the recording")
                served.append(measured)
                sample = _sample_latency(rec, turn_end)
                served_sample.append(float("nan") if sample is None else sample)
                delays = _arrival_delays_ms(rec, turn_end + measured)
                delay_p50.append(statistics.median(delays))
                delay_max.append(max(delays))
                _log(
                    f"  oracle repeat {r + 1}: measured latency {measured:.4f} s "
                    f"(first loud sample {served_sample[-1]:.4f} s)"
                )

    asyncio.run(go())
    med = statistics.median(served)
    return {
        "item": item.item_id,
        "turn_end_s": round(turn_end, 4),
        "true_latency_s": latency,
        "served_latency_s": round(med, 4),
        "served_latency_s_all": [round(x, 4) for x in served],
        "lockstep_latency_s": None if reference is None else round(reference, 4),
        "error_vs_true_ms": round((med - latency) * 1000, 1),
        "error_vs_lockstep_ms": None if reference is None else round((med - reference) * 1000, 1),
        "first_sample_shift_ms": None
        if reference_sample is None
        else round((statistics.median(served_sample) - reference_sample) * 1000, 1),
        "arrival_delay_ms_p50": round(statistics.median(delay_p50), 1),
        "arrival_delay_ms_max_before_onset": round(statistics.median(delay_max), 1),
    }


def format_result(result: dict[str, Any]) -> str:
    lines = [
        f"serve benchmark  ({result['cores']} cores, load average before: {result['load_before']},"
        f" after: {result['load_after']}, server loop: {result['server_loop']})",
        f"send lateness, {result['seconds']:g} s sessions, median of {result['repeats']} repeats:",
        f"  {'N':>3}  {'p50':>7}  {'p99 med':>8}  {'p99 worst':>9}  {'max worst':>9}"
        f"  {'drift med':>9}  {'drift worst':>11}   (ms)",
    ]
    for n, j in result["jitter"].items():
        lines.append(
            f"  {n:>3}  {j['p50_ms']:7.2f}  {j['p99_ms_median']:8.2f}  {j['p99_ms_worst']:9.2f}"
            f"  {j['max_ms_worst']:9.2f}  {j['drift_ms_median']:9.2f}  {j['drift_ms_worst']:11.2f}"
        )
    lines.append("  frames encoded ahead / longest send call (deadline wake-up to bytes written):")
    lines += [
        f"  {n:>3}  {j['encoded_ahead_pct']:.1f} %  {j['send_call_ms_worst']:.2f} ms"
        for n, j in result["jitter"].items()
    ]
    o = result.get("oracle")
    if o:
        lines += [
            f"served oracle on {o['item']} (turn end {o['turn_end_s']} s):",
            f"  true {o['true_latency_s']:g} s, measured {o['served_latency_s']} s "
            f"(error {o['error_vs_true_ms']} ms); same oracle in lock-step measures "
            f"{o['lockstep_latency_s']} s (transport adds {o['error_vs_lockstep_ms']} ms)",
            f"  first loud sample vs lock-step (no VAD): shifted {o['first_sample_shift_ms']} ms"
            " (one Opus pass alone delays audio by ~6.5 ms)",
            f"  answers arrived {o['arrival_delay_ms_p50']} ms after their input frame (median),"
            f" at most {o['arrival_delay_ms_max_before_onset']} ms before the onset (continuous"
            " playout carries the largest such delay forward)",
        ]
    return "\n".join(lines)


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sessions", type=int, nargs="+", default=[1, 32])
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--item", default="tt-001", help="turn_taking item for the oracle")
    p.add_argument("--latency", type=float, default=0.6, help="the oracle's true latency")
    p.add_argument("--server-loop", choices=("process", "thread", "shared"), default="process")
    p.add_argument("--no-oracle", action="store_true")


def run_serve_bench(args: argparse.Namespace) -> dict[str, Any]:
    from duplex.scenarios import load_suite

    item = load_suite("turn_taking").render(args.item)
    result: dict[str, Any] = {
        "cores": os.cpu_count(),
        "load_before": load_average(),
        "server_loop": args.server_loop,
        "seconds": args.seconds,
        "repeats": args.repeats,
    }
    _log("jitter and drift ...")
    result["jitter"] = bench_jitter(
        args.sessions, args.seconds, args.repeats, item, args.server_loop
    )
    if not args.no_oracle:
        _log("served oracle ...")
        result["oracle"] = bench_oracle(args.repeats, item, args.latency, args.server_loop)
    result["load_after"] = load_average()
    return result


BENCH = Benchmark(
    "serve",
    "moshi+ws sessions against `serve` on loopback: send lateness, drift, served-oracle error",
    _arguments,
    run_serve_bench,
    format_result,
)
