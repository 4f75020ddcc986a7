"""gemini+ws against a local fake Gemini Live server: setup, bursts, interruption, faults, key."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import socket
from pathlib import Path

import numpy as np
import pytest

from duplex.annotations import Annotations
from duplex.errors import ConfigError, ModelError
from duplex.events import ModelAudio, ModelAudioCleared, ModelFailed, ModelText
from duplex.models.base import SessionInfo
from duplex.models.registry import load_model
from duplex.models.transports.gemini_ws import GeminiWsModel
from duplex.protocols.gemini import DEFAULT_PATH
from duplex.simulator.recording import Recording
from duplex.simulator.session import SessionFailed, SessionOptions, run_realtime
from duplex.simulator.session_folder import write_session_folder
from duplex.timeline import RealtimeClock
from tests.models.transports.fake_gemini import RATE, Script, fake_gemini
from tests.simulator.fakes import item

#: A planted key with characters that URL-quoting changes, so both of its forms are looked for.
KEY = "AIza/planted+TEST=key-0123456789"
QUOTED = "AIza%2Fplanted%2BTEST%3Dkey-0123456789"  # as it goes into a query string


@pytest.fixture(autouse=True)
def planted_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.setenv("GEMINI_API_KEY", KEY)


def run(script: Script, seconds: float = 2.0, options: str = "") -> tuple[Recording, GeminiWsModel]:
    async def go() -> tuple[Recording, GeminiWsModel]:
        async with fake_gemini(script) as url:
            model = load_model(url + options)
            assert isinstance(model, GeminiWsModel)
            return await run_realtime(model, item(seconds), SessionOptions(drain_s=0.3)), model

    return asyncio.run(go())


def fail(script: Script, options: str = "") -> SessionFailed:
    with pytest.raises(SessionFailed) as info:
        run(script, 2.0, options)
    return info.value


def loud(x: np.ndarray, start: float, stop: float) -> np.ndarray:
    """Per 10 ms block between start and stop (s): is the model channel sounding?"""
    seg = x[int(start * RATE) : int(stop * RATE)]
    block = RATE // 100
    return np.sqrt(np.mean(seg[: seg.size // block * block].reshape(-1, block) ** 2, axis=1)) > 0.05


def kinds(script: Script) -> list[str]:
    """What the client sent, by name: setup, audio, activityStart, audioStreamEnd..."""
    names = []
    for event in script.received:
        (key,) = event
        names.append(next(iter(event[key])) if key == "realtimeInput" else key)
    return names


@pytest.mark.parametrize("binary", [True, False])
def test_a_burst_is_played_out_at_real_time_rate_from_its_arrival(binary: bool) -> None:
    script = Script(binary=binary)
    rec, _ = run(script)
    setup = script.received[0]["setup"]
    assert setup["model"] == "models/gemini-2.5-flash-native-audio-preview-12-2025"
    assert setup["generationConfig"]["responseModalities"] == ["AUDIO"]
    assert setup["realtimeInputConfig"]["automaticActivityDetection"] == {"disabled": False}
    assert setup["outputAudioTranscription"] == {}
    assert script.path == DEFAULT_PATH  # an empty path dials the documented endpoint
    sent = kinds(script)
    assert sent[0] == "setup" and sent[-1] == "audioStreamEnd"
    assert set(sent[1:-1]) == {"audio"}
    # Every sample of the 2 s item reached the server, at 16 kHz (the resampler's tail included).
    audio_in = [e["realtimeInput"]["audio"]["data"] for e in script.received[1:-1]]
    assert sum(len(base64.b64decode(data)) // 2 for data in audio_in) == 32000

    audio = [e for e in rec.events if isinstance(e, ModelAudio)]
    assert len(audio) == 10
    arrival = audio[0].at / RATE
    assert 0.40 <= arrival < 0.45  # the server answers when it has 0.35 s of input (5 frames)
    assert audio[-1].at - audio[0].at < RATE // 20  # the burst came much faster than real time
    # ...and is heard as 1 s of continuous speech from its arrival, not piled up at one instant.
    assert loud(rec.model, arrival + 0.01, arrival + 0.99).all()
    assert not loud(rec.model, arrival + 1.02, 2.0).any()
    assert [e.text for e in rec.events if isinstance(e, ModelText)] == ["hi there"]
    transport = rec.timings["transport"]
    assert transport["ignored somethingNew"] == 1  # an unknown message type is ignored, counted
    assert transport["turns_complete"] == 1 and transport["input_transcripts"] == 1
    assert transport["usage"]["totalTokenCount"] == 65
    assert not any(isinstance(e, ModelAudioCleared) for e in rec.events)


def test_interrupted_cuts_the_queued_playout_where_it_arrives() -> None:
    script = Script(interrupt_after_s=0.75)
    rec, _ = run(script)
    cleared = [e for e in rec.events if isinstance(e, ModelAudioCleared)]
    assert len(cleared) == 1
    cut = cleared[0].at / RATE
    assert 0.80 <= cut < 0.85  # sent once the server has 0.75 s of input (10 frames)
    first = next(e for e in rec.events if isinstance(e, ModelAudio)).at / RATE
    assert loud(rec.model, first + 0.01, cut - 0.01).all()  # heard up to the interruption
    assert not loud(rec.model, cut + 0.01, 2.0).any()  # then nothing
    assert rec.timings["transport"]["interruptions"] == 1


def test_an_interruption_after_playback_cuts_nothing() -> None:
    # The reply (0.4 -> 1.4 s) has been heard in full when `interrupted` comes at 1.6 s.
    rec, _ = run(Script(interrupt_after_s=1.55))
    assert not any(isinstance(e, ModelAudioCleared) for e in rec.events)
    first = next(e for e in rec.events if isinstance(e, ModelAudio)).at / RATE
    assert loud(rec.model, first + 0.01, first + 0.99).all()
    assert rec.timings["transport"]["interrupted_with_nothing_queued"] == 1


def test_without_server_vad_the_item_is_one_turn_answered_at_its_end() -> None:
    script = Script(reply_s=0.2)
    rec, _ = run(script, 1.0, "#vad=off")
    assert script.received[0]["setup"]["realtimeInputConfig"]["automaticActivityDetection"] == {
        "disabled": True
    }
    sent = kinds(script)
    assert sent[:2] == ["setup", "activityStart"] and sent[-1] == "activityEnd"
    assert "audioStreamEnd" not in sent
    first = next(e for e in rec.events if isinstance(e, ModelAudio)).at / RATE
    assert 1.0 <= first < 1.1  # the answer follows activityEnd, sent after the last frame
    assert loud(rec.model, first + 0.01, first + 0.19).all()


def test_options_shape_the_setup_and_legacy_input() -> None:
    script = Script(reply_s=0.2)
    options = (
        "#model=gemini-live-2.5-flash&voice=Puck&start_sensitivity=low&end_sensitivity=high"
        "&prefix_padding_ms=20&silence_ms=300&barge_in=off&transcription=off"
        "&instructions=Be%20brief.&input=media_chunks"
    )
    _, model = run(script, 0.5, options)
    setup = script.received[0]["setup"]
    assert setup["model"] == "models/gemini-live-2.5-flash"
    assert setup["generationConfig"]["speechConfig"] == {
        "voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Puck"}}
    }
    assert setup["realtimeInputConfig"] == {
        "automaticActivityDetection": {
            "disabled": False,
            "startOfSpeechSensitivity": "START_SENSITIVITY_LOW",
            "endOfSpeechSensitivity": "END_SENSITIVITY_HIGH",
            "prefixPaddingMs": 20,
            "silenceDurationMs": 300,
        },
        "activityHandling": "NO_INTERRUPTION",
    }
    assert setup["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert "outputAudioTranscription" not in setup
    assert "mediaChunks" in script.received[1]["realtimeInput"]
    assert model.describe()["setup"]["voice"] == "Puck"


@pytest.mark.parametrize(
    ("fault", "options", "expected"),
    [
        ("close_error", "", "server closed the connection (code 1011: Internal error encountered"),
        ("garbage", "", "garbage from the server: message is not json"),
        ("stall", "#stall_timeout=0.5", "no message from the server for 0.5 s"),
        ("no_setup", "#setup_timeout=0.5", "no setupComplete within 0.5 s"),
        ("bad_model", "", "server closed the connection (code 1007: models/gemini-2.5-flash-"
                          "native-audio-preview-12-2025 is not found for API version v1beta) "
                          "during setup"),
    ],
)  # fmt: skip
def test_faults_become_a_recorded_failure_with_a_reason(
    fault: str, options: str, expected: str
) -> None:
    failed = fail(Script(fault=fault), options)
    assert expected in failed.reason
    assert failed.recording.model.size == 2 * RATE


def test_go_away_is_named_when_the_server_then_closes() -> None:
    failed = fail(Script(go_away=True))
    assert "server closed the connection (code 1001: session time limit)" in failed.reason
    assert "(after goAway, 5 s left)" in failed.reason
    assert failed.recording.timings["transport"]["go_away_time_left_s"] == 5.0


# ----------------------------------------------------------------------------- the key


def assert_no_key(text: str) -> None:
    assert KEY not in text and QUOTED not in text


@pytest.mark.parametrize("auth", ["header", "query"])
def test_the_key_reaches_the_server_and_nothing_else(
    auth: str, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    script = Script(reply_s=0.3)
    with caplog.at_level(logging.DEBUG):
        rec, model = run(script, 1.0, f"#auth={auth}")
    assert script.key() == KEY  # the server got it (header, or the documented ?key=)
    if auth == "header":
        assert "key=" not in script.path
    # websockets logged the request (line and headers) at DEBUG: scrubbed.
    assert "x-goog-api-key: ***" in caplog.text or "key=***" in caplog.text
    assert_no_key(caplog.text)
    assert_no_key(json.dumps(model.describe()) + model.spec + json.dumps(rec.timings))
    folder = tmp_path / "session"
    write_session_folder(folder, rec, item(1.0), {"model": model.describe()})
    for path in folder.iterdir():
        raw = path.read_bytes()
        assert KEY.encode() not in raw and QUOTED.encode() not in raw


@pytest.mark.parametrize("auth", ["header", "query"])
def test_a_server_quoting_the_key_is_scrubbed(auth: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        failed = fail(Script(fault="echo_key"), f"#auth={auth}")
    assert "API key not valid: ***" in failed.reason
    failure = next(e for e in failed.recording.events if isinstance(e, ModelFailed))
    assert_no_key(failed.reason + failure.reason + str(failed) + caplog.text)


def test_connection_errors_do_not_carry_the_key() -> None:
    failed = fail(Script(fault="reject"), "#auth=query")
    assert "HTTP 403" in failed.reason
    chain: BaseException | None = failed
    while chain is not None:  # the error and every cause kept with it
        assert_no_key(repr(chain) + str(chain))
        chain = chain.__cause__

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    model = load_model(f"gemini+ws://127.0.0.1:{port}#auth=query&connect_timeout=2")
    assert isinstance(model, GeminiWsModel)
    with pytest.raises(ModelError) as info:
        info_ = SessionInfo("i0", RATE, 1920, Annotations(speech=()))
        asyncio.run(model.connect(info_, RealtimeClock(RATE)))
    assert "cannot connect" in str(info.value)
    assert_no_key(str(info.value) + repr(info.value.__cause__))


def test_a_key_in_the_spec_is_refused_without_quoting_it() -> None:
    with pytest.raises(ConfigError) as info:
        load_model(f"gemini+wss://generativelanguage.googleapis.com/ws/x?key={QUOTED}")
    assert "key=..." in str(info.value) and "GEMINI_API_KEY" in str(info.value)
    assert_no_key(str(info.value))


def test_where_the_key_may_go(monkeypatch: pytest.MonkeyPatch) -> None:
    host = "generativelanguage.googleapis.com"
    model = load_model(f"gemini+wss://{host}")
    assert isinstance(model, GeminiWsModel)
    assert model.url == f"wss://{host}{DEFAULT_PATH}"
    with pytest.raises(ConfigError, match="unencrypted"):
        load_model("gemini+ws://example.com/ws")  # a key over plain ws to another machine
    load_model("gemini+ws://example.com/ws#key_env=none")
    monkeypatch.delenv("GEMINI_API_KEY")
    with pytest.raises(ConfigError, match="no API key; set GEMINI_API_KEY or GOOGLE_API_KEY"):
        load_model(f"gemini+wss://{host}")
    monkeypatch.setenv("MY_KEY", KEY)
    load_model(f"gemini+wss://{host}#key_env=MY_KEY")
    with pytest.raises(ConfigError, match="unknown argument 'colour'"):
        load_model(f"gemini+wss://{host}#colour=blue")
