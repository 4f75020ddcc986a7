"""realtime+ws against a fake server that answers in bursts faster than real time."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from duplex.events import ModelAudio, ModelAudioCleared, ModelText
from duplex.models.registry import load_model
from duplex.simulator.recording import Recording
from duplex.simulator.session import SessionFailed, SessionOptions, run_realtime
from tests.models.transports.fake_realtime import RATE, Script, fake_realtime
from tests.simulator.fakes import item


def run(script: Script, seconds: float = 2.0, options: str = "") -> Recording:
    async def go() -> Recording:
        async with fake_realtime(script) as url:
            model = load_model(url + options)
            return await run_realtime(model, item(seconds), SessionOptions(drain_s=0.3))

    return asyncio.run(go())


def loud(x: np.ndarray, start: float, stop: float) -> np.ndarray:
    """Per 10 ms block between start and stop (s): is the model channel sounding?"""
    seg = x[int(start * RATE) : int(stop * RATE)]
    block = RATE // 100
    return np.sqrt(np.mean(seg[: seg.size // block * block].reshape(-1, block) ** 2, axis=1)) > 0.05


@pytest.mark.parametrize("ga", [False, True])
def test_a_burst_is_played_out_contiguously_from_its_arrival(ga: bool) -> None:
    script = Script(ga=ga)
    rec = run(script)
    update = script.received[0]
    assert update["type"] == "session.update"
    assert update["session"]["turn_detection"] == {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 500,
    }
    audio = [e for e in rec.events if isinstance(e, ModelAudio)]
    assert len(audio) == 10
    arrival = audio[0].at / RATE
    assert 0.40 <= arrival < 0.45  # the server answers when it has 0.4 s of input
    assert audio[-1].at - audio[0].at < RATE // 20  # the burst came much faster than real time
    # ...and is heard as 1 s of continuous speech from its arrival, not piled up at one instant.
    assert loud(rec.model, arrival + 0.01, arrival + 0.99).all()
    assert not loud(rec.model, arrival + 1.02, 2.0).any()
    assert [e.text for e in rec.events if isinstance(e, ModelText)] == ["hi"]
    appended = [e for e in script.received if e["type"] == "input_audio_buffer.append"]
    assert len(appended) == 25  # every 80 ms frame of the 2 s item


def test_ga_dialect_session_update() -> None:
    script = Script(ga=True)
    run(script, 0.5, "#dialect=ga&vad=server_vad&threshold=0.6")
    session = script.received[0]["session"]
    assert session["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert session["audio"]["input"]["turn_detection"]["threshold"] == 0.6


@pytest.mark.parametrize("ga", [False, True])
def test_speech_started_cuts_playout_cancels_and_truncates(ga: bool) -> None:
    script = Script(ga=ga, interrupt_after_s=0.8)
    rec = run(script)
    cleared = [e for e in rec.events if isinstance(e, ModelAudioCleared)]
    assert len(cleared) == 1
    cut = cleared[0].at / RATE
    assert 0.80 <= cut < 0.85
    assert loud(rec.model, 0.45, cut - 0.01).all()  # heard up to the interruption
    assert not loud(rec.model, cut + 0.01, 2.0).any()  # then nothing, not even the late delta
    sent = [e["type"] for e in script.received]
    assert "response.cancel" in sent
    truncate = next(e for e in script.received if e["type"] == "conversation.item.truncate")
    assert truncate["item_id"] == "it1" and truncate["content_index"] == 0
    heard_ms = (cut - next(e for e in rec.events if isinstance(e, ModelAudio)).at / RATE) * 1000
    assert truncate["audio_end_ms"] == pytest.approx(heard_ms, abs=2)


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("close", "server closed the connection (code 1000)"),
        ("abort", "server dropped the connection without a close frame"),
        ("stall", "no message from the server for 0.5 s"),
        ("error", "server error (x): rate limited"),
        ("garbage", "garbage from the server: message is not json"),
    ],
)
def test_faults_become_a_recorded_failure_with_a_reason(fault: str, expected: str) -> None:
    with pytest.raises(SessionFailed) as info:
        run(Script(fault=fault), 2.0, "#stall_timeout=0.5")
    assert expected in info.value.reason
    assert info.value.recording.model.size == 2 * RATE


def test_silence_without_a_pending_response_is_not_a_stall() -> None:
    # The server answers once and then says nothing for the remaining 1.6 s: that is fine.
    rec = run(Script(reply_s=0.2), 2.0, "#stall_timeout=0.3")
    assert any(isinstance(e, ModelAudio) for e in rec.events)
