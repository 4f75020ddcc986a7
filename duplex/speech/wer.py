"""Word error rate as ASR papers report it: ``jiwer``'s alignment over text normalised by
Whisper's English normaliser (``whisper-normalizer``: numbers, spellings, contractions and
punctuation made comparable, so "Mr. Smith's 2 colours" and "mister smith's two colors" agree)."""

from __future__ import annotations

import functools
from collections.abc import Callable

import jiwer


@functools.cache
def _normaliser() -> Callable[[str], str]:
    from whisper_normalizer.english import EnglishTextNormalizer

    normaliser: Callable[[str], str] = EnglishTextNormalizer()
    return normaliser


def normalise(text: str) -> str:
    return " ".join(_normaliser()(text).split())


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(substitutions + deletions + insertions, reference words) after normalisation, so errors
    can be pooled over many utterances (pooled WER = sum of errors / sum of words)."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    words = len(ref.split())
    if not words:
        return len(hyp.split()), 0
    out = jiwer.process_words(ref, hyp)
    return out.substitutions + out.deletions + out.insertions, words
