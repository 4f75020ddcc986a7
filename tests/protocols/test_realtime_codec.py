"""Realtime codec: client events, server events in both dialects, fuzzing."""

from __future__ import annotations

import contextlib
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from duplex.errors import ProtocolError
from duplex.protocols import realtime as rt

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
known_types = st.sampled_from(
    [
        *sorted(rt.AUDIO_DELTAS | rt.TEXT_DELTAS),
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "response.created",
        "response.done",
        "error",
        "session.created",
        "something.else",
    ]
)


def test_session_update_defaults_to_server_vad() -> None:
    event = json.loads(rt.session_update(rt.TurnDetection()))
    assert event["type"] == "session.update"
    assert event["session"]["input_audio_format"] == "pcm16"
    assert event["session"]["turn_detection"] == {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 500,
    }
    none = json.loads(rt.session_update(rt.TurnDetection(type="none"), dialect="ga"))
    assert none["session"]["audio"]["input"]["turn_detection"] is None


@given(st.lists(st.integers(-32768, 32767), max_size=50))
def test_pcm16_round_trip(values: list[int]) -> None:
    x = np.array(values, np.float32) / 32768.0
    assert np.array_equal(rt.b64_pcm16(rt.pcm16_b64(x)), x)


def test_client_events() -> None:
    assert json.loads(rt.append_audio(np.zeros(2, np.float32))) == {
        "type": "input_audio_buffer.append",
        "audio": "AAAAAA==",
    }
    assert json.loads(rt.cancel_response("r1")) == {"type": "response.cancel", "response_id": "r1"}
    assert json.loads(rt.truncate("it", 0, 412)) == {
        "type": "conversation.item.truncate",
        "item_id": "it",
        "content_index": 0,
        "audio_end_ms": 412,
    }
    assert json.loads(rt.commit())["type"] == "input_audio_buffer.commit"
    assert json.loads(rt.create_response())["type"] == "response.create"


@pytest.mark.parametrize("name", ["response.audio.delta", "response.output_audio.delta"])
def test_beta_and_ga_audio_deltas(name: str) -> None:
    delta = rt.pcm16_b64(np.full(3, 0.5, np.float32))
    event = rt.parse(json.dumps({"type": name, "response_id": "r", "item_id": "i", "delta": delta}))
    assert isinstance(event, rt.AudioDelta)
    assert event.samples.tolist() == [0.5, 0.5, 0.5] and event.item_id == "i"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ('{"type":"response.output_audio_transcript.delta","delta":"hi"}',
         rt.TextDelta("", "", "hi")),
        ('{"type":"response.audio_transcript.delta","delta":"hi"}', rt.TextDelta("", "", "hi")),
        ('{"type":"input_audio_buffer.speech_started","audio_start_ms":80}', rt.SpeechStarted(80)),
        ('{"type":"input_audio_buffer.speech_stopped","audio_end_ms":90}', rt.SpeechStopped(90)),
        ('{"type":"response.created","response":{"id":"r"}}', rt.ResponseCreated("r")),
        ('{"type":"response.done","response":{"id":"r","status":"completed"}}',
         rt.ResponseDone("r", "completed")),
        ('{"type":"error","error":{"message":"no","code":"c"}}', rt.ServerError("no", "c")),
        ('{"type":"rate_limits.updated"}', rt.Other("rate_limits.updated")),
    ],
)  # fmt: skip
def test_server_events(message: str, expected: rt.ServerEvent) -> None:
    assert rt.parse(message) == expected


@pytest.mark.parametrize(
    "message",
    [
        "",
        "[1]",
        '{"no":"type"}',
        b"\xff\xfe",
        '{"type":"response.audio.delta","delta":"***"}',
        '{"type":"response.audio.delta","delta":"AAAA"}',
        '{"type":"response.audio.delta"}',
        '{"type":"input_audio_buffer.speech_started","audio_start_ms":"x"}',
    ],
)
def test_garbage_is_rejected(message: str | bytes) -> None:
    with pytest.raises(ProtocolError):
        rt.parse(message)


@given(st.text(max_size=200) | st.binary(max_size=200))
def test_any_message_parses_or_raises_protocol_error(message: str | bytes) -> None:
    with contextlib.suppress(ProtocolError):
        rt.parse(message)


@given(known_types, st.dictionaries(st.text(max_size=14), json_values, max_size=6))
def test_known_types_with_any_fields_parse_or_raise_protocol_error(
    kind: str, fields: dict[str, object]
) -> None:
    with contextlib.suppress(ProtocolError):
        rt.parse(json.dumps({**fields, "type": kind}))
