"""API judges for the overlap label: the prompt, the answer's parsing, the real SDKs against a local
server imitating the APIs, retries, and the label cache."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from duplex.errors import ConfigError
from duplex.judges.engine import Backoff
from duplex.judges.overlap import EmbeddedLabeller, LabelCase, TimedWord
from duplex.judges.overlap_api import (
    ApiLabeller,
    LabelCache,
    label_cases,
    load_label_prompt,
    load_labeller,
    parse_label,
    render_prompt,
)
from tests.judges.fake_api import FakeApi, Reply, anthropic_text, openai_text, serve

KEY = "sk-test-overlap-0123456789"
FAST = Backoff(base=0.01, cap=1.0)


def _case(item_id: str = "x") -> LabelCase:
    clean = tuple(
        TimedWord(1.0 + 0.3 * i, 1.25 + 0.3 * i, w) for i, w in enumerate(["a", "b", "c"])
    )
    return LabelCase(
        item_id, "How do tides work?", "Wait, how often?", "user", 3.0, 4.5, clean, clean
    )


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with serve() as a:
        yield a


def _openai(api: FakeApi) -> ApiLabeller:
    spec = f"openai-compatible:base_url={api.url}/v1,model=qwen-test,attempts=3"
    labeller = load_labeller(spec)
    assert isinstance(labeller, ApiLabeller)
    return labeller


def test_prompt_and_label_parsing() -> None:
    prompt = load_label_prompt()
    assert prompt.version == "overlap_label_v1" and len(prompt.sha256) == 16
    system, user = render_prompt(_case())
    assert "uncertain" in system and "Label: X" in system
    assert "[1.00-1.25] a" in user and "from 3.00 s to 4.50 s" in user
    assert "How do tides work?" in user and "Wait, how often?" in user
    assert parse_label("It stopped.\nLabel: respond") == ("respond", "")
    assert parse_label("Label: resume ... no wait\nLabel: **Uncertain**") == ("uncertain", "")
    assert parse_label("Label: uncertain_handling") == ("uncertain", "")  # the anchor's name
    assert parse_label("I think it resumed.")[0] is None
    assert parse_label("Label: maybe") == (
        None,
        "label 'maybe' is not one of respond, resume, uncertain, unknown",
    )


def test_embedded_is_the_default_spec() -> None:
    assert isinstance(load_labeller("smollm2"), EmbeddedLabeller)
    with pytest.raises(ConfigError, match="unknown judge"):
        load_labeller("gpt5")


def test_openai_compatible_labels_and_caches(api: FakeApi, tmp_path: Path) -> None:
    api.set(Reply(body=openai_text("It went on with the same answer.\nLabel: resume")))
    labeller = _openai(api)
    cache = LabelCache(tmp_path / "labels.sqlite")
    (v,) = label_cases(labeller, [_case()], cache=cache, backoff=FAST, sleep=lambda s: None)
    assert (v.label, v.judge, v.model, v.prompt_version) == (
        "resume",
        "openai-compatible",
        "qwen-test",
        "overlap_label_v1",
    )
    assert v.reason == "It went on with the same answer." and not v.cached
    (seen,) = api.requests
    assert "Wait, how often?" in seen.body["messages"][1]["content"]
    assert "Label: X" in seen.body["messages"][0]["content"]
    # asked again: from the cache, no request
    (again,) = label_cases(labeller, [_case()], cache=cache)
    assert again.label == "resume" and again.cached and len(api.requests) == 1
    # the same inputs under another id: the labeller reads no id, so the label is the same
    (other,) = label_cases(labeller, [_case("y")], cache=cache)
    assert other.cached and len(api.requests) == 1
    labeller.close()
    cache.close()


def test_anthropic_retries_then_gives_a_missing_label(api: FakeApi) -> None:
    spec = f"anthropic:model=claude-test,base_url={api.url},api_key={KEY},attempts=3"
    labeller = load_labeller(spec)
    api.set(Reply(status=529, body={"type": "error", "error": {"type": "overloaded"}}))
    sleeps: list[float] = []
    (v,) = label_cases(labeller, [_case()], backoff=FAST, sleep=sleeps.append)
    assert v.label is None and "gave up after 3 attempts" in v.reason and len(sleeps) == 2
    assert KEY not in str(labeller.describe())
    # an answer without a label is final, and missing labels are never cached
    api.set(Reply(body=anthropic_text("Hard to say.")))
    cache = LabelCache()
    (v,) = label_cases(labeller, [_case()], cache=cache, backoff=FAST, sleep=sleeps.append)
    assert v.label is None and "no 'Label: X' line" in v.reason
    api.set(Reply(body=anthropic_text("Analysis.\nLabel: respond")))
    (v,) = label_cases(labeller, [_case()], cache=cache)
    assert v.label == "respond" and not v.cached
    labeller.close()
