"""The API arena judges against a local server imitating the APIs (real SDKs)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from duplex.arena.calibrate import spoken
from duplex.arena.judging import (
    BattleCache,
    PairInput,
    RubricInput,
    judge_pairs,
    load_arena_judge,
    with_retries,
)
from duplex.arena.remote import parse_rubric, parse_winner
from duplex.errors import ConfigError
from duplex.judges.base import JudgeError
from duplex.judges.engine import Backoff
from tests.judges.fake_api import FakeApi, Reply, anthropic_text, error_body, openai_text, serve

pytest.importorskip("anthropic")
pytest.importorskip("openai")

KEY = "sk-test-arena-secret"
PAIR = PairInput(
    "What's the capital of Australia?", spoken("It's Canberra."), spoken("Sydney, I think.")
)
FAST = Backoff(base=0.01, cap=1.0)


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with serve() as a:
        yield a


def _anthropic(api: FakeApi, **extra: str) -> Any:
    args = {"model": "claude-test", "base_url": api.url, "api_key": KEY, "attempts": "3", **extra}
    return load_arena_judge("anthropic:" + ",".join(f"{k}={v}" for k, v in args.items()))


def _openai(api: FakeApi) -> Any:
    return load_arena_judge(f"openai-compatible:model=qwen-test,base_url={api.url}/v1,attempts=2")


def test_parse_winner_and_rubric() -> None:
    assert parse_winner("A is right.\nWinner: A") == "A"
    assert parse_winner("Winner: A at first... on reflection\nWinner: **tie**") == "tie"
    assert parse_winner("winner = b") == "B"
    with pytest.raises(JudgeError):
        parse_winner("Both are fine.")
    assert parse_rubric("ok\ncontent: 4\ncriterion 2: 5\ncriterion 1: 3", 3) == (4, (3, 5, None))
    with pytest.raises(JudgeError):
        parse_rubric("content: 7", 0)
    with pytest.raises(JudgeError):
        parse_rubric("criterion 1: 3", 1)


def test_anthropic_pair_sends_both_answers_with_features(api: FakeApi) -> None:
    api.set(Reply(body=anthropic_text("A names the capital.\nWinner: A")))
    judge = _anthropic(api)
    (v,) = judge_pairs(judge, [PAIR], backoff=FAST, sleep=lambda s: None)
    assert (v.winner, v.judge, v.model, v.prompt_version) == (
        "A",
        "anthropic",
        "claude-test",
        "arena_pair_v1",
    )
    assert v.reason == "A names the capital."
    (seen,) = api.requests
    text = seen.body["messages"][0]["content"]
    assert "Answer A (transcribed): It's Canberra." in text
    assert "Answer B (transcribed): Sydney, I think." in text
    assert "170 words/min" in text and "latency 0.60 s" in text and "pitch 110 Hz" in text
    assert "Winner: A" in seen.body["system"]
    assert KEY not in json.dumps(judge.describe())
    judge.close()


def test_retries_then_missing_never_a_tie(api: FakeApi) -> None:
    api.set(Reply(status=529, body=error_body("overloaded_error")))
    judge = _anthropic(api)
    sleeps: list[float] = []
    (v,) = judge_pairs(judge, [PAIR], backoff=FAST, sleep=sleeps.append)
    assert v.winner is None and "gave up after 3 attempts" in v.reason
    assert len(api.requests) == 3 and len(sleeps) == 2
    # A malformed answer is missing too, and not cached (asked again next time).
    api.set(Reply(body=anthropic_text("They are both fine.")))
    cache = BattleCache()
    (v,) = judge_pairs(judge, [PAIR], cache=cache)
    assert v.winner is None and "Winner" in v.reason
    api.set(Reply(body=anthropic_text("Winner: B")))
    (v,) = judge_pairs(judge, [PAIR], cache=cache)
    assert v.winner == "B" and not v.cached
    (v,) = judge_pairs(judge, [PAIR], cache=cache)
    assert v.winner == "B" and v.cached
    judge.close()


def test_openai_rubric_with_item_criteria(api: FakeApi) -> None:
    api.set(Reply(body=openai_text("Good.\ncontent: 5\ncriterion 1: 4\ncriterion 2: 2")))
    judge = _openai(api)
    item = RubricInput(
        "What's the capital of Australia?",
        spoken("It's Canberra."),
        "general_v1",
        "sha",
        (("semantic", "Names Canberra."), ("paralinguistic", "Answers within a second.")),
    )
    v = with_retries(judge, lambda: judge.score(item), lambda why: None)  # type: ignore[arg-type,return-value]
    assert v is not None and (v.content, v.criteria) == (5, (4, 2))
    (seen,) = api.requests
    user = seen.body["messages"][1]["content"]
    assert "criterion 1 (semantic): Names Canberra." in user
    assert "criterion 2 (paralinguistic): Answers within a second." in user
    judge.close()


def test_bad_specs() -> None:
    with pytest.raises(ConfigError, match="did you mean"):
        load_arena_judge("antropic")
    with pytest.raises(ConfigError, match="unknown arena prompt"):
        load_arena_judge("anthropic:api_key=x,prompt=nope_v9")
