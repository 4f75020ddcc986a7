"""Gemini Live codec: documented shapes, round trips both ways, fuzzing, the session stream."""

from __future__ import annotations

import base64
import contextlib
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from duplex.audio import resample
from duplex.errors import ProtocolError
from duplex.protocols import gemini as gm

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
pcm = st.binary(max_size=40).map(lambda b: b[: len(b) // 2 * 2])
rates = st.sampled_from([16000, 24000, 48000])
texts = st.text(max_size=12)
sensitivity = st.sampled_from([None, "high", "low"])
ms = st.none() | st.integers(0, 10_000)
vads = st.builds(gm.Vad, st.booleans(), sensitivity, sensitivity, ms, ms, st.booleans())
client_messages = st.one_of(
    st.builds(gm.Setup, texts, st.none() | st.text(min_size=1, max_size=8), vads,
              st.booleans(), st.booleans(), st.none() | texts),
    st.builds(gm.AudioIn, pcm, rates, st.booleans()),
    st.just(gm.ActivityStart()),
    st.just(gm.ActivityEnd()),
    st.just(gm.AudioStreamEnd()),
    st.builds(gm.TextIn, texts, st.booleans()),
)  # fmt: skip
parts = st.lists(
    st.builds(gm.AudioOut, pcm, rates) | st.builds(gm.TextOut, texts, st.booleans()), max_size=3
).map(tuple)
contents = st.builds(
    gm.ServerContent, parts, st.none() | texts, st.none() | texts,
    st.booleans(), st.booleans(), st.booleans(),
)  # fmt: skip
primary = st.one_of(
    st.just(gm.SetupComplete()),
    contents,
    st.builds(gm.GoAway, st.none() | st.integers(0, 10**7).map(lambda n: n / 1000)),
    st.builds(gm.ToolCall, st.lists(texts, max_size=3).map(tuple)),
    st.builds(gm.ToolCallCancellation, st.lists(texts, max_size=3).map(tuple)),
    st.builds(gm.ServerError, texts.filter(bool), texts),
    st.builds(gm.Other, st.sampled_from(["sessionResumptionUpdate", "voiceActivity", "new"])),
)
usages = st.builds(gm.Usage, st.dictionaries(texts, st.integers(0, 2**40), max_size=3))
server_messages = st.tuples(primary, st.none() | usages).map(
    lambda p: [p[0]] if p[1] is None else [p[0], p[1]]
)
KNOWN_KEYS = ["setupComplete", "serverContent", "toolCall", "toolCallCancellation", "goAway",
              "usageMetadata", "error", "sessionResumptionUpdate"]  # fmt: skip


def blob(x: np.ndarray, mime: str = "audio/pcm;rate=24000") -> dict[str, str]:
    return {"mimeType": mime, "data": base64.b64encode(gm.pcm16(x)).decode()}


# ----------------------------------------------------------------------------- documented shapes


def test_setup_asks_for_audio_with_the_documented_field_names() -> None:
    setup = gm.Setup(
        "models/gemini-x",
        voice="Puck",
        vad=gm.Vad(start_sensitivity="low", end_sensitivity="high", silence_duration_ms=500),
        transcribe_input=True,
        instructions="Be brief.",
    )
    doc = json.loads(gm.encode(setup))["setup"]
    assert doc["model"] == "models/gemini-x"
    assert doc["generationConfig"] == {
        "responseModalities": ["AUDIO"],
        "speechConfig": {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Puck"}}},
    }
    assert doc["realtimeInputConfig"] == {
        "automaticActivityDetection": {
            "disabled": False,
            "startOfSpeechSensitivity": "START_SENSITIVITY_LOW",
            "endOfSpeechSensitivity": "END_SENSITIVITY_HIGH",
            "silenceDurationMs": 500,
        },
        "activityHandling": "START_OF_ACTIVITY_INTERRUPTS",
    }
    assert doc["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert doc["inputAudioTranscription"] == {} and doc["outputAudioTranscription"] == {}


def test_realtime_input_messages() -> None:
    audio = json.loads(gm.encode(gm.AudioIn(b"\x01\x00\xff\xff")))
    blob = {"data": "AQD//w==", "mimeType": "audio/pcm;rate=16000"}
    assert audio == {"realtimeInput": {"audio": blob}}
    legacy = json.loads(gm.encode(gm.AudioIn(b"\x01\x00", legacy=True)))
    assert legacy["realtimeInput"]["mediaChunks"][0]["mimeType"] == "audio/pcm;rate=16000"
    assert json.loads(gm.encode(gm.ActivityStart())) == {"realtimeInput": {"activityStart": {}}}
    assert json.loads(gm.encode(gm.ActivityEnd())) == {"realtimeInput": {"activityEnd": {}}}
    assert json.loads(gm.encode(gm.AudioStreamEnd())) == {"realtimeInput": {"audioStreamEnd": True}}
    text = json.loads(gm.encode(gm.TextIn("hi")))["clientContent"]
    assert text == {"turns": [{"role": "user", "parts": [{"text": "hi"}]}], "turnComplete": True}


def test_server_content_as_the_server_sends_it() -> None:
    x = np.array([0.5, -0.25, 0.0], np.float32)
    message = {
        "serverContent": {
            "modelTurn": {
                "role": "model",
                "parts": [
                    {"inlineData": blob(x)},
                    {"text": "**Planning**", "thought": True},
                    {"inlineData": {"mimeType": "image/png", "data": "AAAA"}},
                    {"executableCode": {"code": "1"}},
                ],
            },
            "outputTranscription": {"text": "Hello", "finished": False},
            "turnComplete": True,
            "groundingMetadata": {},
        },
        "usageMetadata": {"totalTokenCount": 12, "responseTokensDetails": [{"tokenCount": 3}]},
    }
    content, usage = gm.decode(json.dumps(message).encode())  # binary frames are JSON too
    assert isinstance(content, gm.ServerContent)
    assert len(content.parts) == 2 and content.parts[1] == gm.TextOut("**Planning**", True)
    audio = content.parts[0]
    assert isinstance(audio, gm.AudioOut) and audio.rate == 24000
    assert audio.samples.tolist() == [0.5, -0.25, 0.0]
    assert content.output_transcript == "Hello" and content.input_transcript is None
    assert content.turn_complete and not content.interrupted and not content.generation_complete
    assert usage == gm.Usage({"totalTokenCount": 12})


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ('{"setupComplete":{}}', [gm.SetupComplete()]),
        ('{"serverContent":{"interrupted":true}}', [gm.ServerContent(interrupted=True)]),
        ('{"serverContent":{"generationComplete":true}}',
         [gm.ServerContent(generation_complete=True)]),
        ('{"serverContent":{"inputTranscription":{"text":"so"}}}',
         [gm.ServerContent(input_transcript="so")]),
        ('{"goAway":{"timeLeft":"4.5s"}}', [gm.GoAway(4.5)]),
        ('{"goAway":{"timeLeft":{"seconds":3,"nanos":500000000}}}', [gm.GoAway(3.5)]),
        ('{"goAway":{}}', [gm.GoAway(None)]),
        ('{"toolCall":{"functionCalls":[{"id":"f1","name":"x"}]}}', [gm.ToolCall(("f1",))]),
        ('{"toolCallCancellation":{"ids":["f1"]}}', [gm.ToolCallCancellation(("f1",))]),
        ('{"sessionResumptionUpdate":{"newHandle":"h","resumable":true}}',
         [gm.Other("sessionResumptionUpdate")]),
        ('{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}',
         [gm.ServerError("quota", "RESOURCE_EXHAUSTED")]),
        ("{}", []),
    ],
)  # fmt: skip
def test_server_messages(message: str, expected: list[gm.ServerMessage]) -> None:
    assert gm.decode(message) == expected


@pytest.mark.parametrize(
    ("mime", "data", "samples", "rate"),
    [
        ("audio/pcm", "AEA=", [0.5], 24000),  # rate unsaid: the documented 24 kHz
        ("audio/pcm;rate=16000", "AEA", [0.5], 16000),  # padding left out
        ("AUDIO/PCM; rate=48000", "AEA=", [0.5], 48000),
        ("audio/pcm;rate=24000", "_38=", [32767 / 32768], 24000),  # url-safe alphabet
    ],
)
def test_audio_blob_variants(mime: str, data: str, samples: list[float], rate: int) -> None:
    part = {"inlineData": {"mimeType": mime, "data": data}}
    message = {"serverContent": {"modelTurn": {"parts": [part]}}}
    (content,) = gm.decode(json.dumps(message))
    assert isinstance(content, gm.ServerContent)
    (audio,) = content.parts
    assert isinstance(audio, gm.AudioOut)
    assert audio.samples.tolist() == samples and audio.rate == rate


@pytest.mark.parametrize(
    "message",
    [
        "",
        "[1]",
        b"\xff\xfe",
        "{not json",
        '{"serverContent":[]}',
        '{"serverContent":{"interrupted":"yes"}}',
        '{"serverContent":{"modelTurn":{"parts":{}}}}',
        '{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":"audio/pcm","data":"***"}}]}}}',
        '{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":"audio/pcm","data":"AAAA"}}]}}}',
        '{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":"audio/mp3","data":"AA=="}}]}}}',
        '{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":"audio/pcm;rate=11025","data":"AA=="}}]}}}',
        '{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"data":"AA=="}}]}}}',
        '{"serverContent":{"outputTranscription":{"text":5}}}',
        '{"goAway":{"timeLeft":"soon"}}',
        '{"goAway":{"timeLeft":"-1s"}}',
        '{"goAway":{"timeLeft":"NaNs"}}',
        '{"goAway":{"timeLeft":{"seconds":' + "9" * 400 + "}}}",
        '{"goAway":{"timeLeft":' + "9" * 400 + "}}",
    ],
)  # fmt: skip
def test_garbage_is_rejected(message: str | bytes) -> None:
    with pytest.raises(ProtocolError):
        gm.decode(message)


# ----------------------------------------------------------------------------- properties


@given(client_messages)
def test_client_messages_round_trip(msg: gm.ClientMessage) -> None:
    assert gm.decode_client(gm.encode(msg)) == msg


@given(server_messages)
def test_server_messages_round_trip(messages: list[gm.ServerMessage]) -> None:
    text = gm.encode_server(messages)
    assert gm.decode(text) == messages
    assert gm.decode(text.encode()) == messages


@given(st.text(max_size=200) | st.binary(max_size=200))
def test_any_message_decodes_or_raises_protocol_error(message: str | bytes) -> None:
    for decoder in (gm.decode, gm.decode_client):
        with contextlib.suppress(ProtocolError):
            decoder(message)


@settings(max_examples=300)
@given(st.sampled_from(KNOWN_KEYS), json_values, st.dictionaries(texts, json_values, max_size=3))
def test_known_messages_with_any_fields_decode_or_raise_protocol_error(
    key: str, value: object, extra: dict[str, object]
) -> None:
    with contextlib.suppress(ProtocolError):
        for msg in gm.decode(json.dumps({**extra, key: value})):
            assert isinstance(msg, gm.ServerMessage)


@settings(max_examples=300)
@given(
    st.sampled_from(["modelTurn", "inputTranscription", "outputTranscription", "interrupted"]),
    json_values,
    st.sampled_from(["setup", "realtimeInput", "clientContent"]),
    st.dictionaries(st.sampled_from(["audio", "mediaChunks", "audioStreamEnd", "model",
                                     "realtimeInputConfig", "turns", "parts"]),
                    json_values, max_size=3),
)  # fmt: skip
def test_nested_fields_of_any_shape_decode_or_raise_protocol_error(
    field: str, value: object, client_key: str, body: dict[str, object]
) -> None:
    with contextlib.suppress(ProtocolError):
        gm.decode(json.dumps({"serverContent": {field: value}}))
    with contextlib.suppress(ProtocolError):
        gm.decode_client(json.dumps({client_key: body}))


@given(st.lists(st.integers(-32768, 32767), max_size=50))
def test_pcm16_round_trip(values: list[int]) -> None:
    x = np.array(values, np.float32) / 32768.0
    assert np.array_equal(gm.from_pcm16(gm.pcm16(x)), x)


# ----------------------------------------------------------------------------- the session stream


def input_audio(messages: list[str | None]) -> np.ndarray:
    decoded = [gm.decode_client(m) for m in messages if m is not None]
    assert all(isinstance(m, gm.AudioIn) and m.rate == 16000 for m in decoded)
    return gm.from_pcm16(b"".join(m.pcm for m in decoded if isinstance(m, gm.AudioIn)))


@pytest.mark.parametrize("frame", [1920, 480, 1000])
def test_input_is_resampled_to_16k_as_one_stream(frame: int) -> None:
    t = np.arange(24000) / 24000
    x = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    stream = gm.LiveStream(24000)
    messages = [stream.audio(x[i : i + frame]) for i in range(0, x.size, frame)]
    y = input_audio([*messages, stream.flush()])
    assert y.size == stream.samples_in == 16000  # every sample, none held back at the end
    # Continuous across frame edges: within 1% of resampling the whole signal at once (frames
    # resampled one by one would click at every edge, 0.09 here).
    assert np.abs(y[100:-100] - resample(x, 24000, 16000)[100:-100]).max() < 0.01


def test_legacy_input_uses_media_chunks() -> None:
    stream = gm.LiveStream(24000, legacy_input=True)
    message = stream.audio(np.zeros(1920, np.float32))
    assert message is not None and "mediaChunks" in json.loads(message)["realtimeInput"]


def test_output_at_another_rate_is_converted_to_the_session_rate() -> None:
    stream = gm.LiveStream(24000)
    x = np.full(1600, 0.25, np.float32)
    out = [
        stream.samples(gm.AudioOut(gm.pcm16(x[i : i + 160]), 16000)) for i in range(0, 1600, 160)
    ]
    y = np.concatenate(out)
    assert 2390 <= y.size <= 2400 and np.allclose(y[100:2300], 0.25, atol=1e-3)
    same = gm.AudioOut(gm.pcm16(x[:10]), 24000)
    assert np.array_equal(stream.samples(same), same.samples)


def test_stream_counts_unknown_messages() -> None:
    stream = gm.LiveStream()
    assert stream.receive('{"somethingNew":{"a":1}}') == [gm.Other("somethingNew")]
    assert stream.ignored == {"somethingNew": 1} and stream.messages_in == 1
