"""`duplex-bench serve`, driven the way Moshi's own client uses the protocol."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import numpy as np
import pytest
import sphn
import websockets
from websockets.exceptions import ConnectionClosedError, InvalidStatus

from duplex.audio import Samples
from duplex.events import ModelAudio, ModelEvent
from duplex.models.base import (
    LockstepModel,
    LockstepSession,
    Model,
    SessionInfo,
    StepOutput,
    StreamingModel,
    StreamingSession,
)
from duplex.models.registry import load_model
from duplex.serve import MoshiServer, ServeOptions
from duplex.simulator.session import SessionOptions, run_realtime
from duplex.timeline import Clock
from tests.simulator.fakes import item, onset

RATE, FRAME = 24000, 1920


class _ToneSession(LockstepSession):
    def __init__(self, at_step: int) -> None:
        self.at_step, self.n = at_step, 0

    def step(self, frame: Samples) -> StepOutput:
        # A tone, not a constant: Opus does not carry DC.
        t = (np.arange(FRAME) + self.n * FRAME) / RATE
        out = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32) * (self.n >= self.at_step)
        self.n += 1
        return StepOutput(out, ("tick",) if self.n == 1 else ())


class Beeper(LockstepModel):
    """Silent until step ``at_step``, then a 440 Hz tone."""

    spec = "tone"

    def __init__(self, at_step: int = 5) -> None:
        self.at_step = at_step

    def open(self, info: SessionInfo) -> LockstepSession:
        return _ToneSession(self.at_step)


class Client:
    """Moshi's client protocol: wait for byte 0, then 80 ms Ogg/Opus frames as kind 1."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.writer = sphn.OpusStreamWriter(RATE)
        self.reader = sphn.OpusStreamReader(RATE)
        self.audio: list[np.ndarray] = []
        self.texts: list[str] = []
        self.errors: list[str] = []

    async def handshake(self) -> None:
        assert await self.ws.recv() == b"\x00"

    async def talk(self, frames: int) -> None:
        t0 = time.perf_counter()
        receiver = asyncio.create_task(self.receive())
        for n in range(frames):
            await asyncio.sleep(max(0.0, t0 + (n + 1) * 0.08 - time.perf_counter()))
            pcm = np.full(FRAME, 0.1 * (n % 2), np.float32)
            data = self.writer.append_pcm(pcm)
            if data:
                await self.ws.send(b"\x01" + data)
        await asyncio.sleep(0.3)
        receiver.cancel()

    async def receive(self) -> None:
        async for message in self.ws:
            assert isinstance(message, bytes)
            if message[0] == 1:
                self.audio.append(self.reader.append_bytes(message[1:]))
            elif message[0] == 2:
                self.texts.append(message[1:].decode())
            elif message[0] == 5:
                self.errors.append(message[1:].decode())


async def served(model: Model, **opts: object) -> MoshiServer:
    return MoshiServer(model, ServeOptions(port=0, **opts))  # type: ignore[arg-type]


def test_a_lockstep_model_answers_every_frame() -> None:
    async def go() -> Client:
        async with await served(Beeper(at_step=5)) as server:
            url = f"ws://127.0.0.1:{server.port}/api/chat"
            async with websockets.connect(url) as ws:
                client = Client(ws)
                await client.handshake()
                await client.talk(20)
                return client

    client = asyncio.run(go())
    out = np.concatenate(client.audio)
    assert out.size == 20 * FRAME  # one frame out per frame in, none dropped
    assert client.texts == ["tick"]
    level = [float(np.sqrt(np.mean(out[n * FRAME : (n + 1) * FRAME] ** 2))) for n in range(20)]
    assert max(level[:4]) < 0.05 and min(level[6:]) > 0.25  # silent, then the tone from step 5


class _Burst(StreamingSession):
    """Answers the first frame with 0.5 s of audio at once, like a bursty realtime server."""

    def __init__(self, clock: Clock) -> None:
        self.clock, self.queue = clock, asyncio.Queue[ModelEvent | None]()
        self.fired = False

    async def send(self, frame: Samples) -> None:
        if self.queue.empty() and not self.fired:
            self.fired = True
            tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(12000) / RATE)
            self.queue.put_nowait(ModelAudio(self.clock.now_samples(), tone.astype(np.float32)))

    async def events(self) -> AsyncIterator[ModelEvent]:
        while (event := await self.queue.get()) is not None:
            yield event

    async def aclose(self) -> None:
        self.queue.put_nowait(None)


