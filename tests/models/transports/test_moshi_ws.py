"""moshi+ws against a fake frame-synchronous server: placement, stalls and faults."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from duplex.annotations import Annotations
from duplex.errors import ConfigError, ModelError
from duplex.events import ModelAudio, ModelText
from duplex.models.base import SessionInfo
from duplex.models.registry import load_model
from duplex.simulator.recording import Recording
from duplex.simulator.session import SessionFailed, SessionOptions, run_realtime
from duplex.timeline import RealtimeClock
from tests.models.transports.fake_moshi import FRAME, RATE, Faults, fake_moshi
from tests.simulator.fakes import item


def run(faults: Faults, seconds: float = 2.0, options: str = "") -> Recording:
    async def go() -> Recording:
        async with fake_moshi(faults) as url:
            model = load_model(url + "?text_prompt=Be%20nice&voice_prompt=NATF2" + options)
            return await run_realtime(model, item(seconds), SessionOptions(drain_s=0.3))

    return asyncio.run(go())


def fail_reason(faults: Faults, options: str = "") -> str:
    with pytest.raises(SessionFailed) as info:
        run(faults, 3.0, options)
    assert info.value.recording.model.size == int(3.0 * RATE)  # the partial recording is kept
    return info.value.reason


def onsets(x: np.ndarray, quiet_s: float = 0.2) -> list[float]:
    """Starts (s) of tone bursts: 10 ms blocks above -30 dBFS after at least ``quiet_s`` of quiet.

    Bursts are 400 ms apart; a frame that arrives a little late on a busy machine leaves a short
    hole inside a burst, which is jitter, not the start of a new burst.
    """
    block = RATE // 100
    loud = np.sqrt(np.mean(x[: x.size // block * block].reshape(-1, block) ** 2, axis=1)) > 0.03
    starts: list[float] = []
    quiet, need = 0, round(quiet_s * 100)
    for i, on in enumerate(loud):
        if on and (quiet >= need or (not starts and quiet == i)):
            starts.append(i * block / RATE)
        quiet = 0 if on else quiet + 1
    return starts


def test_session_places_every_frame_at_its_arrival() -> None:
    faults = Faults(handshake=b"\x00" + bytes(8), noise_kinds=True)  # Rust-style handshake
    rec = run(faults)
    audio = [e for e in rec.events if isinstance(e, ModelAudio)]
    texts = [e.text for e in rec.events if isinstance(e, ModelText)]
    assert len(audio) >= 23 and all(e.samples.size == FRAME for e in audio)
    assert texts[:3] == ["w0", "w1", "w2"]
    # Output n answers input n, delivered at (n+1)F: arrival is within a few ms of that.
    delays = [(e.at - (n + 1) * FRAME) / RATE for n, e in enumerate(audio)]
    assert 0 <= np.median(delays) < 0.02
    # Tone bursts start at frames 0, 10, 20: heard at ~(n+1)F.
    assert onsets(rec.model)[:3] == pytest.approx([0.08, 0.88, 1.68], abs=0.05)
    assert rec.model.size == rec.user.size


def test_query_passes_through_and_options_stay_local() -> None:
    faults = Faults()
    run(faults, 0.5, "#handshake_timeout=5&stall_timeout=3")
    assert faults.paths == ["/api/chat?text_prompt=Be%20nice&voice_prompt=NATF2"]


def test_a_one_second_stall_leaves_a_gap_and_does_not_shift_later_audio() -> None:
    # Stall before answering frame 12 (heard at ~1.04 s); the backlog then comes in a burst.
    rec = run(Faults(stall_at=12, stall_s=1.0), seconds=4.0)
    starts = onsets(rec.model)
    # Bursts at frames 0, 10 before the stall; the next onset after the stall is at ~2.04 s
    # (frames answered late arrive when the server resumes), then frames 30 and 40 on time.
    assert starts[:2] == pytest.approx([0.08, 0.88], abs=0.05)
    gap = rec.model[int(1.1 * RATE) : int(1.95 * RATE)]
    assert np.abs(gap).max() < 0.01  # ~1 s of silence where the server stalled
    assert starts[-2:] == pytest.approx([2.48, 3.28], abs=0.1)  # not pushed 1 s later


def test_without_the_stale_frame_policy_a_stall_would_shift_everything_after_it() -> None:
    rec = run(Faults(stall_at=12, stall_s=1.0), seconds=4.0, options="#max_backlog_ms=-1")
    starts = onsets(rec.model)
    assert not any(abs(s - 2.48) < 0.1 for s in starts)  # frame 30 is not where it was said
    assert any(abs(s - 3.48) < 0.1 for s in starts)  # but a whole second later


@pytest.mark.parametrize(
    ("faults", "expected"),
    [
        (Faults(close_at=10), "server closed the connection (code 1000)"),
        (Faults(abort_at=10), "server dropped the connection without a close frame"),
        (Faults(stall_at=10, stall_s=30), "no message from the server for 0.5 s"),
        (Faults(error_at=10), "server error: boom"),
        (Faults(garbage_at=10), "garbage from the server: invalid ogg/opus data"),
        (Faults(garbage_at=10, garbage=b""), "garbage from the server: empty message"),
        (Faults(garbage_at=10, garbage=b"\x02\xff\xfe"), "text message is not utf-8"),
        (Faults(garbage_at=10, garbage=b"\x00"), "second handshake"),
    ],
)
def test_faults_become_a_recorded_failure_with_a_reason(faults: Faults, expected: str) -> None:
    assert expected in fail_reason(faults, "#stall_timeout=0.5")


def test_handshake_timeout_names_the_cause() -> None:
    async def go() -> None:
        async with fake_moshi(Faults(handshake=None)) as url:
            model = load_model(url + "#handshake_timeout=0.3")
            info = SessionInfo("i", RATE, FRAME, Annotations(speech=()))
            await model.connect(info, RealtimeClock(RATE))  # type: ignore[attr-defined]

    with pytest.raises(ModelError, match=r"no handshake within 0\.3 s"):
        asyncio.run(go())


def test_connection_refused_is_a_model_error() -> None:
    model = load_model("moshi+ws://127.0.0.1:9/api/chat")
    info = SessionInfo("i", RATE, FRAME, Annotations(speech=()))
    with pytest.raises(ModelError, match="cannot connect"):
        asyncio.run(model.connect(info, RealtimeClock(RATE)))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "spec",
    [
        "moshi+ws://127.0.0.1:1/api/chat#nope=1",
        "moshi+ws://127.0.0.1:1/api/chat#handshake_timeout=x",
        "moshi+ws:///api/chat",
        "moshi+ws://127.0.0.1:99999/api/chat",
    ],
)
def test_bad_specs_are_config_errors(spec: str) -> None:
    with pytest.raises(ConfigError):
        load_model(spec)


async def _open(url: str) -> Any:
    """A started session of the ``moshi+ws`` client on ``url``."""
    clock = RealtimeClock(RATE)
    info = SessionInfo("i", RATE, FRAME, Annotations(speech=()))
    session = await load_model(url).connect(info, clock)  # type: ignore[attr-defined]
    clock.start()
    return session


def test_aclose_is_idempotent() -> None:
    async def go() -> None:
        async with fake_moshi(Faults()) as url:
            session = await _open(url)
            await session.send(np.zeros(FRAME, np.float32))
            await session.aclose()
            await session.aclose()
            assert [e async for e in session.events()] == []

    asyncio.run(go())


def test_frames_are_encoded_before_their_deadline() -> None:
    rec = run(Faults(), seconds=2.0)
    transport = rec.timings["transport"]
    assert transport["frames_sent"] == 25
    # Each frame is handed over a frame before it is due; the encode runs in that slack.
    assert transport.get("frames_encoded_ahead", 0) >= 20


def test_sending_a_frame_other_than_the_prepared_one_is_refused() -> None:
    async def go() -> None:
        async with fake_moshi(Faults()) as url:
            session = await _open(url)
            try:
                session.prepare(np.zeros(FRAME, np.float32), 0.08)
                with pytest.raises(RuntimeError, match="other than the one prepared"):
                    await session.send(np.zeros(FRAME, np.float32))
            finally:
                await session.aclose()

    asyncio.run(go())


def test_a_message_past_the_limit_is_not_blamed_on_the_server() -> None:
    # The client closes with 1009 and the server may never answer the close: the reason must say
    # who closed and why, not that the server dropped the connection.
    faults = Faults(garbage_at=10, garbage=b"\x02" + b"x" * 70_000)
    reason = fail_reason(faults, "#stall_timeout=0.5,max_message_bytes=65536")
    assert "closed by the client (code 1009" in reason and "65536" in reason
