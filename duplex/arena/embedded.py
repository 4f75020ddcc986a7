"""The embedded arena judge: SmolLM2-135M-Instruct, offline and deterministic.

A 135M model cannot read two transcripts and say which is better (asked for a rating it writes
none; see :mod:`duplex.judges.smollm2`). What it does reliably is tell how likely a reply is after
a user's turn. So each response is scored *alone*, and the two scores are compared:

- ``relevance``: log p(response | the user's turn) - log p(response | a neutral turn), summed over
  the response's tokens (nats). The neutral turn removes how likely the words are anyway (short,
  common words are likely everywhere); what is left is how much the reply belongs to this turn.
  Summed, not averaged: a reply that says more that fits the turn scores more, and a reply cut
  after two words cannot match a whole answer.
- ``ending``: log p(end of the assistant's turn | the user's turn, the response): low when the
  response stops mid-sentence (a reply cut by a barge-in rule, a session end or a word budget).
- ``quality = relevance + end_weight * max(ending, ending_floor)``. The floor (-10 nats) says a
  cut reply is cut; how improbable its last word was as an ending says nothing more (cut replies
  of the tuning items had endings of -16 to -29 nats, whole replies -0.4 to -9). A response with
  no words or no speech gets ``empty_quality`` (-40), below what a cut reply scores.

On the 14 tuning items: whole replies scored +10.7 to +33.6, their first two words -15.3 to
+5.5, another item's reply -23.6 to +0.7. The rubric's content score counts the thresholds
``content_steps`` (-20, -5, 5, 12, 20) a response reaches, so whole replies land on 3-5, cut ones
on 1-3 and unrelated ones on 0-2.

Verdict: A or B by the higher quality, a tie when the two differ by less than ``tie_nats``.
Because each response is scored alone, the verdict cannot depend on which is shown first: the
judge has no position bias by construction (the swap is still made, and the bias report shows
agreement 1). It does not use the speech features (latency, rate, loudness, pitch) - it judges
the words; the API judges are shown the features too.

Weights, the neutral turn and the margin live in ``prompts/smollm2_pair_v1.json`` (the judge's
prompt version); they were chosen on the tuning split of the calibration set only
(:mod:`duplex.arena.calibrate`).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Sequence
from importlib import resources
from typing import Any

from duplex.arena.judging import PairInput, PairVerdict, RubricInput, RubricVerdict, Winner
from duplex.arena.responses import Response
from duplex.errors import ConfigError
from duplex.judges.base import JudgeSpec, check_args
from duplex.judges.smollm2 import MODEL, SmolLM2Judge

PROMPT_VERSION = "smollm2_pair_v1"


def load_settings(version: str = PROMPT_VERSION) -> tuple[dict[str, Any], str]:
    path = resources.files("duplex.arena") / "prompts" / f"{version}.json"
    if not path.is_file():
        raise ConfigError(f"unknown embedded arena prompt {version!r}")
    text = path.read_text(encoding="utf-8")
    return json.loads(text), hashlib.sha256(text.encode()).hexdigest()[:16]


class EmbeddedPairJudge:
    name = "smollm2"
    model = MODEL
    max_concurrency = 1  # one torch model, used from one thread at a time
    max_attempts = 1  # deterministic: a retry would fail the same way

    def __init__(self, spec: JudgeSpec, settings: dict[str, Any] | None = None) -> None:
        check_args(spec, ("threads",))
        # The interruption judge owns the model loading and the cached likelihood computation.
        self.scorer = SmolLM2Judge(JudgeSpec("smollm2", "smollm2", dict(spec.args)))
        loaded, sha = load_settings()
        self.settings = settings or loaded
        # Settings passed in (the tuning search) get their own hash, so they never share a cache.
        self.prompt_sha = sha if settings is None else _sha(settings)
        self.prompt_version = PROMPT_VERSION
        self._lock = threading.Lock()
        self._scores: dict[tuple[str, str], tuple[float, dict[str, float]]] = {}

    def describe(self) -> dict[str, Any]:
        base = self.scorer.describe()
        return {
            **{k: base[k] for k in ("model", "model_file", "model_sha256", "model_package")},
            "name": self.name,
            "spec": self.name,
            "prompt_version": self.prompt_version,
            "prompt_sha256": self.prompt_sha,
            "method": "each response alone: relevance (turn vs neutral, summed nats) "
            "+ end_weight * log p(end of turn); tie within tie_nats",
        }

    def _prompt(self, user: str) -> str:
        messages = [
            {"role": "system", "content": self.settings["system"]},
            {"role": "user", "content": user},
        ]
        text: str = self.scorer.llm.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )
        return text

    def parts(self, turn: str, text: str) -> dict[str, float]:
        """Log-likelihood parts of one response (nats)."""
        llm = self.scorer.llm
        ids = llm.encode(text.strip())
        on_turn = self._prompt(turn)
        lp_turn = self.scorer.logprob(on_turn, ids)
        with_end = self.scorer.logprob(on_turn, [*ids, llm.end_id])
        lp_neutral = self.scorer.logprob(self._prompt(self.settings["neutral"]), ids)
        return {
            "relevance": round(lp_turn - lp_neutral, 4),
            "ending": round(with_end - lp_turn, 4),
            "tokens": len(ids),
        }

    def quality(self, turn: str, response: Response) -> tuple[float, dict[str, float]]:
        if response.empty or not response.text.strip():
            return float(self.settings["empty_quality"]), {"empty": 1}
        key = (turn, response.text.strip())
        with self._lock:
            hit = self._scores.get(key)
            if hit is None:
                parts = self.parts(turn, response.text)
                ending = max(parts["ending"], float(self.settings["ending_floor"]))
                value = parts["relevance"] + float(self.settings["end_weight"]) * ending
                hit = self._scores[key] = (round(value, 4), parts)
        return hit

    def compare(self, item: PairInput) -> PairVerdict:
        qa, pa = self.quality(item.turn, item.a)
        qb, pb = self.quality(item.turn, item.b)
        margin = qa - qb
        winner: Winner = (
            "tie" if abs(margin) < float(self.settings["tie_nats"]) else "A" if margin > 0 else "B"
        )
        reason = f"quality A {qa:+.2f} {pa}, B {qb:+.2f} {pb}"
        raw = json.dumps({"A": {"quality": qa, **pa}, "B": {"quality": qb, **pb}})
        return PairVerdict(
            winner,
            round(margin, 4),
            reason=reason,
            judge=self.name,
            model=self.model,
            prompt_version=self.prompt_version,
            raw=raw,
        )

    def content_score(self, quality: float) -> int:
        """The 0-5 rubric content score: how many of the ``content_steps`` quality thresholds
        (nats, ascending) the response reaches."""
        return sum(quality >= t for t in self.settings["content_steps"])

    def score(self, item: RubricInput) -> RubricVerdict:
        q, parts = self.quality(item.turn, item.response)
        scores: list[int | None] = []
        skipped = []
        for i, (dimension, _text) in enumerate(item.criteria):
            if dimension == "semantic" and item.keywords:
                scores.append(keyword_score(item.response, item.keywords))
            else:
                scores.append(None)
                skipped.append(f"criterion {i + 1} ({dimension})")
        reason = f"quality {q:+.2f} {parts}"
        if skipped:
            reason += "; the embedded judge scores semantic criteria by keywords only, not " + (
                ", ".join(skipped)
            )
        return RubricVerdict(
            self.content_score(q),
            tuple(scores),
            reason,
            self.name,
            self.model,
            self.prompt_version,
            json.dumps(parts),
            round(q, 4),
        )

    def close(self) -> None:
        self.scorer.close()


def keyword_score(r: Response, keywords: Sequence[str]) -> int:
    """5 when the response says one of the keywords (whole words, any case), 1 if not, 0 when
    there is no response."""
    if r.empty:
        return 0
    words = set(re.findall(r"[a-z0-9']+", r.text.lower()))
    return 5 if words & {k.lower() for k in keywords} else 1


def _sha(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def make_embedded(spec: JudgeSpec) -> EmbeddedPairJudge:
    return EmbeddedPairJudge(spec)
