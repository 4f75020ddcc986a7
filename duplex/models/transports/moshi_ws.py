"""``moshi+ws://HOST:PORT/api/chat?QUERY#OPTIONS``: a Moshi-protocol server as a streaming model.

The client connects, waits for the handshake (the Python server sends it only once it is free, and
PersonaPlex only after processing its prompts, so the wait is long and configurable), then sends
each 80 ms frame as the simulator delivers it, Opus-encoded in the slack before its deadline
(:mod:`duplex.models.transports.ahead`) so that at the deadline only its bytes are written.
Every audio and text message is stamped with the session clock on arrival: a server that stalls
leaves a gap where it stalled. Frame-synchronous output that arrives in a catch-up burst after a
stall would be played behind real time and shift everything after it; frames that would start
more than ``max_backlog_ms`` after their arrival are dropped and counted instead, as a live
client's jitter buffer does.

Options (URL fragment): ``handshake_timeout`` (s, default 60), ``stall_timeout`` (s, default 10:
no message for that long once frames were sent is a failure), ``max_backlog_ms`` (default 100;
``-1`` never drops), ``max_message_bytes`` (default 1 MiB).
"""

from __future__ import annotations

import asyncio
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from duplex.audio import Samples
from duplex.errors import ConfigError, ModelError, ProtocolError
from duplex.events import ModelAudio, ModelText
from duplex.models.base import ModelSpec, SessionInfo, StreamingModel, StreamingSession
from duplex.models.transports.ahead import AheadJob, encode_ahead
from duplex.models.transports.url import TransportUrl, parse_url, redacted
from duplex.models.transports.wsbase import WsSession
from duplex.playout import Playout, jitter_buffer
from duplex.protocols import moshi
from duplex.timeline import Clock

OPTIONS = {
    "handshake_timeout": "seconds to wait for the server's handshake, default 60",
    "stall_timeout": "seconds without a message while streaming that count as a stall, default 10",
    "max_backlog_ms": "drop frames that would play later than this after arrival, default 100",
    "max_message_bytes": "largest message accepted from the server, default 1048576",
}


class MoshiSession(WsSession):
    def __init__(
        self, ws: ClientConnection, stream: moshi.MoshiStream, clock: Clock, model: MoshiWsModel
    ) -> None:
        super().__init__(ws, clock, model.stall_timeout_s)
        self.stream = stream
        backlog = None if model.max_backlog_ms < 0 else round(model.max_backlog_ms * 24000 / 1000)
        self.playout = Playout(jitter_buffer(backlog))
        self.frames_sent = 0
        self.encoder = encode_ahead()
        self._ahead: AheadJob | None = None
        self.send_s_max = 0.0

    def expecting_output(self) -> bool:
        # The server answers every frame after the first; before that silence is expected.
        return self.frames_sent > 1 and not self._finished

    def prepare(self, frame: Samples, due: float) -> None:
        if self._ahead is not None:
            raise RuntimeError("prepare() called twice without a send() in between")
        loop = asyncio.get_running_loop()
        at = loop.time() + (due - self.clock.now())  # the send deadline on asyncio's clock
        self._ahead = self.encoder.submit(frame, at, self.stream.audio)

    async def send(self, frame: Samples) -> None:
        start = self.clock.now()
        job, self._ahead = self._ahead, None
        if job is None:
            message = self.stream.audio(frame)
        elif job.frame is frame:
            if not job.done:
                await asyncio.sleep(0)  # other sessions' frames due now are encoded: they go first
            self.counters["frames_encoded_ahead" if job.done else "frames_encoded_at_send"] += 1
            message = self.encoder.take(job)
        else:  # the stream already holds the prepared frame: this one would be out of order
            raise RuntimeError("send() of a frame other than the one prepared")
        self.frames_sent += 1
        if message is not None:
            await self.send_message(message)
        # How long the bytes took to reach the socket once the deadline was reached.
        self.send_s_max = max(self.send_s_max, self.clock.now() - start)

    async def aclose(self) -> None:
        if self._ahead is not None:
            self.encoder.cancel(self._ahead)
            self._ahead = None
        await super().aclose()

    async def on_message(self, data: str | bytes) -> None:
        if isinstance(data, str):
            raise ProtocolError(f"text websocket message {data[:24]!r}; moshi sends binary only")
        at = self.now()
        for event in self.stream.receive(data):
            if isinstance(event, moshi.AudioReceived):
                if self.playout.offer(at, event.samples).dropped:
                    self.counters["audio_frames_dropped_stale"] += 1
                else:
                    self.emit(ModelAudio(at, event.samples))
            elif isinstance(event, moshi.Text):
                self.emit(ModelText(at, event.text))
            elif isinstance(event, moshi.Error):
                self.fail(f"server error: {event.text}")
            else:  # control, metadata: nothing the harness acts on
                self.counters[f"ignored_{type(event).__name__.lower()}"] += 1

    def stats(self) -> dict[str, Any]:
        return {
            **super().stats(),
            "frames_sent": self.frames_sent,
            "send_ms_max": round(self.send_s_max * 1000, 3),
            "messages_in": self.stream.messages_in,
            "ignored_kinds": dict(self.stream.ignored),
            "dropped_stale_samples": self.playout.counts.dropped_late,
        }


