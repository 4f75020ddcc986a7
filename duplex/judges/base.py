"""What a judge is: typed inputs and verdicts, versioned prompts, judge specs and rating parsing.

A judge rates how relevant and coherent the model's response to an interruption is, on the
integer scale 0 (totally unrelated) to 5 (perfectly related) that Full-Duplex-Bench's judge uses.
Every verdict names the judge, its model and the prompt version, so a figure can be reproduced
and two figures are only compared when all three agree.

A verdict with ``score`` None is a *missing* score and always carries the reason (the API failed
after its retries, the answer had no rating, ...); it is never replaced by a default.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Any, Protocol

from duplex.errors import ConfigError, DuplexError

SCALE = (0, 5)
DEFAULT_PROMPT = "interruption_v1"


class JudgeError(DuplexError):
    """One judgement could not be made (after retries); it becomes a missing score."""


class RetryableError(JudgeError):
    """A transient failure (rate limit, server error, timeout); ``retry_after`` in seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class JudgeInput:
    """What the judge sees: the context turn, the interrupting turn and the response after it."""

    context: str
    interrupt: str
    response: str

    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True, kw_only=True)
class Judged:
    """Who decided, with which prompt, and why: the part every kind of verdict shares (a
    rating, a preference between two responses). ``cached``: it came from the verdict cache."""

    reason: str
    judge: str
    model: str
    prompt_version: str
    raw: str = ""
    cached: bool = False

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "cached"}

    @staticmethod
    def common(doc: dict[str, Any]) -> dict[str, Any]:
        """The shared fields of a verdict's JSON, for a subclass's ``from_json``."""
        return {
            "reason": str(doc.get("reason", "")),
            "judge": str(doc["judge"]),
            "model": str(doc["model"]),
            "prompt_version": str(doc["prompt_version"]),
            "raw": str(doc.get("raw", "")),
        }


@dataclass(frozen=True)
class Verdict(Judged):
    """One rating. ``score`` None means missing, and ``reason`` then says why."""

    score: int | None
    #: a continuous relevance behind the score, when the judge has one (the embedded scorer)
    value: float | None = None

    @classmethod
    def from_json(cls, doc: dict[str, Any], *, cached: bool = False) -> Verdict:
        return cls(doc.get("score"), doc.get("value"), **cls.common(doc), cached=cached)


class Backend(Protocol):
    """What every judge-like backend has (raters, labellers, arena judges): its identity for the
    cache key and the record, how many calls it takes at once and how often a call is tried."""

    name: str
    model: str
    prompt_version: str
    #: hash of the prompt (or settings) file: part of the cache key, so an edited prompt never
    #: reuses verdicts
    prompt_sha: str
    #: calls in flight at once (1 for a local model that is not thread-safe)
    max_concurrency: int
    #: attempts per item, the first included (1 for a deterministic local judge)
    max_attempts: int

    def describe(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


class Judge(Backend, Protocol):
    """A judge backend. ``rate`` raises :class:`RetryableError` for transient failures (the
    caller retries) and :class:`JudgeError` for final ones; it never invents a score."""

    def rate(self, item: JudgeInput) -> Verdict: ...


@dataclass(frozen=True)
class JudgeSpec:
    text: str
    name: str
    args: dict[str, str] = field(default_factory=dict)


def parse_judge_spec(text: str) -> JudgeSpec:
    """``NAME`` or ``NAME:key=value,...``; values may hold ``:`` (URLs) but not ``,``."""
    text = text.strip()
    if not text:
        raise ConfigError("empty judge spec")
    name, _, rest = text.partition(":")
    args: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = part.partition("=")
        if not eq or not key:
            raise ConfigError(f"judge spec {text!r}: argument {part!r} is not key=value")
        if key in args:
            raise ConfigError(f"judge spec {text!r}: argument {key!r} given twice")
        args[key] = value
    return JudgeSpec(text=text, name=name.strip(), args=args)


def check_args(spec: JudgeSpec, allowed: tuple[str, ...]) -> None:
    extra = sorted(set(spec.args) - set(allowed))
    if extra:
        raise ConfigError(
            f"judge {spec.name!r}: unknown argument {extra[0]!r} (allowed: {', '.join(allowed)})"
        )


def redact_spec(spec: JudgeSpec) -> str:
    """The spec as safe to record: any key-like argument is masked."""
    parts = [f"{k}={'***' if k in ('api_key', 'key') else v}" for k, v in spec.args.items()]
    return spec.name + (":" + ",".join(parts) if parts else "")


@dataclass(frozen=True)
class Prompt:
    """A versioned prompt file ``prompts/<version>.txt``: a system part, then ``---``, then a user
    template with ``{context}``, ``{interrupt}`` and ``{response}``."""

    version: str
    system: str
    user: str
    sha256: str

    def render(self, item: JudgeInput) -> str:
        return self.user.format(
            context=item.context.strip(),
            interrupt=item.interrupt.strip(),
            response=item.response.strip() or "(no words)",
        )


def load_prompt(version: str = DEFAULT_PROMPT) -> Prompt:
    if not re.fullmatch(r"[a-z0-9_]+", version):
        raise ConfigError(f"prompt version {version!r}: expected letters, digits and _")
    path = resources.files("duplex.judges") / "prompts" / f"{version}.txt"
    if not path.is_file():
        raise ConfigError(f"unknown judge prompt {version!r} (no {version}.txt)")
    text = path.read_text(encoding="utf-8")
    system, sep, user = text.partition("\n---\n")
    if not sep or "{response}" not in user:
        raise ConfigError(f"judge prompt {version}.txt: expected SYSTEM, a --- line, then USER")
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return Prompt(version, system.strip(), user.strip(), digest)


# The rating line the prompts ask for; the last one wins, so an analysis quoting the scale
# ("0 means ...") before the final line does not confuse the parser.
_RATING = re.compile(r"rating\s*[:=]\s*\**\s*\[?\s*(-?\d+(?:\.\d+)?)", re.IGNORECASE)


def parse_rating(text: str) -> tuple[int | None, str]:
    """The integer rating in a judge's answer, and the reason when there is none."""
    found = _RATING.findall(text)
    if not found:
        return None, "no 'Rating: N' line in the judge's answer"
    value = float(found[-1])
    if not value.is_integer() or not SCALE[0] <= value <= SCALE[1]:
        return None, f"rating {found[-1]} is not an integer from {SCALE[0]} to {SCALE[1]}"
    return int(value), ""


def analysis_of(text: str) -> str:
    """The judge's analysis: its answer up to the rating line, shortened."""
    head = _RATING.split(text, maxsplit=1)[0].strip()
    head = re.sub(r"^\s*analysis\s*:\s*", "", head, flags=re.IGNORECASE)
    return head[:400]
