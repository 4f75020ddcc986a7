"""Moshi codec: round trips, and any bytes are decoded or rejected with ProtocolError."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from duplex.errors import ProtocolError
from duplex.protocols import moshi
from duplex.protocols.opus import OpusDecoder

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**31), 2**31) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
messages = st.one_of(
    st.just(moshi.Handshake()),
    st.builds(moshi.Handshake, st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)),
    st.builds(moshi.Audio, st.binary(max_size=64)),
    st.builds(moshi.Text, st.text(max_size=20)),
    st.builds(moshi.ControlMessage, st.sampled_from(list(moshi.Control))),
    st.builds(moshi.Metadata, json_values),
    st.builds(moshi.Error, st.text(max_size=20)),
    st.just(moshi.Ping()),
    st.builds(moshi.Extra, st.integers(7, 9), st.binary(max_size=16)),
    st.builds(moshi.Unknown, st.integers(10, 255), st.binary(max_size=16)),
)


@given(messages)
def test_encode_decode_round_trip(msg: moshi.Message) -> None:
    assert moshi.decode(moshi.encode(msg)) == msg


@given(st.binary(max_size=300))
def test_any_bytes_decode_or_raise_protocol_error(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        assert isinstance(moshi.decode(data), moshi.Message)


@settings(max_examples=200)
@given(st.lists(st.binary(max_size=200), max_size=6), st.booleans())
def test_a_stream_fed_anything_yields_events_or_protocol_errors(
    chunks: list[bytes], client: bool
) -> None:
    stream = moshi.MoshiStream(client=client)
    for data in [b"\x00", *chunks]:
        try:
            for event in stream.receive(data):
                assert isinstance(event, moshi.StreamEvent)
        except ProtocolError:
            pass


@pytest.mark.parametrize("payload", [b"", bytes(8)])
def test_both_handshake_forms(payload: bytes) -> None:
    stream = moshi.MoshiStream(client=True)
    [event] = stream.receive(b"\x00" + payload)
    assert isinstance(event, moshi.Handshake) and stream.handshaken


def test_rust_handshake_versions_are_little_endian() -> None:
    msg = moshi.decode(b"\x00" + (1).to_bytes(4, "little") + (7).to_bytes(4, "little"))
    assert msg == moshi.Handshake(1, 7)


@pytest.mark.parametrize("data", [b"\x00\x01", b"\x00" + bytes(9), b"\x03", b"\x03\x09", b"\x04{"])
def test_malformed_known_kinds_are_rejected(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        moshi.decode(data)


def test_unknown_kinds_and_pings_are_ignored_and_counted() -> None:
    stream = moshi.MoshiStream(client=True)
    stream.receive(b"\x00")
    for data in (b"\x06", b"\x07\x00x", b"\x2a", b"\x2a\x01", b"\xff"):
        assert stream.receive(data) == []
    assert stream.ignored == {"ping": 1, "kind 7": 1, "kind 42": 2, "kind 255": 1}


def test_the_client_refuses_output_before_the_handshake() -> None:
    with pytest.raises(ProtocolError, match="before the handshake"):
        moshi.MoshiStream(client=True).receive(b"\x02hello")


def test_audio_round_trip_through_ogg_opus() -> None:
    sender, receiver = moshi.MoshiStream(client=True), moshi.MoshiStream(client=False)
    t = np.arange(1920 * 10) / 24000
    x = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    got = []
    for n in range(10):
        message = sender.audio(x[n * 1920 : (n + 1) * 1920])
        assert message is not None and message[0] == moshi.Kind.AUDIO
        for event in receiver.receive(message):
            assert isinstance(event, moshi.AudioReceived)
            got.append(event.samples)
    y = np.concatenate(got)
    assert y.size == x.size
    assert np.sqrt(np.mean(y[1920:] ** 2)) == pytest.approx(0.3 / np.sqrt(2), rel=0.1)


def test_a_broken_ogg_stream_stays_broken() -> None:
    decoder = OpusDecoder()
    with pytest.raises(ProtocolError, match="invalid ogg/opus"):
        decoder.decode(b"OggS" + bytes(100))
    with pytest.raises(ProtocolError, match="already broken"):
        decoder.decode(b"")


class _NewerReader:
    """sphn's later reader API: append_bytes returns nothing, read_pcm returns the samples."""

    def append_bytes(self, data: bytes) -> None:
        self.last = data

    def read_pcm(self) -> np.ndarray:
        return np.ones(4, np.float32)


def test_the_newer_sphn_reader_api_is_supported() -> None:
    decoder = OpusDecoder()
    decoder._reader = _NewerReader()
    assert decoder.decode(b"x").tolist() == [1.0, 1.0, 1.0, 1.0]
