"""LLM judges of response quality, named and versioned so their figures can be reproduced.

Backends (``JUDGES``): ``smollm2`` (embedded, offline, the default), ``anthropic`` (Claude through
the Messages API) and ``openai-compatible`` (a chat-completions endpoint such as vLLM or Ollama).
Specs: ``smollm2``, ``anthropic:model=claude-sonnet-4-5``,
``openai-compatible:base_url=http://127.0.0.1:8000/v1,model=qwen``.

- :mod:`duplex.judges.base`: inputs, verdicts, prompts, spec parsing;
- :mod:`duplex.judges.engine`: cache, bounded concurrency, retries;
- :mod:`duplex.judges.interruption`: ``judge_run`` on a user_interruption run folder;
- :mod:`duplex.judges.calibrate`: ordering accuracy on ``calibration.jsonl``;
- :mod:`duplex.judges.conversation`: judging whole conversations (``CONVERSATION_JUDGES``: the
  same specs; the embedded one is :mod:`duplex.judges.conversation_rules`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from duplex.judges.base import Judge, JudgeInput, JudgeSpec, Verdict, parse_judge_spec
from duplex.registry import Registry

DEFAULT_JUDGE = "smollm2"

JudgeFactory = Callable[[JudgeSpec], Judge]
JUDGES: Registry[JudgeFactory] = Registry("judge")
JUDGES.add(
    "smollm2",
    "duplex.judges.smollm2:make_smollm2",
    "embedded SmolLM2-135M likelihood relevance scorer; offline, deterministic",
)
JUDGES.add(
    "anthropic",
    "duplex.judges.remote:make_anthropic",
    "Claude via the Messages API; model=..., key from ANTHROPIC_API_KEY",
)
JUDGES.add(
    "openai-compatible",
    "duplex.judges.remote:make_openai_compatible",
    "a chat-completions endpoint; base_url=http://HOST:PORT/v1,model=...",
)


#: Judges of whole conversations, by the same names (see duplex.judges.conversation).
CONVERSATION_JUDGES: Registry[Callable[[JudgeSpec], Any]] = Registry("conversation judge")
CONVERSATION_JUDGES.add(
    "smollm2",
    "duplex.judges.conversation_rules:make_embedded",
    "rules on timing and words, SmolLM2 likelihoods for topicality; offline, deterministic",
)
CONVERSATION_JUDGES.add(
    "anthropic", "duplex.judges.conversation:make_api", "Claude with the conversation prompt"
)
CONVERSATION_JUDGES.add(
    "openai-compatible",
    "duplex.judges.conversation:make_api",
    "a chat-completions endpoint with the conversation prompt",
)


def load_conversation_judge(text: str) -> Any:
    """A conversation judge (``duplex.judges.conversation.ConversationJudge``) from a spec."""
    spec = parse_judge_spec(text)
    return CONVERSATION_JUDGES.get(spec.name)(spec)


def check_judge_spec(text: str) -> JudgeSpec:
    """Parse a spec and check it as far as can be done before a long run: its name, its
    arguments and the key it needs. Building a judge loads no model and opens no connection
    (the embedded one loads its model on first use; API clients connect on first request), so
    the judge is built and closed here: whatever it would refuse, it refuses now."""
    spec = parse_judge_spec(text)
    if spec.name not in JUDGES:
        JUDGES.get(spec.name)  # raises with "did you mean"
    JUDGES.get(spec.name)(spec).close()
    return spec


def load_judge(text: str) -> Judge:
    spec = parse_judge_spec(text)
    return JUDGES.get(spec.name)(spec)


__all__ = [
    "CONVERSATION_JUDGES",
    "DEFAULT_JUDGE",
    "JUDGES",
    "Judge",
    "JudgeInput",
    "Verdict",
    "check_judge_spec",
    "load_conversation_judge",
    "load_judge",
]
