"""What both websocket clients share: the reader task, the event queue, failures, teardown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import abstractmethod
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK

from duplex.errors import ProtocolError
from duplex.events import ModelEvent, ModelFailed
from duplex.models.base import StreamingSession
from duplex.timeline import Clock

log = logging.getLogger(__name__)

#: Events waiting for the harness. The harness consumes them as they come; a full queue means
#: it stopped, and the session fails rather than growing without bound or dropping audio silently.
MAX_QUEUED_EVENTS = 4096
#: How long teardown waits for the reader task and the websocket closing handshake.
CLOSE_TIMEOUT_S = 2.0


class WsSession(StreamingSession):
    """A session over one websocket connection, with one owned reader task.

    Subclasses turn each message into events (:meth:`on_message`) and say when output is expected
    (:meth:`expecting_output`): only then does silence from the server count as a stall. Every
    failure (disconnect, stall, protocol error, server error) becomes one :class:`ModelFailed`,
    after which no more events are produced.
    """

    def __init__(self, ws: ClientConnection, clock: Clock, stall_timeout_s: float) -> None:
        self.ws = ws
        self.clock = clock
        self.stall_timeout_s = stall_timeout_s
        self.counters: Counter[str] = Counter()
        self._queue: asyncio.Queue[ModelEvent | None] = asyncio.Queue(MAX_QUEUED_EVENTS)
        self._finished = False  # the harness has no more input (finish() was called)
        self._failed = False
        self._closing = False
        self._reader: asyncio.Task[None] | None = None

    # -- for subclasses ------------------------------------------------------------------------

    @abstractmethod
    async def on_message(self, data: str | bytes) -> None:
        """Handle one message; raise :class:`ProtocolError` on garbage."""

    def expecting_output(self) -> bool:
        return True

    def now(self) -> int:
        """Arrival time on the session clock (0 before the session starts)."""
        started = getattr(self.clock, "started", True)
        return self.clock.now_samples() if started else 0

    def emit(self, event: ModelEvent) -> None:
        if self._failed:
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.counters["events_overflow"] += 1
            self.fail(f"more than {MAX_QUEUED_EVENTS} events waiting: the harness stopped reading")

    def fail(self, reason: str) -> None:
        """Report the one failure of this session and end its event stream."""
        if self._failed or self._closing:
            return
        self._failed = True
        log.info("session failed: %s", reason)
        # The failure must reach the harness even if it has stopped reading: make room by
        # dropping the oldest waiting events (counted).
        while self._queue.qsize() > MAX_QUEUED_EVENTS - 2:
            self._queue.get_nowait()
            self.counters["events_dropped_on_failure"] += 1
        self._queue.put_nowait(ModelFailed(self.now(), reason))
        self._queue.put_nowait(None)

    async def send_message(self, message: str | bytes) -> None:
        """Send, turning a closed or stuck connection into a failure instead of an exception."""
        if self._failed or self._closing:
            return
        try:
            async with asyncio.timeout(self.stall_timeout_s):
                await self.ws.send(message)
        except ConnectionClosed as exc:
            self.fail(_closed_reason(exc))
        except TimeoutError:
            self.fail(f"server did not take input for {self.stall_timeout_s:g} s")

    # -- the reader ----------------------------------------------------------------------------

    def start_reader(self) -> None:
        self._reader = asyncio.create_task(self._read_loop(), name="ws-reader")

    async def _read_loop(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        try:
            while not self._failed:
                deadline = last + self.stall_timeout_s if self.expecting_output() else None
                try:
                    async with asyncio.timeout_at(deadline):
                        data = await self.ws.recv()
                except TimeoutError:
                    self.fail(f"no message from the server for {self.stall_timeout_s:g} s")
                    return
                last = loop.time()
                await self.on_message(data)
        except ConnectionClosed as exc:
            if self._finished and isinstance(exc, ConnectionClosedOK):
                return  # an orderly close after the last input is the end of the session
            self.fail(_closed_reason(exc))
        except ProtocolError as exc:
            self.counters["protocol_errors"] += 1
            self.fail(f"garbage from the server: {exc}")
        finally:
            if not self._failed and not self._queue.full():
                self._queue.put_nowait(None)

    # -- StreamingSession ----------------------------------------------------------------------

    async def events(self) -> AsyncIterator[ModelEvent]:
        while (event := await self._queue.get()) is not None:
            yield event

    async def finish(self) -> None:
        self._finished = True

    async def aclose(self) -> None:
        if self._closing:
            return
        self._closing = True
        if self._reader is not None:
            self._reader.cancel()
            # Why a limit: a reader stuck in a callback must not hang the suite's teardown. wait()
            # neither raises the reader's outcome nor swallows a cancellation of aclose itself.
            await asyncio.wait({self._reader}, timeout=CLOSE_TIMEOUT_S)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await self.ws.close()
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)

    def stats(self) -> dict[str, Any]:
        return dict(self.counters)


def _closed_reason(exc: ConnectionClosed) -> str:
    rcvd, sent = exc.rcvd, exc.sent
    if rcvd is None and sent is not None and sent.code != 1000:
        # We closed it (1009: a message past max_message_bytes) and the server never answered:
        # saying the server dropped it would blame the wrong side.
        return f"closed by the client (code {sent.code}: {sent.reason or 'no reason'})"
    if rcvd is None:
        return "server dropped the connection without a close frame"
    detail = f": {rcvd.reason}" if rcvd.reason else ""
    return f"server closed the connection (code {rcvd.code}{detail})"
