"""`serve` under clients that misbehave: idle, slow to upgrade, too long, unauthorised, or
ending in protocol errors (issue 20, defects 2 and 4)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections import Counter

import numpy as np
import pytest
import sphn
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from duplex.cli import main
from duplex.models.base import Model
from duplex.models.registry import load_model
from duplex.serve import MoshiServer, ServeOptions, serve_options
from duplex.simulator.gcpause import few_gc_pauses
from duplex.simulator.session import SessionOptions, run_realtime
from tests.simulator.fakes import Beeper as CrashingBeeper
from tests.simulator.fakes import item
from tests.test_serve import Beeper, BurstModel, Client

TOKEN = "tok-planted-5ecret"


def _server(**opts: object) -> MoshiServer:
    return MoshiServer(Beeper(), ServeOptions(port=0, **opts))  # type: ignore[arg-type]


async def _errors_until_closed(ws: websockets.ClientConnection) -> list[str]:
    client = Client(ws)
    with contextlib.suppress(ConnectionClosed):
        await client.receive()
    return client.errors


def test_an_idle_client_loses_its_slot_to_the_next_one() -> None:
    async def go() -> tuple[list[str], float]:
        async with _server(idle_timeout_s=0.5, max_sessions=1) as server:
            url = f"ws://127.0.0.1:{server.port}/api/chat"
            t = time.perf_counter()
            async with websockets.connect(url) as idle:
                assert await idle.recv() == b"\x00"  # takes the only slot, then says nothing
                async with websockets.connect(url) as second:
                    async with asyncio.timeout(5):
                        errors = await _errors_until_closed(idle)
                        assert await second.recv() == b"\x00"  # the slot was freed
                    return errors, time.perf_counter() - t

    errors, took = asyncio.run(go())
    assert errors == ["no message from the client for 0.5 s"]
    assert took < 3.0


def test_a_session_ends_at_its_duration_limit() -> None:
    async def go() -> list[str]:
        async with (
            _server(max_session_s=0.6) as server,
            websockets.connect(f"ws://127.0.0.1:{server.port}/api/chat") as ws,
        ):
            client = Client(ws)
            await client.handshake()
            async with asyncio.timeout(5):
                listener = asyncio.create_task(_errors_until_closed(ws))
                with pytest.raises(ConnectionClosed):
                    await client.talk(20)  # 1.6 s of audio, sent in real time
                return await listener

    assert asyncio.run(go()) == ["the session reached its limit of 0.6 s"]


def test_a_connection_that_never_upgrades_is_dropped() -> None:
    async def go() -> float:
        async with _server(handshake_timeout_s=0.4) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            t = time.perf_counter()
            async with asyncio.timeout(5):
                await reader.read()  # end of stream: the server hung up
            writer.close()
            return time.perf_counter() - t

    assert asyncio.run(go()) < 2.0


def test_a_token_is_required_before_the_handshake(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def go() -> list[int]:
        async with _server(token=TOKEN) as server:
            url = f"ws://127.0.0.1:{server.port}/api/chat"
            statuses = []
            for headers in ({}, {"Authorization": "Bearer wrong-token"}):
                with pytest.raises(InvalidStatus) as info:
                    await websockets.connect(url, additional_headers=headers)
                statuses.append(info.value.response.status_code)
            auth = {"Authorization": f"Bearer {TOKEN}"}
            async with websockets.connect(url, additional_headers=auth) as ws:
                assert await ws.recv() == b"\x00"
            async with websockets.connect(f"{url}?token={TOKEN}") as ws:
                assert await ws.recv() == b"\x00"  # browsers cannot set headers
            return statuses

    assert asyncio.run(go()) == [401, 401]
    served = [r.getMessage() for r in caplog.records if r.name.startswith("duplex")]
    assert any("Authorization" in m for m in served)  # websockets logged the headers ...
    assert not any(TOKEN in m for m in served)  # ... without the token


def test_our_client_passes_the_token_in_its_url() -> None:
    async def go() -> int:
        async with _server(token=TOKEN) as server:
            model = load_model(f"moshi+ws://127.0.0.1:{server.port}/api/chat?token={TOKEN}")
            rec = await run_realtime(model, item(1.0), SessionOptions(drain_s=0.2))
            return int((abs(rec.model) > 0.2).sum())

    assert asyncio.run(go()) > 0


def test_the_token_comes_from_the_option_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DUPLEX_BENCH_TOKEN", raising=False)
    assert serve_options(token=None).token is None
    monkeypatch.setenv("DUPLEX_BENCH_TOKEN", "from-the-env")
    assert serve_options(token=None).token == "from-the-env"
    assert serve_options(token="given").token == "given"
    assert "given" not in repr(serve_options(token="given"))


def test_serve_refuses_bad_limits_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--model", "silent", "--idle-timeout", "0"]) == 2
    assert "--idle-timeout must be positive" in capsys.readouterr().err
    assert main(["serve", "--model", "silent", "--token", "short"]) == 2
    err = capsys.readouterr().err
    assert "at least 8 characters" in err and "short" not in err
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    shown = capsys.readouterr().out
    assert all(o in shown for o in ("--idle-timeout", "--token", "--max-session")), shown


def _errored_sessions(n: int, message: str | bytes, model: Model) -> Counter[str]:
    """What ``n`` sessions ending in an error leave for the cyclic collector."""

    async def go() -> Counter[str]:
        async with MoshiServer(model, ServeOptions(port=0, idle_timeout_s=0.3)) as server:
            url = f"ws://127.0.0.1:{server.port}/api/chat"

            async def one() -> None:
                async with websockets.connect(url) as ws:
                    assert await ws.recv() == b"\x00"
                    if message:  # else idle: the server's timeout ends it
                        await ws.send(message)
                    assert await _errors_until_closed(ws)

            await one()  # warm up: first-use caches are not garbage
            await asyncio.sleep(0.1)
            gc.collect()
            gc.set_debug(gc.DEBUG_SAVEALL)
            try:
                for _ in range(n):
                    await one()
                await asyncio.sleep(0.2)  # the server's side of the last session ends
                gc.collect()
                return Counter(type(o).__name__ for o in gc.garbage)
            finally:
                gc.set_debug(0)
                gc.garbage.clear()

    with few_gc_pauses():
        return asyncio.run(go())


def _speech() -> bytes:
    writer = sphn.OpusStreamWriter(24000)
    data = b"".join(writer.append_pcm(np.full(1920, 0.1, np.float32)) for _ in range(4))
    return b"\x01" + data


@pytest.mark.parametrize(
    ("message", "model"),
    [
        ("a text frame", Beeper()),
        (b"\x01OggS" + bytes(64), Beeper()),
        (b"", Beeper()),
        (_speech(), CrashingBeeper(at_step=0, crash_at=1)),
        (b"\x01OggS" + bytes(64), BurstModel()),
    ],
    ids=["text", "garbage", "idle", "model-crash", "streaming-garbage"],
)
def test_errored_sessions_leave_no_cycles_holding_their_state(
    message: str | bytes, model: Model
) -> None:
    # Real-time mode collects young objects rarely (simulator/gcpause.py): a session that ended in
    # an error must not leave its connection, codec or model worker to the cyclic collector.
    garbage = _errored_sessions(5, message, model)
    held = {"MoshiStream", "ServerConnection", "ThreadPoolExecutor", "StepWorker", "frame", "Task"}
    assert {k: v for k, v in garbage.items() if k in held} == {}
