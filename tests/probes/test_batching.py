"""Batched scoring: the same numbers as one item at a time, whatever the padding."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from duplex.probes import batching
from duplex.probes.hf import CausalLMScorer
from tests.probes.fakes import BigramLM, WordTokenizer, bigram_table
from tests.probes.test_scoring import WORDS, tiny_llama

#: Items of different context lengths and choice counts (2 and 4), as the sets have.
REQUESTS: list[tuple[str, list[str]]] = [
    ("the cat sat", ["on the mat", "far"]),
    ("a cat", ["ran away very far away", "sat", "on a mat", "ran"]),
    ("the cat sat on the mat very far away", ["away", "the cat"]),
    ("b", ["c d", "d"]),
]


class PositionalLM(torch.nn.Module):
    """Known likelihoods that depend on the position and on the pads being masked.

    ``P(next | token x at position p) = softmax(table[x] * (1 + p / 4))`` over a random table,
    with ``p`` from ``position_ids`` (else 0, 1, ...): a wrong position changes every score. A
    pad (id 0) must be masked out (checked) and its logits are NaN, so a pad position that
    leaks into a score shows.
    """

    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.table = torch.randn((vocab, vocab), generator=torch.Generator().manual_seed(0))

    def expected(self, prev: int, position: int, token: int) -> float:
        row = self.table[prev].double() * (1 + position / 4)
        return float(torch.log_softmax(row, -1)[token])

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: Any = None,
        position_ids: Any = None,
        **_: Any,
    ) -> Any:
        assert attention_mask is not None and torch.equal(attention_mask, (input_ids != 0).long())
        if position_ids is None:
            position_ids = torch.arange(input_ids.shape[1]).expand_as(input_ids)
        logits = self.table[input_ids] * (1 + position_ids[..., None] / 4)
        logits[input_ids == 0] = float("nan")

        class Out:
            pass

        out = Out()
        out.logits = logits  # type: ignore[attr-defined]
        return out


def positional_scorer() -> tuple[CausalLMScorer, PositionalLM]:
    tok = WordTokenizer(WORDS)
    model = PositionalLM(len(tok.vocab))
    return CausalLMScorer(model, tok, name="positional"), model


@pytest.mark.parametrize("pad_side", ["right", "left"])
def test_flat_batch_gives_the_known_likelihoods_with_either_padding(pad_side: str) -> None:
    scorer, model = positional_scorer()
    assert not scorer.share_context
    got = scorer.score_text_batch(REQUESTS, pad_side=pad_side)
    for (context, conts), scores in zip(REQUESTS, got, strict=True):
        for cont, s in zip(conts, scores, strict=True):
            head, ids = scorer.split(context, cont)
            seq = head + ids
            want = [model.expected(seq[q - 1], q - 1, seq[q]) for q in range(len(head), len(seq))]
            assert s.logprobs == pytest.approx(want, abs=1e-5)
            assert s.tokens == tuple(scorer.tokenizer.convert_ids_to_tokens(ids))


def test_left_padding_without_positions_would_be_caught() -> None:
    # The fake really depends on positions: shifting them changes every score.
    scorer, model = positional_scorer()
    head, ids = scorer.split("the cat", "sat")
    right = batching.flat(model, torch, [(head, ids), (head, ids + ids)], pad_id=0)
    assert right[0] == pytest.approx(right[1][:1], abs=1e-6)
    assert model.expected(head[-1], len(head), ids[0]) != pytest.approx(right[0][0], abs=1e-3)
    with pytest.raises(ValueError, match="pad_side"):
        batching.flat(model, torch, [(head, ids)], pad_id=0, pad_side="middle")


def test_flat_batch_equals_bigram_likelihoods() -> None:
    tok = WordTokenizer(WORDS)
    scorer = CausalLMScorer(
        BigramLM(bigram_table(tok.vocab, {"the": {"cat": 0.9}, "cat": {"sat": 0.6}})),
        tok,
        name="bigram",
    )
    (good, bad), (short,) = scorer.score_text_batch(
        [("the", ["cat sat", "cat ran"]), ("a the", ["cat"])]
    )
    assert good.logprobs == pytest.approx((math.log(0.9), math.log(0.6)), abs=1e-6)
    assert bad.logprobs[0] == pytest.approx(math.log(0.9), abs=1e-6)
    assert short.logprobs == pytest.approx((math.log(0.9),), abs=1e-6)
    assert scorer.score_text_batch([]) == []


def unbatched(scorer: CausalLMScorer) -> list[list[tuple[float, ...]]]:
    return [[s.logprobs for s in scorer.score_text(c, conts)] for c, conts in REQUESTS]


def assert_close(got: list[list[Any]], want: list[list[tuple[float, ...]]]) -> None:
    for g_item, w_item in zip(got, want, strict=True):
        for g, w in zip(g_item, w_item, strict=True):
            assert g.logprobs == pytest.approx(w, abs=1e-4)


def test_batched_equals_unbatched_on_a_transformer_with_shared_cache() -> None:
    model, tok = tiny_llama()
    scorer = CausalLMScorer(model, tok, name="tiny-llama")
    assert scorer.share_context
    want = unbatched(scorer)
    assert_close(scorer.score_text_batch(REQUESTS), want)
    # one item alone, and the items in another order, give the same numbers
    assert_close(scorer.score_text_batch(REQUESTS[1:2]), want[1:2])
    assert_close(scorer.score_text_batch(REQUESTS[::-1]), want[::-1])


@pytest.mark.parametrize("pad_side", ["right", "left"])
def test_batched_flat_layout_equals_unbatched_on_a_transformer(pad_side: str) -> None:
    model, tok = tiny_llama()
    scorer = CausalLMScorer(model, tok, name="tiny-llama")
    want = unbatched(scorer)
    scorer.share_context = False
    assert_close(scorer.score_text_batch(REQUESTS, pad_side=pad_side), want)


def test_one_token_context_falls_back_to_the_flat_layout() -> None:
    model, tok = tiny_llama()
    scorer = CausalLMScorer(model, tok, name="tiny-llama")
    requests = [("", ["cat sat", "far"]), ("the cat", ["sat"])]  # "" -> the start token only
    want = [[s.logprobs for s in scorer.score_text(c, conts)] for c, conts in requests]
    assert_close(scorer.score_text_batch(requests), want)
    with pytest.raises(ValueError, match="two tokens"):
        batching.shared(model, torch, [[2]], [[[5]]], pad_id=0)
