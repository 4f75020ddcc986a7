"""Other talkers: people in the user's room who are not the user (a partner, a TV presenter).

Why not more Piper voices: the only offline Piper voice is en_US-joe-medium, and the user's
voices are it and tape-style pitch shifts of it (``joe``, ``joe-low``, ``joe-high``: pitch *and*
formants move together by +-3 semitones, F0 medians about 82-115 Hz). An overlap by "someone
else" that sounds like a pitch-shifted user would not test whether a model tells the user from
others. So another talker is Joe's speech re-voiced with Praat's "Change gender" (through
``praat-parselmouth``): the formants (vocal tract length) and the pitch (median and range) are
set *independently*, and the tempo through Piper's ``length_scale``. A vocal tract 15-25 % shorter
with an F0 of 200-240 Hz is heard as a woman; a flat, higher male voice with slightly raised
formants and a slower tempo as another man. The figures that show the talkers are distinct from
the user's voices, and still intelligible to Whisper, are in ``benchmarks/voices_bench.py``.

Praat's algorithm: the sound is resampled to shift the formants by ``formant_ratio`` (which also
scales pitch and duration), then PSOLA sets the pitch contour to ``pitch_median_hz`` with its
excursions scaled by ``pitch_range`` and restores the duration. Its resynthesis draws from Praat's
global random generator (seeded from the clock: two calls gave samples 0.37 apart), so every call
seeds it with :data:`PRAAT_SEED` under a lock and unseeds it after: the same text always gives
the same samples, which the clean/overlapped pairs and the render cache rely on.

Licence: Praat and parselmouth are GPL-3.0; like ``piper-tts`` in :mod:`duplex.speech.tts` this
matters for distribution, not for the audio. It is imported only when a talker is synthesised.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import numpy as np

from duplex import audio
from duplex.audio import Samples
from duplex.errors import BackendError
from duplex.registry import Registry
from duplex.speech import tts

#: Praat's pitch analysis range for Change gender (Hz): wide enough for Joe's lowest creak and
#: the highest target voice.
_PITCH_FLOOR = 60.0
_PITCH_CEILING = 600.0
_TARGET_RMS_DB = -20.0  # the user's level; room effects set the relative level
PRAAT_SEED = 17
_PRAAT_LOCK = threading.Lock()  # Praat's random generator is process-global


@dataclass(frozen=True)
class Talker:
    """A derived speaker: Joe's speech with new formants, pitch and tempo."""

    name: str
    formant_ratio: float  # > 1: shorter vocal tract (higher formants)
    pitch_median_hz: float
    pitch_range: float  # factor on the pitch excursions around the median
    length_scale: float  # Piper tempo, > 1 slower
    summary: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "formant_ratio": self.formant_ratio,
            "pitch_median_hz": self.pitch_median_hz,
            "pitch_range": self.pitch_range,
            "length_scale": self.length_scale,
        }


TALKERS: Registry[Talker] = Registry("talker")
for _talker in (
    Talker("ann", 1.17, 205.0, 1.3, 1.0, "a woman: formants +17 %, F0 205 Hz, lively"),
    Talker("mia", 1.24, 245.0, 1.5, 0.9, "a young woman: formants +24 %, F0 245 Hz, quicker"),
    Talker("ray", 1.08, 150.0, 0.6, 1.12, "another man: formants +8 %, F0 150 Hz, flat, slower"),
    Talker("sue", 1.12, 185.0, 0.9, 1.05, "an older woman: formants +12 %, F0 185 Hz, steady"),
):
    TALKERS.add(_talker.name, _talker, _talker.summary)


def _praat() -> Any:
    try:
        import parselmouth
    except ImportError as exc:
        raise BackendError(
            "voices: praat-parselmouth is not installed; install "
            "the extra 'praat' (`pip install 'duplex-bench[praat]'`)"
        ) from exc
    return parselmouth


def revoice(x: Samples, rate: int, talker: Talker) -> Samples:
    """Joe's speech ``x`` as spoken by ``talker`` (same length), at -20 dBFS RMS."""
    parselmouth = _praat()
    from parselmouth.praat import call, run

    sound = parselmouth.Sound(np.asarray(x, np.float64), sampling_frequency=rate)
    with _PRAAT_LOCK:
        run(f"random_initializeWithSeedUnsafelyButPredictably ({PRAAT_SEED})")
        try:
            out = call(
                sound,
                "Change gender",
                _PITCH_FLOOR,
                _PITCH_CEILING,
                talker.formant_ratio,
                talker.pitch_median_hz,
                talker.pitch_range,
                1.0,
            )
        except parselmouth.PraatError as exc:
            raise BackendError(f"voices: praat could not re-voice as {talker.name}: {exc}") from exc
        finally:
            run("random_initializeSafelyAndUnpredictably ()")
    y = np.asarray(out.values[0], np.float32)
    y = audio.fit_length(y, x.size)
    level = audio.rms_db(audio.trim_silence(y, rate))
    if not np.isfinite(level):
        raise BackendError(f"voices: re-voicing as {talker.name} produced silence")
    gain = audio.db_to_gain(_TARGET_RMS_DB - level)
    peak = float(np.max(np.abs(y))) * gain
    gain *= min(1.0, audio.db_to_gain(-1.0) / peak) if peak > 0 else 1.0
    return (y * np.float32(gain)).astype(np.float32)


def synthesize(text: str, talker: str, *, length_scale: float = 1.0) -> tuple[Samples, int]:
    """Speak ``text`` as ``talker``; returns float32 mono samples and their rate.

    ``length_scale`` multiplies the talker's own tempo. Deterministic, like :func:`tts.synthesize`.
    """
    spec = TALKERS.get(talker)
    x, rate = tts.synthesize(text, voice="joe", length_scale=spec.length_scale * length_scale)
    return revoice(x, rate, spec), rate


def voices_provenance() -> dict[str, Any]:
    """What re-voices other talkers, for cache keys and results; cheap (loads nothing)."""
    try:
        version = metadata.version("praat-parselmouth")
    except metadata.PackageNotFoundError:
        version = None
    return {
        "method": "praat change gender",
        "seed": PRAAT_SEED,
        "package": "praat-parselmouth",
        "version": version,
        "pitch_floor_hz": _PITCH_FLOOR,
        "pitch_ceiling_hz": _PITCH_CEILING,
        "level_dbfs": _TARGET_RMS_DB,
    }
