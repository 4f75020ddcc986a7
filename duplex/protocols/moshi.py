"""Moshi's binary websocket protocol (``GET /api/chat``), sans I/O.

Every websocket message is binary and its first byte is its kind:

====  =========  ==========================================================================
kind  name       payload
====  =========  ==========================================================================
0     handshake  nothing (Python server) or u32 protocol + u32 model version, little-endian
                 (Rust server); both are accepted
1     audio      Ogg/Opus bytes, 24 kHz mono; the first message carries the header pages
2     text       UTF-8 piece of the model's text stream
3     control    one byte: 0 start, 1 end turn, 2 pause, 3 restart
4     metadata   JSON
5     error      UTF-8
6     ping       nothing
7-9   Rust only  coloured text, image, codes: decoded as :class:`Extra`, unused here
====  =========  ==========================================================================

Kinds above 9 decode as :class:`Unknown`; streams ignore them and count them, never fail on them
(the protocol is extended by adding kinds). Malformed payloads of known kinds raise
:class:`~duplex.errors.ProtocolError`.
"""

from __future__ import annotations

import json
import struct
from collections import Counter
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from duplex.audio import Samples
from duplex.errors import ProtocolError
from duplex.protocols.opus import OpusDecoder, OpusEncoder

SAMPLE_RATE = 24000
#: Mimi runs at 12.5 Hz: one 80 ms frame of 1920 samples per step.
FRAME_SIZE = 1920


class Kind(IntEnum):
    HANDSHAKE = 0
    AUDIO = 1
    TEXT = 2
    CONTROL = 3
    METADATA = 4
    ERROR = 5
    PING = 6
    COLORED_TEXT = 7
    IMAGE = 8
    CODES = 9


class Control(IntEnum):
    START = 0
    END_TURN = 1
    PAUSE = 2
    RESTART = 3


@dataclass(frozen=True)
class Handshake:
    """Kind 0. Versions are ``None`` for the Python server's bare handshake."""

    protocol_version: int | None = None
    model_version: int | None = None


@dataclass(frozen=True)
class Audio:
    """Kind 1: a piece of the Ogg/Opus stream (not necessarily a whole page)."""

    ogg: bytes


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class ControlMessage:
    action: Control


@dataclass(frozen=True)
class Metadata:
    data: Any


@dataclass(frozen=True)
class Error:
    text: str


@dataclass(frozen=True)
class Ping:
    pass


@dataclass(frozen=True)
class Extra:
    """Kinds 7-9 of the Rust server; well-formed, but nothing the harness uses."""

    kind: int
    payload: bytes


@dataclass(frozen=True)
class Unknown:
    kind: int
    payload: bytes


Message = Handshake | Audio | Text | ControlMessage | Metadata | Error | Ping | Extra | Unknown

_VERSIONS = struct.Struct("<II")


def _utf8(payload: bytes, what: str) -> str:
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"{what} message is not utf-8: {payload[:16]!r}") from exc


def decode(data: bytes) -> Message:
    """One websocket message -> one :data:`Message`.

    Raises :class:`ProtocolError` for an empty message or a malformed payload of a known kind.
    """
    if not data:
        raise ProtocolError("empty message")
    kind, payload = data[0], bytes(data[1:])
    if kind == Kind.HANDSHAKE:
        if not payload:
            return Handshake()
        if len(payload) != _VERSIONS.size:
            raise ProtocolError(f"handshake payload of {len(payload)} bytes; expected 0 or 8")
        return Handshake(*_VERSIONS.unpack(payload))
    if kind == Kind.AUDIO:
        return Audio(payload)
    if kind == Kind.TEXT:
        return Text(_utf8(payload, "text"))
    if kind == Kind.CONTROL:
        if len(payload) != 1 or payload[0] > max(Control):
            raise ProtocolError(f"control payload {payload[:8]!r}; expected one byte 0-3")
        return ControlMessage(Control(payload[0]))
    if kind == Kind.METADATA:
        try:
            return Metadata(json.loads(_utf8(payload, "metadata")))
        except (ValueError, RecursionError) as exc:
            raise ProtocolError(f"metadata is not json: {payload[:32]!r}") from exc
    if kind == Kind.ERROR:
        return Error(_utf8(payload, "error"))
    if kind == Kind.PING:
        return Ping()
    if kind <= max(Kind):
        return Extra(kind, payload)
    return Unknown(kind, payload)


