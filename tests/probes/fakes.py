"""Models whose answers are known by construction: a word-level tokenizer, a bigram "LM" module
with the Hugging Face causal-LM interface, and a table-driven scorer implementing the protocol."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from duplex.audio import Samples
from duplex.probes.scoring import SPEECH, TEXT, TokenScores


class WordTokenizer:
    """Splits on spaces; a word keeps its leading space as part of the token (like GPT-2 BPE)."""

    def __init__(self, words: Sequence[str], *, bos: bool = False) -> None:
        vocab = ["<pad>", "<s>", "<|endoftext|>", *sorted(set(words))]
        self.vocab = {w: i for i, w in enumerate(vocab)}
        self.inverse = dict(enumerate(vocab))
        self.bos = bos
        self.bos_token_id = 1
        self.eos_token_id = 2
        self.pad_token_id = 0
        self.unk_token_id = None

    def pieces(self, text: str) -> list[str]:
        out: list[str] = []
        for k, word in enumerate(text.split(" ")):
            if word:
                out.append(word if k == 0 else " " + word)
        return out

    def __call__(self, text: str, add_special_tokens: bool = True) -> dict[str, list[int]]:
        ids = [self.vocab[p.strip()] for p in self.pieces(text)]
        if add_special_tokens and self.bos:
            ids = [self.bos_token_id, *ids]
        return {"input_ids": ids}

    def convert_ids_to_tokens(self, ids: Sequence[int]) -> list[str]:
        return [self.inverse[i] for i in ids]

    def convert_tokens_to_ids(self, token: str) -> int | None:
        return self.vocab.get(token)


class _Out:
    def __init__(self, logits: torch.Tensor) -> None:
        self.logits = logits


class BigramLM(torch.nn.Module):
    """logits[b, t] = log P(next | token at t), from a fixed table: likelihoods by construction."""

    def __init__(self, table: torch.Tensor) -> None:
        super().__init__()
        self.table = table  # [V, V] log-probabilities, rows sum to 1 in probability

    def forward(self, input_ids: torch.Tensor, attention_mask: Any = None, **_: Any) -> _Out:
        return _Out(self.table[input_ids])


def bigram_table(vocab: dict[str, int], prefer: dict[str, dict[str, float]]) -> torch.Tensor:
    """Uniform next-token distribution except ``prefer[a][b] = p`` (the rest spread evenly)."""
    v = len(vocab)
    probs = torch.full((v, v), 1.0 / v, dtype=torch.float64)
    for a, row in prefer.items():
        fixed = {vocab[b]: p for b, p in row.items()}
        rest = (1.0 - sum(fixed.values())) / (v - len(fixed))
        probs[vocab[a]] = rest
        for j, p in fixed.items():
            probs[vocab[a], j] = p
    return torch.log(probs).float()


class TableScorer:
    """Implements the protocol from a table {(context, continuation): [logprob, ...]}."""

    modalities = frozenset({TEXT, SPEECH})

    def __init__(self, table: dict[tuple[str, str], list[float]], transcript: str = "") -> None:
        self.name = "table"
        self.table = table
        self.transcript = transcript

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}

    def score_text(self, context: str, continuations: Sequence[str]) -> list[TokenScores]:
        return [TokenScores(tuple(self.table[(context, c)])) for c in continuations]

    def score_speech(
        self, context: Samples, rate: int, continuations: Sequence[str]
    ) -> list[TokenScores]:
        return [TokenScores(tuple(self.table[(self.transcript, c)])) for c in continuations]


def lp(*probs: float) -> list[float]:
    return [math.log(p) for p in probs]


class CopyScorer:
    """A text scorer whose per-token log-prob depends only on the words: deterministic and fast.

    ``bias`` favours the item's plausible choice by that much per token, so accuracy is known;
    for sweeps the factory parses a step from its argument and raises the bias with it.
    """

    modalities = frozenset({TEXT})

    def __init__(self, good: set[str] | None = None, bias: float = 0.5) -> None:
        self.name = "copy"
        self.good = good or set()
        self.bias = bias

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "bias": self.bias}

    def score_text(self, context: str, continuations: Sequence[str]) -> list[TokenScores]:
        out = []
        for c in continuations:
            base = -1.0 - 0.01 * (len(context) % 7 == 0)
            lp = base + (self.bias if c in self.good else 0.0)
            out.append(TokenScores(tuple(min(0.0, lp) for _ in c.split())))
        return out


def make_copy_scorer(arg: str = "") -> CopyScorer:
    """``python:tests.probes.fakes:make_copy_scorer[:PATH]``; a step in PATH sets the bias."""
    from duplex.probes.sets import load_set

    good = {it.choices[it.label] for it in load_set("copa").items}
    step = int("".join(ch for ch in arg.rsplit("/", 1)[-1] if ch.isdigit()) or 0)
    return CopyScorer(good, bias=min(0.9, 0.1 * step / 100))


def not_a_scorer() -> object:
    return object()
