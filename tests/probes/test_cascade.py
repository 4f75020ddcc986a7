"""The cascade's batch path: transcripts in parallel, one LM batch, the numbers of one item."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from duplex.errors import ModelError
from duplex.probes import conditions as cond_mod
from duplex.probes.cascade import CascadeScorer
from duplex.probes.run import ProbeConfig, run_probe, score_items
from duplex.probes.scoring import TokenScores
from duplex.probes.sets import load_set
from tests.probes.test_run import lm_for


class Heard:
    """A fake ASR: the text whose length is the audio's length; records the threads it ran on."""

    def __init__(self, texts: dict[int, str]) -> None:
        self.texts = texts
        self.threads: set[str] = set()

    def __call__(self, x: Any, rate: int) -> str:
        self.threads.add(threading.current_thread().name)
        return self.texts[x.size] + " "


@pytest.fixture
def spoken(monkeypatch: pytest.MonkeyPatch) -> dict[int, str]:
    texts: dict[int, str] = {}

    def render(text: str, condition: object, *, seed: int = 0) -> tuple[np.ndarray, int]:
        n = next((k for k, t in texts.items() if t == text), 1000 + len(texts))
        texts[n] = text
        return np.zeros(n, np.float32), 16000

    monkeypatch.setattr(cond_mod, "render", render)
    return texts


def test_speech_batch_equals_one_item_at_a_time(spoken: dict[int, str]) -> None:
    items = list(load_set("hellaswag", limit=5).items) + list(load_set("copa", limit=5).items)
    heard = Heard(spoken)
    scorer = CascadeScorer(lm_for(items), transcribe=heard, workers=2)
    s2t = cond_mod.CONDITIONS.get("s2t")
    batched = score_items(scorer, items, s2t, seed=0)
    assert any(name.startswith("probe-asr") for name in heard.threads)  # transcribed in parallel
    one = [score_items(scorer, [it], s2t, seed=0)[0] for it in items]
    for it, a, b in zip(items, batched, one, strict=True):
        for sa, sb in zip(a, b, strict=True):
            assert sa.logprobs == pytest.approx(sb.logprobs, abs=1e-6)
        assert {s.context_text for s in a} == {it.context}  # stripped, recorded with each score
    assert scorer.stage_seconds["asr"] > 0 and scorer.stage_seconds["lm"] > 0


def test_run_probe_gives_the_same_results_batched_and_not(spoken: dict[int, str]) -> None:
    items = list(load_set("copa", limit=7).items) + list(load_set("hellaswag", limit=7).items)
    lm = lm_for(items)
    config = ProbeConfig(model="fake", sets=("copa", "hellaswag"), conditions=("s2t",), limit=7)
    runs = [
        run_probe(
            ProbeConfig(**{**config.__dict__, "batch_size": size}),
            scorer=CascadeScorer(lm, transcribe=Heard(spoken), workers=2),
        )
        for size in (3, 1)
    ]
    for a, b in zip(runs[0].items, runs[1].items, strict=True):  # equal up to float rounding
        assert {**a, "choices": None} == {**b, "choices": None}
        for ca, cb in zip(a["choices"], b["choices"], strict=True):
            assert ca["tokens"] == cb["tokens"]
            assert ca["logprob_sum"] == pytest.approx(cb["logprob_sum"], abs=1e-4)
    for ra, rb in zip(runs[0].rows, runs[1].rows, strict=True):
        assert ra["acc_mean"] == rb["acc_mean"] and ra["acc_sum"] == rb["acc_sum"]
    assert runs[0].to_json()["config"]["batch_size"] == 3
    assert runs[0].timing["s2t"]["items"] == 14 and "render_seconds" in runs[0].timing["s2t"]


class BadBatch:
    """One-item methods are fine; the batch method drops an item."""

    name = "bad"
    modalities = frozenset({"text"})

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}

    def score_text(self, context: str, continuations: Any) -> list[TokenScores]:
        return [TokenScores((-1.0,)) for _ in continuations]

    def score_text_batch(self, requests: Any) -> list[list[TokenScores]]:
        return [self.score_text(c, conts) for c, conts in requests][:-1]


def test_a_malformed_batch_answer_is_an_error_naming_the_method() -> None:
    items = list(load_set("copa", limit=3).items)
    t2t = cond_mod.CONDITIONS.get("t2t")
    assert len(score_items(BadBatch(), items, t2t, seed=0, batch=False)) == 3
    with pytest.raises(ModelError, match=r"score_text_batch\(\) gave a malformed answer"):
        score_items(BadBatch(), items, t2t, seed=0)
