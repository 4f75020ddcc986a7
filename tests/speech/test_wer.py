"""Word error rate: jiwer's alignment over Whisper-normalised text."""

from __future__ import annotations

from duplex.speech.wer import normalise, word_errors


def test_word_errors_count_edits_over_reference_words() -> None:
    assert word_errors("The cat sat.", "the cat sat") == (0, 3)
    assert word_errors("well-groomed lawn", "well groomed long") == (1, 3)
    assert word_errors("a b", "") == (2, 2)
    assert word_errors("", "hello") == (1, 0)


def test_the_normaliser_makes_spellings_and_contractions_comparable() -> None:
    assert normalise("I'm gonna buy colours, Mr. Smith!") == "i am going to buy colors mister smith"
    assert word_errors("Mr. Smith bought colours", "mister smith bought colors") == (0, 4)
