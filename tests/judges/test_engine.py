"""Judge plumbing without a network: specs, prompts, rating parsing, retries, concurrency, cache,
calibration figures."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from duplex.errors import ConfigError, UnknownNameError
from duplex.judges import JUDGES, check_judge_spec
from duplex.judges.base import (
    JudgeError,
    JudgeInput,
    RetryableError,
    Verdict,
    load_prompt,
    parse_judge_spec,
    parse_rating,
    redact_spec,
)
from duplex.judges.cache import VerdictCache
from duplex.judges.calibrate import calibrate, format_calibration, load_calibration
from duplex.judges.engine import Backoff, judge_items
from duplex.judges.remote import retry_after


@dataclass
class FakeJudge:
    """Scores by keyword; can fail, crash, and counts calls and calls in flight."""

    failures: list[Exception | None] = field(default_factory=list)  # per call; None: succeed
    name: str = "fake"
    model: str = "fake-1"
    prompt_version: str = "interruption_v1"
    prompt_sha: str = "0"
    max_concurrency: int = 3
    max_attempts: int = 3
    calls: int = 0
    in_flight: int = 0
    peak: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def rate(self, item: JudgeInput) -> Verdict:
        with self.lock:
            self.calls += 1
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            failure = self.failures.pop(0) if self.failures else None
        try:
            time.sleep(0.01)
            if failure is not None:
                raise failure
            words = set(item.response.lower().split()) & set(item.interrupt.lower().split())
            score = 5 if len(words) > 1 else 2 if words else 0
            return Verdict(
                score,
                reason="keywords",
                judge=self.name,
                model=self.model,
                prompt_version=self.prompt_version,
            )
        finally:
            with self.lock:
                self.in_flight -= 1

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "spec": self.name, "model": self.model, "prompt_version": "v"}

    def close(self) -> None:
        pass


ITEMS = [JudgeInput("ctx", f"what about item {i}", f"item {i} is fine") for i in range(8)]


def test_spec_parsing_keeps_urls() -> None:
    spec = parse_judge_spec("openai-compatible:base_url=http://127.0.0.1:8000/v1,model=qwen")
    assert spec.name == "openai-compatible"
    assert spec.args == {"base_url": "http://127.0.0.1:8000/v1", "model": "qwen"}
    assert redact_spec(parse_judge_spec("anthropic:api_key=sk-1,model=m")) == (
        "anthropic:api_key=***,model=m"
    )
    with pytest.raises(ConfigError, match="not key=value"):
        parse_judge_spec("anthropic:model")
    with pytest.raises(UnknownNameError, match="did you mean 'anthropic'"):
        check_judge_spec("anthropc")
    assert JUDGES.names() == ["anthropic", "openai-compatible", "smollm2"]


def test_unknown_spec_arguments_are_errors() -> None:
    with pytest.raises(ConfigError, match="unknown argument 'temp'"):
        JUDGES.get("anthropic")(parse_judge_spec("anthropic:temp=0,api_key=k"))


def test_prompt_file() -> None:
    prompt = load_prompt("interruption_v1")
    text = prompt.render(JudgeInput("C?", "I?", "R."))
    assert "C?" in text and "I?" in text and "R." in text
    assert "Rating: N" in prompt.system and len(prompt.sha256) == 16
    with pytest.raises(ConfigError, match="unknown judge prompt"):
        load_prompt("interruption_v9")


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("Fine.\nRating: 4", 4),
        ("0 is unrelated, 5 perfect.\n**Rating:** 3", 3),
        ("Rating: [2]", 2),
        ("rating = 5", 5),
        ("Rating: 1\nOn reflection... Rating: 0", 0),
        ("Rating: 4.5", None),
        ("Rating: 6", None),
        ("no rating", None),
    ],
)
def test_parse_rating(text: str, score: int | None) -> None:
    assert parse_rating(text)[0] == score


def test_retry_after_header_forms() -> None:
    assert retry_after({"retry-after": "2"}) == 2.0
    assert retry_after({"retry-after-ms": "150", "retry-after": "9"}) == 0.15
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert retry_after({}) is None


def test_backoff() -> None:
    b = Backoff(base=1.0, cap=5.0)
    assert [b.delay(n, None) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]
    assert b.delay(1, 3.0) == 3.0 and b.delay(1, 600.0) == 5.0


def test_bounded_concurrency_and_order() -> None:
    judge = FakeJudge()
    verdicts = judge_items(judge, ITEMS, concurrency=2)
    assert [v.score for v in verdicts] == [5] * 8
    assert judge.peak <= 2 and judge.calls == 8


def test_failures_become_missing_scores_with_reasons() -> None:
    judge = FakeJudge(
        failures=[RetryableError("HTTP 429", retry_after=0.5), None, JudgeError("bad answer")],
        max_concurrency=1,
    )
    sleeps: list[float] = []
    first, second, third = judge_items(judge, ITEMS[:3], sleep=sleeps.append)
    assert first.score == 5 and sleeps == [0.5]  # retried after the server's delay
    assert second.score is None and second.reason == "bad answer"
    assert third.score == 5
    crash = FakeJudge(failures=[ZeroDivisionError("boom")])
    (v,) = judge_items(crash, ITEMS[:1])
    assert v.score is None and "ZeroDivisionError" in v.reason


def test_cache_skips_known_items_and_not_failures(tmp_path: Path) -> None:
    cache = VerdictCache(tmp_path / "c.sqlite")
    judge = FakeJudge(failures=[JudgeError("bad")], max_concurrency=1)  # the first call fails
    first = judge_items(judge, ITEMS[:3], cache=cache)
    assert [v.score for v in first] == [None, 5, 5]
    again = judge_items(judge, ITEMS[:3], cache=VerdictCache(tmp_path / "c.sqlite"))
    assert judge.calls == 4  # only the failed one was asked again
    assert [v.score for v in again] == [5, 5, 5]
    assert [v.cached for v in again] == [False, True, True]
    other = FakeJudge(model="fake-2")
    judge_items(other, ITEMS[:3], cache=cache)
    assert other.calls == 3  # another model never reuses these verdicts


def test_calibration_figures() -> None:
    items = load_calibration()
    assert len(items) >= 15
    assert all(set(i) >= {"context", "interrupt", "relevant", "partly", "unrelated"} for i in items)
    cal = calibrate(FakeJudge(), items=items)
    assert cal.overall.pairs == 3 * len(items)
    text = format_calibration(cal)
    assert "relevant>unrelated" in text and "all pairs" in text
