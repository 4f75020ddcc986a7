"""The cascade scorer: a spoken context goes through the ASR, the text LM scores what it read.

This is how the project's embedded system hears: Whisper tiny.en (gated by the Silero VAD, see
:mod:`duplex.speech.asr`), then the language model. The transcript is used as the ASR gives it
(casing and punctuation included, e.g. a period Whisper puts at the end of an unfinished clause),
because that is what the cascade's LM really sees; it is recorded with every score. Transcripts
are cached on disk by the audio's hash and the ASR provenance.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from duplex.audio import Samples
from duplex.probes import cache
from duplex.probes.scoring import SPEECH, TEXT, TextScorer, TokenScores

Transcriber = Callable[[Samples, int], str]


def whisper_transcriber() -> tuple[Transcriber, dict[str, Any]]:
    """The project's ASR (faster-whisper tiny.en) as a cached ``(samples, rate) -> text``."""
    from duplex.speech import asr

    provenance = asr.asr_provenance()

    def transcribe(samples: Samples, rate: int) -> str:
        digest = hashlib.sha256(np.ascontiguousarray(samples, dtype="<f4").tobytes()).hexdigest()
        k = cache.key(
            {"kind": "probe-transcript", "audio": digest, "rate": rate, "asr": provenance}
        )
        hit = cache.load_json(k)
        if isinstance(hit, str):
            return hit
        text = asr.transcribe(samples, rate).text
        cache.store_json(k, text)
        return text

    return transcribe, provenance


class CascadeScorer:
    """Spoken context -> ``transcribe`` -> ``lm.score_text``; text goes straight to the LM."""

    modalities = frozenset({TEXT, SPEECH})

    def __init__(
        self,
        lm: TextScorer,
        transcribe: Transcriber | None = None,
        asr_info: dict[str, Any] | None = None,
    ) -> None:
        if transcribe is None:
            transcribe, asr_info = whisper_transcriber()
        self.lm = lm
        self.transcribe = transcribe
        self.asr_info = dict(asr_info or {"backend": "injected"})
        self.name = f"cascade:{lm.name}"

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "adapter": "cascade",
            "asr": self.asr_info,
            "lm": self.lm.describe(),
        }

    def score_text(self, context: str, continuations: Sequence[str]) -> list[TokenScores]:
        return self.lm.score_text(context, continuations)

    def score_speech(
        self, context: Samples, rate: int, continuations: Sequence[str]
    ) -> list[TokenScores]:
        transcript = self.transcribe(context, rate).strip()
        scores = self.lm.score_text(transcript, continuations)
        return [TokenScores(s.logprobs, s.tokens, transcript) for s in scores]
