"""A frame-synchronous fake Moshi server with injectable faults, for the client's tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import numpy as np
from websockets.asyncio.server import ServerConnection, serve

from duplex.protocols import moshi

FRAME, RATE = 1920, 24000


def tone_frame(n: int) -> np.ndarray:
    """Frames 0-4 of every 10 carry a 440 Hz tone, 5-9 are silent: onsets mark frame indices."""
    if (n // 5) % 2:
        return np.zeros(FRAME, np.float32)
    t = (np.arange(FRAME) + n * FRAME) / RATE
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


@dataclass
class Faults:
    handshake: bytes | None = b"\x00"  # None: never greet
    stall_at: int | None = None  # before answering this input frame, sleep stall_s
    stall_s: float = 0.0
    close_at: int | None = None
    abort_at: int | None = None  # drop the TCP connection without a close frame
    error_at: int | None = None
    garbage_at: int | None = None
    garbage: bytes = b"\x01not an ogg page at all"
    noise_kinds: bool = False  # interleave pings, Rust kinds and unknown kinds
    burst_at: int | None = None  # after answering this input frame, send burst_s of audio ...
    burst_s: float = 30.0
    burst_over_s: float = 1.0  # ... within this long (a server far faster than real time)
    paths: list[str] = field(default_factory=list)


async def _sleep_unless_closed(ws: ServerConnection, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(ws.wait_closed(), seconds)


async def _handle(ws: ServerConnection, faults: Faults) -> None:
    assert ws.request is not None
    faults.paths.append(ws.request.path)
    if faults.handshake is None:
        await ws.wait_closed()
        return
    await ws.send(faults.handshake)
    stream = moshi.MoshiStream(client=False)
    pending = np.zeros(0, np.float32)
    n = 0
    async for data in ws:
        assert isinstance(data, bytes)
        for event in stream.receive(data):
            if isinstance(event, moshi.AudioReceived):
                pending = np.concatenate([pending, event.samples])
        while pending.size >= FRAME:
            pending = pending[FRAME:]
            if n == faults.stall_at:
                await _sleep_unless_closed(ws, faults.stall_s)  # input queues in the socket
            if n == faults.close_at:
                await ws.close()
                return
            if n == faults.abort_at:
                assert ws.transport is not None
                ws.transport.abort()
                return
            if n == faults.error_at:
                await ws.send(moshi.encode(moshi.Error("boom")))
            if n == faults.garbage_at:
                await ws.send(faults.garbage)
            if faults.noise_kinds:
                for noise in (b"\x06", b"\x07\x01hi", b"\x09\x00\x01", b"\x2a??", b"\x04{}"):
                    await ws.send(noise)
            message = stream.audio(tone_frame(n))
            if message is not None:
                await ws.send(message)
            await ws.send(stream.text(f"w{n}"))
            if n == faults.burst_at:
                await _burst(ws, stream, faults)
            n += 1


async def _burst(ws: ServerConnection, stream: moshi.MoshiStream, faults: Faults) -> None:
    """``burst_s`` of tone in ``burst_over_s``, in ten equal groups of frames."""
    frames = round(faults.burst_s * RATE / FRAME)
    t = (np.arange(FRAME) / RATE).astype(np.float32)
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    for group in np.array_split(np.arange(frames), 10):
        for _ in group:
            message = stream.audio(tone)
            if message is not None:
                await ws.send(message)
        await asyncio.sleep(faults.burst_over_s / 10)


@contextlib.asynccontextmanager
async def fake_moshi(faults: Faults) -> AsyncIterator[str]:
    """``moshi+ws://`` URL of a fake server on a free loopback port."""
    async with serve(lambda ws: _handle(ws, faults), "127.0.0.1", 0, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"moshi+ws://127.0.0.1:{port}/api/chat"
