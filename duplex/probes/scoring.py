"""The scoring interface: log-likelihoods of continuations given a text or a spoken context.

A model under probe implements :class:`ContinuationScorer`. It declares the modalities it takes in
``modalities`` and implements the matching methods; each returns one :class:`TokenScores` per
continuation, holding the log-probabilities of the continuation's tokens only (never the
context's). Everything the metrics need follows from those numbers.

=================  ===================================  ==========================
modality           method                               conditions it serves
=================  ===================================  ==========================
``text``           ``score_text(context, conts)``       t2t
``speech``         ``score_speech(audio, rate, conts)``  s2t and its variants
``speech+speech``  ``score_speech_continuation(...)``   s2s
=================  ===================================  ==========================

A scorer may also score several items in one call: ``score_text_batch(requests)`` with
``requests = [(context, continuations), ...]`` and ``score_speech_batch(requests)`` with
``requests = [(audio, rate, continuations), ...]``, each returning one list of
:class:`TokenScores` per request. :func:`duplex.probes.run.run_probe` uses them when present
(``batch_size`` items at a time); they must give the numbers of the one-item methods.

Text language models are wrapped by :class:`duplex.probes.cascade.CascadeScorer` for the spoken
conditions (the context goes through the ASR first). A speech LLM that runs in-process is loaded
with the spec ``python:module:factory[:ARG]``: ``factory(ARG)`` (or ``factory()``) must return an
object with ``name``, ``modalities``, ``describe()`` and the methods of its modalities.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from duplex.audio import Samples

TEXT, SPEECH, SPEECH_BOTH = "text", "speech", "speech+speech"
METHODS = {TEXT: "score_text", SPEECH: "score_speech", SPEECH_BOTH: "score_speech_continuation"}
#: Optional methods that score several items at once (see the module doc).
BATCH_METHODS = {TEXT: "score_text_batch", SPEECH: "score_speech_batch"}


@dataclass(frozen=True)
class TokenScores:
    """Log-probabilities (natural log) of a continuation's tokens, in order.

    ``context_text`` is what the model actually read as the context when it is not the item's
    text (a cascade's transcript); None otherwise.
    """

    logprobs: tuple[float, ...]
    tokens: tuple[str, ...] = ()
    context_text: str | None = None

    def __post_init__(self) -> None:
        if not self.logprobs:
            raise ValueError("a continuation must have at least one scored token")
        if any(not math.isfinite(v) or v > 1e-6 for v in self.logprobs):
            raise ValueError(f"log-probabilities must be finite and <= 0, got {self.logprobs}")

    @property
    def n(self) -> int:
        return len(self.logprobs)

    @property
    def total(self) -> float:
        """Summed log-likelihood of the continuation (higher is more likely)."""
        return float(math.fsum(self.logprobs))

    @property
    def mean_nll(self) -> float:
        """Mean negative log-likelihood per token (S2SBench's loss; perplexity = exp of it)."""
        return -self.total / self.n


@runtime_checkable
class ContinuationScorer(Protocol):
    """A model that scores continuations; implement the methods of the declared modalities."""

    name: str
    modalities: frozenset[str]

    def describe(self) -> dict[str, Any]:
        """Provenance: what the model is (spec, file hash, versions, settings)."""
        ...


class TextScorer(ContinuationScorer, Protocol):
    def score_text(self, context: str, continuations: Sequence[str]) -> list[TokenScores]: ...


class SpeechScorer(ContinuationScorer, Protocol):
    def score_speech(
        self, context: Samples, rate: int, continuations: Sequence[str]
    ) -> list[TokenScores]: ...


class SpeechContinuationScorer(ContinuationScorer, Protocol):
    def score_speech_continuation(
        self, context: Samples, rate: int, continuations: Sequence[Samples], continuation_rate: int
    ) -> list[TokenScores]: ...
