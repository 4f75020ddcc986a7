"""The cascade's turn transcription: a short encoder window, words after pauses, long turns."""

from __future__ import annotations

import pytest

from duplex.models.cascade import listen
from duplex.models.cascade.turn import words
from tests.speech.speechdata import RATE, place, say

pytestmark = pytest.mark.slow


def test_a_short_turn_is_transcribed_word_for_word() -> None:
    audio = place([(0.25, say("What is the capital of France?"))], 2.4)
    expected = ["what", "is", "the", "capital", "of", "france"]
    assert words(listen.transcribe(audio, RATE)) == expected


def test_words_after_a_pause_are_kept() -> None:
    # In a short window without timestamp tokens Whisper ended the text at the first pause.
    first, second = say("I was thinking that we could"), say("go to the beach tomorrow.")
    t2 = 0.25 + first.size / RATE + 1.2
    audio = place([(0.25, first), (t2, second)], t2 + second.size / RATE + 0.3)
    got = words(listen.transcribe(audio, RATE))
    assert got[-2:] == ["beach", "tomorrow"], got
    assert got[:3] == ["i", "was", "thinking"], got


SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "My sister moved to Lisbon last spring.",
    "We should buy more apples at the market.",
    "The train to Boston leaves at seven.",
)


def test_a_turn_longer_than_the_largest_window_is_transcribed_in_full() -> None:
    clips = [say(SENTENCES[i % len(SENTENCES)]) for i in range(12)]
    t, placed = 0.0, []
    for clip in clips:
        placed.append((t, clip))
        t += clip.size / RATE + 0.7
    audio = place(placed, t)
    assert audio.size / RATE > 30
    got = words(listen.transcribe(audio, RATE))
    for word in ("fox", "lisbon", "apples", "boston"):
        assert got.count(word) >= 2, got
    assert got[-3:] == ["leaves", "at", "seven"], got