class BurstModel(StreamingModel):
    async def connect(self, info: SessionInfo, clock: Clock) -> StreamingSession:
        return _Burst(clock)


def test_a_streaming_model_is_played_out_frame_by_frame() -> None:
    async def go() -> Client:
        async with await served(BurstModel()) as server:
            url = f"ws://127.0.0.1:{server.port}/api/chat"
            async with websockets.connect(url) as ws:
                client = Client(ws)
                await client.handshake()
                await client.talk(15)
                return client

    client = asyncio.run(go())
    out = np.concatenate(client.audio)
    assert out.size == 15 * FRAME
    level = np.array([np.sqrt(np.mean(out[n * FRAME : (n + 1) * FRAME] ** 2)) for n in range(15)])
    loud = np.flatnonzero(level > 0.25)
    # 0.5 s = 6.25 frames of audio, spread over consecutive frames rather than sent at once.
    assert 6 <= loud.size <= 8 and np.all(np.diff(loud) == 1)


def test_our_moshi_client_against_our_server() -> None:
    async def go() -> np.ndarray:
        async with await served(Beeper(at_step=5)) as server:
            model = load_model(f"moshi+ws://127.0.0.1:{server.port}/api/chat")
            rec = await run_realtime(model, item(2.0), SessionOptions(drain_s=0.3))
            return rec.model

    x = asyncio.run(go())
    # Beeper's step 5 answers input frame 5, complete at 6 x 80 ms = 0.48 s (+ transport, codec).
    # The Recorder plays frames back to back from the first one's arrival, so the first frame's
    # delay (connection warm-up) carries over: allow 100 ms on a busy 2-core machine.
    assert 0.48 <= onset(np.abs(x) > 0.2) / RATE < 0.58


def test_extra_sessions_are_refused_or_wait() -> None:
    async def go(busy: str) -> float:
        async with await served(Beeper(), max_sessions=1, busy=busy) as server:
            url = f"ws://127.0.0.1:{server.port}/api/chat"
            async with websockets.connect(url) as first:
                assert await first.recv() == b"\x00"
                try:
                    second = await websockets.connect(url)
                except InvalidStatus as exc:
                    assert exc.response.status_code == 503
                    return -1.0
                with pytest.raises(TimeoutError):  # its handshake waits for the slot
                    async with asyncio.timeout(0.3):
                        await second.recv()
            async with asyncio.timeout(2):
                assert await second.recv() == b"\x00"  # the first one left: the slot is free
            await second.close()
            return 0.0

    assert asyncio.run(go("refuse")) == -1.0
    assert asyncio.run(go("wait")) == 0.0


def test_many_sessions_at_once() -> None:
    async def go() -> list[int]:
        async with await served(Beeper(at_step=0), max_sessions=4) as server:
            url = f"ws://127.0.0.1:{server.port}/api/chat"

            async def one() -> int:
                async with websockets.connect(url) as ws:
                    client = Client(ws)
                    await client.handshake()
                    await client.talk(10)
                    return int(sum(a.size for a in client.audio))

            return list(await asyncio.gather(*(one() for _ in range(4))))

    assert asyncio.run(go()) == [10 * FRAME] * 4


def test_wrong_path_and_garbage_from_the_client() -> None:
    async def go() -> list[str]:
        async with await served(Beeper()) as server:
            with pytest.raises(InvalidStatus, match="404"):
                await websockets.connect(f"ws://127.0.0.1:{server.port}/other")
            async with websockets.connect(f"ws://127.0.0.1:{server.port}/api/chat") as ws:
                client = Client(ws)
                await client.handshake()
                await ws.send(b"\x01OggS" + bytes(64))
                with pytest.raises(ConnectionClosedError, match="1011"):
                    async with asyncio.timeout(2):
                        await client.receive()
                return client.errors

    [error] = asyncio.run(go())
    assert "invalid ogg/opus data" in error
