"""Arena judges: typed pairwise inputs and verdicts, the judge interface, the battle cache, and
judging many battles with bounded concurrency and retries.

A pairwise judge sees the user's turn and two responses, "A" shown first, and names the better
one or calls a tie. Its verdict names the judge, its model and prompt version. ``winner`` None is
a *missing* verdict (the API failed after retries, the answer had no verdict line) and carries the
reason; it is never turned into a tie.

The same judges also score one response against a rubric (:mod:`duplex.arena.rubric`).

Battles are cached in ``$DUPLEX_BENCH_CACHE/arena/battles.sqlite``, keyed by the judge, its model,
prompt version and prompt hash, and the content hashes of the turn and of both responses in their
order; a verdict is stored as soon as it is made, so an interrupted arena resumes where it stopped
and a re-run makes no new calls. Missing verdicts are not stored (worth asking again).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from duplex.arena.responses import Response
from duplex.cache import KeyedStore, cache_dir
from duplex.judges.base import Backend, Judged, JudgeSpec, parse_judge_spec
from duplex.judges.engine import DEFAULT_BACKOFF, Backoff, fan_out, with_retries
from duplex.registry import Registry

_log = logging.getLogger(__name__)

Winner = Literal["A", "B", "tie"]
WINNERS: tuple[Winner, ...] = ("A", "B", "tie")
Sleep = Callable[[float], None]
T = TypeVar("T")


@dataclass(frozen=True)
class PairInput:
    """One battle as the judge sees it: the turn, response A (shown first) and response B."""

    turn: str
    a: Response
    b: Response

    def key(self) -> str:
        turn = hashlib.sha256(self.turn.encode()).hexdigest()[:24]
        return f"{turn}:{self.a.content_hash()}:{self.b.content_hash()}"

    def swapped(self) -> PairInput:
        return PairInput(self.turn, self.b, self.a)


@dataclass(frozen=True)
class PairVerdict(Judged):
    """A preference between two responses (None: missing, ``reason`` says why)."""

    winner: Winner | None
    #: the judge's continuous preference for A over B, when it has one (the embedded judge)
    margin: float | None = None

    @classmethod
    def from_json(cls, d: dict[str, Any], *, cached: bool = False) -> PairVerdict:
        winner = d.get("winner")
        return cls(
            winner if winner in WINNERS else None,
            d.get("margin"),
            **cls.common(d),
            cached=cached,
        )


@dataclass(frozen=True)
class RubricInput:
    """One response to score against a rubric: the general one (prompt ``rubric``) and the
    item's own criteria ``(dimension, text)``, with optional keywords for the embedded judge."""

    turn: str
    response: Response
    rubric: str
    rubric_sha: str
    criteria: tuple[tuple[str, str], ...] = ()
    keywords: tuple[str, ...] = ()

    def key(self) -> str:
        doc: list[Any] = [self.turn, self.response.content_hash(), self.rubric, self.rubric_sha]
        doc += [list(self.criteria), list(self.keywords)]
        return hashlib.sha256(json.dumps(doc, ensure_ascii=False).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class RubricVerdict:
    """Scores 0-5: ``content`` and one per item criterion; None is missing (``reason`` says
    why: a failed call, or a criterion this judge cannot score)."""

    content: int | None
    criteria: tuple[int | None, ...]
    reason: str
    judge: str
    model: str
    prompt_version: str
    raw: str = ""
    #: the continuous value behind ``content``, when the judge has one (the embedded judge)
    value: float | None = None
    cached: bool = False

    @property
    def failed(self) -> bool:
        return self.content is None

    def to_json(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k != "cached"}
        d["criteria"] = list(self.criteria)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any], *, cached: bool = False) -> RubricVerdict:
        return cls(
            content=d.get("content"),
            criteria=tuple(d.get("criteria") or ()),
            reason=str(d.get("reason", "")),
            judge=str(d["judge"]),
            model=str(d["model"]),
            prompt_version=str(d["prompt_version"]),
            raw=str(d.get("raw", "")),
            value=d.get("value"),
            cached=cached,
        )


class ArenaJudge(Backend, Protocol):
    """A pairwise (and rubric) judge. ``compare`` raises :class:`RetryableError` for transient
    failures and :class:`JudgeError` for final ones; it never invents a verdict."""

    def compare(self, item: PairInput) -> PairVerdict: ...

    def score(self, item: RubricInput) -> RubricVerdict: ...


