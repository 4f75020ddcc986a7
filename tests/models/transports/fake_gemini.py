"""A fake Gemini Live server speaking the documented JSON, written by hand (not with the codec).

It answers ``setup`` with ``setupComplete``; once it has heard enough user audio (or, with
activity detection disabled, on ``activityEnd``) it sends an input transcription, a message type
no client knows, the reply as a burst of 100 ms ``inlineData`` chunks (24 kHz PCM16), the output
transcription, ``generationComplete`` and ``turnComplete`` with ``usageMetadata``. When it has
heard ``interrupt_after_s`` of audio it sends ``interrupted`` and ``turnComplete``, as the real
server does when its activity detection hears the user over the model.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
from websockets.asyncio.server import Request, Response, ServerConnection, serve

RATE = 24000
IN_RATE = 16000
#: The server's own log: websockets writes request headers (the key) at DEBUG. A real server's
#: log is not the client's to scrub, so it is kept out of the test's captured records.
server_log = logging.getLogger("tests.fake_gemini")
server_log.setLevel(logging.WARNING)


def tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def b64(x: np.ndarray) -> str:
    return base64.b64encode((x * 32767).astype("<i2").tobytes()).decode()


@dataclass
class Script:
    respond_after_s: float = 0.35  # user audio heard before the server answers
    reply_s: float = 1.0  # length of the reply, sent at once in 100 ms chunks
    interrupt_after_s: float | None = None  # user audio heard when it sends `interrupted`
    binary: bool = True  # JSON in binary frames, as the real server sends it
    go_away: bool = False  # goAway after the reply, then close with 1001
    # close_error, echo_key, garbage, stall: right after the first chunk of the reply;
    # no_setup: never answers setup; bad_model: closes with 1007 instead; reject: HTTP 403
    fault: str | None = None
    received: list[dict[str, Any]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    path: str = ""

    def key(self) -> str:
        """The key the client sent, from the header or the query."""
        query = parse_qs(urlsplit(self.path).query)
        return self.headers.get("x-goog-api-key") or query.get("key", [""])[0]


async def _send(ws: ServerConnection, doc: dict[str, Any], script: Script) -> None:
    text = json.dumps(doc)
    await ws.send(text.encode() if script.binary else text)


async def _answer(ws: ServerConnection, script: Script) -> bool:
    """Send the reply burst; False when a fault ended the connection."""
    await _send(ws, {"serverContent": {"inputTranscription": {"text": "hello there"}}}, script)
    await _send(ws, {"somethingNew": {"detail": 1}}, script)  # a message type no client knows
    reply = tone(script.reply_s)
    for i in range(0, reply.size, RATE // 10):
        blob = {"mimeType": "audio/pcm;rate=24000", "data": b64(reply[i : i + RATE // 10])}
        turn = {"role": "model", "parts": [{"inlineData": blob}]}
        await _send(ws, {"serverContent": {"modelTurn": turn}}, script)
        if i == 0 and script.fault == "close_error":
            await ws.close(1011, "Internal error encountered.")
            return False
        if i == 0 and script.fault == "echo_key":  # a server quoting what it was given
            await ws.close(1008, f"API key not valid: {script.key()}")
            return False
        if i == 0 and script.fault == "garbage":
            await ws.send("{not json")
        if i == 0 and script.fault == "stall":
            return True  # never says anything again, though the turn is under way
    await _send(ws, {"serverContent": {"outputTranscription": {"text": "hi there"}}}, script)
    if script.interrupt_after_s is None:
        await _send(ws, {"serverContent": {"generationComplete": True}}, script)
        usage = {"promptTokenCount": 40, "responseTokenCount": 25, "totalTokenCount": 65}
        await _send(ws, {"serverContent": {"turnComplete": True}, "usageMetadata": usage}, script)
    if script.go_away:
        await _send(ws, {"goAway": {"timeLeft": "5s"}}, script)
        await ws.close(1001, "session time limit")
        return False
    return True


def _heard(event: dict[str, Any]) -> int:
    """Samples of 16 kHz user audio in a realtimeInput message."""
    rt = event.get("realtimeInput", {})
    blobs = rt.get("mediaChunks") or ([rt["audio"]] if "audio" in rt else [])
    for blob in blobs:
        assert blob["mimeType"] == "audio/pcm;rate=16000"
    return sum(len(base64.b64decode(b["data"])) // 2 for b in blobs)


async def _handle(ws: ServerConnection, script: Script) -> None:
    assert ws.request is not None
    script.headers, script.path = dict(ws.request.headers), ws.request.path
    setup = json.loads(await ws.recv())
    script.received.append(setup)
    if script.fault == "no_setup":
        await ws.wait_closed()
        return
    if script.fault == "bad_model":
        await ws.close(1007, f"{setup['setup']['model']} is not found for API version v1beta")
        return
    await _send(ws, {"setupComplete": {}}, script)
    config = setup["setup"].get("realtimeInputConfig", {})
    manual = config.get("automaticActivityDetection", {}).get("disabled", False)
    heard = 0
    answered = interrupted = False
    async for message in ws:
        event = json.loads(message)
        script.received.append(event)
        heard += _heard(event)
        if manual:
            due = "activityEnd" in event.get("realtimeInput", {})
        else:
            due = heard >= script.respond_after_s * IN_RATE
        if due and not answered:
            answered = True
            if not await _answer(ws, script):
                return
        at = script.interrupt_after_s
        if answered and at is not None and not interrupted and heard >= at * IN_RATE:
            interrupted = True
            await _send(ws, {"serverContent": {"interrupted": True}}, script)
            await _send(ws, {"serverContent": {"turnComplete": True}}, script)


def _reject(connection: ServerConnection, request: Request) -> Response:
    return connection.respond(HTTPStatus.FORBIDDEN, "API key not valid\n")


@contextlib.asynccontextmanager
async def fake_gemini(script: Script, scheme: str = "gemini+ws") -> AsyncIterator[str]:
    async with serve(
        lambda ws: _handle(ws, script),
        "127.0.0.1",
        0,
        compression=None,
        process_request=_reject if script.fault == "reject" else None,
        logger=server_log,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"{scheme}://127.0.0.1:{port}"