class MoshiWsModel(StreamingModel):
    """A server speaking Moshi's websocket protocol (Moshi, PersonaPlex, ``duplex-bench serve``)."""

    sample_rate = moshi.SAMPLE_RATE

    def __init__(self, target: TransportUrl) -> None:
        self.url = target.url
        opts = target.options
        self.handshake_timeout_s = opts.float("handshake_timeout", 60.0, low=0.1, high=3600)
        # connecting and the handshake are each bounded by the handshake timeout
        self.connect_timeout_s = 2 * self.handshake_timeout_s
        self.stall_timeout_s = opts.float("stall_timeout", 10.0, low=0.1, high=3600)
        self.max_backlog_ms = opts.float("max_backlog_ms", 100.0, low=-1, high=60_000)
        self.max_message_bytes = int(
            opts.float("max_message_bytes", 1 << 20, low=1024, high=1 << 30)
        )

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "url": redacted(self.url),
            "protocol": "moshi",
            "handshake_timeout_s": self.handshake_timeout_s,
            "stall_timeout_s": self.stall_timeout_s,
            "max_backlog_ms": self.max_backlog_ms,
        }

    async def connect(self, info: SessionInfo, clock: Clock) -> StreamingSession:
        if info.sample_rate != self.sample_rate or info.frame_size != moshi.FRAME_SIZE:
            raise ConfigError(
                f"moshi servers take {moshi.FRAME_SIZE}-sample frames at {self.sample_rate} Hz, "
                f"the session has {info.frame_size} at {info.sample_rate} Hz"
            )
        where = redacted(self.url)
        stream = moshi.MoshiStream(client=True)
        try:
            async with asyncio.timeout(self.handshake_timeout_s):
                # Keepalive pings are off: a server busy preparing a session (PersonaPlex's
                # prompts) may not answer them, and stalls are detected from the audio instead.
                ws = await websockets.connect(
                    self.url,
                    max_size=self.max_message_bytes,
                    ping_interval=None,
                    compression=None,
                )
        except TimeoutError:
            raise ModelError(
                f"{where}: no connection within {self.handshake_timeout_s:g} s"
            ) from None
        except (OSError, websockets.exceptions.WebSocketException) as exc:
            raise ModelError(f"{where}: cannot connect: {exc}") from exc
        try:
            await self._handshake(ws, stream, where)
        except BaseException:
            await ws.close()
            raise
        session = MoshiSession(ws, stream, clock, self)
        session.start_reader()
        return session

    async def _handshake(self, ws: ClientConnection, stream: moshi.MoshiStream, where: str) -> None:
        try:
            async with asyncio.timeout(self.handshake_timeout_s):
                while not stream.handshaken:
                    data = await ws.recv()
                    if isinstance(data, str):
                        raise ProtocolError(f"text message {data[:24]!r} instead of the handshake")
                    stream.receive(data)
        except TimeoutError:
            raise ModelError(
                f"{where}: no handshake within {self.handshake_timeout_s:g} s "
                "(server busy with another session? raise #handshake_timeout=...)"
            ) from None
        except websockets.exceptions.ConnectionClosed as exc:
            raise ModelError(f"{where}: connection closed before the handshake: {exc}") from exc
        except ProtocolError as exc:
            raise ModelError(f"{where}: bad handshake: {exc}") from exc


def make_moshi_ws(spec: ModelSpec) -> MoshiWsModel:
    return MoshiWsModel(parse_url(spec, "moshi", OPTIONS))
