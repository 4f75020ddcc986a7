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
import hmac
import itertools
import logging
import os
import time
import urllib.parse
from dataclasses import dataclass, field
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
from duplex.writing import MASK, redact

log = logging.getLogger(__name__)

FRAME = moshi.FRAME_SIZE
RATE = moshi.SAMPLE_RATE
PATH = "/api/chat"
LOOPBACK = "127.0.0.1"
#: where `serve` finds its bearer token when ``--token`` is not given (safer than the command
#: line, which other users of the machine can read)
TOKEN_ENV = "DUPLEX_BENCH_TOKEN"


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
    #: the websocket upgrade (and the token check) must complete within this
    handshake_timeout_s: float = 10.0
    #: a session whose client sends nothing for this long ends, freeing its slot; a Moshi client
    #: sends a frame every 80 ms, and our own client gives up waiting for a handshake after 60 s
    idle_timeout_s: float = 15.0
    #: every session ends at this age
    max_session_s: float = 3600.0
    #: when set, clients must present it before the upgrade; never shown (repr) nor logged
    token: str | None = field(default=None, repr=False)


def serve_options(*, token: str | None, **fields: object) -> ServeOptions:
    """Options with the token given, else the one in ``$DUPLEX_BENCH_TOKEN`` (if any)."""
    token = token or os.environ.get(TOKEN_ENV) or None
    return ServeOptions(token=token, **fields)  # type: ignore[arg-type]


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
        pump = asyncio.create_task(self._pump(), name="serve-events")
        self.pump: asyncio.Task[None] | None = pump

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
        # Let go of the task: its CancelledError's traceback holds _pump's frame, which holds
        # this bridge; the reference from here back to the task would close a cycle.
        pump, self.pump = self.pump, None
        if pump is not None:
            pump.cancel()
            await asyncio.wait({pump}, timeout=2.0)
        await self.session.aclose()


class MoshiServer:
    """The server; ``async with MoshiServer(model, opts) as s`` serves until the block ends."""

    def __init__(self, model: Model, opts: ServeOptions) -> None:
        self.check(opts)
        if not isinstance(model, LockstepModel | StreamingModel):
            raise ConfigError(f"model {model.spec!r} is neither lock-step nor streaming")
        if model.sample_rate != RATE or getattr(model, "frame_size", FRAME) != FRAME:
            raise ConfigError(f"model {model.spec!r} does not run 80 ms frames at {RATE} Hz")
        self.model, self.opts = model, opts
        self.slots = asyncio.Semaphore(opts.max_sessions)
        self.active = 0
        self.counter = itertools.count()
        self.stats = {
            "sessions": 0,
            "refused": 0,
            "unauthorized": 0,
            "failed": 0,
            "timed_out": 0,
            "frames_in": 0,
            "frames_out": 0,
        }
        self._server: Server | None = None

    @staticmethod
    def check(opts: ServeOptions) -> None:
        """Refuse options no server can run with (one error naming the option)."""
        if opts.max_sessions < 1:
            raise ConfigError(f"--max-sessions must be at least 1, got {opts.max_sessions}")
        for name in ("handshake_timeout_s", "idle_timeout_s", "max_session_s"):
            if not getattr(opts, name) > 0:
                option = "--" + name.removesuffix("_s").replace("_", "-")
                raise ConfigError(f"{option} must be positive, got {getattr(opts, name)}")
        if opts.token is not None and len(opts.token) < 8:
            raise ConfigError("the token must have at least 8 characters")

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
            open_timeout=self.opts.handshake_timeout_s,
            # websockets logs request lines and headers at debug level: the token goes first
            logger=_masked_logger(self.opts.token),
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
        path, _, query = request.path.partition("?")
        if self.opts.token is not None and not _authorized(request, query, self.opts.token):
            self.stats["unauthorized"] += 1
            response = conn.respond(HTTPStatus.UNAUTHORIZED, "a bearer token is required\n")
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        if path != PATH:
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
        bridge = await self._open(n)
        try:
            reason = await self._converse(ws, bridge, n)
        finally:
            await bridge.close()
        if reason:
            await _send_error(ws, redact(reason))

    async def _converse(self, ws: ServerConnection, bridge: _Bridge, n: int) -> str:
        """Run the session; why it ended abnormally (empty if the client simply hung up)."""
        stream = moshi.MoshiStream(client=False)
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
            _forget(exc)
            return reason
        return ""

    async def _receive(
        self, ws: ServerConnection, stream: moshi.MoshiStream, inbox: asyncio.Queue[Samples]
    ) -> None:
        loop = asyncio.get_running_loop()
        ends = loop.time() + self.opts.max_session_s
        idle = self.opts.idle_timeout_s
        pending = np.zeros(0, np.float32)
        try:
            # One timer for both limits, moved on at every message (cheaper than a new one).
            async with asyncio.timeout(None) as timer:
                while True:
                    timer.reschedule(min(ends, loop.time() + idle))
                    data = await ws.recv()
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
        except TimeoutError:
            self.stats["timed_out"] += 1
            if loop.time() >= ends:
                raise ProtocolError(
                    f"the session reached its limit of {self.opts.max_session_s:g} s"
                ) from None
            raise ProtocolError(f"no message from the client for {idle:g} s") from None
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


def _forget(exc: BaseException) -> None:
    """Drop the tracebacks of a handled exception, its causes and its group's members.

    A traceback holds the frames it passed through, and they hold the exception back (the
    ``except ... as`` target, TaskGroup's ``me`` in Python 3.11): a cycle that would keep the
    whole session alive until a cyclic collection, which real-time mode makes rare.
    """
    seen: set[int] = set()
    todo = [exc]
    while todo:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        e.__traceback__ = None
        todo += [x for x in (e.__cause__, e.__context__) if x is not None]
        if isinstance(e, BaseExceptionGroup):
            todo += e.exceptions


def _authorized(request: Request, query: str, token: str) -> bool:
    """Whether the request carries the token (as a bearer header or a ``token`` parameter)."""
    given = request.headers.get("Authorization", "")
    scheme, _, value = given.partition(" ")
    if scheme.lower() != "bearer":
        value = urllib.parse.parse_qs(query).get("token", [""])[0]
    # Constant time: how long a comparison took must not tell how much of a guess was right.
    return hmac.compare_digest(value.strip().encode(), token.encode())


class _MaskToken(logging.Filter):
    """Takes the token (and any other secret, see :func:`duplex.writing.redact`) out of a record."""

    def __init__(self, token: str | None) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        text = redact(record.getMessage())
        record.msg = text.replace(self.token, MASK) if self.token else text
        record.args = None
        return True


def _masked_logger(token: str | None) -> logging.Logger:
    logger = logging.getLogger("duplex.serve.websockets")
    logger.filters = [_MaskToken(token)]
    return logger


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
        spec = redact(model.spec)
        log.info("serving %s on %s", spec, where)
        if opts.host != LOOPBACK and not opts.token:
            log.warning("serving beyond this machine (%s) without a token", opts.host)
        guard = "token required" if opts.token else "no token"
        print(
            f"serving {spec} on {where} (max {opts.max_sessions} sessions, {opts.busy}, "
            f"idle timeout {opts.idle_timeout_s:g} s, {guard})"
        )
        await server.serve_forever()
