"""The soak's sessions: hostile clients against ``serve``, and our two websocket clients against
servers that misbehave (:mod:`duplex.bench.soak_faults`).

Every session runs under a deadline and ends as one :class:`Outcome`: ``ok``, ``failed`` (with
the reason the harness recorded), ``hang`` (still running at its deadline), ``crash`` (an
exception no caller expects: a traceback instead of a recorded failure) or ``unexpected`` (it
ended, but not as the fault must make it end, e.g. a stall that was not noticed).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np
import sphn
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from duplex.bench.soak_faults import EXPECTED
from duplex.errors import DuplexError
from duplex.models.registry import load_model
from duplex.scenarios.base import ScenarioItem
from duplex.simulator.session import SessionFailed, SessionOptions, run_realtime

RATE, FRAME = 24000, 1920
#: the server's idle timeout in the soak, and how long a stalled client pauses (less than it)
IDLE_S, CLIENT_PAUSE_S = 2.0, 1.0
#: anything legitimate ends within this: an item, its drain, connect and handshake limits, a
#: stall being noticed, closing handshakes, and slack for a loaded machine
SESSION_BOUND_S = 30.0
#: a moshi+ws burst is dropped as stale: the session must report most of the audio as dropped
LOST_FRAC = 0.5

SERVE_FAULTS = (
    "our_client",
    "none",
    "stall",
    "idle",
    "garbage",
    "text",
    "oversized",
    "burst",
    "unknown",
    "malformed",
    "disconnect",
    "error_close",
    "no_token",
    "wrong_token",
    "slow_upgrade",
)
#: serve-side fault -> what ends the session: "" a clean end, "http 401", "close 1009",
#: "eof" (the server hung up before the upgrade), else words of the server's error message
SERVE_EXPECTED: dict[str, str] = {
    "our_client": "",
    "none": "",
    "stall": "",
    "idle": f"no message from the client for {IDLE_S:g} s",
    "garbage": "invalid ogg/opus data",
    "text": "text message",
    "oversized": "close 1009",
    "burst": "",
    "unknown": "",
    "malformed": "control payload",
    "disconnect": "",
    "error_close": "",
    "no_token": "http 401",
    "wrong_token": "http 401",
    "slow_upgrade": "eof",
}


@dataclass
class Outcome:
    part: str  # serve, moshi+ws, realtime+ws, fuzz, runner
    fault: str
    status: str  # ok, failed, hang, crash, unexpected
    reason: str = ""
    seconds: float = 0.0


def short_item(item: ScenarioItem, seconds: float = 2.5) -> ScenarioItem:
    """The first ``seconds`` of a rendered item, speech then silence, with no cues."""
    n = round(seconds * item.sample_rate)
    audio = np.zeros(n, np.float32)
    speech = item.audio[: n - item.sample_rate]
    audio[: speech.size] = speech
    return ScenarioItem(
        item.suite,
        item.suite_version,
        f"{item.item_id}-soak",
        audio,
        item.sample_rate,
        item.annotations.__class__(speech=()),
        item.spec_hash,
    )


def ogg_messages(audio: np.ndarray) -> list[bytes]:
    """``audio`` as the kind-1 messages a Moshi client sends, one per 80 ms frame."""
    writer = sphn.OpusStreamWriter(RATE)
    out = []
    for start in range(0, audio.size - FRAME + 1, FRAME):
        data = writer.append_pcm(audio[start : start + FRAME].astype(np.float32))
        out.append(b"\x01" + data)
    return out


async def _timed(part: str, fault: str, body: Callable[[], Awaitable[Outcome]]) -> Outcome:
    t = time.perf_counter()
    try:
        async with asyncio.timeout(SESSION_BOUND_S):
            out = await body()
    except TimeoutError:
        out = Outcome(part, fault, "hang", f"still running after {SESSION_BOUND_S:g} s")
    except Exception as exc:  # what nobody expects: reported with where it came from
        where = traceback.format_exception(exc)[-2].strip().splitlines()[0]
        out = Outcome(part, fault, "crash", f"{type(exc).__name__}: {exc} ({where})")
    out.seconds = round(time.perf_counter() - t, 2)
    return out


# ---------------------------------------------------------------- our clients, faulty servers


async def client_session(
    protocol: str, base: str, fault: str, at: int, item: ScenarioItem
) -> Outcome:
    """One ``moshi+ws`` or ``realtime+ws`` session against the faulty server at ``base``."""
    part = f"{protocol}+ws"
    host = base.removeprefix("ws://")
    if protocol == "moshi":
        options = "handshake_timeout=2,stall_timeout=1,max_message_bytes=65536"
        spec = f"moshi+ws://{host}/api/chat?fault={fault}&at={at}#{options}"
    else:
        options = "auth_env=SOAK_REALTIME_KEY,stall_timeout=1,max_message_bytes=65536"
        spec = f"realtime+ws://{host}/v1/realtime?fault={fault}#{options},connect_timeout=3"

    async def body() -> Outcome:
        model = load_model(spec)
        opts = SessionOptions(drain_s=0.3, precise_wait_s=0.0, connect_timeout_s=5.0)
        try:
            rec = await run_realtime(model, item, opts)
        except SessionFailed as exc:
            return Outcome(part, fault, "failed", exc.reason)
        except DuplexError as exc:
            return Outcome(part, fault, "failed", str(exc))
        dropped = float(rec.timings.get("model_audio_dropped_frac", 0.0))
        if protocol == "moshi" and fault == "burst" and dropped < LOST_FRAC:
            return Outcome(part, fault, "unexpected", f"burst not reported: dropped {dropped}")
        return Outcome(part, fault, "ok", f"model audio dropped {dropped:.2f}")

    out = await _timed(part, fault, body)
    return _judged(out, EXPECTED.get((protocol, fault)))


def _judged(out: Outcome, expected: str | None) -> Outcome:
    """``out``, marked unexpected if it did not end as its fault must make it end."""
    if out.status in ("hang", "crash", "unexpected"):
        return out
    if expected is None and out.status != "ok":
        out.status, out.reason = "unexpected", f"should have completed: {out.reason}"
    elif expected is not None and (out.status != "failed" or expected not in out.reason):
        out.status, out.reason = "unexpected", f"expected {expected!r}: {out.status} {out.reason}"
    return out


# ----------------------------------------------------------------------- hostile clients


@dataclass
class _Heard:
    audio: int = 0
    errors: tuple[str, ...] = ()
    close: str = ""


async def _listen(ws: websockets.ClientConnection, heard: _Heard) -> None:
    try:
        async for message in ws:
            if isinstance(message, bytes) and message[:1] == b"\x01":
                heard.audio += 1
            elif isinstance(message, bytes) and message[:1] == b"\x05":
                heard.errors += (message[1:].decode(errors="replace"),)
    except ConnectionClosed as exc:
        heard.close = f"close {exc.rcvd.code if exc.rcvd else 'none'}"
    else:
        heard.close = f"close {ws.close_code}"


async def _pace(ws: websockets.ClientConnection, frames: list[bytes], pause_at: int = -1) -> None:
    """Send ``frames`` in real time (against the start, not by sleeping a frame each time)."""
    t0 = time.perf_counter()
    shift = 0.0
    for n, frame in enumerate(frames):
        if n == pause_at:
            shift += CLIENT_PAUSE_S
        await asyncio.sleep(max(0.0, t0 + shift + (n + 1) * 0.08 - time.perf_counter()))
        await ws.send(frame)


async def _act(
    ws: websockets.ClientConnection, fault: str, frames: list[bytes], rng: np.random.Generator
) -> None:
    """What the hostile client does after the handshake."""
    if fault in ("none", "stall"):
        await _pace(ws, frames, pause_at=len(frames) // 2 if fault == "stall" else -1)
    elif fault == "burst":
        for frame in frames:
            await ws.send(frame)
    elif fault == "unknown":
        for n, frame in enumerate(frames):
            await ws.send(frame)
            # Pings, the Rust kinds, unknown kinds: ignored whatever they carry; a handshake
            # from the client is ignored too, if well-formed (empty).
            await ws.send(bytes([[6, 7, 9, 42, 255][n % 5]]) + rng.bytes(n % 7))
            await ws.send(b"\x00")
    elif fault == "idle":
        return  # and say nothing: the server's idle timeout must end it
    else:
        await _pace(ws, frames[:6])
        if fault == "garbage":
            await ws.send(b"\x01" + rng.bytes(int(rng.integers(1, 400))))
        elif fault == "text":
            await ws.send("a text frame")
        elif fault == "oversized":
            await ws.send(b"\x01" + bytes((1 << 20) + 1024))
        elif fault == "malformed":
            await ws.send(b"\x03\x09")
        elif fault == "disconnect":
            assert ws.transport is not None
            ws.transport.abort()
            return
        elif fault == "error_close":
            await ws.close(1011, "the client broke")


async def _hostile(url: str, token: str, fault: str, frames: list[bytes], seed: int) -> str:
    """One hostile session; how it ended (the words :data:`SERVE_EXPECTED` looks for)."""
    if fault == "slow_upgrade":
        host, port = url.removeprefix("ws://").split("/")[0].split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"GET /api/chat HTTP/1.1\r\nHost: x\r\n")  # and never the rest
        got = await reader.read()
        writer.close()
        return "eof" if got == b"" else f"got {got[:40]!r}"
    headers = {} if fault == "no_token" else {"Authorization": f"Bearer {token}"}
    if fault == "wrong_token":
        headers = {"Authorization": "Bearer not-the-token"}
    try:
        ws = await websockets.connect(url, additional_headers=headers, compression=None)
    except InvalidStatus as exc:
        return f"http {exc.response.status_code}"
    async with ws:
        if await ws.recv() != b"\x00":
            return "no handshake"
        heard = _Heard()
        listener = asyncio.create_task(_listen(ws, heard))
        with contextlib.suppress(ConnectionClosed):  # the server ended it: see ``heard``
            await _act(ws, fault, frames, np.random.default_rng(seed))
        # The answers to the last frames, or the server's end of the session.
        await asyncio.wait({listener}, timeout=IDLE_S + 4.0 if fault == "idle" else 1.5)
        await ws.close()
        await listener
    return "; ".join(heard.errors) or heard.close


async def serve_session(
    url: str, token: str, fault: str, item: ScenarioItem, frames: list[bytes], seed: int
) -> Outcome:
    """One session against ``serve``: our own client, or a hostile one."""

    async def ours() -> Outcome:
        model = load_model(
            f"moshi+ws://{url.removeprefix('ws://')}?token={token}#handshake_timeout=20"
        )
        opts = SessionOptions(drain_s=0.3, precise_wait_s=0.0)
        try:
            await run_realtime(model, item, opts)
        except SessionFailed as exc:
            return Outcome("serve", fault, "failed", exc.reason)
        return Outcome("serve", fault, "ok")

    async def hostile() -> Outcome:
        ended = await _hostile(url, token, fault, frames, seed)
        want = SERVE_EXPECTED[fault]
        clean = ended in ("close 1000", "close none", "close 1011") and not want
        if (want and want in ended) or clean:
            return Outcome("serve", fault, "failed" if want else "ok", ended)
        return Outcome("serve", fault, "unexpected", f"expected {want or 'a clean end'!r}: {ended}")

    return await _timed("serve", fault, ours if fault == "our_client" else hostile)