def encode(msg: Message) -> bytes:
    """The wire form of ``msg``; ``decode(encode(m)) == m`` for every message."""
    if isinstance(msg, Handshake):
        if msg.protocol_version is None and msg.model_version is None:
            return bytes([Kind.HANDSHAKE])
        versions = _VERSIONS.pack(msg.protocol_version or 0, msg.model_version or 0)
        return bytes([Kind.HANDSHAKE]) + versions
    if isinstance(msg, Audio):
        return bytes([Kind.AUDIO]) + msg.ogg
    if isinstance(msg, Text):
        return bytes([Kind.TEXT]) + msg.text.encode("utf-8")
    if isinstance(msg, ControlMessage):
        return bytes([Kind.CONTROL, msg.action])
    if isinstance(msg, Metadata):
        return bytes([Kind.METADATA]) + json.dumps(msg.data).encode("utf-8")
    if isinstance(msg, Error):
        return bytes([Kind.ERROR]) + msg.text.encode("utf-8")
    if isinstance(msg, Ping):
        return bytes([Kind.PING])
    if not 0 <= msg.kind <= 255:
        raise ValueError(f"message kind {msg.kind} does not fit in a byte")
    return bytes([msg.kind]) + msg.payload


@dataclass(frozen=True, eq=False)
class AudioReceived:
    """PCM decoded from the peer's Ogg/Opus stream (float32, 24 kHz; any length, maybe 0)."""

    samples: Samples


#: What a :class:`MoshiStream` hands to its driver.
StreamEvent = Handshake | AudioReceived | Text | ControlMessage | Metadata | Error


class MoshiStream:
    """One side of a Moshi connection: decodes what arrives, encodes what is sent.

    ``client=True`` is the side that waits for the handshake: any other message before it is a
    :class:`ProtocolError` (a server that streams before greeting is not speaking this protocol).
    The server side never receives a handshake; one is ignored and counted. Pings, kinds 7-9 and
    unknown kinds are ignored and counted in :attr:`ignored`.
    """

    def __init__(self, *, client: bool, rate: int = SAMPLE_RATE) -> None:
        self.client = client
        self.handshaken = not client
        self.ignored: Counter[str] = Counter()
        self.messages_in = 0
        self._decoder = OpusDecoder(rate)
        self._encoder = OpusEncoder(rate)

    def receive(self, data: bytes) -> list[StreamEvent]:
        """Events carried by one websocket message; raises :class:`ProtocolError`."""
        msg = decode(data)
        self.messages_in += 1
        if isinstance(msg, Ping | Extra | Unknown) or (
            isinstance(msg, Handshake) and not self.client
        ):
            self.ignored[_label(msg)] += 1
            return []
        if isinstance(msg, Handshake):
            if self.handshaken:
                raise ProtocolError("second handshake")
            self.handshaken = True
            return [msg]
        if not self.handshaken:
            raise ProtocolError(f"{_label(msg)} message before the handshake")
        if isinstance(msg, Audio):
            pcm = self._decoder.decode(msg.ogg)
            return [AudioReceived(pcm)] if pcm.size else []
        return [msg]

    def audio(self, pcm: Samples) -> bytes | None:
        """The audio message to send for ``pcm``, or ``None`` while the encoder fills a page."""
        ogg = self._encoder.encode(pcm)
        return encode(Audio(ogg)) if ogg else None

    @staticmethod
    def handshake() -> bytes:
        """The server's greeting, as the Python server sends it."""
        return encode(Handshake())

    @staticmethod
    def text(piece: str) -> bytes:
        return encode(Text(piece))


def _label(msg: Message) -> str:
    if isinstance(msg, Extra | Unknown):
        return f"kind {msg.kind}"
    return type(msg).__name__.lower()
