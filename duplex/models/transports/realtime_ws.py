"""``realtime+ws://HOST:PORT/PATH?QUERY#OPTIONS``: an OpenAI-Realtime-style server as a model.

The session starts with ``session.update`` (PCM16 24 kHz both ways; server VAD with threshold 0.5,
prefix padding 300 ms, silence 500 ms unless told otherwise) and streams every input frame as
``input_audio_buffer.append``. Audio deltas arrive in bursts faster than real time: each is
stamped with its arrival time and the Recorder plays it out at real-time rate after the audio
before it. When the server hears the user start speaking (``speech_started``) while the model is
still talking, the queued playout is cut (``ModelAudioCleared`` at that moment), the response is
cancelled, the assistant item is truncated to what the user heard, and late deltas of the
interrupted response are dropped.

Options (URL fragment): ``vad`` (server_vad | semantic_vad | none), ``threshold``,
``prefix_padding_ms``, ``silence_ms``, ``dialect`` (beta | ga session.update shape),
``stall_timeout`` (s, default 10; counts only while a response is expected), ``connect_timeout``
(s, default 30), ``auth_env`` (name of an environment variable holding a bearer token),
``max_message_bytes`` (default 16 MiB).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Literal, cast

import websockets
from websockets.asyncio.client import ClientConnection

from duplex.audio import Samples
from duplex.errors import ConfigError, ModelError
from duplex.events import ModelAudio, ModelAudioCleared, ModelText
from duplex.models.base import ModelSpec, SessionInfo, StreamingModel, StreamingSession
from duplex.models.transports.url import TransportUrl, parse_url, redacted
from duplex.models.transports.wsbase import WsSession
from duplex.playout import STREAMING, Playout
from duplex.protocols import realtime as rt
from duplex.timeline import Clock

OPTIONS = {
    "vad": "server_vad (default), semantic_vad or none",
    "threshold": "server VAD threshold, default 0.5",
    "prefix_padding_ms": "server VAD prefix padding, default 300",
    "silence_ms": "server VAD silence duration, default 500",
    "dialect": "session.update shape: beta (default) or ga",
    "stall_timeout": "seconds without a message while a response is expected, default 10",
    "connect_timeout": "seconds to open the connection, default 30",
    "auth_env": "environment variable holding a bearer token for the Authorization header",
    "max_message_bytes": "largest message accepted from the server, default 16777216",
}

#: Error codes a server sends when our cancel or truncate raced with the end of the response:
#: harmless, so they do not end the session.
BENIGN_ERRORS = frozenset({"response_cancel_not_active", "invalid_value_truncate"})


class RealtimeSession(WsSession):
    def __init__(self, ws: ClientConnection, clock: Clock, model: RealtimeWsModel) -> None:
        super().__init__(ws, clock, model.stall_timeout_s)
        self.model = model
        self.playout = Playout(STREAMING)  # bursts are played out at real-time rate, never dropped
        self.response: str | None = None  # the response in progress
        self.awaiting_response = False  # the server VAD ended a turn; a response should follow
        self.item = ""  # assistant item being played, and where its playout began
        self.item_index = 0
        self.item_start = 0
        self.item_samples = 0
        self.muted: tuple[str, str] | None = None  # (response, item) interrupted; drop its deltas

    def expecting_output(self) -> bool:
        return self.response is not None or self.awaiting_response

    async def send(self, frame: Samples) -> None:
        await self.send_message(rt.append_audio(frame))

    async def finish(self) -> None:
        if self.model.turn.type == "none":  # no server VAD: end the turn ourselves
            await self.send_message(rt.commit())
            await self.send_message(rt.create_response())
            self.awaiting_response = True
        await super().finish()

    async def on_message(self, data: str | bytes) -> None:
        at = self.now()
        event = rt.parse(data)
        if isinstance(event, rt.AudioDelta):
            self._audio(at, event)
        elif isinstance(event, rt.TextDelta):
            if not self._is_muted(event.response_id, event.item_id):
                self.emit(ModelText(at, event.delta))
        elif isinstance(event, rt.SpeechStarted):
            await self._barge_in(at)
        elif isinstance(event, rt.SpeechStopped):
            self.awaiting_response = self.model.turn.type != "none"
        elif isinstance(event, rt.ResponseCreated):
            self.response, self.awaiting_response = event.response_id, False
            if self.muted and self.muted[0] != event.response_id:
                self.muted = None
        elif isinstance(event, rt.ResponseDone):
            if self.response == event.response_id or not event.response_id:
                self.response = None
        elif isinstance(event, rt.ServerError):
            if event.code in BENIGN_ERRORS:
                self.counters["benign_errors"] += 1
            else:
                code = f" ({event.code})" if event.code else ""
                self.fail(f"server error{code}: {event.message}")
        else:
            self.counters[f"ignored {getattr(event, 'type', type(event).__name__)}"] += 1

    def _is_muted(self, response_id: str, item_id: str) -> bool:
        if self.muted is None:
            return False
        muted_response, muted_item = self.muted
        if not (muted_response or muted_item):  # a server without ids: mute until the next one
            return True
        return (bool(response_id) and response_id == muted_response) or (
            bool(item_id) and item_id == muted_item
        )

    def _audio(self, at: int, delta: rt.AudioDelta) -> None:
        if self._is_muted(delta.response_id, delta.item_id):
            self.counters["audio_deltas_dropped_after_cut"] += 1
            return
        start = self.playout.offer(at, delta.samples).start
        if delta.item_id != self.item or self.item_samples == 0:
            self.item, self.item_index, self.item_samples = delta.item_id, delta.content_index, 0
            self.item_start = start
        self.item_samples += delta.samples.size
        self.counters["audio_deltas"] += 1
        self.emit(ModelAudio(at, delta.samples))

    async def _barge_in(self, at: int) -> None:
        """The user started speaking: stop the model as a client with a speaker would."""
        talking = self.playout.queued(at) > 0
        if not (talking or self.response):
            return
        self.counters["interruptions"] += 1
        if talking:
            self.emit(ModelAudioCleared(at))
            self.playout.cut(at)
        self.muted = (self.response or "", self.item)
        if self.response:
            await self.send_message(rt.cancel_response(self.response))
            self.response = None
        if self.item and talking:
            heard = min(max(0, at - self.item_start), self.item_samples)
            await self.send_message(rt.truncate(self.item, self.item_index, heard * 1000 // 24000))
        self.item_samples = 0


class RealtimeWsModel(StreamingModel):
    """A server speaking the OpenAI-Realtime event protocol."""

    sample_rate = rt.SAMPLE_RATE

    def __init__(self, target: TransportUrl) -> None:
        self.url = target.url
        opts = target.options
        vad = opts.choice("vad", "server_vad", ("server_vad", "semantic_vad", "none"))
        self.turn = rt.TurnDetection(
            type=cast(Literal["server_vad", "semantic_vad", "none"], vad),
            threshold=opts.float("threshold", 0.5, low=0.0, high=1.0),
            prefix_padding_ms=int(opts.float("prefix_padding_ms", 300, high=10_000)),
            silence_duration_ms=int(opts.float("silence_ms", 500, high=10_000)),
        )
        self.dialect = cast(rt.Dialect, opts.choice("dialect", "beta", ("beta", "ga")))
        self.stall_timeout_s = opts.float("stall_timeout", 10.0, low=0.1, high=3600)
        self.connect_timeout_s = opts.float("connect_timeout", 30.0, low=0.1, high=3600)
        self.max_message_bytes = int(
            opts.float("max_message_bytes", 1 << 24, low=1024, high=1 << 30)
        )
        self.auth_env = opts.spec.args.get("auth_env")

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "url": redacted(self.url),
            "protocol": "openai-realtime",
            "dialect": self.dialect,
            "turn_detection": self.turn.to_json(),
            "stall_timeout_s": self.stall_timeout_s,
        }

    def _headers(self) -> dict[str, str]:
        if not self.auth_env:
            return {}
        token = os.environ.get(self.auth_env)
        if not token:
            raise ConfigError(f"auth_env={self.auth_env}: the environment variable is not set")
        return {"Authorization": f"Bearer {token}"}

    async def connect(self, info: SessionInfo, clock: Clock) -> StreamingSession:
        if info.sample_rate != self.sample_rate:
            raise ConfigError(
                f"realtime servers take {self.sample_rate} Hz audio, the session runs at "
                f"{info.sample_rate} Hz"
            )
        where = redacted(self.url)
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                ws = await websockets.connect(
                    self.url,
                    additional_headers=self._headers(),
                    max_size=self.max_message_bytes,
                    ping_interval=None,  # stalls are detected from the event stream instead
                    compression=None,
                )
        except TimeoutError:
            raise ModelError(
                f"{where}: no connection within {self.connect_timeout_s:g} s"
            ) from None
        except (OSError, websockets.exceptions.WebSocketException) as exc:
            raise ModelError(f"{where}: cannot connect: {exc}") from exc
        session = RealtimeSession(ws, clock, self)
        session.start_reader()
        await session.send_message(rt.session_update(self.turn, dialect=self.dialect))
        return session


def make_realtime_ws(spec: ModelSpec) -> RealtimeWsModel:
    return RealtimeWsModel(parse_url(spec, "realtime", OPTIONS))
