"""The cascade scorer: a spoken context goes through the ASR, the text LM scores what it read.

This is how the project's embedded system hears: the cascade agent's own turn decoder
(:mod:`duplex.models.cascade.listen`: Whisper tiny.en over a short encoder window, greedy), then
the language model, so the gap measured is the agent's. The transcript is used as the ASR gives it
(casing and punctuation included, e.g. a period Whisper puts at the end of an unfinished clause),
because that is what the cascade's LM really sees; it is recorded with every score. Transcripts
are cached on disk by the audio's hash and the decoder's provenance.

Measured on 60 contexts (15 per set) against the scoring ASR of :mod:`duplex.speech.asr` (30 s
window, beam 5, word times gated by the VAD) that the probes used before: WER 13.0 vs 11.2 %
clean, 13.4 vs 10.8 % fast, 24.8 vs 24.0 % at 5 dB SNR, at 0.29 vs 0.98 s of CPU per context.

Batches (:meth:`CascadeScorer.score_speech_batch`): the contexts are transcribed ``workers`` at a
time, each on one thread of a Whisper model of its own (same weights, same decoding, the same
transcripts), then the LM scores every transcript's continuations together.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from duplex.audio import Samples
from duplex.probes import cache
from duplex.probes.scoring import SPEECH, TEXT, TextScorer, TokenScores

Transcriber = Callable[[Samples, int], str]


def whisper_transcriber(
    *, cached: bool = True, workers: int = 1
) -> tuple[Transcriber, dict[str, Any]]:
    """The cascade's turn decoder as a ``(samples, rate) -> text``, its transcripts cached on
    disk unless ``cached`` is False (a benchmark's cold figure).

    ``workers`` > 1: a model of its own that runs that many transcriptions at once, one thread
    each (call from as many threads); the transcripts are the same.
    """
    from duplex.models.cascade import listen
    from duplex.speech import asr

    provenance = listen.provenance()
    lock, loaded = threading.Lock(), list[listen.Decoder]()

    def decoder() -> listen.Decoder:
        with lock:  # loaded on first use (a t2t-only run never needs it), once
            if not loaded:
                whisper = asr.load_parallel(workers) if workers > 1 else None
                loaded.append(listen.Decoder(whisper))
            return loaded[0]

    def transcribe(samples: Samples, rate: int) -> str:
        digest = hashlib.sha256(np.ascontiguousarray(samples, dtype="<f4").tobytes()).hexdigest()
        k = cache.key(
            {"kind": "probe-transcript", "audio": digest, "rate": rate, "asr": provenance}
        )
        hit = cache.load_json(k) if cached else None
        if isinstance(hit, str):
            return hit
        text = decoder().transcribe(samples, rate)
        if cached:
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
        *,
        workers: int = 1,
    ) -> None:
        if transcribe is None:
            transcribe, asr_info = whisper_transcriber(workers=workers)
        #: Contexts of a batch transcribed at once (``transcribe`` must be thread-safe then).
        self.workers = max(1, workers)
        self.lm = lm
        self.transcribe = transcribe
        self.asr_info = dict(asr_info or {"backend": "injected"})
        self.name = f"cascade:{lm.name}"
        #: Wall seconds spent in each stage (``asr`` includes transcript-cache look-ups).
        self.stage_seconds = {"asr": 0.0, "lm": 0.0}

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "adapter": "cascade",
            "asr": self.asr_info,
            "asr_workers": self.workers,
            "lm": self.lm.describe(),
        }

    def score_text(self, context: str, continuations: Sequence[str]) -> list[TokenScores]:
        (scores,) = self._lm_batch([(context, continuations)], batch=False)
        return scores

    def score_speech(
        self, context: Samples, rate: int, continuations: Sequence[str]
    ) -> list[TokenScores]:
        (scores,) = self.score_speech_batch([(context, rate, continuations)], batch=False)
        return scores

    def score_text_batch(
        self, requests: Sequence[tuple[str, Sequence[str]]]
    ) -> list[list[TokenScores]]:
        return self._lm_batch(requests, batch=True)

    def score_speech_batch(
        self, requests: Sequence[tuple[Samples, int, Sequence[str]]], *, batch: bool = True
    ) -> list[list[TokenScores]]:
        """Every context through the ASR, then the transcripts scored together by the LM."""
        start = time.perf_counter()
        if batch and self.workers > 1 and len(requests) > 1:
            with ThreadPoolExecutor(self.workers, thread_name_prefix="probe-asr") as pool:
                heard = list(pool.map(lambda r: self.transcribe(r[0], r[1]), requests))
        else:
            heard = [self.transcribe(x, rate) for x, rate, _ in requests]
        transcripts = [t.strip() for t in heard]
        self.stage_seconds["asr"] += time.perf_counter() - start
        scored = self._lm_batch(
            [(t, conts) for t, (_, _, conts) in zip(transcripts, requests, strict=True)],
            batch=batch,
        )
        return [
            [TokenScores(s.logprobs, s.tokens, t) for s in scores]
            for t, scores in zip(transcripts, scored, strict=True)
        ]

    def _lm_batch(
        self, requests: Sequence[tuple[str, Sequence[str]]], *, batch: bool
    ) -> list[list[TokenScores]]:
        start = time.perf_counter()
        many = getattr(self.lm, "score_text_batch", None)
        if batch and many is not None:
            out = [list(scores) for scores in many(requests)]
        else:
            out = [self.lm.score_text(context, conts) for context, conts in requests]
        self.stage_seconds["lm"] += time.perf_counter() - start
        return out