ArenaJudgeFactory = Callable[[JudgeSpec], ArenaJudge]
ARENA_JUDGES: Registry[ArenaJudgeFactory] = Registry("arena judge")
ARENA_JUDGES.add(
    "smollm2",
    "duplex.arena.embedded:make_embedded",
    "embedded SmolLM2-135M: each response's likelihood quality, compared; offline, deterministic",
)
ARENA_JUDGES.add(
    "anthropic",
    "duplex.arena.remote:make_anthropic",
    "Claude via the Messages API; model=..., key from ANTHROPIC_API_KEY",
)
ARENA_JUDGES.add(
    "openai-compatible",
    "duplex.arena.remote:make_openai_compatible",
    "a chat-completions endpoint; base_url=http://HOST:PORT/v1,model=...",
)
DEFAULT_ARENA_JUDGE = "smollm2"


def check_arena_judge(text: str) -> JudgeSpec:
    """Parse a spec and check its name without loading anything (fail before a long arena)."""
    spec = parse_judge_spec(text)
    ARENA_JUDGES.get(spec.name)  # raises with "did you mean"
    return spec


def load_arena_judge(text: str) -> ArenaJudge:
    spec = check_arena_judge(text)
    return ARENA_JUDGES.get(spec.name)(spec)


# ------------------------------------------------------------------------------- the cache


class BattleCache(KeyedStore):
    """Thread-safe sqlite store of verdicts; ``path`` None keeps it in memory (tests)."""

    def __init__(self, path: Path | None = None) -> None:
        super().__init__(path, "battles", "verdict")

    @classmethod
    def default(cls) -> BattleCache:
        """``$DUPLEX_BENCH_CACHE/arena/battles.sqlite`` (beside the judges' verdict cache)."""
        return cls(cache_dir("arena") / "battles.sqlite")

    @staticmethod
    def key(kind: str, judge: ArenaJudge, item_key: str) -> str:
        doc = [kind, judge.name, judge.model, judge.prompt_version, judge.prompt_sha, item_key]
        return hashlib.sha256(json.dumps(doc).encode()).hexdigest()

    def get(self, key: str) -> dict[str, Any] | None:
        text = self.read(key)
        return None if text is None else dict(json.loads(text))

    def put(self, key: str, doc: dict[str, Any]) -> None:
        self.write(key, json.dumps(doc))


# ------------------------------------------------------------------------------ judging


def missing(judge: ArenaJudge, reason: str) -> PairVerdict:
    return PairVerdict(
        None,
        reason=reason,
        judge=judge.name,
        model=judge.model,
        prompt_version=judge.prompt_version,
    )


def judge_many(
    judge: ArenaJudge,
    kind: str,
    keys: Sequence[str],
    run_one: Callable[[int], T],
    *,
    encode: Callable[[T], dict[str, Any] | None],
    decode: Callable[[dict[str, Any]], T],
    cache: BattleCache | None,
    concurrency: int | None = None,
) -> list[T]:
    """Results in the order of ``keys``: cached ones read back, the rest made by ``run_one(i)``
    on up to ``max_concurrency`` threads and cached as each finishes (``encode`` None: missing,
    not cached)."""
    full = [BattleCache.key(kind, judge, k) for k in keys]
    cached: list[T | None] = []
    for k in full:
        doc = cache.get(k) if cache is not None else None
        cached.append(None if doc is None else decode(doc))

    def one(i: int) -> T:
        result = run_one(i)
        doc = encode(result)
        if cache is not None and doc is not None:
            cache.put(full[i], doc)
        return result

    return fan_out(cached, one, concurrency, judge.max_concurrency, "arena")


def judge_pairs(
    judge: ArenaJudge,
    items: Sequence[PairInput],
    *,
    cache: BattleCache | None = None,
    concurrency: int | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
    sleep: Sleep = time.sleep,
) -> list[PairVerdict]:
    """Verdicts in the order of ``items``; cached ones are not asked again."""

    def run_one(i: int) -> PairVerdict:
        return with_retries(
            judge,
            lambda: judge.compare(items[i]),
            lambda why: missing(judge, why),
            backoff=backoff,
            sleep=sleep,
        )

    return judge_many(
        judge,
        "pair",
        [i.key() for i in items],
        run_one,
        encode=lambda v: None if v.winner is None else v.to_json(),
        decode=lambda d: PairVerdict.from_json(d, cached=True),
        cache=cache,
        concurrency=concurrency,
    )
