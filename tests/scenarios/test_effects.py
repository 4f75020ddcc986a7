"""Room effects: filter responses, echo positions and levels, measured on the output."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from duplex.errors import UnknownNameError
from duplex.scenarios import effects
from duplex.scenarios.effects import EFFECTS, apply, high_shelf, impulse_response, lowpass

RATE = 24000


def gain_db(sos: np.ndarray, hz: float) -> float:
    _, h = signal.sosfreqz(sos, worN=[hz], fs=RATE)
    return float(20 * np.log10(abs(h[0])))


def tone_gain_db(effect: str, hz: float) -> float:
    """Level change of a steady sine through the tone filter alone (reflections removed)."""
    spec = EFFECTS.get(effect)
    flat = effects.Effect(spec.name, 0.0, spec.tone, (), "")
    t = np.arange(RATE) / RATE
    x = (0.1 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    y = apply(x, RATE, flat)
    steady = slice(RATE // 2, RATE)  # after the filter's transient
    return float(20 * np.log10(np.std(y[steady]) / np.std(x[steady])))


def test_high_shelf_passes_1k_and_cuts_above_4k() -> None:
    sos = high_shelf(RATE)
    assert gain_db(sos, 1000) == pytest.approx(0.0, abs=0.6)
    assert gain_db(sos, 4000) == pytest.approx(effects.SHELF_DB / 2, abs=0.5)  # half at corner
    assert gain_db(sos, 6000) < effects.SHELF_DB + 3.0
    assert gain_db(sos, 10000) == pytest.approx(effects.SHELF_DB, abs=0.6)
    # the same measured on signals through the effect
    assert tone_gain_db("other_room", 1000) == pytest.approx(0.0, abs=0.6)
    assert tone_gain_db("other_room", 6000) < -9.0


def test_lowpass_passes_1k_and_cuts_6k() -> None:
    sos = lowpass(RATE)
    assert gain_db(sos, 1000) == pytest.approx(0.0, abs=0.1)
    assert gain_db(sos, effects.LOWPASS_HZ) == pytest.approx(-3.0, abs=0.1)
    assert gain_db(sos, 6000) < -30.0  # 6th order: 36 dB per octave
    assert tone_gain_db("background", 1000) == pytest.approx(0.0, abs=0.2)
    assert tone_gain_db("background", 6000) < -30.0


def _peaks(h: np.ndarray, n: int) -> list[tuple[float, float]]:
    """(delay s, height dB re lag 0) of the ``n`` strongest autocorrelation peaks past lag 0."""
    ac = np.correlate(h, h, mode="full")[h.size - 1 :]
    found, _ = signal.find_peaks(ac, distance=int(0.01 * RATE))
    top = sorted(found, key=lambda i: -ac[i])[:n]
    return [(i / RATE, float(10 * np.log10(ac[i] / ac[0]))) for i in sorted(top)]


def test_reflections_of_other_room_by_autocorrelation() -> None:
    # White noise through the effect: its autocorrelation has peaks at the delays (and their
    # difference, 75 ms), with the cross products of the path gains as heights.
    x = np.random.default_rng(1).normal(0, 0.05, 4 * RATE).astype(np.float32)
    y = apply(
        x, RATE, effects.Effect("echo-only", 0.0, "flat", EFFECTS.get("other_room").reflections, "")
    )
    peaks = _peaks(y, 3)
    delays = [round(d, 4) for d, _ in peaks]
    assert delays == [0.045, 0.075, 0.120]
    g1, g2 = 10 ** (-6 / 20), 10 ** (-12 / 20)
    energy = 1 + g1**2 + g2**2
    want = [g1 / energy, g1 * g2 / energy, g2 / energy]  # path pairs 0-45, 45-120, 0-120
    for (_, got), w in zip(peaks, want, strict=True):
        assert got == pytest.approx(10 * np.log10(w), abs=0.4)


def test_background_echo_position_and_level() -> None:
    h = impulse_response("background", RATE)
    direct = np.max(np.abs(h[: int(0.05 * RATE)]))
    late = np.abs(h[int(0.09 * RATE) :])
    at = int(np.argmax(late)) + int(0.09 * RATE)
    # The low-pass delays its impulse peak by a few samples; the echo sits 100 ms after it.
    lag = at - int(np.argmax(np.abs(h[: int(0.05 * RATE)])))
    assert lag == round(0.1 * RATE)
    assert 20 * np.log10(np.abs(h[at]) / direct) == pytest.approx(-10.0, abs=0.1)


def test_levels_and_lengths() -> None:
    x = np.random.default_rng(2).normal(0, 0.05, RATE).astype(np.float32)
    for name, level in (("none", 0.0), ("other_room", -8.0), ("background", -15.0)):
        spec = EFFECTS.get(name)
        assert spec.level_db == level
        y = apply(x, RATE, name)
        assert y.size == x.size + round(spec.tail_s * RATE)
    # the direct path (first 45 ms, before any reflection) of other_room: -8 dB below 4 kHz
    lo = signal.sosfilt(lowpass(RATE, 2000.0), x)
    y = apply(lo.astype(np.float32), RATE, "other_room")
    first = slice(200, int(0.045 * RATE))
    assert 20 * np.log10(np.std(y[first]) / np.std(lo[first])) == pytest.approx(-8.0, abs=0.5)
    assert np.array_equal(apply(x, RATE, "none"), x)
    assert apply(x, RATE, "background", level_db=-20.0).std() < apply(x, RATE, "background").std()


def test_unknown_effect_names_the_choices() -> None:
    with pytest.raises(UnknownNameError, match="background"):
        apply(np.zeros(10, np.float32), RATE, "backgrund")
