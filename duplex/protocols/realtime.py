"""The OpenAI-Realtime event protocol (JSON over a websocket), client side, sans I/O.

Client events are built as JSON text; server events are parsed into small typed objects. Both the
beta and the GA event names are accepted (``response.audio.delta`` / ``response.output_audio.delta``
and the matching transcript and text deltas), since servers imitating the API use either.
Audio is base64 PCM16 little-endian, 24 kHz mono, both ways.

Anything that is not a JSON object with a string ``type``, and known events with malformed fields
(audio that is not base64 PCM16, a missing delta) raise :class:`~duplex.errors.ProtocolError`.
Event types not listed here decode as :class:`Other` and are ignored by the transport.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from duplex.audio import Samples
from duplex.errors import ProtocolError

SAMPLE_RATE = 24000

Dialect = Literal["beta", "ga"]


@dataclass(frozen=True)
class TurnDetection:
    """``server_vad`` (the default, with the API's documented defaults), ``semantic_vad`` or
    ``none`` (the client commits and asks for a response itself)."""

    type: Literal["server_vad", "semantic_vad", "none"] = "server_vad"
    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500

    def to_json(self) -> dict[str, Any] | None:
        if self.type == "none":
            return None
        if self.type == "semantic_vad":
            return {"type": "semantic_vad"}
        return {
            "type": "server_vad",
            "threshold": self.threshold,
            "prefix_padding_ms": self.prefix_padding_ms,
            "silence_duration_ms": self.silence_duration_ms,
        }


# ----------------------------------------------------------------------------- client events


def _dump(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"))


def session_update(
    turn: TurnDetection, *, dialect: Dialect = "beta", instructions: str | None = None
) -> str:
    """``session.update`` asking for PCM16 24 kHz both ways and the given turn detection."""
    session: dict[str, Any]
    if dialect == "ga":
        pcm = {"type": "audio/pcm", "rate": SAMPLE_RATE}
        session = {
            "type": "realtime",
            "audio": {
                "input": {"format": pcm, "turn_detection": turn.to_json()},
                "output": {"format": pcm},
            },
        }
    else:
        session = {
            "modalities": ["audio", "text"],
            "input_audio_format": "pcm16",
            "output_audio_format": "pcm16",
            "turn_detection": turn.to_json(),
        }
    if instructions is not None:
        session["instructions"] = instructions
    return _dump({"type": "session.update", "session": session})


def pcm16_b64(samples: Samples) -> str:
    """float32 [-1, 1] -> base64 PCM16 little-endian (clipped, rounded)."""
    x = np.clip(np.asarray(samples, dtype=np.float32) * 32768.0, -32768, 32767)
    return base64.b64encode(np.round(x).astype("<i2").tobytes()).decode("ascii")


def b64_pcm16(data: str) -> Samples:
    """base64 PCM16 little-endian -> float32; raises :class:`ProtocolError`."""
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProtocolError(f"audio delta is not base64: {data[:24]!r}") from exc
    if len(raw) % 2:
        raise ProtocolError(f"audio delta of {len(raw)} bytes is not whole pcm16 samples")
    return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0


def append_audio(samples: Samples) -> str:
    return _dump({"type": "input_audio_buffer.append", "audio": pcm16_b64(samples)})


def commit() -> str:
    return _dump({"type": "input_audio_buffer.commit"})


def create_response() -> str:
    return _dump({"type": "response.create"})


def cancel_response(response_id: str | None = None) -> str:
    event: dict[str, Any] = {"type": "response.cancel"}
    if response_id:
        event["response_id"] = response_id
    return _dump(event)


def truncate(item_id: str, content_index: int, audio_end_ms: int) -> str:
    """Tell the server how much of an assistant item the user actually heard (barge-in)."""
    return _dump(
        {
            "type": "conversation.item.truncate",
            "item_id": item_id,
            "content_index": content_index,
            "audio_end_ms": max(0, int(audio_end_ms)),
        }
    )


# ----------------------------------------------------------------------------- server events


@dataclass(frozen=True)
class SessionChanged:
    """``session.created`` or ``session.updated``."""

    type: str
    session: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class SpeechStarted:
    audio_start_ms: int | None
    item_id: str = ""


@dataclass(frozen=True)
class SpeechStopped:
    audio_end_ms: int | None
    item_id: str = ""


@dataclass(frozen=True)
class ResponseCreated:
    response_id: str


@dataclass(frozen=True, eq=False)
class AudioDelta:
    response_id: str
    item_id: str
    content_index: int
    samples: Samples


@dataclass(frozen=True)
class TextDelta:
    """A transcript of the model's audio, or its text output."""

    response_id: str
    item_id: str
    delta: str


@dataclass(frozen=True)
class ResponseDone:
    response_id: str
    status: str


@dataclass(frozen=True)
class ServerError:
    message: str
    code: str = ""


@dataclass(frozen=True)
class Other:
    type: str


ServerEvent = (
    SessionChanged
    | SpeechStarted
    | SpeechStopped
    | ResponseCreated
    | AudioDelta
    | TextDelta
    | ResponseDone
    | ServerError
    | Other
)

AUDIO_DELTAS = frozenset({"response.audio.delta", "response.output_audio.delta"})
TEXT_DELTAS = frozenset(
    {
        "response.audio_transcript.delta",
        "response.output_audio_transcript.delta",
        "response.text.delta",
        "response.output_text.delta",
    }
)


def _str(event: dict[str, Any], key: str, *, required: bool = False) -> str:
    value = event.get(key)
    if isinstance(value, str):
        return value
    if value is None and not required:
        return ""
    raise ProtocolError(f"{event.get('type')}: field {key!r} is {type(value).__name__}, not str")


def _int(event: dict[str, Any], key: str) -> int | None:
    value = event.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProtocolError(f"{event.get('type')}: field {key!r} is not a number: {value!r}")
    return int(value)


def parse(message: str | bytes) -> ServerEvent:
    """One websocket message -> one :data:`ServerEvent`; raises :class:`ProtocolError`."""
    if isinstance(message, bytes | bytearray | memoryview):
        try:
            message = bytes(message).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"binary message that is not utf-8: {message[:16]!r}") from exc
    try:
        event = json.loads(message)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"message is not json: {message[:40]!r}") from exc
    if not isinstance(event, dict):
        raise ProtocolError(f"message is json {type(event).__name__}, not an object")
    kind = event.get("type")
    if not isinstance(kind, str):
        raise ProtocolError(f"message without a string 'type': {message[:40]!r}")
    return _parse_event(kind, event)


