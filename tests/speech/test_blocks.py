"""Block-by-block speech segments agree with the whole-array function."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from duplex.audio import write_wav
from duplex.speech.blocks import speech_segments_blocked, wav_reader
from duplex.speech.vad import speech_segments
from tests.speech.speechdata import RATE, place, say


def _long_scene(noise: float) -> np.ndarray:
    """40 s: utterances at uneven gaps, some across the 3.7 s block boundaries used below."""
    a = say("Could you tell me what the weather will be like tomorrow?")
    b = say("Mm-hmm.")
    clips = [(0.3, a), (3.2, b), (5.0, a), (9.9, b), (14.6, a), (22.0, b), (30.5, a), (36.9, b)]
    x = place(clips, 40.0)
    rng = np.random.default_rng(0)
    return (x + noise * rng.standard_normal(x.size)).astype(np.float32)


@pytest.mark.parametrize("noise", [0.0, 1e-3])
def test_blocked_segments_equal_whole_array_segments(noise: float) -> None:
    x = _long_scene(noise)
    whole = speech_segments(x, RATE)
    blocked = speech_segments_blocked(lambda a, b: x[a:b], x.size, RATE, block_s=3.7)
    assert len(blocked) == len(whole) >= 8
    for p, q in zip(whole, blocked, strict=True):
        assert abs(p.start - q.start) <= 1 / RATE and abs(p.end - q.end) <= 1 / RATE


def test_blocked_segments_of_a_wav_file(tmp_path: Path) -> None:
    x = _long_scene(0.0)
    write_wav(tmp_path / "x.wav", x, RATE)
    read, n, rate = wav_reader(tmp_path / "x.wav")
    assert (n, rate) == (x.size, RATE)
    blocked = speech_segments_blocked(read, n, rate)
    whole = speech_segments(x, RATE)
    assert len(blocked) == len(whole)
    # 16-bit quantisation moves an edge by a sample or two at most.
    for p, q in zip(whole, blocked, strict=True):
        assert abs(p.start - q.start) <= 3 / RATE and abs(p.end - q.end) <= 3 / RATE
    assert speech_segments_blocked(read, 0, rate) == []
