"""Spoken contexts: deterministic, cached on disk, noise at the stated SNR."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from duplex import audio
from duplex.probes import cache, conditions
from duplex.probes.conditions import CONDITIONS, ORDER
from duplex.speech import tts

TEXT = "My body cast a shadow over the grass because"


@pytest.fixture
def cache_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DUPLEX_BENCH_CACHE", str(tmp_path))
    return tmp_path / "probes"


def test_conditions_cover_voices_rates_and_noise() -> None:
    spoken = [CONDITIONS.get(n) for n in ORDER if CONDITIONS.get(n).spoken]
    assert {c.voice for c in spoken} >= {"joe", "joe-low", "joe-high"}
    assert {c.length_scale for c in spoken} >= {0.8, 1.0, 1.25}
    assert {c.snr_db for c in spoken} >= {20.0, 5.0}
    assert ORDER[:2] == ("t2t", "s2t")


def test_render_is_cached_and_identical(cache_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cond = CONDITIONS.get("s2t")
    x1, rate = conditions.render(TEXT, cond)
    files = list(cache_root.glob("*.npz"))
    assert len(files) == 1
    pad = audio.seconds_to_samples(conditions.PAD_S, rate)
    assert not x1[:pad].any() and not x1[-pad:].any()

    def boom(*a: object, **k: object) -> None:
        raise AssertionError("synthesised again despite the cache")

    monkeypatch.setattr(tts, "synthesize", boom)
    x2, _ = conditions.render(TEXT, cond)
    assert np.array_equal(x1, x2)
    # a damaged entry is ignored and re-rendered, never trusted
    monkeypatch.undo()
    monkeypatch.setenv("DUPLEX_BENCH_CACHE", str(cache_root.parent))
    files[0].write_bytes(b"not a zip")
    x3, _ = conditions.render(TEXT, cond)
    assert np.array_equal(x1, x3)


def test_noise_is_seeded_and_at_the_stated_snr(cache_root: Path) -> None:
    clean, rate = conditions.render(TEXT, CONDITIONS.get("s2t"))
    for name, snr in (("s2t-snr20", 20.0), ("s2t-snr5", 5.0)):
        noisy, _ = conditions.render(TEXT, CONDITIONS.get(name))
        again, _ = conditions.render(TEXT, CONDITIONS.get(name))
        assert np.array_equal(noisy, again)
        other_seed, _ = conditions.render(TEXT, CONDITIONS.get(name), seed=1)
        assert not np.array_equal(noisy, other_seed)
        noise = noisy - clean
        speech_db = audio.rms_db(audio.trim_silence(clean, rate))
        assert speech_db - audio.rms_db(noise) == pytest.approx(snr, abs=0.1)


def test_a_loud_noisy_mix_is_turned_down_as_a_whole_not_clipped() -> None:
    # Speech-like: -20 dBFS RMS with peaks near full scale, as a plosive in the TTS output can be.
    rate, rng = 22050, np.random.default_rng(3)
    x = (0.1 * rng.standard_normal(rate)).astype(np.float32)
    x[rate // 2] = 0.97
    mixed = conditions.add_noise(x, rate, 5.0, seed=7)  # used to raise "exceeds full scale"
    voiced = audio.trim_silence(x, rate)
    gain = audio.db_to_gain(audio.rms_db(voiced) - 5.0)
    unclipped = x + gain * conditions.speech_shaped_noise(voiced, x.size, 7)
    scale = float(np.max(np.abs(mixed)) / np.max(np.abs(unclipped)))
    assert scale < 1.0 and np.max(np.abs(mixed)) <= 0.99
    # speech and noise turned down together: the same mix, so the same SNR
    np.testing.assert_allclose(mixed, scale * unclipped, atol=1e-5)


def test_speech_shaped_noise_follows_the_speech_spectrum() -> None:
    rng = np.random.default_rng(0)
    low = np.convolve(rng.standard_normal(20000), np.ones(16) / 16, mode="same").astype(np.float32)
    n = conditions.speech_shaped_noise(low, 20000, seed=0)
    spec = np.abs(np.fft.rfft(n)) ** 2
    half = spec.size // 2
    assert spec[:half].sum() > 20 * spec[half:].sum()  # energy where the reference has it
    assert float(np.sqrt(np.mean(n**2))) == pytest.approx(1.0, rel=1e-5)


def test_cache_key_changes_with_content() -> None:
    assert cache.key({"a": 1}) == cache.key({"a": 1})
    assert cache.key({"a": 1}) != cache.key({"a": 2})
