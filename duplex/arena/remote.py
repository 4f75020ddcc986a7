"""Arena judges behind an API: Anthropic's Messages API and OpenAI-compatible chat endpoints.

The transport (SDK client, key handling, error sorting into retryable and final) is the
interruption judges' (:mod:`duplex.judges.remote`); this module adds the arena's prompts and the
parsing of their answers. Prompts are versioned files in ``duplex/arena/prompts/``:
``arena_pair_v1.txt`` for battles (``prompt=`` in the spec picks another) and
``rubric_<NAME>.txt`` for rubric scores. Each is a system part, a ``---`` line, and a user template.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from duplex.arena.judging import PairInput, PairVerdict, RubricInput, RubricVerdict, Winner
from duplex.errors import ConfigError
from duplex.judges.base import JudgeError, JudgeSpec
from duplex.judges.remote import AnthropicJudge, OpenAICompatibleJudge

DEFAULT_PAIR_PROMPT = "arena_pair_v1"
MAX_TOKENS = 500
_WINNER = re.compile(r"winner\s*[:=]\s*\**\s*\[?\s*(A|B|tie)\b", re.IGNORECASE)
_CONTENT = re.compile(r"content\s*[:=]\s*\**\s*(-?\d+(?:\.\d+)?)", re.IGNORECASE)
_CRITERION = re.compile(r"criterion\s*(\d+)\s*[:=]\s*\**\s*(-?\d+(?:\.\d+)?)", re.IGNORECASE)


@dataclass(frozen=True)
class ArenaPrompt:
    version: str
    system: str
    user: str
    sha256: str


def load_arena_prompt(version: str, needs: str) -> ArenaPrompt:
    """``prompts/<version>.txt``; ``needs`` is a placeholder the user template must hold."""
    if not re.fullmatch(r"[a-z0-9_]+", version):
        raise ConfigError(f"arena prompt {version!r}: expected letters, digits and _")
    path = resources.files("duplex.arena") / "prompts" / f"{version}.txt"
    if not path.is_file():
        raise ConfigError(f"unknown arena prompt {version!r} (no prompts/{version}.txt)")
    text = path.read_text(encoding="utf-8")
    system, sep, user = text.partition("\n---\n")
    if not sep or "{" + needs + "}" not in user:
        raise ConfigError(f"arena prompt {version}.txt: expected SYSTEM, a --- line, then USER")
    return ArenaPrompt(
        version, system.strip(), user.strip(), hashlib.sha256(text.encode()).hexdigest()[:16]
    )


def analysis(text: str, last_line: re.Pattern[str]) -> str:
    """The judge's analysis: its answer before the first verdict line, shortened."""
    m = last_line.search(text)
    head = text[: m.start()] if m else text
    return re.sub(r"^\s*analysis\s*:\s*", "", head.strip(), flags=re.IGNORECASE)[:400]


def parse_winner(text: str) -> Winner:
    found = _WINNER.findall(text)
    if not found:
        raise JudgeError("malformed answer: no 'Winner: A|B|tie' line")
    last = found[-1].lower()
    return "tie" if last == "tie" else "A" if last == "a" else "B"


def _scale(value: str, what: str) -> int:
    v = float(value)
    if not v.is_integer() or not 0 <= v <= 5:
        raise JudgeError(f"malformed answer: {what} {value} is not an integer from 0 to 5")
    return int(v)


def parse_rubric(text: str, n_criteria: int) -> tuple[int, tuple[int | None, ...]]:
    found = _CONTENT.findall(text)
    if not found:
        raise JudgeError("malformed answer: no 'content: N' line")
    by_number: dict[int, int] = {}
    for number, value in _CRITERION.findall(text):
        by_number[int(number)] = _scale(value, f"criterion {number}")
    return _scale(found[-1], "content"), tuple(by_number.get(i + 1) for i in range(n_criteria))


class RemoteArenaJudge:
    """Pairwise and rubric judgements through an interruption judge's API transport."""

    def __init__(self, spec: JudgeSpec, transport: type[AnthropicJudge | OpenAICompatibleJudge]):
        args = dict(spec.args)
        self.pair = load_arena_prompt(args.pop("prompt", "") or DEFAULT_PAIR_PROMPT, "a_text")
        # The transport checks and consumes the other arguments (model, key, timeout, ...).
        self.api = transport(JudgeSpec(spec.text, spec.name, args))
        self.name = spec.name
        self.model = self.api.model
        self.prompt_version = self.pair.version
        self.prompt_sha = self.pair.sha256
        self.max_concurrency = self.api.max_concurrency
        self.max_attempts = self.api.max_attempts
        self._rubrics: dict[str, ArenaPrompt] = {}

    def describe(self) -> dict[str, Any]:
        return {
            **self.api.describe(),
            "prompt_version": self.pair.version,
            "prompt_sha256": self.pair.sha256,
        }

    def compare(self, item: PairInput) -> PairVerdict:
        user = self.pair.user.format(
            turn=item.turn.strip(),
            **_fields("a", item.a),
            **_fields("b", item.b),
        )
        text = self.api.complete(self.pair.system, user, MAX_TOKENS)
        return PairVerdict(
            parse_winner(text),
            reason=analysis(text, _WINNER),
            judge=self.name,
            model=self.model,
            prompt_version=self.prompt_version,
            raw=text,
        )

    def score(self, item: RubricInput) -> RubricVerdict:
        prompt = self._rubrics.get(item.rubric)
        if prompt is None:
            prompt = self._rubrics[item.rubric] = load_arena_prompt(f"rubric_{item.rubric}", "text")
        criteria = "\n".join(
            f"criterion {i + 1} ({dim}): {text}" for i, (dim, text) in enumerate(item.criteria)
        )
        r = item.response
        user = prompt.user.format(
            turn=item.turn.strip(),
            text=r.text.strip() or "(no words)",
            timing=r.timing_text(),
            features=r.features_text(),
            criteria=criteria or "(none)",
        )
        text = self.api.complete(prompt.system, user, MAX_TOKENS)
        content, scores = parse_rubric(text, len(item.criteria))
        why = analysis(text, _CONTENT)
        return RubricVerdict(content, scores, why, self.name, self.model, prompt.version, text)

    def close(self) -> None:
        self.api.close()


def _fields(side: str, r: Any) -> dict[str, str]:
    return {
        f"{side}_text": r.text.strip() or "(no words)",
        f"{side}_timing": r.timing_text(),
        f"{side}_features": r.features_text(),
    }


def make_anthropic(spec: JudgeSpec) -> RemoteArenaJudge:
    return RemoteArenaJudge(spec, AnthropicJudge)


def make_openai_compatible(spec: JudgeSpec) -> RemoteArenaJudge:
    return RemoteArenaJudge(spec, OpenAICompatibleJudge)
