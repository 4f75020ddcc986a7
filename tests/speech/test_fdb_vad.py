"""Silero run the anchor's way: the reference segmentation rule on hand-made probabilities, the
torchaudio-style resampler, and the 16 kHz assumption of the backchannel script on real speech.
(Equality with ``silero_vad`` itself is checked by benchmarks/fdb_crosscheck.py ``--vad``, which
needs the anchor's venv.)"""

from __future__ import annotations

import math

import numpy as np
import pytest

from duplex.audio import resample
from duplex.speech import fdb_vad as v
from tests.speech.speechdata import RATE, place, say

W = 512


def test_one_segment_padded_and_confirmed_after_min_silence() -> None:
    probs = [0.0] * 5 + [0.9] * 20 + [0.0] * 10
    n = len(probs) * W
    # start at window 5 (2560); first quiet window 25 (12800) is confirmed at window 29, when
    # 2048 >= 1600 samples of silence have passed; padded by 480 on both sides
    assert v.silero_segments(probs, n) == [(2560 - 480, 12800 + 480)]
    assert v.silero_seconds([(2080, 13280)], n) == [(0.1, 0.8)]  # 0.13 -> 0.1, 0.83 -> 0.8


def test_short_segments_are_dropped_and_the_middle_band_holds() -> None:
    n = 40 * W
    assert v.silero_segments([0.9] * 7 + [0.0] * 33, n) == []  # 3584 samples <= 4000
    assert v.silero_segments([0.9] * 8 + [0.0] * 32, n) == [(0, 8 * W + 480)]  # 4096 > 4000
    # 0.4 is below the threshold but above threshold - 0.15: it neither starts nor ends speech
    mid = [0.9] * 10 + [0.4] * 10 + [0.9] * 10 + [0.0] * 10
    assert v.silero_segments(mid, n) == [(0, 30 * W + 480)]
    # a quiet window cancelled by speech before min silence: one segment
    dip = [0.9] * 10 + [0.0] * 3 + [0.9] * 10 + [0.0] * 17
    assert v.silero_segments(dip, n) == [(0, 23 * W + 480)]


def test_open_segment_runs_to_the_end_and_close_segments_split_their_gap() -> None:
    probs = [0.0] * 2 + [0.9] * 10
    n = len(probs) * W - 100
    assert v.silero_segments(probs, n) == [(1024 - 480, n)]
    params = v.SileroParams(min_silence_ms=10, speech_pad_ms=40)  # pad 640: gaps < 1280 split
    # a quiet window only counts from the next one (silence so far: 0 samples), so two are needed;
    # the 1024-sample gap (5120 .. 6144) is split: 512 to each side
    probs = [0.9] * 10 + [0.0] * 2 + [0.9] * 10 + [0.0] * 5
    assert v.silero_segments(probs, len(probs) * W, params) == [(0, 5632), (5632, 22 * W + 640)]


def test_seconds_round_like_python_and_clip_to_the_length() -> None:
    assert v.silero_seconds([(800, 16000)], 16000) == [(0.1, 1.0)]  # round(0.05, 1) == 0.1
    assert v.silero_seconds([(2400, 16000)], 15990) == [(0.1, 15990 / 16000)]  # end clipped


def test_sinc_resample_length_and_passband() -> None:
    n = 24000
    t = np.arange(n) / 24000
    x = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    y = v.sinc_resample(x, 24000, 16000)
    assert y.size == math.ceil(n * 2 / 3)
    ref = np.sin(2 * np.pi * 1000 * np.arange(y.size) / 16000)
    assert np.max(np.abs(y[200:-200] - ref[200:-200])) < 2e-3
    dc = v.sinc_resample(np.ones(3000, np.float32), 48000, 16000)
    assert np.allclose(dc[50:-50], 1.0, atol=2e-3)


@pytest.fixture(scope="module")
def mm() -> np.ndarray:
    return place([(3.0, say("Mm-hmm."))], 8.0)


def test_backchannel_form_at_16k_finds_the_backchannel(mm: np.ndarray) -> None:
    x16 = resample(mm, RATE, 16000)
    segments, duration = v.backchannel_segments(x16, 16000)
    assert duration == 8.0
    assert len(segments) == 1
    start, end = segments[0]
    assert start in (2.9, 3.0) and 3.2 <= end <= 3.9  # 0.1 s steps, 30 ms padding
    assert v.timing_segments(x16, 16000)[0][0] == pytest.approx(3.0, abs=0.08)


def test_backchannel_form_takes_any_file_as_16k(mm: np.ndarray) -> None:
    # the anchor's script hands a 24 kHz file to Silero as if it were 16 kHz: its times come out
    # 1.5 times too large, while the duration it divides by is the true one
    x16 = resample(mm, RATE, 16000)
    as_is, duration = v.backchannel_segments(mm, RATE)
    assert duration == 8.0
    direct = v.speech_timestamps(mm)
    assert [(round(a / 16000, 1), round(b / 16000, 1)) for a, b in direct] == as_is
    resampled, native = v.timing_segments(mm, RATE), v.timing_segments(x16, 16000)
    assert len(resampled) == len(native) == 1
    assert resampled[0] == pytest.approx(native[0], abs=0.04)  # timing resamples first: right
    native_bc, _ = v.backchannel_segments(x16, 16000)
    assert len(as_is) == len(native_bc) == 1
    assert as_is[0][0] == pytest.approx(1.5 * native_bc[0][0], abs=0.15)  # 3.0 s reads as 4.5
