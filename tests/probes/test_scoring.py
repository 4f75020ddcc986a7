"""The scoring rule on models whose likelihoods are set by construction; tokenisation boundary."""

from __future__ import annotations

import math

import pytest
import torch

from duplex.probes.hf import CausalLMScorer
from duplex.probes.metrics import ItemScores
from duplex.probes.scoring import TokenScores
from tests.probes.fakes import BigramLM, WordTokenizer, bigram_table

WORDS = ["a", "the", "cat", "sat", "ran", "on", "mat", "away", "far", "very", "b", "c", "d", "b_c"]


def make_scorer(prefer: dict[str, dict[str, float]], *, bos: bool = False) -> CausalLMScorer:
    tok = WordTokenizer(WORDS, bos=bos)
    return CausalLMScorer(BigramLM(bigram_table(tok.vocab, prefer)), tok, name="bigram")


def test_token_scores_mean_and_sum() -> None:
    s = TokenScores((math.log(0.5), math.log(0.25)))
    assert s.n == 2
    assert s.total == pytest.approx(math.log(0.125))
    assert s.mean_nll == pytest.approx(-math.log(0.125) / 2)
    with pytest.raises(ValueError):
        TokenScores(())
    with pytest.raises(ValueError):
        TokenScores((0.5,))


def test_only_continuation_tokens_are_scored_with_known_probabilities() -> None:
    # P(cat | the) = 0.9 and P(sat | cat) = 0.6 by construction; the context is never scored.
    scorer = make_scorer({"the": {"cat": 0.9}, "cat": {"sat": 0.6, "ran": 0.1}})
    (good, bad) = scorer.score_text("the", ["cat sat", "cat ran"])
    assert good.logprobs == pytest.approx((math.log(0.9), math.log(0.6)), abs=1e-6)
    assert bad.logprobs == pytest.approx((math.log(0.9), math.log(0.1)), abs=1e-6)
    assert good.tokens == ("cat", "sat")


def test_mean_and_sum_rules_disagree_on_length_as_designed() -> None:
    # choice 0: one token at p=0.2 (mean NLL 1.61, sum -1.61);
    # choice 1: three tokens at p=0.5 (mean NLL 0.69, sum -2.08).
    scorer = make_scorer(
        {"on": {"mat": 0.2, "very": 0.5}, "very": {"very": 0.5, "far": 0.5}, "far": {}}
    )
    scores = scorer.score_text("on", ["mat", "very very far"])
    item = ItemScores("x", 0, tuple(scores))
    assert item.correct("sum") == (1, 1)  # summed log-likelihood prefers the short choice
    assert item.correct("mean") == (0, 1)  # S2SBench's length-normalised rule the long one
    assert ItemScores("x", 1, tuple(scores)).correct("mean") == (1, 1)


def test_ties_are_wrong_and_one_vs_n_counts_pairs() -> None:
    same = TokenScores((math.log(0.5),))
    assert ItemScores("t", 0, (same, same)).correct("mean") == (0, 1)
    assert ItemScores("t", 0, (same, same)).correct("sum") == (0, 1)
    four = tuple(TokenScores((math.log(p),)) for p in (0.4, 0.5, 0.3, 0.2))
    assert ItemScores("h", 0, four).correct("mean") == (2, 3)
    assert ItemScores("h", 1, four).correct("sum") == (3, 3)


def test_boundary_takes_continuation_tokens_by_prefix() -> None:
    scorer = make_scorer({})
    head, cont = scorer.split("the cat", "sat on")
    tok = scorer.tokenizer
    assert head == tok("the cat")["input_ids"]
    assert cont == tok(" sat on", add_special_tokens=False)["input_ids"]
    assert scorer.boundary_fallbacks == 0


class MergingTokenizer(WordTokenizer):
    """Joins "b c" into one token across the space: the case the fallback exists for."""

    def __call__(self, text: str, add_special_tokens: bool = True) -> dict[str, list[int]]:
        return super().__call__(text.replace("b c", "b_c"), add_special_tokens)


def test_boundary_merge_falls_back_to_separate_tokenisation() -> None:
    tok = MergingTokenizer(WORDS)
    scorer = CausalLMScorer(BigramLM(bigram_table(tok.vocab, {})), tok, name="merge")
    head, cont = scorer.split("the b", "c d")
    assert head == tok("the b")["input_ids"]  # the context exactly as tokenised alone
    assert cont == tok(" c d", add_special_tokens=False)["input_ids"]
    assert scorer.boundary_fallbacks == 1


def test_bos_prefix_and_empty_context() -> None:
    scorer = make_scorer({}, bos=True)
    assert scorer.prefix == (1,)
    head, cont = scorer.split("the", "cat")
    assert head[0] == 1 and len(head) == 2 and len(cont) == 1
    plain = make_scorer({"<|endoftext|>": {"cat": 0.7}})
    (s,) = plain.score_text("", ["cat"])  # an ASR that heard nothing: still one scored token
    assert s.logprobs == pytest.approx((math.log(0.7),), abs=1e-6)


def tiny_llama() -> tuple[object, WordTokenizer]:
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    tok = WordTokenizer(WORDS)
    config = transformers.LlamaConfig(
        vocab_size=len(tok.vocab),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
    )
    return transformers.LlamaForCausalLM(config).eval(), tok


def test_shared_context_cache_equals_padded_batch_and_single_rows() -> None:
    model, tok = tiny_llama()
    scorer = CausalLMScorer(model, tok, name="tiny-llama")
    assert scorer.share_context
    context, conts = "the cat sat", ["on the mat", "far", "away very far away"]
    shared = scorer.score_text(context, conts)
    scorer.share_context = False
    padded = scorer.score_text(context, conts)
    for a, b in zip(shared, padded, strict=True):
        assert a.logprobs == pytest.approx(b.logprobs, abs=1e-4)
    # and both equal an unbatched forward of each full sequence
    for cont, s in zip(conts, padded, strict=True):
        head, ids = scorer.split(context, cont)
        with torch.inference_mode():
            logits = model(input_ids=torch.tensor([head + ids])).logits[0]  # type: ignore[operator]
        logp = torch.log_softmax(logits.float(), -1)
        want = [float(logp[len(head) - 1 + k, t]) for k, t in enumerate(ids)]
        assert s.logprobs == pytest.approx(want, abs=1e-4)
