"""A fake OpenAI-Realtime server: answers with bursts faster than real time, on a script."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from websockets.asyncio.server import ServerConnection, serve

RATE = 24000


def tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def b64(x: np.ndarray) -> str:
    return base64.b64encode((x * 32767).astype("<i2").tobytes()).decode()


@dataclass
class Script:
    ga: bool = False  # GA event names instead of the beta ones
    respond_after_s: float = 0.4  # user audio received before the server answers
    reply_s: float = 1.0  # length of the reply, sent at once in 100 ms deltas
    interrupt_after_s: float | None = None  # send speech_started then
    fault: str | None = None  # close, abort, stall, error, garbage: right after response.created
    received: list[dict[str, Any]] = field(default_factory=list)


async def _send(ws: ServerConnection, event: dict[str, Any]) -> None:
    await ws.send(json.dumps(event))


async def _answer(ws: ServerConnection, script: Script) -> bool:
    """Send the reply burst; False when a fault ended the connection."""
    await _send(ws, {"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 400})
    await _send(ws, {"type": "response.created", "response": {"id": "r1"}})
    if script.fault == "close":
        await ws.close()
        return False
    if script.fault == "abort":
        assert ws.transport is not None
        ws.transport.abort()
        return False
    if script.fault == "stall":
        return True  # never says anything again, though a response is under way
    if script.fault == "error":
        await _send(ws, {"type": "error", "error": {"message": "rate limited", "code": "x"}})
    if script.fault == "garbage":
        await ws.send("{not json")
    audio = "response.output_audio.delta" if script.ga else "response.audio.delta"
    transcript = (
        "response.output_audio_transcript.delta" if script.ga else "response.audio_transcript.delta"
    )
    reply = tone(script.reply_s)
    for i in range(0, reply.size, RATE // 10):
        delta = {"response_id": "r1", "item_id": "it1", "content_index": 0}
        await _send(ws, {"type": audio, **delta, "delta": b64(reply[i : i + RATE // 10])})
    await _send(ws, {"type": transcript, "response_id": "r1", "item_id": "it1", "delta": "hi"})
    if script.interrupt_after_s is None:
        await _send(ws, {"type": "response.done", "response": {"id": "r1", "status": "completed"}})
    return True


async def _handle(ws: ServerConnection, script: Script) -> None:
    await _send(ws, {"type": "session.created", "session": {}})
    heard = 0
    answered = interrupted = False
    async for message in ws:
        event = json.loads(message)
        script.received.append(event)
        if event["type"] == "session.update":
            await _send(ws, {"type": "session.updated", "session": event["session"]})
        elif event["type"] == "response.cancel":
            # What a real server may still have in flight: must be dropped by the client.
            delta = "response.output_audio.delta" if script.ga else "response.audio.delta"
            await _send(ws, {"type": delta, "response_id": "r1", "item_id": "it1",
                             "delta": b64(tone(0.2))})  # fmt: skip
            await _send(
                ws, {"type": "response.done", "response": {"id": "r1", "status": "cancelled"}}
            )
        elif event["type"] == "input_audio_buffer.append":
            heard += len(base64.b64decode(event["audio"])) // 2
            if not answered and heard >= script.respond_after_s * RATE:
                answered = True
                if not await _answer(ws, script):
                    return
            at = script.interrupt_after_s
            if answered and at is not None and not interrupted and heard >= at * RATE:
                interrupted = True
                await _send(
                    ws, {"type": "input_audio_buffer.speech_started", "audio_start_ms": 800}
                )


@contextlib.asynccontextmanager
async def fake_realtime(script: Script) -> AsyncIterator[str]:
    async with serve(lambda ws: _handle(ws, script), "127.0.0.1", 0, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"realtime+ws://127.0.0.1:{port}/v1/realtime?model=fake"
