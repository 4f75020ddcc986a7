"""Prosody features on signals whose pitch, spread and level are known, and the paired tests."""

from __future__ import annotations

import numpy as np
import pytest

from duplex.metrics.prosody import features, mad_keep, paired_test
from duplex.speech.asr import Word
from duplex.timeline import Span
from tests.support.praat import needs_praat

RATE = 24000


def voiced(f0: np.ndarray, level: float = 0.1) -> np.ndarray:
    """A harmonic complex (10 harmonics, 1/k amplitudes) following the F0 track ``f0`` (Hz per
    sample): periodic like a voice, with a pitch Praat tracks exactly."""
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    x = sum(np.sin(k * phase) / k for k in range(1, 11))
    return (level * x / np.sqrt(np.mean(x**2))).astype(np.float32)


@needs_praat
def test_pitch_mean_and_a_known_shift_in_semitones() -> None:
    n = 2 * RATE
    a = features(voiced(np.full(n, 150.0)), RATE, Span(0, 2), [Span(0, 2)])
    b = features(voiced(np.full(n, 150.0 * 2 ** (2 / 12))), RATE, Span(0, 2), [Span(0, 2)])
    assert a.pitch_mean_hz == pytest.approx(150.0, abs=0.5)
    assert a.pitch_mean_st == pytest.approx(12 * np.log2(1.5), abs=0.02)
    assert b.pitch_mean_st - a.pitch_mean_st == pytest.approx(2.0, abs=0.02)
    assert a.pitch_sd_st == pytest.approx(0.0, abs=0.05)


@needs_praat
def test_pitch_spread_of_a_glide() -> None:
    # F0 rising uniformly in semitones from 4 to 10 st re 100 Hz: SD = 6 / sqrt(12)
    st = np.linspace(4.0, 10.0, 3 * RATE)
    p = features(voiced(100.0 * 2 ** (st / 12)), RATE, Span(0, 3), [Span(0, 3)])
    assert p.pitch_sd_st == pytest.approx(6 / np.sqrt(12), abs=0.05)
    assert p.pitch_mean_st == pytest.approx(7.0, abs=0.05)


@needs_praat
def test_intensity_follows_gain_and_ignores_silence_outside_speech() -> None:
    x = voiced(np.full(2 * RATE, 180.0), level=0.05)
    a = features(x, RATE, Span(0, 2), [Span(0, 2)])
    b = features(x * np.float32(2.0), RATE, Span(0, 2), [Span(0, 2)])
    assert b.intensity_db - a.intensity_db == pytest.approx(20 * np.log10(2), abs=0.02)
    # Silence padded around the speech but outside the activity changes nothing.
    padded = np.concatenate([np.zeros(RATE, np.float32), x, np.zeros(RATE, np.float32)])
    c = features(padded, RATE, Span(0, 4), [Span(1, 3)])
    assert c.intensity_db == pytest.approx(a.intensity_db, abs=0.3)
    assert c.pitch_mean_hz == pytest.approx(180.0, abs=0.5)


@needs_praat
def test_words_per_minute_counts_words_in_the_segment_per_minute_of_speech() -> None:
    x = voiced(np.full(4 * RATE, 120.0))
    words = [Word(0.1 + 0.4 * i, 0.4 + 0.4 * i, f"w{i}", 1.0) for i in range(9)]  # 0.1..3.6
    # segment 1-4 s: words with midpoints 1.05..3.45 -> 7 words; speech 1-2 and 2.5-4 = 2.5 s
    p = features(x, RATE, Span(1, 4), [Span(0, 2), Span(2.5, 4)], words)
    assert p.words == 7 and p.speech_s == pytest.approx(2.5)
    assert p.wpm == pytest.approx(7 / 2.5 * 60)


def test_too_little_speech_gives_nothing() -> None:
    x = voiced(np.full(RATE, 120.0))
    p = features(x, RATE, Span(0, 1), [Span(0.2, 0.5)])
    assert p.wpm is None and p.pitch_mean_st is None and p.speech_s == 0.0


@pytest.mark.slow
@needs_praat
def test_speech_sped_up_three_semitones_measures_three_semitones() -> None:
    # Tape-style speed-up multiplies every frequency by 2 ** (3 / 12): the F0 of real speech
    # moves by exactly 3 semitones. (The joe-high voice does not: it is synthesised slower
    # first, and Piper's intonation changes with the tempo.)
    from duplex.audio import resample, trim_silence, varispeed
    from duplex.speech import tts

    text = "The weather has been lovely this week, warm and dry every afternoon."
    y, rate = tts.synthesize(text)
    y = resample(trim_silence(y, rate), rate, RATE)
    means = []
    for x in (y, varispeed(y, 2 ** (3 / 12))):
        d = x.size / RATE
        means.append(features(x, RATE, Span(0, d), [Span(0, d)]).pitch_mean_st)
    # Voicing decisions at the edges of voiced stretches differ between the two (measured: 2.88
    # to 3.12 st over three sentences), hence the tolerance.
    assert means[1] - means[0] == pytest.approx(3.0, abs=0.15)


def test_paired_test_trims_an_outlier_and_finds_the_shift() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(5.0, 1.0, 30)
    b = a + 0.8 + rng.normal(0, 0.1, 30)
    b[3] = a[3] + 40.0  # one broken item
    t = paired_test(list(a), list(b))
    assert t.trimmed == 1 and t.n == 29
    assert t.mean_diff == pytest.approx(0.8, abs=0.05)
    assert t.p_t is not None and t.p_t < 1e-6
    assert t.p_wilcoxon is not None and t.p_wilcoxon < 1e-4
    # no shift: no significance
    same = paired_test(list(a), list(a + rng.normal(0, 0.1, 30)))
    assert same.p_t is not None and same.p_t > 0.01


def test_paired_test_drops_missing_pairs_and_handles_degenerate_input() -> None:
    t = paired_test([1.0, None, 2.0], [2.0, 5.0, None])
    assert t.n == 1 and t.t is None and t.mean_diff == 1.0
    assert paired_test([], []).n == 0
    assert mad_keep(np.array([1.0, 1.0, 1.0, 9.0])).all()  # MAD 0: keep everything
