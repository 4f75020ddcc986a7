"""The embedded offline judge: SmolLM2-135M-Instruct as a likelihood-based relevance scorer.

Why not a rater: asked with the API judges' prompt (``interruption_v1``), greedy, the 135M
model wrote no "Rating: N" line at all in 9 of 9 calibration responses tried (it rambles about
the topic or retells the question), so every score would be missing. Its likelihoods, on the other
hand, carry the signal. The score is built from how much better the conversation explains the
response than less informative conversations do (pointwise mutual information, in nats per
response token):

- ``full``: system, user: context, assistant: a short bridge, user: interruption;
- ``context``: system, user: context;
- ``neutral``: system, user: a neutral turn ("Say something.").

``value = [(lp_full - lp_neutral) + (lp_full - lp_context)] / n_tokens``: the first term is
"relevant to the conversation at all", the second "follows the interruption rather than the first
request". Measured on the calibration set (pairwise ordering accuracy relevant>unrelated /
relevant>partly / partly>unrelated): the mean log-likelihood under ``full`` alone 0.89 / 0.72 /
0.83; the first term alone 1.00 / 0.94 / 1.00; the second alone 1.00 / 1.00 / 0.33; the sum
1.00 / 1.00 / 1.00 (``duplex-bench judge --calibrate --judge smollm2``). Six variants were tried
on the same 18 items, so these figures flatter the chosen one; a held-out set is future work.
The 0-5 score cuts ``value`` into steps of ``step_nats_per_token`` (0.5): below 0 -> 0, then
1, 2, ... capped at 5. The step is a round number that puts the calibration set's partly
relevant responses (on the topic, not the interruption) near 2, the anchor's "related to the
topic" region; read the ordering figures, not the absolute score, as its quality.

The turns and the step live in ``prompts/smollm2_pmi_v1.json`` (the judge's prompt version).
Scoring is deterministic (no sampling), single-threaded, and keeps the key/value caches of
recent prompt prefixes so the neutral prefix is computed once per judge.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections import OrderedDict
from importlib import resources
from typing import Any

from duplex.errors import BackendError, ConfigError
from duplex.judges.base import JudgeError, JudgeInput, JudgeSpec, Verdict, check_args
from duplex.models.cascade.llm import GGUF_FILE, PACKAGE, cache_kwargs, gguf_path
from duplex.provenance import file_sha256, package_version

PROMPT_VERSION = "smollm2_pmi_v1"
MODEL = "SmolLM2-135M-Instruct-Q4_1"
_PREFIXES = 16  # prompt prefixes whose key/value caches are kept


def score_of(value: float, step: float) -> int:
    """The 0-5 score of a relevance value in nats per token."""
    if value < 0:
        return 0
    return min(5, 1 + math.floor(value / step))


class SmolLM2Judge:
    name = "smollm2"
    model = MODEL
    prompt_version = PROMPT_VERSION
    max_concurrency = 1  # one torch model, used from one thread at a time
    max_attempts = 1  # deterministic: a retry would fail the same way

    def __init__(self, spec: JudgeSpec) -> None:
        check_args(spec, ("threads",))
        try:
            threads = int(spec.args.get("threads", "1"))
        except ValueError:
            raise ConfigError(f"judge smollm2: threads={spec.args['threads']!r}") from None
        text = (resources.files("duplex.judges") / "prompts" / f"{PROMPT_VERSION}.json").read_text()
        self.turns: dict[str, Any] = json.loads(text)
        self.prompt_sha = hashlib.sha256(text.encode()).hexdigest()[:16]
        self.step = float(self.turns["step_nats_per_token"])
        self.threads = threads
        self._llm: Any = None  # loaded on the first item not in the cache (about 20-50 s)
        self._lock = threading.Lock()
        self._prefixes: OrderedDict[str, tuple[int, Any, Any]] = OrderedDict()

    @property
    def llm(self) -> Any:
        if self._llm is None:
            from duplex.models.cascade.llm import Llm

            try:
                self._llm = Llm(threads=self.threads, system_prompt=self.turns["system"])
            except (OSError, ValueError) as exc:
                raise BackendError(f"judge smollm2: cannot load the model ({exc})") from exc
        return self._llm

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "spec": self.name,
            "model": self.model,
            "model_file": GGUF_FILE,
            "model_sha256": file_sha256(gguf_path()),
            "model_package": f"{PACKAGE} {package_version(PACKAGE)}",
            "prompt_version": self.prompt_version,
            "prompt_sha256": self.prompt_sha,
            "method": "pmi: (full - neutral) + (full - context), nats/token",
        }

    def _prompt(self, user_turns: list[str]) -> str:
        messages = [{"role": "system", "content": self.turns["system"]}]
        for i, turn in enumerate(user_turns):
            if i:
                messages.append({"role": "assistant", "content": self.turns["bridge"]})
            messages.append({"role": "user", "content": turn})
        text: str = self.llm.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )
        return text

    def _prefix(self, prompt: str) -> tuple[int, Any, Any]:
        """(length, cache, logits of the last prompt token) for ``prompt``, LRU-cached."""
        hit = self._prefixes.get(prompt)
        if hit is not None:
            self._prefixes.move_to_end(prompt)
            return hit
        from transformers import DynamicCache

        ids = self.llm.encode(prompt)
        cache = DynamicCache()
        with self.llm.torch.inference_mode():
            out = self.llm.model(
                self.llm.torch.tensor([ids]), **cache_kwargs(self.llm.model, cache), use_cache=True
            )
        entry = (len(ids), cache, out.logits[0, -1].float().log_softmax(-1))
        self._prefixes[prompt] = entry
        if len(self._prefixes) > _PREFIXES:
            self._prefixes.popitem(last=False)
        return entry

    def logprob(self, prompt: str, response_ids: list[int]) -> float:
        """Sum of log p(response token | prompt, earlier response tokens)."""
        torch = self.llm.torch
        _, cache, first = self._prefix(prompt)
        total = float(first[response_ids[0]])
        if len(response_ids) > 1:
            with torch.inference_mode():
                out = self.llm.model(
                    torch.tensor([response_ids[:-1]]),
                    **cache_kwargs(self.llm.model, cache),
                    use_cache=True,
                )
            # Leave the prefix cache as it was for the next response (transformers 5 takes the
            # negative count of tokens to drop).
            cache.crop(-(len(response_ids) - 1))
            logp = out.logits[0].float().log_softmax(-1)
            targets = torch.tensor(response_ids[1:])
            total += float(logp.gather(1, targets[:, None]).sum())
        return total

    def relevance(self, item: JudgeInput) -> tuple[float, dict[str, float]]:
        with self._lock:
            ids = self.llm.encode(item.response.strip())
            if not ids:
                raise JudgeError("empty response: nothing to rate")
            lp = {
                "full": self.logprob(self._prompt([item.context, item.interrupt]), ids),
                "context": self.logprob(self._prompt([item.context]), ids),
                "neutral": self.logprob(self._prompt([self.turns["neutral"]]), ids),
            }
        value = (2 * lp["full"] - lp["neutral"] - lp["context"]) / len(ids)
        return value, {**{k: round(v, 4) for k, v in lp.items()}, "tokens": len(ids)}

    def rate(self, item: JudgeInput) -> Verdict:
        value, parts = self.relevance(item)
        score = score_of(value, self.step)
        reason = f"relevance {value:+.3f} nats/token (log-likelihoods {parts})"
        return Verdict(
            score,
            round(value, 6),
            reason=reason,
            judge=self.name,
            model=self.model,
            prompt_version=self.prompt_version,
            raw=json.dumps(parts),
        )

    def close(self) -> None:
        self._prefixes.clear()


def make_smollm2(spec: JudgeSpec) -> SmolLM2Judge:
    return SmolLM2Judge(spec)
