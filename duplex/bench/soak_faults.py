"""Servers that misbehave on purpose, for the soak (``duplex-bench bench soak``).

One Moshi-protocol server and one OpenAI-Realtime-style server on loopback, each answering as a
healthy server would until the fault a connection asked for strikes. The fault is named in the
URL's query (``?fault=stall&at=7``), which both clients send to the server unchanged, so every
session's fault is known to the side that checks its outcome; ``fault=random`` draws one per
connection from the server's seeded generator (for runs of the whole runner, whose items all
share one URL).

Faults: ``close`` (a clean close), ``abort`` (the TCP connection dropped), ``stall`` (no message
again), ``error`` (an error message whose text echoes the request's credentials, as a proxy that
quotes its request does), ``garbage`` (undecodable audio or JSON), ``text`` / ``binary`` (the
wrong frame type), ``oversized`` (a message past the client's limit), ``burst`` (30 s of audio
in 1 s), ``error_close`` (close code 1011 with the credentials in the reason), ``unknown`` (message
kinds or event types the protocol says to ignore), ``no_greeting`` (Moshi: never send the
handshake). :data:`EXPECTED` says what the client must make of each.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from websockets.asyncio.server import ServerConnection, serve

from duplex.protocols import moshi

RATE, FRAME = 24000, 1920
#: the clients' limit on a message in the soak's URLs; ``oversized`` sends more than this
CLIENT_MAX_MESSAGE = 65536
BURST_S, BURST_OVER_S = 30.0, 1.0

MOSHI_FAULTS = (
    "none",
    "close",
    "abort",
    "stall",
    "error",
    "garbage",
    "text",
    "oversized",
    "burst",
    "error_close",
    "unknown",
    "no_greeting",
)
REALTIME_FAULTS = (
    "none",
    "close",
    "abort",
    "stall",
    "error",
    "garbage",
    "binary",
    "oversized",
    "burst",
    "error_close",
    "unknown",
)

#: (protocol, fault) -> None when the session must complete, else words its failure must contain
EXPECTED: dict[tuple[str, str], str | None] = {
    **{("moshi", f): None for f in ("none", "burst", "unknown")},
    **{("realtime", f): None for f in ("none", "burst", "unknown")},
    ("moshi", "close"): "server closed the connection (code 1000",
    ("moshi", "abort"): "server dropped the connection without a close frame",
    ("moshi", "stall"): "no message from the server for",
    ("moshi", "error"): "server error: upstream refused",
    ("moshi", "garbage"): "garbage from the server: invalid ogg/opus data",
    ("moshi", "text"): "garbage from the server: text websocket message",
    ("moshi", "oversized"): "1009",
    ("moshi", "error_close"): "server closed the connection (code 1011",
    ("moshi", "no_greeting"): "no handshake within",
    ("realtime", "close"): "server closed the connection (code 1000",
    ("realtime", "abort"): "server dropped the connection without a close frame",
    ("realtime", "stall"): "no message from the server for",
    ("realtime", "error"): "server error (invalid_api_key): Incorrect API key",
    ("realtime", "garbage"): "garbage from the server",
    ("realtime", "binary"): "garbage from the server",
    ("realtime", "oversized"): "1009",
    ("realtime", "error_close"): "server closed the connection (code 1011",
}


@dataclass(frozen=True)
class Fault:
    name: str
    at: int  # Moshi: the input frame before whose answer it strikes; Realtime: the response


def _tone(samples: int, phase: int = 0) -> np.ndarray:
    t = (np.arange(samples) + phase) / RATE
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


class _Picker:
    """The fault a connection asked for, or a seeded random one (``fault=random``)."""

    def __init__(self, faults: tuple[str, ...], seed: int, healthy: float) -> None:
        self.faults = faults
        self.rng = np.random.default_rng(seed)
        self.healthy = healthy
        self.drawn: list[str] = []

    def pick(self, path: str) -> Fault:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        name = query.get("fault", ["none"])[0]
        at = int(query.get("at", ["5"])[0])
        if name == "random":
            name = "none" if self.rng.random() < self.healthy else str(self.rng.choice(self.faults))
            at = int(self.rng.integers(3, 20))
            self.drawn.append(name)
        return Fault(name, at)


def _echo(ws: ServerConnection) -> str:
    """What an over-helpful proxy quotes back: the request's credentials and its line (first
    the headers, so that a close reason, at most 123 bytes, still carries them)."""
    assert ws.request is not None
    auth = "; ".join(f"Authorization: {a}" for a in ws.request.headers.get_all("Authorization"))
    return f"{auth or 'no Authorization'} for GET {ws.request.path}"


Strike = Callable[[ServerConnection], Awaitable[bool]]


async def _close(ws: ServerConnection) -> bool:
    await ws.close()
    return False


async def _abort(ws: ServerConnection) -> bool:
    assert ws.transport is not None
    ws.transport.abort()
    return False


async def _stall(ws: ServerConnection) -> bool:
    await ws.wait_closed()
    return False


async def _error_close(ws: ServerConnection) -> bool:
    await ws.close(1011, f"upstream failed: {_echo(ws)}"[:120])
    return False


def _sends(message: Callable[[ServerConnection], str | bytes]) -> Strike:
    """A fault that sends one message and goes on."""

    async def strike(ws: ServerConnection) -> bool:
        await ws.send(message(ws))
        return True

    return strike


#: Faults that end the connection, struck the same way on either protocol. A strike returns
#: False when the connection is over.
ENDINGS: dict[str, Strike] = {
    "close": _close,
    "abort": _abort,
    "stall": _stall,
    "error_close": _error_close,
}


# ------------------------------------------------------------------------------------ moshi

MOSHI_STRIKES: dict[str, Strike] = {
    **ENDINGS,
    "error": _sends(lambda ws: moshi.encode(moshi.Error(f"upstream refused {_echo(ws)}"))),
    "garbage": _sends(lambda ws: b"\x01not an ogg page at all"),
    "text": _sends(lambda ws: "a text frame"),
    "oversized": _sends(lambda ws: b"\x02" + b"x" * (CLIENT_MAX_MESSAGE + 1024)),
}


async def _moshi_fault(ws: ServerConnection, stream: moshi.MoshiStream, fault: Fault) -> bool:
    """Strike ``fault``; False when the connection is over."""
    if fault.name == "burst":
        frames = round(BURST_S * RATE / FRAME)
        for group in np.array_split(np.arange(frames), 10):
            for n in group:
                message = stream.audio(_tone(FRAME, int(n) * FRAME))
                if message is not None:
                    await ws.send(message)
            await asyncio.sleep(BURST_OVER_S / 10)
        return True
    strike = MOSHI_STRIKES.get(fault.name)
    return True if strike is None else await strike(ws)


async def _moshi_handle(ws: ServerConnection, picker: _Picker) -> None:
    assert ws.request is not None
    fault = picker.pick(ws.request.path)
    if fault.name == "no_greeting":
        await ws.wait_closed()
        return
    stream = moshi.MoshiStream(client=False)
    await ws.send(stream.handshake())
    pending, n = 0, 0
    with contextlib.suppress(Exception):  # whatever the client does, this fake just ends
        async for data in ws:
            if not isinstance(data, bytes):
                return
            for event in stream.receive(data):
                if isinstance(event, moshi.AudioReceived):
                    pending += event.samples.size
            while pending >= FRAME:
                pending -= FRAME
                if n == fault.at and not await _moshi_fault(ws, stream, fault):
                    return
                if fault.name == "unknown":
                    for noise in (b"\x06", b"\x07\x01hi", b"\x2a??", b"\xff"):
                        await ws.send(noise)
                tone = _tone(FRAME, n * FRAME) * ((n // 5) % 2 == 0)
                message = stream.audio(tone)
                if message is not None:
                    await ws.send(message)
                n += 1


# --------------------------------------------------------------------------------- realtime


async def _send(ws: ServerConnection, event: dict[str, Any]) -> None:
    await ws.send(json.dumps(event))


def _b64(x: np.ndarray) -> str:
    return base64.b64encode((x * 32767).astype("<i2").tobytes()).decode()


_KEY_ERROR = "Incorrect API key provided ({})"
REALTIME_STRIKES: dict[str, Strike] = {
    **ENDINGS,
    "error": _sends(
        lambda ws: json.dumps(
            {
                "type": "error",
                "error": {"message": _KEY_ERROR.format(_echo(ws)), "code": "invalid_api_key"},
            }
        )
    ),
    "garbage": _sends(lambda ws: "{not json"),
    "binary": _sends(lambda ws: b"\x00\x01binary"),
    "oversized": _sends(
        lambda ws: json.dumps({"type": "x.padding", "pad": "x" * (CLIENT_MAX_MESSAGE + 1024)})
    ),
}


async def _realtime_fault(ws: ServerConnection, fault: Fault) -> bool:
    """Strike ``fault`` (a burst is the reply's audio itself); False when the connection is over."""
    strike = REALTIME_STRIKES.get(fault.name)
    return True if strike is None else await strike(ws)


async def _reply(ws: ServerConnection, fault: Fault, response: int) -> bool:
    """One response: ``speech_stopped``, the audio burst, ``response.done``; False if over."""
    rid = f"r{response}"
    await _send(ws, {"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 400})
    await _send(ws, {"type": "response.created", "response": {"id": rid}})
    if response == fault.at and not await _realtime_fault(ws, fault):
        return False
    seconds = BURST_S if fault.name == "burst" and response == fault.at else 0.6
    step = RATE // 10  # 100 ms deltas, all at once: a burst faster than real time
    for i in range(round(seconds * RATE) // step):
        delta = {"response_id": rid, "item_id": f"it{response}", "content_index": 0}
        await _send(ws, {"type": "response.audio.delta", **delta, "delta": _b64(_tone(step))})
        if fault.name == "unknown":
            await _send(ws, {"type": "rate_limits.updated", "rate_limits": []})
        if seconds > 1 and i % 30 == 29:
            await asyncio.sleep(BURST_OVER_S / 10)
    await _send(ws, {"type": "response.done", "response": {"id": rid, "status": "completed"}})
    return True


async def _realtime_handle(ws: ServerConnection, picker: _Picker) -> None:
    assert ws.request is not None
    fault = picker.pick(ws.request.path)
    fault = Fault(fault.name, min(fault.at, 1))  # responses come every 0.5 s: strike early
    await _send(ws, {"type": "session.created", "session": {}})
    heard, responses = 0, 0
    with contextlib.suppress(Exception):
        async for message in ws:
            event = json.loads(message)
            if event.get("type") == "session.update":
                await _send(ws, {"type": "session.updated", "session": event.get("session", {})})
            elif event.get("type") == "input_audio_buffer.append":
                heard += len(base64.b64decode(event["audio"])) // 2
                if heard >= (responses + 1) * RATE // 2:  # a response every 0.5 s of input
                    if not await _reply(ws, fault, responses):
                        return
                    responses += 1


# ------------------------------------------------------------------------------------ servers


@dataclass
class FaultyServers:
    """Both servers' base URLs (``ws://127.0.0.1:PORT``) and what their random draws were."""

    moshi: str
    realtime: str
    moshi_picker: _Picker
    realtime_picker: _Picker


@contextlib.asynccontextmanager
async def faulty_servers(seed: int, healthy: float = 0.5) -> AsyncIterator[FaultyServers]:
    """The two misbehaving servers on free loopback ports, for as long as the block runs."""
    mp = _Picker(MOSHI_FAULTS[1:], seed, healthy)
    rp = _Picker(REALTIME_FAULTS[1:], seed + 1, healthy)
    opts: dict[str, Any] = {"compression": None, "ping_interval": None, "max_size": 1 << 22}
    async with (
        serve(lambda ws: _moshi_handle(ws, mp), "127.0.0.1", 0, **opts) as ms,
        serve(lambda ws: _realtime_handle(ws, rp), "127.0.0.1", 0, **opts) as rs,
    ):
        mport = ms.sockets[0].getsockname()[1]
        rport = rs.sockets[0].getsockname()[1]
        yield FaultyServers(f"ws://127.0.0.1:{mport}", f"ws://127.0.0.1:{rport}", mp, rp)
