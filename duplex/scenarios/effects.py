"""Room effects for overlapping speech: how the microphone hears speech not meant for the model.

Full-Duplex-Bench v1.5 renders its overlaps with two settings (figures from its paper):

``other_room``  the user turns away to talk to someone else: -8 dB, a high-shelf cut above 4 kHz
                (speech aimed away from a microphone loses its highs first: the mouth radiates
                high frequencies forward) and two reflections, 45 ms at -6 dB and 120 ms at
                -12 dB (the room becomes audible once the direct path is weaker).
``background``  a TV, radio or conversation elsewhere in the room: -15 dB, a 3 kHz low-pass and
                a 100 ms echo at -10 dB.

``none`` passes the speech through at its level. Levels are gains on the *direct* path relative
to the dry input (TTS speech at -20 dBFS RMS, the user's level); reflection gains are relative to
the direct path. The paper gives no depth for the shelf; we cut 12 dB, which puts the band above
4 kHz about where a talker facing 90 degrees away is heard (speech directivity loses 10-15 dB
there). All filters are causal IIR filters from :mod:`scipy.signal` run once over the utterance;
the output is longer than the input by the longest delay, so echo tails are kept, not cut.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import signal

from duplex.audio import Samples, db_to_gain
from duplex.errors import AudioError
from duplex.registry import Registry

#: Bump when any effect's processing changes: it is part of rendered items' cache keys.
EFFECTS_VERSION = "1"
#: Corner of the high-shelf cut of ``other_room`` and its depth.
SHELF_HZ = 4000.0
SHELF_DB = -12.0
#: Corner and order of the ``background`` low-pass (Butterworth: flat passband, no ripple).
LOWPASS_HZ = 3000.0
LOWPASS_ORDER = 6


@dataclass(frozen=True)
class Reflection:
    delay_s: float
    gain_db: float


@dataclass(frozen=True)
class Effect:
    """A room rendering: default level, a tone filter and reflections (all relative)."""

    name: str
    level_db: float
    tone: str  # "flat" | "high_shelf" | "lowpass"
    reflections: tuple[Reflection, ...]
    summary: str

    @property
    def tail_s(self) -> float:
        """How much longer than its input the output is (the longest reflection delay)."""
        return max((r.delay_s for r in self.reflections), default=0.0)


EFFECTS: Registry[Effect] = Registry("room effect")
for _effect in (
    Effect("none", 0.0, "flat", (), "dry speech at the user's level"),
    Effect(
        "other_room",
        -8.0,
        "high_shelf",
        (Reflection(0.045, -6.0), Reflection(0.120, -12.0)),
        "turned away: -8 dB, -12 dB shelf above 4 kHz, reflections 45 ms/-6 dB, 120 ms/-12 dB",
    ),
    Effect(
        "background",
        -15.0,
        "lowpass",
        (Reflection(0.100, -10.0),),
        "elsewhere in the room: -15 dB, 3 kHz low-pass, 100 ms echo at -10 dB",
    ),
):
    EFFECTS.add(_effect.name, _effect, _effect.summary)


def high_shelf(rate: int, corner_hz: float = SHELF_HZ, gain_db: float = SHELF_DB) -> npt.NDArray:
    """Second-order high shelf (the audio-EQ-cookbook biquad, shelf slope 1) as SOS.

    Unity gain well below ``corner_hz``, ``gain_db`` well above it, half of it (in dB) at it.
    """
    a = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * np.pi * corner_hz / rate
    cos_w0 = np.cos(w0)
    alpha = np.sin(w0) / 2.0 * np.sqrt(2.0)  # slope S = 1 -> Q = 1/sqrt(2)
    root = 2.0 * np.sqrt(a) * alpha
    b = np.array(
        [
            a * ((a + 1) + (a - 1) * cos_w0 + root),
            -2 * a * ((a - 1) + (a + 1) * cos_w0),
            a * ((a + 1) + (a - 1) * cos_w0 - root),
        ]
    )
    den = np.array(
        [
            (a + 1) - (a - 1) * cos_w0 + root,
            2 * ((a - 1) - (a + 1) * cos_w0),
            (a + 1) - (a - 1) * cos_w0 - root,
        ]
    )
    return np.concatenate([b / den[0], den / den[0]])[None, :]


def lowpass(rate: int, corner_hz: float = LOWPASS_HZ, order: int = LOWPASS_ORDER) -> npt.NDArray:
    """Butterworth low-pass as SOS: -3 dB at ``corner_hz``, ``6 * order`` dB per octave beyond."""
    sos: npt.NDArray = signal.butter(order, corner_hz, btype="lowpass", fs=rate, output="sos")
    return sos


def tone_filter(effect: Effect, rate: int) -> npt.NDArray | None:
    """The effect's tone filter as SOS, or None for a flat one."""
    if effect.tone == "high_shelf":
        return high_shelf(rate)
    if effect.tone == "lowpass":
        return lowpass(rate)
    return None


def apply(x: Samples, rate: int, effect: str | Effect, level_db: float | None = None) -> Samples:
    """``x`` as heard through ``effect``: filtered, reflected and at ``level_db`` (default: the
    effect's level). The result is ``round(effect.tail_s * rate)`` samples longer than ``x``."""
    spec = EFFECTS.get(effect) if isinstance(effect, str) else effect
    if x.ndim != 1:
        raise AudioError(f"room effect {spec.name}: expected mono audio, got {x.shape}")
    gain = db_to_gain(spec.level_db if level_db is None else level_db)
    sos = tone_filter(spec, rate)
    direct = np.asarray(x, np.float64)
    if sos is not None:
        direct = signal.sosfilt(sos, direct)
    out = np.zeros(x.size + round(spec.tail_s * rate), np.float64)
    out[: x.size] += direct
    for r in spec.reflections:
        d = round(r.delay_s * rate)
        out[d : d + x.size] += db_to_gain(r.gain_db) * direct
    return (out * gain).astype(np.float32)


def impulse_response(effect: str | Effect, rate: int, seconds: float = 0.25) -> Samples:
    """The effect's response to a unit impulse (for tests and plots)."""
    x = np.zeros(round(seconds * rate), np.float32)
    x[0] = 1.0
    return apply(x, rate, effect)
