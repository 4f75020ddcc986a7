"""Batched likelihoods of many (context, continuation) rows in a few forward passes.

:class:`~duplex.probes.hf.CausalLMScorer` scores one item at a time by default; these functions
score the choices of several items together, which is what makes probes fast on a CPU (a 135M
model runs a batch of 64 rows for a few times the cost of one row: the per-call overhead and the
small matrix products dominate a single item). They return the same log-probabilities as the
one-item path up to float rounding (tested to 1e-4 nats).

Two layouts:

``flat``
    One row per (item, choice): context + continuation, padded to the longest row. Right
    padding (the default) is correct for any causal model, even one that ignores the attention
    mask, because the pads come after every real token. Left padding lines the rows up at their
    ends; positions are then counted from each row's first real token (``position_ids``) and
    the pads are masked, so a model must honour both (Hugging Face models do).

``shared``
    Transformers models with a key/value cache. Pass 1 runs each item's context *without its last
    token* once (right-padded, no logits kept but one); the cache is repeated for the item's
    choices (``batch_select_indices``); pass 2 runs, for every choice, the context's last token
    followed by the continuation but its last token, at the right positions, with the context's
    pads masked out. Every logit that is scored comes from pass 2, so pass 1 never computes the
    vocabulary projection of the padded rows. A context of one token has nothing for pass 1;
    :meth:`~duplex.probes.hf.CausalLMScorer.score_text_batch` sends such items through ``flat``.

Log-probabilities are ``logit - logsumexp(logits)`` in float32, taken only at the scored
positions (never a full ``[rows, time, vocab]`` log-softmax).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from duplex.models.cascade.llm import cache_kwargs, output_cache

#: (context ids including any prefix, continuation ids), one per scored choice.
Split = tuple[list[int], list[int]]

PAD_SIDES = ("right", "left")


def flat(
    model: Any, torch: Any, splits: Sequence[Split], *, pad_id: int, pad_side: str = "right"
) -> list[list[float]]:
    """Log-probabilities of each split's continuation, all rows in one padded forward pass."""
    if pad_side not in PAD_SIDES:
        raise ValueError(f"pad_side must be one of {PAD_SIDES}, got {pad_side!r}")
    seqs = [head + cont for head, cont in splits]
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    offsets = []
    for row, s in enumerate(seqs):
        start = width - len(s) if pad_side == "left" else 0
        ids[row, start : start + len(s)] = torch.tensor(s, dtype=torch.long)
        mask[row, start : start + len(s)] = 1
        offsets.append(start)
    kwargs: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
    if pad_side == "left":
        # Positions count real tokens only; pads get 0 (they are masked anyway).
        kwargs["position_ids"] = (mask.cumsum(-1) - 1).clamp(min=0)
    with torch.inference_mode():
        logits = model(**kwargs).logits
    out = []
    for row, (head, cont) in enumerate(splits):
        # The token at position p is predicted by the logits at p - 1.
        first = offsets[row] + len(head) - 1
        out.append(_gather(torch, logits[row, first : first + len(cont)], cont))
    return out


def shared(
    model: Any,
    torch: Any,
    heads: Sequence[list[int]],
    conts: Sequence[Sequence[list[int]]],
    *,
    pad_id: int,
) -> list[list[list[float]]]:
    """Per item, the log-probabilities of each of its continuations (context run once per item).

    ``heads[i]`` is item ``i``'s context (at least two tokens), ``conts[i]`` its continuations.
    """
    if any(len(h) < 2 for h in heads):
        raise ValueError("the shared layout needs contexts of at least two tokens")
    pre = [h[:-1] for h in heads]
    width1 = max(len(p) for p in pre)
    ids1 = torch.full((len(pre), width1), pad_id, dtype=torch.long)
    mask1 = torch.zeros((len(pre), width1), dtype=torch.long)
    for i, p in enumerate(pre):
        ids1[i, : len(p)] = torch.tensor(p, dtype=torch.long)
        mask1[i, : len(p)] = 1
    owner = [i for i, cs in enumerate(conts) for _ in cs]
    rows = [(heads[i][-1], c) for i, cs in enumerate(conts) for c in cs]
    width2 = max(len(c) for _, c in rows)
    ids2 = torch.full((len(rows), width2), pad_id, dtype=torch.long)
    mask2 = torch.zeros((len(rows), width1 + width2), dtype=torch.long)
    positions = torch.zeros((len(rows), width2), dtype=torch.long)
    for r, (last, c) in enumerate(rows):
        i = owner[r]
        ids2[r, : len(c)] = torch.tensor([last, *c[:-1]], dtype=torch.long)
        mask2[r, : len(pre[i])] = 1  # the context's own tokens; its pads stay masked
        mask2[r, width1 : width1 + len(c)] = 1
        positions[r] = torch.arange(len(pre[i]), len(pre[i]) + width2)
    with torch.inference_mode():
        past = output_cache(
            model(input_ids=ids1, attention_mask=mask1, use_cache=True, logits_to_keep=1)
        )
        past.batch_select_indices(torch.tensor(owner, dtype=torch.long))
        logits = model(
            input_ids=ids2,
            attention_mask=mask2,
            position_ids=positions,
            **cache_kwargs(model, past),
        ).logits
    out: list[list[list[float]]] = [[] for _ in heads]
    for r, (_, c) in enumerate(rows):
        out[owner[r]].append(_gather(torch, logits[r, : len(c)], c))
    return out


def _gather(torch: Any, logits: Any, targets: list[int]) -> list[float]:
    """log P(targets[k]) from ``logits[k]`` ([len(targets), vocab]), in float32."""
    logits = logits.float()
    picked = logits[torch.arange(len(targets)), torch.tensor(targets, dtype=torch.long)]
    return [float(v) for v in (picked - torch.logsumexp(logits, -1)).tolist()]
