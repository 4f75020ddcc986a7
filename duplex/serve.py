"""`duplex-bench serve`: any registered model behind Moshi's websocket protocol.

So that Moshi's own clients (and anything written against ``GET /api/chat``) can talk to the
harness's models. Per connection: the handshake (byte 0) once a session slot is free, then for
every 80 ms frame of Ogg/Opus audio received, exactly one 80 ms frame of Ogg/Opus audio back
(kind 1) plus any text the model emitted (kind 2). Unlike Moshi's Python server the first input
frame is not dropped: output frame ``n`` answers input frame ``n``.

* A :class:`LockstepModel` is stepped once per received frame, on a worker thread of its session,
  so a slow step never stalls the socket.
* A :class:`StreamingModel` is bridged: input frames are sent to it as they arrive, its events are
  placed on a timeline as the Recorder would (from arrival, bursts played out at real-time rate,
  cut on ``ModelAudioCleared``), and each received frame is answered with the next 80 ms of it.

Sessions: at most ``max_sessions`` run at once. With ``busy="wait"`` (the default, as Moshi's own
server behaves) an extra connection is accepted and its handshake waits for a free slot; with
``busy="refuse"`` it is rejected with HTTP 503 before the upgrade. Input frames a model has not
caught up with queue up to ``max_pending_frames`` (20 s); past that the session is ended with an
error message (kind 5), since a model that far behind real time cannot hold a conversation.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Literal

import numpy as np
from websockets.asyncio.server import Server, ServerConnection
from websockets.asyncio.server import serve as ws_serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from duplex.annotations import Annotations
from duplex.audio import Samples
from duplex.errors import ConfigError, DuplexError, ModelError, ProtocolError
from duplex.events import ModelAudio, ModelAudioCleared, ModelFailed, ModelText
from duplex.models.base import (
    LockstepModel,
    Model,
    SessionInfo,
    StepOutput,
    StreamingModel,
    StreamingSession,
)
from duplex.playout import FrameReader, frame_reader
from duplex.protocols import moshi
from duplex.simulator.adapters import StepWorker
from duplex.timeline import RealtimeClock

log = logging.getLogger(__name__)

FRAME = moshi.FRAME_SIZE
RATE = moshi.SAMPLE_RATE
PATH = "/api/chat"
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class ServeOptions:
    host: str = LOOPBACK
    port: int = 8998
    max_sessions: int = 1
    busy: Literal["wait", "refuse"] = "wait"
    #: largest websocket message accepted from a client; an 80 ms Opus frame is about 400 bytes
    max_message_bytes: int = 1 << 20
    max_pending_frames: int = 250
    #: a bridged streaming model's playout may run this far ahead before its audio is dropped
    max_playout_s: float = 60.0


class _Bridge:
    """One model session answering frames: ``step`` returns the frame to send back."""

    async def step(self, frame: Samples) -> StepOutput:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class _LockstepBridge(_Bridge):
    """Steps the model once per received frame, as the real-time driver does (one worker)."""

    def __init__(self, worker: StepWorker) -> None:
        self.worker = worker

    @classmethod
    async def open(cls, model: LockstepModel, info: SessionInfo) -> _LockstepBridge:
        return cls(await StepWorker.open(model, info))

    async def step(self, frame: Samples) -> StepOutput:
        return await self.worker.step(frame)

    async def close(self) -> None:
        self.worker.close()


class _StreamingBridge(_Bridge):
    def __init__(self, session: StreamingSession, clock: RealtimeClock, max_playout: int) -> None:
        self.session, self.clock = session, clock
        self.playout = FrameReader(FRAME, frame_reader(max_playout))
        self.texts: list[str] = []
        self.failure: str | None = None
        self.pump = asyncio.create_task(self._pump(), name="serve-events")

    @classmethod
    async def open(cls, model: StreamingModel, info: SessionInfo, opts: ServeOptions) -> _Bridge:
        # The session clock reads one frame at the first frame's arrival: input frame n is
        # complete at (n+1)F, the timeline convention of the whole harness.
        clock = RealtimeClock(RATE, source=lambda: time.perf_counter() + FRAME / RATE)
        session = await model.connect(info, clock)
        return cls(session, clock, round(opts.max_playout_s * RATE))

    async def _pump(self) -> None:
        async for event in self.session.events():
            if isinstance(event, ModelAudio):
                self.playout.add(event.at, event.samples)
            elif isinstance(event, ModelAudioCleared):
                self.playout.cut(event.at)
            elif isinstance(event, ModelText):
                self.texts.append(event.text)
            elif isinstance(event, ModelFailed):
                self.failure = event.reason
                return

    async def step(self, frame: Samples) -> StepOutput:
        if not self.clock.started:
            self.clock.start()
        if self.failure is not None:
            raise ModelError(self.failure)
        await self.session.send(frame)
        texts, self.texts = tuple(self.texts), []
        return StepOutput(self.playout.take(), texts)

    async def close(self) -> None:
        self.pump.cancel()
        await asyncio.wait({self.pump}, timeout=2.0)
        await self.session.aclose()


class MoshiServer:
    """The server; ``async with MoshiServer(model, opts) as s`` serves until the block ends."""

    def __init__(self, model: Model, opts: ServeOptions) -> None:
        if opts.max_sessions < 1:
            raise ConfigError(f"--max-sessions must be at least 1, got {opts.max_sessions}")
        if not isinstance(model, LockstepModel | StreamingModel):
            raise ConfigError(f"model {model.spec!r} is neither lock-step nor streaming")
        if model.sample_rate != RATE or getattr(model, "frame_size", FRAME) != FRAME:
            raise ConfigError(f"model {model.spec!r} does not run 80 ms frames at {RATE} Hz")
        self.model, self.opts = model, opts
        self.slots = asyncio.Semaphore(opts.max_sessions)
        self.active = 0
        self.counter = itertools.count()
        self.stats = {"sessions": 0, "refused": 0, "failed": 0, "frames_in": 0, "frames_out": 0}
        self._server: Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return int(self._server.sockets[0].getsockname()[1])

    async def __aenter__(self) -> MoshiServer:
        self._server = await ws_serve(
            self._handle,
            self.opts.host,
            self.opts.port,
            max_size=self.opts.max_message_bytes,
            process_request=self._check_request,
            compression=None,
            ping_interval=None,  # Moshi's clients do not expect pings; a dead peer ends recv()
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def serve_forever(self) -> None:
        assert self._server is not None
        await self._server.serve_forever()

    def _check_request(self, conn: ServerConnection, request: Request) -> Response | None:
        if request.path.partition("?")[0] != PATH:
            return conn.respond(HTTPStatus.NOT_FOUND, f"only {PATH} is served\n")
        if self.opts.busy == "refuse" and self.active >= self.opts.max_sessions:
            self.stats["refused"] += 1
            return conn.respond(HTTPStatus.SERVICE_UNAVAILABLE, "all session slots are busy\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        self.active += 1  # counted from the upgrade, so "refuse" sees waiting sessions too
        try:
            async with self.slots:
                n = next(self.counter)
                self.stats["sessions"] += 1
                await self._session(ws, n)
        finally:
            self.active -= 1

    async def _open(self, n: int) -> _Bridge:
        info = SessionInfo(f"serve-{n}", RATE, FRAME, Annotations(speech=()), seed=n)
        if isinstance(self.model, LockstepModel):
            return await _LockstepBridge.open(self.model, info)
        assert isinstance(self.model, StreamingModel)
        return await _StreamingBridge.open(self.model, info, self.opts)

    async def _session(self, ws: ServerConnection, n: int) -> None:
        stream = moshi.MoshiStream(client=False)
        bridge = await self._open(n)
        inbox: asyncio.Queue[Samples] = asyncio.Queue(self.opts.max_pending_frames)
        try:
            await ws.send(stream.handshake())
            async with asyncio.TaskGroup() as tg:
                stepper = tg.create_task(self._answer(ws, stream, bridge, inbox), name="answer")
                await self._receive(ws, stream, inbox)
                stepper.cancel()  # the client is gone: nothing left to answer
        except (ConnectionClosed, DuplexError, ExceptionGroup) as exc:
            reason = _reason(exc)
            if reason:
                self.stats["failed"] += 1
                # A bug in the harness (not a DuplexError) keeps its traceback in the log.
                bug = _is_bug(exc)
                log.warning("session %d ended: %s", n, reason, exc_info=exc if bug else None)
                await _send_error(ws, reason)
        finally:
            await bridge.close()

    async def _receive(
        self, ws: ServerConnection, stream: moshi.MoshiStream, inbox: asyncio.Queue[Samples]
    ) -> None:
        pending = np.zeros(0, np.float32)
        try:
            async for data in ws:
                if isinstance(data, str):
                    raise ProtocolError(f"text message {data[:24]!r}; moshi is binary")
                for event in stream.receive(data):
                    if isinstance(event, moshi.AudioReceived):
                        pending = np.concatenate([pending, event.samples])
                while pending.size >= FRAME:
                    frame, pending = pending[:FRAME], pending[FRAME:]
                    self.stats["frames_in"] += 1
                    try:
                        inbox.put_nowait(frame)
                    except asyncio.QueueFull:
                        raise ModelError(
                            f"model fell {self.opts.max_pending_frames} frames behind real time"
                        ) from None
        except ConnectionClosed:
            return  # the client hung up: the normal end of a session

    async def _answer(
        self,
        ws: ServerConnection,
        stream: moshi.MoshiStream,
        bridge: _Bridge,
        inbox: asyncio.Queue[Samples],
    ) -> None:
        while True:
            frame = await inbox.get()
            try:
                out = await bridge.step(frame)
            except DuplexError:
                raise
            except Exception as exc:  # the model's own crash ends this session, not the server
                raise ModelError(f"model crashed: {type(exc).__name__}: {exc}") from exc
            if out.audio.shape != (FRAME,):
                raise ModelError(f"model returned {out.audio.shape} samples for a {FRAME} frame")
            message = stream.audio(out.audio)
            if message is not None:
                await ws.send(message)
            for text in out.texts:
                await ws.send(stream.text(text))
            self.stats["frames_out"] += 1


def _reason(exc: BaseException) -> str:
    """Why a session ended abnormally; empty for a client that simply hung up."""
    if isinstance(exc, ExceptionGroup):
        reasons = [_reason(e) for e in exc.exceptions]
        return "; ".join(r for r in reasons if r)
    if isinstance(exc, ConnectionClosed):
        return ""
    return str(exc)


def _is_bug(exc: BaseException) -> bool:
    if isinstance(exc, ExceptionGroup):
        return any(_is_bug(e) for e in exc.exceptions)
    return not isinstance(exc, DuplexError | ConnectionClosed)


async def _send_error(ws: ServerConnection, reason: str) -> None:
    try:
        async with asyncio.timeout(2.0):
            await ws.send(moshi.encode(moshi.Error(reason)))
            await ws.close(1011, reason[:100])
    except (ConnectionClosed, TimeoutError):
        pass


async def serve(model: Model, opts: ServeOptions) -> None:
    """Serve until cancelled (Ctrl-C)."""
    async with MoshiServer(model, opts) as server:
        where = f"ws://{opts.host}:{server.port}{PATH}"
        log.info("serving %s on %s", model.spec, where)
        print(f"serving {model.spec} on {where} (max {opts.max_sessions} sessions, {opts.busy})")
        await server.serve_forever()
