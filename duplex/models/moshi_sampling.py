"""Per-session random streams for the ``moshi`` package's sampler.

``moshi.models.lm.LMGen`` samples every token (text, then each audio codebook) through the module
function ``moshi.models.lm.sample_token``, which draws from torch's global generator. In a batch,
row ``b`` would then get whatever random numbers follow rows ``0..b-1``: its output would depend on
its slot and on the other sessions, so a batched run could never equal single runs, and a rerun
would equal the first only if every item sat in the same slot with the same neighbours.

:func:`install` replaces that module function, once, with :func:`sample_token`, which keeps the
package's behaviour (softmax at a temperature, top-k, then one draw per row by the exponential race,
the same distribution as ``torch.multinomial``) but takes row ``b``'s noise from generator ``b``
while :func:`rows` is active on the calling thread. Outside :func:`rows` it defers to the
package's own function, so other users of the package in the process see no change.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

_local = threading.local()
_lock = threading.Lock()
_original: Callable[..., torch.Tensor] | None = None


def install() -> None:
    """Route the package's sampling through :func:`sample_token` (idempotent)."""
    global _original
    import moshi.models.lm as lm

    with _lock:
        if lm.sample_token is not sample_token:
            _original = lm.sample_token
            lm.sample_token = sample_token


@contextlib.contextmanager
def rows(generators: Sequence[torch.Generator]) -> Iterator[None]:
    """While active on this thread, row ``b`` of a sampled batch draws from ``generators[b]``."""
    previous = getattr(_local, "generators", None)
    _local.generators = generators
    try:
        yield
    finally:
        _local.generators = previous


def sample_token(
    logits: torch.Tensor,
    use_sampling: bool = False,
    temp: float = 1.0,
    top_k: int = 0,
    top_p: float = 0.0,
) -> torch.Tensor:
    """``logits`` [B, ..., card] -> tokens [B, ...], row ``b`` drawn with generator ``b``."""
    generators: Sequence[torch.Generator] | None = getattr(_local, "generators", None)
    if generators is None:
        assert _original is not None
        return _original(logits, use_sampling, temp, top_k, top_p)
    if top_p > 0.0:
        raise ValueError("per-session sampling does not implement top-p (LMGen never asks for it)")
    batch = logits.shape[0]
    if batch != len(generators):
        raise ValueError(f"{batch} rows to sample but {len(generators)} generators")
    flat = logits.reshape(batch, -1, logits.shape[-1])
    if not use_sampling or temp <= 0.0:
        return flat.argmax(dim=-1).reshape(logits.shape[:-1])
    probs = torch.softmax(flat / temp, dim=-1)
    index: torch.Tensor | None = None
    if top_k > 0:
        probs, index = torch.topk(probs, min(top_k, probs.shape[-1]), dim=-1)
    noise = torch.stack([_exponential(probs.shape[1:], g, probs) for g in generators])
    choice = (probs / noise).argmax(dim=-1, keepdim=True)
    tokens = index.gather(-1, choice) if index is not None else choice
    return tokens[..., 0].reshape(logits.shape[:-1])


def _exponential(shape: Any, generator: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    return torch.empty(shape, dtype=like.dtype, device=like.device).exponential_(
        1.0, generator=generator
    )
