"""Conditions: how a probe's context (and continuation) reach the model, and their rendering.

``t2t``: text context, text continuation (the ceiling). ``s2t``: the context spoken by the Piper
voice "joe" at its natural rate, clean; the variants change one thing each: the voice
(``s2t-joe-low``/``-high``, pitch-shifted speakers), the rate (``s2t-slow``/``-fast``:
``length_scale`` 1.25 and 0.8; Piper rounds phoneme durations, so about 14 % slower and 7-10 %
faster in practice) or additive noise (``s2t-snr20``/``-snr5``). ``s2s`` speaks the continuation
too; only models that score audio continuations take it.

Rendering
    Every spoken context is the TTS output (normalised to -20 dBFS over its voiced part) with
    :data:`PAD_S` of digital silence before and after, at the voice's rate (22.05 kHz). Clean
    renders are cached by content hash (``$DUPLEX_BENCH_CACHE/probes``); noise is added on load.

Noise
    Speech-shaped noise: Gaussian noise filtered to the long-term average spectrum of the clean
    utterance itself (Welch estimate, 1024-point segments), so it masks the same frequencies the
    voice uses, as a competing crowd would, rather than the high frequencies white noise
    dominates. It covers the whole clip, padding included. SNR = the speech's RMS over its voiced
    part minus the noise's RMS over the clip, in dB. The generator is seeded with
    ``sha256(text, snr, seed)``: the same item and seed always get the same noise, different items
    get independent noise. A mix whose peak would pass -0.1 dBFS is turned down as a whole
    (speech and noise together, so the SNR is unchanged) instead of clipping.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from scipy import signal

from duplex import audio
from duplex.audio import Placed, Samples
from duplex.probes import cache
from duplex.probes.scoring import SPEECH, SPEECH_BOTH, TEXT
from duplex.registry import Registry
from duplex.speech import tts

#: Bump when rendering changes so that old cache entries stop matching.
RENDER_VERSION = "1"
PAD_S = 0.3
NOISE_KIND = "speech-shaped (long-term spectrum of the utterance), Gaussian, seeded"
#: the highest peak of a noisy mix (-0.1 dBFS); a louder mix is turned down as a whole
_PEAK = 0.989


@dataclass(frozen=True)
class Condition:
    name: str
    modality: str  # TEXT, SPEECH (spoken context) or SPEECH_BOTH (spoken continuation too)
    voice: str = "joe"
    length_scale: float = 1.0
    snr_db: float | None = None
    summary: str = ""

    @property
    def spoken(self) -> bool:
        return self.modality != TEXT

    def describe(self) -> dict[str, object]:
        return {
            "modality": self.modality,
            "voice": self.voice if self.spoken else None,
            "length_scale": self.length_scale if self.spoken else None,
            "snr_db": self.snr_db,
            "noise": NOISE_KIND if self.snr_db is not None else None,
        }


CONDITIONS: Registry[Condition] = Registry("condition")
_ALL = (
    Condition("t2t", TEXT, summary="text context, text continuation"),
    Condition("s2t", SPEECH, summary="spoken context (joe, natural rate, clean)"),
    Condition("s2t-joe-low", SPEECH, voice="joe-low", summary="spoken by joe-low (-3 semitones)"),
    Condition(
        "s2t-joe-high", SPEECH, voice="joe-high", summary="spoken by joe-high (+3 semitones)"
    ),
    Condition("s2t-slow", SPEECH, length_scale=1.25, summary="spoken slowly (length_scale 1.25)"),
    Condition("s2t-fast", SPEECH, length_scale=0.8, summary="spoken fast (length_scale 0.8)"),
    Condition("s2t-snr20", SPEECH, snr_db=20.0, summary="speech-shaped noise at 20 dB SNR"),
    Condition("s2t-snr5", SPEECH, snr_db=5.0, summary="speech-shaped noise at 5 dB SNR"),
    Condition("s2s", SPEECH_BOTH, summary="spoken context and spoken continuation (joe, clean)"),
)
for _c in _ALL:
    CONDITIONS.add(_c.name, _c, _c.summary)
#: The order conditions run and print in (the registry itself lists names alphabetically).
ORDER = tuple(c.name for c in _ALL)


def render(text: str, condition: Condition, *, seed: int = 0) -> tuple[Samples, int]:
    """``text`` spoken under ``condition`` (its voice, rate and noise); deterministic, cached."""
    clean, rate = _render_clean(text, condition.voice, condition.length_scale)
    if condition.snr_db is None:
        return clean, rate
    return add_noise(clean, rate, condition.snr_db, _noise_seed(text, condition.snr_db, seed)), rate


def _render_clean(text: str, voice: str, length_scale: float) -> tuple[Samples, int]:
    k = cache.key(
        {
            "kind": "probe-context",
            "render_version": RENDER_VERSION,
            "text": text,
            "voice": voice,
            "length_scale": length_scale,
            "pad_s": PAD_S,
            "tts": tts.tts_provenance(),
        }
    )
    hit = cache.load_audio(k)
    if hit is not None:
        return hit
    speech, rate = tts.synthesize(text, voice=voice, length_scale=length_scale)
    speech = audio.trim_silence(speech, rate)
    pad = audio.seconds_to_samples(PAD_S, rate)
    x = np.concatenate([audio.silence(pad), speech, audio.silence(pad)]).astype(np.float32)
    cache.store_audio(k, x, rate)
    return x, rate


def _noise_seed(text: str, snr_db: float, seed: int) -> int:
    digest = hashlib.sha256(f"{text}\x00{snr_db!r}\x00{seed}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def speech_shaped_noise(reference: Samples, n: int, seed: int) -> Samples:
    """``n`` samples of unit-RMS Gaussian noise with the long-term spectrum of ``reference``
    (the voiced speech, without leading or trailing silence)."""
    rng = np.random.default_rng(seed)
    white = rng.standard_normal(n)
    nper = min(1024, max(16, reference.size))
    freqs, psd = signal.welch(reference.astype(np.float64), nperseg=nper)
    spectrum = np.fft.rfft(white)
    grid = np.fft.rfftfreq(n)  # cycles per sample, like welch's default fs=1
    shaped = np.fft.irfft(spectrum * np.sqrt(np.interp(grid, freqs, psd)), n)
    rms = float(np.sqrt(np.mean(shaped**2)))
    if rms == 0.0:
        return np.zeros(n, np.float32)
    return (shaped / rms).astype(np.float32)


def add_noise(x: Samples, rate: int, snr_db: float, seed: int) -> Samples:
    """``x`` plus speech-shaped noise at ``snr_db`` below the voiced speech level."""
    voiced = audio.trim_silence(x, rate)
    level = audio.rms_db(voiced)
    if not np.isfinite(level):
        return x
    noise = speech_shaped_noise(voiced, x.size, seed)  # unit RMS = 0 dBFS
    noise_db = level - snr_db
    # At 5 dB SNR a speech peak meeting a noise peak can pass full scale. The whole mix is turned
    # down then: the SNR stays what the condition says, and Whisper does not hear the level.
    peak = float(np.max(np.abs(x + noise * audio.db_to_gain(noise_db))))
    trim_db = min(0.0, 20.0 * float(np.log10(_PEAK / peak))) if peak > 0 else 0.0
    return audio.mix([Placed(x, gain_db=trim_db), Placed(noise, gain_db=noise_db + trim_db)])
