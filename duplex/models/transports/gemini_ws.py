"""``gemini+wss://HOST[:PORT]/PATH?QUERY#OPTIONS``: Gemini Live as a streaming model.

``gemini+wss://generativelanguage.googleapis.com`` dials the documented ``BidiGenerateContent``
endpoint (an empty path is filled in); ``gemini+ws://`` is for a local server or fake. The client
sends ``setup`` (audio out, the model and voice, server activity detection, output transcription)
and waits for ``setupComplete``; then each session frame goes out as ``realtimeInput`` audio,
resampled to 16 kHz as one stream (:class:`~duplex.protocols.gemini.LiveStream`).

The model's audio comes in bursts faster than real time: each chunk is stamped with its arrival
and played out at real-time rate after the audio before it (the Recorder's rule, mirrored by
:class:`~duplex.playout.Playout`). When the server reports ``interrupted`` (its
activity detection heard the user over the model) while audio is still queued, the queue is cut
there (``ModelAudioCleared``); the server has stopped generating by then, and a websocket keeps
order, so nothing of the interrupted turn comes after the signal and no muting is needed (an
``interrupted`` with nothing queued, as the server sends when a new turn opens after playback,
cuts nothing and is counted). Output transcription and text parts become ``ModelText``;
``generationComplete`` and ``turnComplete`` end the wait for output (only while the model
generates does silence count as a stall). ``goAway`` is recorded and named in the failure if the
server then closes. Unknown messages are counted and ignored.

With ``vad=off`` the client marks the user's turn itself: ``activityStart`` before the first
frame, ``activityEnd`` after the last, and the model answers then (one turn per item, no barge-in).
With server detection on, ``audioStreamEnd`` follows the last frame.

The API key is read from the environment (``GEMINI_API_KEY``, else ``GOOGLE_API_KEY``; an
``auth_tokens/...`` ephemeral token too) each time a session opens, and goes only into that
connection's request: the ``x-goog-api-key`` header (``auth=query``: the documented ``?key=``
query). It is in no URL the harness keeps, and failure reasons, connection errors and
websockets' own debug log (which writes the request line and headers) are scrubbed of it. A key
in the spec's query is refused, since the spec is written into results. Over plain ``ws://`` a
key is sent only to a loopback host.

Options (URL fragment): ``model`` (default :data:`DEFAULT_MODEL`; ``models/`` is added),
``voice``, ``vad`` (on | off), ``start_sensitivity`` / ``end_sensitivity`` (high | low),
``prefix_padding_ms``, ``silence_ms``, ``barge_in`` (on | off: ``NO_INTERRUPTION``),
``transcription`` (on | off), ``instructions``, ``setup_timeout`` (s, default 30),
``connect_timeout`` (s, default 30), ``stall_timeout`` (s, default 10), ``key_env`` (variable
names joined by ``+``, or ``none``), ``auth`` (header | query), ``input`` (audio |
media_chunks, the deprecated list), ``max_message_bytes`` (default 16 MiB).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import sys
import traceback
import urllib.parse
from collections.abc import Sequence
from typing import Any, cast

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from duplex.audio import Samples
from duplex.errors import ConfigError, ModelError, ProtocolError
from duplex.events import ModelAudio, ModelAudioCleared, ModelText
from duplex.models.base import ModelSpec, SessionInfo, StreamingModel, StreamingSession
from duplex.models.transports.url import TransportUrl, parse_url, redacted
from duplex.models.transports.wsbase import WsSession, _closed_reason
from duplex.playout import STREAMING, Playout
from duplex.protocols import gemini as gm
from duplex.timeline import Clock

log = logging.getLogger(__name__)

DEFAULT_MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"
DEFAULT_KEY_ENVS = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
#: Query parameters that carry credentials: refused in a spec (the spec is written to results).
SECRET_PARAMS = frozenset({"key", "access_token"})

OPTIONS = {
    "model": f"model name, default {DEFAULT_MODEL}",
    "voice": "prebuilt voice name (e.g. Puck), default the server's",
    "vad": "on (server activity detection, default) or off (the item is one user turn)",
    "start_sensitivity": "start-of-speech sensitivity: high or low, default the server's",
    "end_sensitivity": "end-of-speech sensitivity: high or low, default the server's",
    "prefix_padding_ms": "speech needed before start-of-speech is committed, default the server's",
    "silence_ms": "silence needed before end-of-speech is committed, default the server's",
    "barge_in": "on (the user's speech interrupts the model, default) or off",
    "transcription": "on (the model's words as text events, default) or off",
    "instructions": "system instruction text",
    "setup_timeout": "seconds to wait for setupComplete, default 30",
    "connect_timeout": "seconds to open the connection, default 30",
    "stall_timeout": "seconds without a message while the model generates, default 10",
    "key_env": "environment variables holding the key, joined by +; none sends no key",
    "auth": "header (x-goog-api-key, default) or query (?key=...)",
    "input": "audio (realtimeInput.audio, default) or media_chunks (the deprecated list)",
    "max_message_bytes": "largest message accepted from the server, default 16777216",
}

#: Wire names of the messages a session reads but does nothing with (counted).
_IGNORED_NAMES = {
    gm.SetupComplete: "setupComplete",
    gm.ToolCall: "toolCall",
    gm.ToolCallCancellation: "toolCallCancellation",
}


def scrub(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every secret replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _forms(key: str | None) -> tuple[str, ...]:
    """The key as it may appear: raw, and quoted as in a query string."""
    if not key:
        return ()
    forms = {key, urllib.parse.quote(key, safe=""), urllib.parse.quote_plus(key)}
    return tuple(sorted(forms, key=len, reverse=True))


def _clean(exc: BaseException, secrets: Sequence[str]) -> BaseException | None:
    """``exc`` to keep as the cause of an error, or None if it holds a secret (a URL)."""
    text = repr(exc)
    return exc if scrub(text, secrets) == text else None


class _ScrubbedLog(logging.LoggerAdapter[logging.Logger]):
    """websockets' logger for one connection. At DEBUG websockets writes the opening request's
    line and headers, which carry the key: every record is formatted and scrubbed first."""

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__(logging.getLogger("websockets.client"), {})
        self.secrets = tuple(secrets)

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        text = str(msg) % args if args else str(msg)
        exc_info = kwargs.pop("exc_info", None)
        if exc_info:
            if exc_info is True:
                exc_info = sys.exc_info()
            elif isinstance(exc_info, BaseException):
                exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
            text += "\n" + "".join(traceback.format_exception(*exc_info))
        self.logger.log(level, "%s", scrub(text, self.secrets), **kwargs)


class GeminiSession(WsSession):
    def __init__(
        self,
        ws: ClientConnection,
        stream: gm.LiveStream,
        clock: Clock,
        model: GeminiWsModel,
        secrets: Sequence[str],
    ) -> None:
        super().__init__(ws, clock, model.stall_timeout_s)
        self.stream = stream
        self.manual_turn = model.setup.vad.disabled
        self._secrets = tuple(secrets)  # to scrub failure reasons; never reported
        self.playout = Playout(STREAMING)  # bursts are played out at real-time rate, never dropped
        self.generating = False  # model content arrived, the generation is not complete yet
        self.awaiting = False  # activityEnd sent: an answer should follow
        self.activity_started = False
        self.frames_sent = 0
        self.go_away_s: float | None = None
        self.usage: dict[str, int] = {}
        self._prepared: tuple[Samples, str | None] | None = None

    def expecting_output(self) -> bool:
        return self.generating or self.awaiting

    def fail(self, reason: str) -> None:
        if self.counters["go_away"]:
            left = "" if self.go_away_s is None else f", {self.go_away_s:g} s left"
            reason += f" (after goAway{left})"
        super().fail(scrub(reason, self._secrets))

    # -- input ---------------------------------------------------------------------------------

    def prepare(self, frame: Samples, due: float) -> None:
        # Resampling and encoding take tens of microseconds; done a frame ahead all the same, so
        # that at the deadline only bytes are written.
        self._prepared = (frame, self.stream.audio(frame))

    async def send(self, frame: Samples) -> None:
        prepared, self._prepared = self._prepared, None
        if prepared is None:
            message = self.stream.audio(frame)
        elif prepared[0] is frame:
            message = prepared[1]
        else:  # the resampler already holds the prepared frame: this one would be out of order
            raise RuntimeError("send() of a frame other than the one prepared")
        if self.manual_turn and not self.activity_started:
            self.activity_started = True
            await self.send_message(gm.encode(gm.ActivityStart()))
        if message is not None:
            await self.send_message(message)
        self.frames_sent += 1

    async def finish(self) -> None:
        tail = self.stream.flush()
        if tail is not None:
            await self.send_message(tail)
        if self.manual_turn:
            await self.send_message(gm.encode(gm.ActivityEnd()))
            self.awaiting = True
        else:  # the microphone is off: the server need not wait for more audio
            await self.send_message(gm.encode(gm.AudioStreamEnd()))
        await super().finish()

    # -- output --------------------------------------------------------------------------------

    async def on_message(self, data: str | bytes) -> None:
        at = self.now()
        for msg in self.stream.receive(data):
            if isinstance(msg, gm.ServerContent):
                self._content(at, msg)
            elif isinstance(msg, gm.GoAway):
                self.counters["go_away"] += 1
                self.go_away_s = msg.time_left_s
                log.info("goAway: the server will close in %s s", msg.time_left_s)
            elif isinstance(msg, gm.Usage):
                self.usage = dict(msg.counts)
            elif isinstance(msg, gm.ServerError):
                code = f" ({msg.code})" if msg.code else ""
                self.fail(f"server error{code}: {msg.message}")
            elif isinstance(msg, gm.Other):
                self.counters[f"ignored {msg.kind}"] += 1
            else:
                self.counters[f"ignored {_IGNORED_NAMES.get(type(msg), type(msg).__name__)}"] += 1

    def _content(self, at: int, msg: gm.ServerContent) -> None:
        if msg.interrupted:
            self._interrupted(at)
        for part in msg.parts:
            if isinstance(part, gm.AudioOut):
                samples = self.stream.samples(part)
                if samples.size:
                    self.generating, self.awaiting = True, False
                    self.playout.offer(at, samples)
                    self.counters["audio_chunks"] += 1
                    self.emit(ModelAudio(at, samples))
            elif part.thought:
                self.counters["thought_parts"] += 1
            elif part.text:
                self.emit(ModelText(at, part.text))
        if msg.output_transcript:
            self.emit(ModelText(at, msg.output_transcript))
        if msg.input_transcript is not None:
            self.counters["input_transcripts"] += 1  # the user's words: not model output
        if msg.generation_complete:
            self.generating = False  # the server now waits for playback: silence is expected
            self.counters["generations_complete"] += 1
        if msg.turn_complete:
            self.generating = self.awaiting = False
            self.counters["turns_complete"] += 1

    def _interrupted(self, at: int) -> None:
        self.generating = False
        if self.playout.queued(at) > 0:
            self.counters["interruptions"] += 1
            self.emit(ModelAudioCleared(at))
            self.playout.cut(at)
        else:
            self.counters["interrupted_with_nothing_queued"] += 1

    def stats(self) -> dict[str, Any]:
        out = {
            **super().stats(),
            "frames_sent": self.frames_sent,
            "messages_in": self.stream.messages_in,
            "input_samples_16k": self.stream.samples_in,
            "ignored_kinds": dict(self.stream.ignored),
        }
        if self.counters["go_away"]:
            out["go_away_time_left_s"] = self.go_away_s
        if self.usage:
            out["usage"] = self.usage
        return out


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refuse_secrets_in_query(spec: ModelSpec) -> None:
    target = (spec.target or spec.text).partition("#")[0]
    query = urllib.parse.urlsplit(target.partition("+")[2]).query
    found = sorted(SECRET_PARAMS & {k for k, _ in urllib.parse.parse_qsl(query)})
    if found:
        # The message must not quote the spec: it holds the secret.
        raise ConfigError(
            f"model spec for gemini: the url carries {found[0]}=...; put the key in "
            f"{' or '.join(DEFAULT_KEY_ENVS)} instead (a spec is written into results)"
        )


class GeminiWsModel(StreamingModel):
    """Gemini Live over its websocket API (or a server speaking the same messages)."""

    sample_rate = gm.OUTPUT_RATE

    def __init__(self, target: TransportUrl) -> None:
        parts = urllib.parse.urlsplit(target.url)
        if parts.path in ("", "/"):
            parts = parts._replace(path=gm.DEFAULT_PATH)
        self.url = urllib.parse.urlunsplit(parts)
        self.secure = parts.scheme == "wss"
        self.host = parts.hostname or ""
        opts = target.options
        name = opts.spec.args.get("model", DEFAULT_MODEL)
        on_off = ("on", "off")

        def sensitivity(key: str) -> gm.Sensitivity | None:
            value = opts.choice(key, "default", ("default", "high", "low"))
            return None if value == "default" else cast(gm.Sensitivity, value)

        def optional_ms(key: str) -> int | None:
            value = opts.optional_float(key, high=60_000)
            return None if value is None else round(value)

        vad = gm.Vad(
            disabled=opts.choice("vad", "on", on_off) == "off",
            start_sensitivity=sensitivity("start_sensitivity"),
            end_sensitivity=sensitivity("end_sensitivity"),
            prefix_padding_ms=optional_ms("prefix_padding_ms"),
            silence_duration_ms=optional_ms("silence_ms"),
            barge_in=opts.choice("barge_in", "on", on_off) == "on",
        )
        self.setup = gm.Setup(
            model=name if name.startswith("models/") else f"models/{name}",
            voice=opts.spec.args.get("voice") or None,
            vad=vad,
            transcribe_output=opts.choice("transcription", "on", on_off) == "on",
            instructions=opts.spec.args.get("instructions"),
        )
        self.setup_timeout_s = opts.float("setup_timeout", 30.0, low=0.1, high=3600)
        self.open_timeout_s = opts.float("connect_timeout", 30.0, low=0.1, high=3600)
        self.connect_timeout_s = self.open_timeout_s + self.setup_timeout_s
        self.stall_timeout_s = opts.float("stall_timeout", 10.0, low=0.1, high=3600)
        self.max_message_bytes = int(
            opts.float("max_message_bytes", 1 << 24, low=1024, high=1 << 30)
        )
        self.auth = opts.choice("auth", "header", ("header", "query"))
        self.legacy_input = opts.choice("input", "audio", ("audio", "media_chunks")) != "audio"
        envs = opts.spec.args.get("key_env", "+".join(DEFAULT_KEY_ENVS))
        self.key_envs = () if envs == "none" else tuple(filter(None, envs.split("+")))
        self._api_key()  # a missing key or an unsafe destination is an error now, not per item

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "url": redacted(self.url),
            "protocol": "gemini-live",
            "setup": {
                "model": self.setup.model,
                "voice": self.setup.voice,
                "realtime_input_config": self.setup.vad.to_json(),
                "output_transcription": self.setup.transcribe_output,
                "input": "mediaChunks" if self.legacy_input else "audio",
            },
            "key_env": list(self.key_envs),  # the variables' names, never a value
            "auth": self.auth,
            "setup_timeout_s": self.setup_timeout_s,
            "stall_timeout_s": self.stall_timeout_s,
        }

    def _api_key(self) -> str | None:
        """The key from the environment, read when needed and kept by no object."""
        key = next(filter(None, (os.environ.get(n, "").strip() for n in self.key_envs)), None)
        if key is None and self.secure and self.key_envs:
            raise ConfigError(
                f"gemini: no API key; set {' or '.join(self.key_envs)} "
                "(or #key_env=none for a server that needs none)"
            )
        if key is not None and not self.secure and not _is_loopback(self.host):
            raise ConfigError(
                f"gemini+ws://{self.host}: refusing to send the API key unencrypted to a host "
                "that is not this machine; use gemini+wss:// or #key_env=none"
            )
        return key

    def _dial(self, key: str | None) -> tuple[str, dict[str, str]]:
        """The URL and headers of one connection, with the key where ``auth`` puts it."""
        if key is None:
            return self.url, {}
        token = key.startswith("auth_tokens/")  # an ephemeral token
        if self.auth == "header":
            return self.url, {"Authorization": f"Token {key}"} if token else {"x-goog-api-key": key}
        parts = urllib.parse.urlsplit(self.url)
        param = urllib.parse.urlencode({"access_token" if token else "key": key})
        query = f"{parts.query}&{param}" if parts.query else param
        return urllib.parse.urlunsplit(parts._replace(query=query)), {}

    async def connect(self, info: SessionInfo, clock: Clock) -> StreamingSession:
        if info.sample_rate != self.sample_rate:
            raise ConfigError(
                f"gemini sessions run at {self.sample_rate} Hz, the session has {info.sample_rate}"
            )
        key = self._api_key()
        secrets = _forms(key)
        ws = await self._open(key, secrets)
        stream = gm.LiveStream(self.sample_rate, legacy_input=self.legacy_input)
        try:
            await self._setup(ws, stream, secrets)
        except BaseException:
            await ws.close()
            raise
        session = GeminiSession(ws, stream, clock, self, secrets)
        session.start_reader()
        return session

    async def _open(self, key: str | None, secrets: Sequence[str]) -> ClientConnection:
        where = redacted(self.url)
        url, headers = self._dial(key)
        try:
            async with asyncio.timeout(self.open_timeout_s):
                return await websockets.connect(
                    url,
                    additional_headers=headers,
                    max_size=self.max_message_bytes,
                    ping_interval=None,  # stalls are detected from the message stream instead
                    compression=None,
                    logger=_ScrubbedLog(secrets),
                )
        except TimeoutError:
            raise ModelError(f"{where}: no connection within {self.open_timeout_s:g} s") from None
        except (OSError, websockets.exceptions.WebSocketException) as exc:
            message = scrub(f"{where}: cannot connect: {exc}", secrets)
            raise ModelError(message) from _clean(exc, secrets)

    async def _setup(
        self, ws: ClientConnection, stream: gm.LiveStream, secrets: Sequence[str]
    ) -> None:
        where = redacted(self.url)
        try:
            async with asyncio.timeout(self.setup_timeout_s):
                await ws.send(gm.encode(self.setup))
                while True:
                    for msg in stream.receive(await ws.recv()):
                        if isinstance(msg, gm.SetupComplete):
                            return
                        if isinstance(msg, gm.ServerError):
                            reason = scrub(msg.message, secrets)
                            raise ModelError(f"{where}: setup refused: {reason}")
        except TimeoutError:
            raise ModelError(
                f"{where}: no setupComplete within {self.setup_timeout_s:g} s"
            ) from None
        except ConnectionClosed as exc:
            # Gemini refuses a bad setup (unknown model, bad key) by closing with a reason.
            reason = scrub(_closed_reason(exc), secrets)
            raise ModelError(f"{where}: {reason} during setup") from None
        except ProtocolError as exc:
            message = scrub(f"{where}: bad answer to setup: {exc}", secrets)
            raise ModelError(message) from _clean(exc, secrets)


def make_gemini_ws(spec: ModelSpec) -> GeminiWsModel:
    _refuse_secrets_in_query(spec)
    return GeminiWsModel(parse_url(spec, "gemini", OPTIONS))
