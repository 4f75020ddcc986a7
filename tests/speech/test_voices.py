"""Other talkers: distinct from the user's voices, deterministic, intelligible."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from duplex import audio
from duplex.errors import UnknownNameError
from duplex.speech import tts, voices
from tests.support.praat import needs_praat

pytestmark = pytest.mark.slow
TEXT = "I told your brother we would be there by dinner time."


@functools.cache
def f0_median(voice: str) -> float:
    import parselmouth

    if voice in voices.TALKERS:
        x, rate = voices.synthesize(TEXT, voice)
    else:
        x, rate = tts.synthesize(TEXT, voice=voice)
    pitch = parselmouth.Sound(x.astype(np.float64), rate).to_pitch(pitch_floor=50.0)
    f0 = pitch.selected_array["frequency"]
    return float(np.median(f0[f0 > 0]))


@needs_praat
@pytest.mark.parametrize("talker", voices.TALKERS.names())
def test_talker_pitch_is_far_from_every_user_voice(talker: str) -> None:
    # benchmarks/voices_bench.py over eight sentences: 5.9 st (ray) to 14.4 st (mia)
    for user in tts.VOICES.names():
        distance = abs(12 * np.log2(f0_median(talker) / f0_median(user)))
        assert distance >= 4.0, (talker, user, distance)
    assert f0_median(talker) == pytest.approx(voices.TALKERS.get(talker).pitch_median_hz, rel=0.1)


@needs_praat
def test_revoicing_is_deterministic_keeps_length_and_level() -> None:
    a, rate = voices.synthesize(TEXT, "ann")
    b, _ = voices.synthesize(TEXT, "ann")
    assert np.array_equal(a, b)  # Praat's random generator is seeded per call
    joe, _ = tts.synthesize(TEXT, voice="joe")
    assert a.size == joe.size  # ann speaks at Joe's tempo (length_scale 1.0)
    # -20 dBFS RMS like the user's speech, unless the peak limit (-1 dBFS) turned it down
    level = audio.rms_db(audio.trim_silence(a, rate))
    peak = 20 * np.log10(np.max(np.abs(a)))
    assert level <= -19.99 and peak <= -0.99
    assert level == pytest.approx(-20.0, abs=0.01) or peak == pytest.approx(-1.0, abs=0.01)


@needs_praat
def test_whisper_understands_every_talker() -> None:
    from duplex.speech.asr import transcribe

    for talker in voices.TALKERS.names():
        x, rate = voices.synthesize(TEXT, talker)
        text = transcribe(audio.resample(x, rate, 16000), 16000).text.lower()
        for word in ("brother", "dinner", "time"):
            assert word in text, (talker, text)


def test_unknown_talker() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'ann'"):
        voices.synthesize(TEXT, "anne")
