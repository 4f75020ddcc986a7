"""The API judges end to end: the real SDKs against a local server imitating the APIs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from duplex.errors import ConfigError
from duplex.judges import load_judge
from duplex.judges.base import JudgeInput
from duplex.judges.engine import Backoff, judge_items
from tests.judges.fake_api import FakeApi, Reply, anthropic_text, error_body, openai_text, serve

pytest.importorskip("anthropic")  # an optional dependency (the judges extra)
pytest.importorskip("openai")  # an optional dependency (the judges extra)

KEY = "sk-test-secret-0123456789"
ITEM = JudgeInput(
    "Tell me about the Roman empire.", "Wait, when did it fall?", "It fell in 476 AD."
)
FAST = Backoff(base=0.01, cap=1.0)


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with serve() as a:
        yield a


def _anthropic(api: FakeApi, **extra: str) -> Any:
    args = {"model": "claude-test", "base_url": api.url, "api_key": KEY, "attempts": "3", **extra}
    return load_judge("anthropic:" + ",".join(f"{k}={v}" for k, v in args.items()))


def _openai(api: FakeApi, **extra: str) -> Any:
    args = {"model": "qwen-test", "base_url": api.url + "/v1", "attempts": "3", **extra}
    return load_judge("openai-compatible:" + ",".join(f"{k}={v}" for k, v in args.items()))


def _sent_key(headers: dict[str, str]) -> str | None:
    """The key as the SDK sent it (older SDKs use x-api-key, newer ones a bearer token)."""
    return headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")


def _judge(judge: Any, sleeps: list[float] | None = None) -> Any:
    record = sleeps if sleeps is not None else []
    (verdict,) = judge_items(judge, [ITEM], backoff=FAST, sleep=record.append)
    return verdict


def test_anthropic_ok_sends_prompt_and_key(api: FakeApi) -> None:
    api.set(Reply(body=anthropic_text("It answers the question directly.\nRating: 5")))
    judge = _anthropic(api)
    verdict = _judge(judge)
    assert (verdict.score, verdict.judge, verdict.model) == (5, "anthropic", "claude-test")
    assert verdict.prompt_version == "interruption_v1"
    assert verdict.reason == "It answers the question directly."
    (seen,) = api.requests
    assert seen.path == "/v1/messages"
    assert _sent_key(seen.headers) == KEY
    assert seen.body["model"] == "claude-test"
    assert "Wait, when did it fall?" in seen.body["messages"][0]["content"]
    assert "Rating: N" in seen.body["system"]
    assert KEY not in str(judge.describe())


def test_anthropic_429_honours_retry_after(api: FakeApi) -> None:
    api.set(
        Reply(429, error_body("rate_limit_error"), {"retry-after": "0.25"}),
        Reply(body=anthropic_text("Relevant.\nRating: 4")),
    )
    sleeps: list[float] = []
    assert _judge(_anthropic(api), sleeps).score == 4
    assert sleeps == [0.25]
    assert len(api.requests) == 2


def test_anthropic_500_backs_off_exponentially(api: FakeApi) -> None:
    api.set(
        Reply(500, error_body("api_error")),
        Reply(529, error_body("overloaded_error")),
        Reply(body=anthropic_text("Rating: 3")),
    )
    sleeps: list[float] = []
    assert _judge(_anthropic(api), sleeps).score == 3
    assert sleeps == [0.01, 0.02]


def test_anthropic_gives_up_with_a_reason(api: FakeApi) -> None:
    api.set(Reply(500, error_body("api_error")))
    verdict = _judge(_anthropic(api))
    assert verdict.score is None
    assert "gave up after 3 attempts" in verdict.reason and "500" in verdict.reason
    assert len(api.requests) == 3


def test_anthropic_timeout_is_retried(api: FakeApi) -> None:
    api.set(
        Reply(body=anthropic_text("Rating: 2"), delay=1.0), Reply(body=anthropic_text("Rating: 1"))
    )
    verdict = _judge(_anthropic(api, timeout="0.2"))
    assert verdict.score == 1
    assert len(api.requests) == 2


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (anthropic_text("I think it is quite relevant."), "no 'Rating: N' line"),
        (anthropic_text("Rating: 7"), "not an integer from 0 to 5"),
        ({**anthropic_text(""), "content": []}, "no text"),
        ("{not json", ""),
    ],
)
def test_anthropic_malformed_content_is_a_missing_score(api: FakeApi, body: Any, why: str) -> None:
    api.set(Reply(body=body))
    verdict = _judge(_anthropic(api))
    assert verdict.score is None and verdict.reason
    assert why in verdict.reason
    assert len(api.requests) == 1  # malformed answers are not retried


def test_anthropic_bad_key_is_final(api: FakeApi) -> None:
    api.set(Reply(401, error_body("authentication_error")))
    verdict = _judge(_anthropic(api))
    assert verdict.score is None and "401" in verdict.reason
    assert KEY not in verdict.reason
    assert len(api.requests) == 1


def test_anthropic_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        load_judge("anthropic:model=claude-test")


def test_anthropic_key_from_environment(api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-env-key")
    api.set(Reply(body=anthropic_text("Rating: 5")))
    judge = load_judge(f"anthropic:model=claude-test,base_url={api.url}")
    assert _judge(judge).score == 5
    assert _sent_key(api.requests[0].headers) == "sk-env-key"


def test_openai_compatible_ok(api: FakeApi) -> None:
    api.set(Reply(body=openai_text("Addresses the interruption.\nRating: 4")))
    verdict = _judge(_openai(api))
    assert (verdict.score, verdict.judge, verdict.model) == (4, "openai-compatible", "qwen-test")
    (seen,) = api.requests
    assert seen.path == "/v1/chat/completions"
    assert [m["role"] for m in seen.body["messages"]] == ["system", "user"]
    assert seen.body["temperature"] == 0


def test_openai_compatible_retries(api: FakeApi) -> None:
    api.set(
        Reply(429, {"error": {"message": "slow down"}}, {"retry-after": "0.5"}),
        Reply(503, {"error": {"message": "busy"}}),
        Reply(body=openai_text("Rating: 2"), delay=1.0),
        Reply(body=openai_text("Rating: 3")),
    )
    sleeps: list[float] = []
    verdict = _judge(_openai(api, timeout="0.2", attempts="4"), sleeps)
    assert verdict.score == 3
    assert sleeps == [0.5, 0.02, 0.04]


@pytest.mark.parametrize("text", [None, "", "no rating here"])
def test_openai_compatible_malformed(api: FakeApi, text: str | None) -> None:
    api.set(Reply(body=openai_text(text)))
    verdict = _judge(_openai(api))
    assert verdict.score is None and "malformed" in verdict.reason


def test_openai_compatible_needs_base_url() -> None:
    with pytest.raises(ConfigError, match="base_url"):
        load_judge("openai-compatible:model=qwen")
