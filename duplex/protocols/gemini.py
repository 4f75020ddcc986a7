"""Gemini Live (``BidiGenerateContent`` over a websocket), both sides of the JSON, sans I/O.

Every message is one JSON object whose one key names it (camelCase, as the API reference writes
them). The server may send its JSON as binary frames; both are accepted.

Client messages (:func:`encode`, and :func:`decode_client` for servers and tests):

- ``setup``: model, ``generationConfig.responseModalities`` ``["AUDIO"]`` and the prebuilt voice,
  ``systemInstruction``, ``realtimeInputConfig`` (``automaticActivityDetection``: ``disabled``,
  start/end-of-speech sensitivity, ``prefixPaddingMs``, ``silenceDurationMs``;
  ``activityHandling``), ``inputAudioTranscription`` / ``outputAudioTranscription``
- ``realtimeInput``: ``audio`` (a blob: base64 PCM16 little-endian, mime type
  ``audio/pcm;rate=16000``), the deprecated ``mediaChunks`` list of such blobs,
  ``activityStart``, ``activityEnd``, ``audioStreamEnd``
- ``clientContent``: one user text turn (``turns``, ``turnComplete``)

Server messages (:func:`decode`, and :func:`encode_server` for the other direction):

- ``setupComplete``
- ``serverContent``: ``modelTurn.parts[]`` with ``inlineData`` audio (``audio/pcm``, 24 kHz unless
  the mime type says ``;rate=N``) or ``text`` (``thought`` parts flagged), ``inputTranscription``
  and ``outputTranscription`` (``text``), ``interrupted``, ``generationComplete``, ``turnComplete``
- ``goAway`` (``timeLeft``, a protobuf Duration such as ``"5s"``), ``toolCall`` and
  ``toolCallCancellation`` (their ids), ``usageMetadata`` (its integer counts), which may come
  beside any of the others
- ``error``: not part of the Live reference (the server reports errors by closing the socket with
  a code and a reason), but the Google API error object a gateway may send; decoded so that it ends
  the session instead of being ignored.

Unknown keys at the top level (``sessionResumptionUpdate``, anything added later) decode as
:class:`Other` and unknown fields, part kinds and non-audio inline data are skipped: never fatal.
What is fatal (:class:`~duplex.errors.ProtocolError`, the only exception :func:`decode` raises):
bytes that are not UTF-8 JSON, JSON that is not an object, and known messages with malformed
fields (audio that is not base64 whole PCM16 samples, an audio type other than PCM, a rate the
harness cannot resample, a boolean flag that is not a boolean).

Audio: the session runs at 24 kHz; Gemini takes 16 kHz input and speaks at 24 kHz.
:class:`LiveStream` resamples the input with one streaming resampler per session (soxr "QQ":
it holds back one sample, and unlike resampling each 80 ms frame on its own it leaves no click at
frame edges), and converts output at another rate, should a server send one.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import soxr

from duplex.audio import SUPPORTED_RATES, Samples
from duplex.errors import ProtocolError

INPUT_RATE = 16000
OUTPUT_RATE = 24000
#: The documented endpoint's path (API key auth; ephemeral tokens use the ``Constrained`` method).
DEFAULT_PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"

Sensitivity = Literal["high", "low"]
ACTIVITY_HANDLING = frozenset(
    {"", "ACTIVITY_HANDLING_UNSPECIFIED", "START_OF_ACTIVITY_INTERRUPTS", "NO_INTERRUPTION"}
)


# ----------------------------------------------------------------------------- PCM


def pcm16(samples: Samples) -> bytes:
    """float32 [-1, 1] -> PCM16 little-endian bytes (clipped, rounded)."""
    x = np.clip(np.asarray(samples, dtype=np.float32) * 32768.0, -32768, 32767)
    return np.round(x).astype("<i2").tobytes()


def from_pcm16(raw: bytes) -> Samples:
    """PCM16 little-endian bytes -> float32."""
    return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(data: str, where: str) -> bytes:
    """Standard or URL-safe base64 (protobuf's JSON mapping accepts both), padding optional."""
    text = data.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProtocolError(f"{where}: data is not base64: {data[:24]!r}") from exc


def _mime_rate(mime: str, default: int, where: str) -> int | None:
    """Sample rate of an ``audio/pcm[;rate=N]`` mime type; None for a non-audio type."""
    kind, *params = (p.strip() for p in mime.split(";"))
    if not kind.lower().startswith("audio/"):
        return None
    if kind.lower() not in ("audio/pcm", "audio/l16"):
        raise ProtocolError(f"{where}: audio type {mime!r} is not raw pcm")
    rate = default
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "rate":
            try:
                rate = int(value)
            except ValueError:
                raise ProtocolError(f"{where}: rate in {mime!r} is not a number") from None
    if rate not in SUPPORTED_RATES:
        raise ProtocolError(f"{where}: audio rate {rate} Hz is not one of {SUPPORTED_RATES}")
    return rate


def _blob(pcm: bytes, rate: int) -> dict[str, str]:
    return {"data": _b64(pcm), "mimeType": f"audio/pcm;rate={rate}"}


def _audio_blob(blob: Any, default_rate: int, where: str) -> tuple[bytes, int] | None:
    """(PCM16 bytes, rate) of an audio blob; None for a blob of another kind (an image)."""
    blob = _obj(blob, where)
    rate = _mime_rate(_str(blob, "mimeType", where, required=True), default_rate, where)
    if rate is None:
        return None
    raw = _unb64(_str(blob, "data", where, required=True), where)
    if len(raw) % 2:
        raise ProtocolError(f"{where}: {len(raw)} bytes of audio are not whole pcm16 samples")
    return raw, rate


# ----------------------------------------------------------------------------- field access


def _obj(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProtocolError(f"{where} is {type(value).__name__}, not an object")
    return value


def _str(obj: dict[str, Any], key: str, where: str, *, required: bool = False) -> str:
    value = obj.get(key)
    if isinstance(value, str):
        return value
    if value is None and not required:
        return ""
    raise ProtocolError(f"{where}: field {key!r} is {type(value).__name__}, not a string")


def _bool(obj: dict[str, Any], key: str, where: str) -> bool:
    value = obj.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ProtocolError(f"{where}: field {key!r} is {value!r}, not a boolean")
    return value


def _int(obj: dict[str, Any], key: str, where: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError(f"{where}: field {key!r} is {value!r}, not an integer")
    return value


def _list(obj: dict[str, Any], key: str, where: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ProtocolError(f"{where}: field {key!r} is {type(value).__name__}, not a list")
    return value


def _load(message: str | bytes) -> dict[str, Any]:
    if isinstance(message, bytes | bytearray | memoryview):
        try:
            message = bytes(message).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"binary message that is not utf-8: {message[:16]!r}") from exc
    try:
        doc = json.loads(message)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"message is not json: {message[:40]!r}") from exc
    if not isinstance(doc, dict):
        raise ProtocolError(f"message is json {type(doc).__name__}, not an object")
    return doc


def _dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"))


# ----------------------------------------------------------------------------- client messages


@dataclass(frozen=True)
class Vad:
    """``realtimeInputConfig``: the server's activity detection (``None``: the server's default).

    ``disabled``: the client marks the user's turn with :class:`ActivityStart` /
    :class:`ActivityEnd`. ``barge_in``: the start of user activity interrupts the model
    (``START_OF_ACTIVITY_INTERRUPTS``, the API's default) or not (``NO_INTERRUPTION``).
    """

    disabled: bool = False
    start_sensitivity: Sensitivity | None = None
    end_sensitivity: Sensitivity | None = None
    prefix_padding_ms: int | None = None
    silence_duration_ms: int | None = None
    barge_in: bool = True

    def to_json(self) -> dict[str, Any]:
        detection: dict[str, Any] = {"disabled": self.disabled}
        if self.start_sensitivity:
            level = self.start_sensitivity.upper()
            detection["startOfSpeechSensitivity"] = f"START_SENSITIVITY_{level}"
        if self.end_sensitivity:
            detection["endOfSpeechSensitivity"] = f"END_SENSITIVITY_{self.end_sensitivity.upper()}"
        if self.prefix_padding_ms is not None:
            detection["prefixPaddingMs"] = self.prefix_padding_ms
        if self.silence_duration_ms is not None:
            detection["silenceDurationMs"] = self.silence_duration_ms
        handling = "START_OF_ACTIVITY_INTERRUPTS" if self.barge_in else "NO_INTERRUPTION"
        return {"automaticActivityDetection": detection, "activityHandling": handling}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Vad:
        where = "setup.realtimeInputConfig"
        detection = _obj(doc.get("automaticActivityDetection"), where)

        def sensitivity(key: str, prefix: str) -> Sensitivity | None:
            value = _str(detection, key, where)
            if not value or value == f"{prefix}_SENSITIVITY_UNSPECIFIED":
                return None
            if value == f"{prefix}_SENSITIVITY_HIGH":
                return "high"
            if value == f"{prefix}_SENSITIVITY_LOW":
                return "low"
            raise ProtocolError(f"{where}: {key} {value!r} is not a known sensitivity")

        handling = _str(doc, "activityHandling", where)
        if handling not in ACTIVITY_HANDLING:
            raise ProtocolError(f"{where}: activityHandling {handling!r} is not known")
        return cls(
            disabled=_bool(detection, "disabled", where),
            start_sensitivity=sensitivity("startOfSpeechSensitivity", "START"),
            end_sensitivity=sensitivity("endOfSpeechSensitivity", "END"),
            prefix_padding_ms=_int(detection, "prefixPaddingMs", where),
            silence_duration_ms=_int(detection, "silenceDurationMs", where),
            barge_in=handling != "NO_INTERRUPTION",
        )


@dataclass(frozen=True)
class Setup:
    """The first message: audio out, and what the session should do with audio in."""

    model: str  # the resource name, "models/..."
    voice: str | None = None
    vad: Vad = field(default_factory=Vad)
    transcribe_input: bool = False
    transcribe_output: bool = True
    instructions: str | None = None


@dataclass(frozen=True)
class AudioIn:
    """A piece of the user's audio stream: PCM16 little-endian bytes at ``rate``."""

    pcm: bytes
    rate: int = INPUT_RATE
    legacy: bool = False  # sent as the deprecated ``mediaChunks`` list instead of ``audio``


@dataclass(frozen=True)
class ActivityStart:
    """The user's turn starts (only with activity detection disabled)."""


@dataclass(frozen=True)
class ActivityEnd:
    """The user's turn ends: the model answers (only with activity detection disabled)."""


@dataclass(frozen=True)
class AudioStreamEnd:
    """The microphone is off: the server flushes what it holds (with activity detection on)."""


@dataclass(frozen=True)
class TextIn:
    """``clientContent``: one user text turn appended to the conversation."""

    text: str
    turn_complete: bool = True


ClientMessage = Setup | AudioIn | ActivityStart | ActivityEnd | AudioStreamEnd | TextIn


def _setup_json(msg: Setup) -> dict[str, Any]:
    generation: dict[str, Any] = {"responseModalities": ["AUDIO"]}
    if msg.voice:
        generation["speechConfig"] = {
            "voiceConfig": {"prebuiltVoiceConfig": {"voiceName": msg.voice}}
        }
    setup: dict[str, Any] = {
        "model": msg.model,
        "generationConfig": generation,
        "realtimeInputConfig": msg.vad.to_json(),
    }
    if msg.instructions is not None:
        setup["systemInstruction"] = {"parts": [{"text": msg.instructions}]}
    if msg.transcribe_input:
        setup["inputAudioTranscription"] = {}
    if msg.transcribe_output:
        setup["outputAudioTranscription"] = {}
    return setup


def encode(msg: ClientMessage) -> str:
    """One client message as JSON text."""
    if isinstance(msg, Setup):
        return _dump({"setup": _setup_json(msg)})
    if isinstance(msg, AudioIn):
        blob = _blob(msg.pcm, msg.rate)
        return _dump({"realtimeInput": {"mediaChunks": [blob]} if msg.legacy else {"audio": blob}})
    if isinstance(msg, ActivityStart):
        return _dump({"realtimeInput": {"activityStart": {}}})
    if isinstance(msg, ActivityEnd):
        return _dump({"realtimeInput": {"activityEnd": {}}})
    if isinstance(msg, AudioStreamEnd):
        return _dump({"realtimeInput": {"audioStreamEnd": True}})
    turn = {"role": "user", "parts": [{"text": msg.text}]}
    return _dump({"clientContent": {"turns": [turn], "turnComplete": msg.turn_complete}})


def _texts(content: Any, where: str) -> str:
    parts = _list(_obj(content, where), "parts", where)
    return "".join(_str(_obj(p, where), "text", where) for p in parts)


def _decode_setup(doc: dict[str, Any]) -> Setup:
    where = "setup"
    generation = _obj(doc.get("generationConfig"), f"{where}.generationConfig")
    speech = _obj(generation.get("speechConfig"), f"{where}.speechConfig")
    voice_config = _obj(speech.get("voiceConfig"), f"{where}.voiceConfig")
    prebuilt = _obj(voice_config.get("prebuiltVoiceConfig"), f"{where}.prebuiltVoiceConfig")
    voice = _str(prebuilt, "voiceName", where) or None
    instructions = doc.get("systemInstruction")
    if instructions is not None and not isinstance(instructions, str):
        instructions = _texts(instructions, f"{where}.systemInstruction")
    return Setup(
        model=_str(doc, "model", where, required=True),
        voice=voice,
        vad=Vad.from_json(_obj(doc.get("realtimeInputConfig"), f"{where}.realtimeInputConfig")),
        transcribe_input=doc.get("inputAudioTranscription") is not None,
        transcribe_output=doc.get("outputAudioTranscription") is not None,
        instructions=instructions,
    )


def _decode_realtime(doc: dict[str, Any]) -> ClientMessage:
    where = "realtimeInput"
    if doc.get("audio") is not None:
        audio = _audio_blob(doc["audio"], INPUT_RATE, f"{where}.audio")
        if audio is None:
            raise ProtocolError(f"{where}.audio is not audio")
        return AudioIn(*audio)
    if doc.get("mediaChunks") is not None:
        blobs = _list(doc, "mediaChunks", where)
        chunks = [_audio_blob(b, INPUT_RATE, f"{where}.mediaChunks") for b in blobs]
        audio_chunks = [c for c in chunks if c is not None]
        rates = {rate for _, rate in audio_chunks}
        if len(rates) != 1:
            raise ProtocolError(f"{where}.mediaChunks: expected audio at one rate, got {rates}")
        return AudioIn(b"".join(pcm for pcm, _ in audio_chunks), rates.pop(), legacy=True)
    if doc.get("activityStart") is not None:
        return ActivityStart()
    if doc.get("activityEnd") is not None:
        return ActivityEnd()
    if _bool(doc, "audioStreamEnd", where):
        return AudioStreamEnd()
    raise ProtocolError(f"{where} without audio or an activity signal: {sorted(doc)}")


def decode_client(message: str | bytes) -> ClientMessage:
    """A client message as a server reads it (strict: anything else is a ProtocolError)."""
    doc = _load(message)
    if "setup" in doc:
        return _decode_setup(_obj(doc["setup"], "setup"))
    if "realtimeInput" in doc:
        return _decode_realtime(_obj(doc["realtimeInput"], "realtimeInput"))
    if "clientContent" in doc:
        content = _obj(doc["clientContent"], "clientContent")
        turns = _list(content, "turns", "clientContent")
        text = "".join(_texts(t, "clientContent.turns") for t in turns)
        return TextIn(text, _bool(content, "turnComplete", "clientContent"))
    raise ProtocolError(f"not a client message: keys {sorted(doc)[:4]}")


# ----------------------------------------------------------------------------- server messages


@dataclass(frozen=True)
class SetupComplete:
    """The session is configured; audio may be sent."""


@dataclass(frozen=True)
class AudioOut:
    """Model speech: PCM16 little-endian bytes at ``rate``."""

    pcm: bytes
    rate: int = OUTPUT_RATE

    @property
    def samples(self) -> Samples:
        return from_pcm16(self.pcm)


@dataclass(frozen=True)
class TextOut:
    """A text part of the model's turn; ``thought`` parts are its reasoning, not its words."""

    text: str
    thought: bool = False


@dataclass(frozen=True)
class ServerContent:
    """One ``serverContent`` update; any of its fields may be set together."""

    parts: tuple[AudioOut | TextOut, ...] = ()
    input_transcript: str | None = None  # the user's words
    output_transcript: str | None = None  # the model's words
    interrupted: bool = False  # the user's activity cut the model's generation
    generation_complete: bool = False  # all of the turn is generated (playback may go on)
    turn_complete: bool = False  # the model's turn is over; it waits for input


@dataclass(frozen=True)
class GoAway:
    """The server will close the connection in ``time_left_s`` (None: not said)."""

    time_left_s: float | None = None


@dataclass(frozen=True)
class ToolCall:
    ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ToolCallCancellation:
    ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Usage:
    """``usageMetadata``: its integer token counts (breakdowns by modality are skipped)."""

    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ServerError:
    message: str
    code: str = ""


@dataclass(frozen=True)
class Other:
    """A message type this codec does not know (``sessionResumptionUpdate``, later additions)."""

    kind: str


ServerMessage = (
    SetupComplete
    | ServerContent
    | GoAway
    | ToolCall
    | ToolCallCancellation
    | Usage
    | ServerError
    | Other
)


def _duration(value: Any, where: str) -> float | None:
    """A protobuf Duration: ``"1.5s"`` in JSON; a number or ``{seconds, nanos}`` also taken."""
    if value is None:
        return None
    if isinstance(value, str):
        if not value.endswith("s"):
            raise ProtocolError(f"{where}: duration {value[:24]!r} does not end in 's'")
        try:
            seconds = float(value[:-1])
        except ValueError:
            raise ProtocolError(f"{where}: duration {value[:24]!r} is not a number") from None
    elif isinstance(value, dict):
        whole, nanos = _int(value, "seconds", where) or 0, _int(value, "nanos", where) or 0
        try:
            seconds = whole + nanos / 1e9
        except OverflowError:
            raise ProtocolError(f"{where}: duration of {whole} s is out of range") from None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except OverflowError:
            raise ProtocolError(f"{where}: duration {value} is out of range") from None
    else:
        raise ProtocolError(f"{where}: duration {value!r} is not a duration")
    if not math.isfinite(seconds) or seconds < 0:
        raise ProtocolError(f"{where}: duration {seconds} is not a finite time left")
    return seconds


def _ids(doc: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    return tuple(_str(_obj(c, where), "id", where) for c in _list(doc, key, where))


def _content(doc: dict[str, Any]) -> ServerContent:
    where = "serverContent"
    parts: list[AudioOut | TextOut] = []
    turn = _obj(doc.get("modelTurn"), f"{where}.modelTurn")
    for raw in _list(turn, "parts", f"{where}.modelTurn"):
        part = _obj(raw, f"{where}.modelTurn.parts[]")
        if part.get("inlineData") is not None:
            audio = _audio_blob(part["inlineData"], OUTPUT_RATE, f"{where}.inlineData")
            if audio is not None:
                parts.append(AudioOut(*audio))
        elif part.get("text") is not None:
            parts.append(TextOut(_str(part, "text", where), _bool(part, "thought", where)))
        # other part kinds (executable code, function calls...) carry nothing to play

    def transcript(key: str) -> str | None:
        value = doc.get(key)
        return None if value is None else _str(_obj(value, f"{where}.{key}"), "text", where)

    return ServerContent(
        parts=tuple(parts),
        input_transcript=transcript("inputTranscription"),
        output_transcript=transcript("outputTranscription"),
        interrupted=_bool(doc, "interrupted", where),
        generation_complete=_bool(doc, "generationComplete", where),
        turn_complete=_bool(doc, "turnComplete", where),
    )


def _error(value: Any) -> ServerError:
    """A Google API error object (``code``, ``message``, ``status``); anything else is named."""
    if not isinstance(value, dict):
        return ServerError(value if isinstance(value, str) and value else "error without a message")
    message, status, code = value.get("message"), value.get("status"), value.get("code")
    if isinstance(status, str):
        label = status
    else:
        label = str(code) if isinstance(code, int | str) and not isinstance(code, bool) else ""
    return ServerError(
        message if isinstance(message, str) and message else "error without a message", label
    )


def _usage(value: Any) -> Usage:
    counts = _obj(value, "usageMetadata").items()
    return Usage({k: c for k, c in counts if isinstance(c, int) and not isinstance(c, bool)})


def _cancellation(value: Any) -> ToolCallCancellation:
    where = "toolCallCancellation"
    return ToolCallCancellation(tuple(str(i) for i in _list(_obj(value, where), "ids", where)))


#: Known message types, in the order :func:`decode` reports them; unknown ones follow, and
#: ``usageMetadata`` comes last (it accompanies the others).
_DECODERS: dict[str, Callable[[Any], ServerMessage]] = {
    "setupComplete": lambda v: SetupComplete(),
    "serverContent": lambda v: _content(_obj(v, "serverContent")),
    "toolCall": lambda v: ToolCall(_ids(_obj(v, "toolCall"), "functionCalls", "toolCall")),
    "toolCallCancellation": _cancellation,
    "goAway": lambda v: GoAway(_duration(_obj(v, "goAway").get("timeLeft"), "goAway.timeLeft")),
    "error": _error,
}


def decode(message: str | bytes) -> list[ServerMessage]:
    """One websocket message -> what it holds, in a fixed order; raises :class:`ProtocolError`.

    Usually one item, two when ``usageMetadata`` comes beside another message; an empty object
    (a keep-alive) gives none.
    """
    doc = _load(message)
    out: list[ServerMessage] = []
    for key, decoder in _DECODERS.items():
        if doc.get(key) is not None:
            out.append(decoder(doc[key]))
    out.extend(Other(key) for key in doc if key not in _DECODERS and key != "usageMetadata")
    if doc.get("usageMetadata") is not None:
        out.append(_usage(doc["usageMetadata"]))
    return out


def _content_json(msg: ServerContent) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if msg.parts:
        parts: list[dict[str, Any]] = []
        for part in msg.parts:
            if isinstance(part, AudioOut):
                parts.append({"inlineData": _blob(part.pcm, part.rate)})
            else:
                parts.append({"text": part.text, **({"thought": True} if part.thought else {})})
        doc["modelTurn"] = {"role": "model", "parts": parts}
    texts = {
        "inputTranscription": msg.input_transcript,
        "outputTranscription": msg.output_transcript,
    }
    doc.update({key: {"text": text} for key, text in texts.items() if text is not None})
    flags = {
        "interrupted": msg.interrupted,
        "generationComplete": msg.generation_complete,
        "turnComplete": msg.turn_complete,
    }
    doc.update({key: True for key, flag in flags.items() if flag})
    return doc


def _seconds(value: float) -> str:
    return f"{value:.9f}".rstrip("0").rstrip(".") + "s"


def encode_server(messages: Sequence[ServerMessage]) -> str:
    """What a server sends: one message, plus optional :class:`Usage` (for tests and fakes)."""
    doc: dict[str, Any] = {}
    for msg in messages:
        if isinstance(msg, SetupComplete):
            doc["setupComplete"] = {}
        elif isinstance(msg, ServerContent):
            doc["serverContent"] = _content_json(msg)
        elif isinstance(msg, GoAway):
            doc["goAway"] = (
                {} if msg.time_left_s is None else {"timeLeft": _seconds(msg.time_left_s)}
            )
        elif isinstance(msg, ToolCall):
            doc["toolCall"] = {"functionCalls": [{"id": i} for i in msg.ids]}
        elif isinstance(msg, ToolCallCancellation):
            doc["toolCallCancellation"] = {"ids": list(msg.ids)}
        elif isinstance(msg, Usage):
            doc["usageMetadata"] = dict(msg.counts)
        elif isinstance(msg, ServerError):
            doc["error"] = {"message": msg.message, **({"status": msg.code} if msg.code else {})}
        else:
            doc[msg.kind] = {}
    return _dump(doc)


# ----------------------------------------------------------------------------- a session's stream


class _Resampler:
    """A streaming resampler between two rates (identity when they match)."""

    def __init__(self, src: int, dst: int) -> None:
        self._stream = (
            None if src == dst else soxr.ResampleStream(src, dst, 1, dtype="float32", quality="QQ")
        )

    def push(self, x: Samples, last: bool = False) -> Samples:
        x = np.asarray(x, dtype=np.float32)
        if self._stream is None:
            return x
        return np.asarray(self._stream.resample_chunk(x, last=last), dtype=np.float32)


class LiveStream:
    """The client side of one session: session-rate audio in and out, counted.

    :meth:`audio` turns each session frame into a ``realtimeInput`` message at 16 kHz (None while
    the resampler has not released a sample yet); :meth:`flush` releases its tail at the end.
    :meth:`receive` decodes a server message; :meth:`samples` converts model audio to the session
    rate (a stream per source rate, so a chunked stream stays continuous).
    """

    def __init__(self, session_rate: int = OUTPUT_RATE, *, legacy_input: bool = False) -> None:
        self.session_rate = session_rate
        self.legacy_input = legacy_input
        self._down = _Resampler(session_rate, INPUT_RATE)
        self._up: dict[int, _Resampler] = {}
        self.samples_in = 0  # at 16 kHz, sent
        self.messages_in = 0
        self.ignored: Counter[str] = Counter()

    def _audio_message(self, x: Samples) -> str | None:
        if x.size == 0:
            return None
        self.samples_in += x.size
        return encode(AudioIn(pcm16(x), INPUT_RATE, legacy=self.legacy_input))

    def audio(self, frame: Samples) -> str | None:
        return self._audio_message(self._down.push(frame))

    def flush(self) -> str | None:
        """The resampler's last samples; call once, after the last frame."""
        return self._audio_message(self._down.push(np.zeros(0, np.float32), last=True))

    def receive(self, message: str | bytes) -> list[ServerMessage]:
        self.messages_in += 1
        out = decode(message)
        for msg in out:
            if isinstance(msg, Other):
                self.ignored[msg.kind] += 1
        return out

    def samples(self, audio: AudioOut) -> Samples:
        if audio.rate == self.session_rate:
            return audio.samples
        if audio.rate not in self._up:
            self._up[audio.rate] = _Resampler(audio.rate, self.session_rate)
        return self._up[audio.rate].push(audio.samples)