def _parse_event(kind: str, event: dict[str, Any]) -> ServerEvent:
    if kind in AUDIO_DELTAS:
        index = _int(event, "content_index") or 0
        samples = b64_pcm16(_str(event, "delta", required=True))
        return AudioDelta(_str(event, "response_id"), _str(event, "item_id"), index, samples)
    if kind in TEXT_DELTAS:
        return TextDelta(
            _str(event, "response_id"), _str(event, "item_id"), _str(event, "delta", required=True)
        )
    if kind == "input_audio_buffer.speech_started":
        return SpeechStarted(_int(event, "audio_start_ms"), _str(event, "item_id"))
    if kind == "input_audio_buffer.speech_stopped":
        return SpeechStopped(_int(event, "audio_end_ms"), _str(event, "item_id"))
    if kind in ("response.created", "response.done"):
        response = event.get("response") or {}
        if not isinstance(response, dict):
            raise ProtocolError(f"{kind}: field 'response' is not an object")
        rid = _str(response, "id")
        if kind == "response.created":
            return ResponseCreated(rid)
        return ResponseDone(rid, _str(response, "status"))
    if kind == "error":
        error = event.get("error") or {}
        if not isinstance(error, dict):
            return ServerError(str(error))
        message = error.get("message")
        return ServerError(
            str(message) if message else "error without a message", str(error.get("code") or "")
        )
    if kind in ("session.created", "session.updated"):
        session = event.get("session")
        return SessionChanged(kind, session if isinstance(session, dict) else {})
    return Other(kind)
