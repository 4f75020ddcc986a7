"""The encode-ahead scheduler: deadline order, sends first, fallback at the send, errors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np
import pytest

from duplex.models.transports.ahead import EncodeAhead, encode_ahead
from duplex.protocols import moshi

FRAME = np.zeros(1920, np.float32)


def recorder(log: list[str], name: str) -> Callable[[np.ndarray], bytes]:
    def encode(frame: np.ndarray) -> bytes:
        log.append(name)
        return name.encode()

    return encode


def test_jobs_run_before_their_deadlines_in_deadline_order() -> None:
    async def go() -> list[str]:
        log: list[str] = []
        ahead = EncodeAhead()
        now = asyncio.get_running_loop().time()
        jobs = [ahead.submit(FRAME, now + d, recorder(log, n)) for n, d in [("b", 2), ("a", 1)]]
        await asyncio.sleep(0.05)
        assert [ahead.take(j) for j in jobs] == [b"b", b"a"]
        assert ahead.counters["encoded_ahead"] == 2 and not ahead.counters["encoded_at_send"]
        return log

    assert asyncio.run(go()) == ["a", "b"]


def test_an_encode_waits_for_an_encoded_frame_due_sooner_than_it_takes() -> None:
    async def go() -> None:
        log: list[str] = []
        ahead = EncodeAhead()
        ahead.cost_s = 1.0  # an encode that would overlap the send due in 0.5 s
        now = asyncio.get_running_loop().time()
        first = ahead.submit(FRAME, now + 0.5, recorder(log, "first"))
        await asyncio.sleep(0.01)
        assert log == ["first"]  # nothing was due sooner
        second = ahead.submit(FRAME, now + 5.0, recorder(log, "second"))
        await asyncio.sleep(0.03)
        assert log == ["first"] and ahead.counters["waits"] >= 1  # held back for first's send
        assert ahead.take(first) == b"first"
        await asyncio.sleep(0.01)
        assert log == ["first", "second"]  # the send went: now it runs
        assert ahead.take(second) == b"second"

    asyncio.run(go())


def test_a_job_not_run_by_its_send_is_encoded_there_and_errors_surface_there() -> None:
    async def go() -> None:
        ahead = EncodeAhead()
        now = asyncio.get_running_loop().time()
        job = ahead.submit(FRAME, now, lambda f: b"late")
        assert ahead.take(job) == b"late"  # the scheduler has not had a turn yet
        assert ahead.counters["encoded_at_send"] == 1

        def broken(frame: np.ndarray) -> bytes:
            raise ValueError("bad frame")

        bad = ahead.submit(FRAME, now + 1, broken)
        await asyncio.sleep(0.01)
        with pytest.raises(ValueError, match="bad frame"):
            ahead.take(bad)

    asyncio.run(go())


def test_a_cancelled_job_is_never_encoded() -> None:
    async def go() -> list[str]:
        log: list[str] = []
        ahead = EncodeAhead()
        job = ahead.submit(FRAME, asyncio.get_running_loop().time() + 1, recorder(log, "x"))
        ahead.cancel(job)
        await asyncio.sleep(0.01)
        return log

    assert asyncio.run(go()) == []


def test_encoding_ahead_gives_the_bytes_encoding_at_the_send_would() -> None:
    frames = [np.sin(np.arange(1920) * (0.01 + k / 100)).astype(np.float32) for k in range(6)]

    async def go() -> list[bytes | None]:
        stream, ahead = moshi.MoshiStream(client=True), encode_ahead()
        assert encode_ahead() is ahead  # one per event loop
        out = []
        for k, frame in enumerate(frames):
            job = ahead.submit(frame, asyncio.get_running_loop().time() + 0.01 * k, stream.audio)
            if k % 2:
                await asyncio.sleep(0.005)  # some ahead, some at the send
            out.append(ahead.take(job))
        return out

    reference = moshi.MoshiStream(client=True)
    assert asyncio.run(go()) == [reference.audio(f) for f in frames]
