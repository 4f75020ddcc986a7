"""run_probe end to end with injected models: t2t == s2t when the ASR hears the text exactly."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from duplex.errors import AudioError, ConfigError, ModelError
from duplex.probes import conditions as cond_mod
from duplex.probes.cascade import CascadeScorer
from duplex.probes.hf import CausalLMScorer
from duplex.probes.models import check_scorer, load_scorer
from duplex.probes.report import format_table
from duplex.probes.run import ProbeConfig, resolve_conditions, run_probe
from duplex.probes.scoring import TokenScores
from duplex.probes.sets import load_set
from duplex.speech.wer import word_errors as word_error_rate
from tests.probes.fakes import BigramLM, CopyScorer, WordTokenizer, bigram_table


def lm_for(items: list) -> CausalLMScorer:
    words = {w for it in items for t in (it.context, *it.choices) for w in t.split()}
    tok = WordTokenizer(sorted(words | {"a", "b"}))
    rng = np.random.default_rng(0)
    prefer = {w: {v: float(rng.uniform(0.001, 0.01)) for v in list(words)[:5]} for w in words}
    return CausalLMScorer(BigramLM(bigram_table(tok.vocab, prefer)), tok, name="bigram")


def test_t2t_and_s2t_agree_exactly_when_the_transcript_is_the_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    items = list(load_set("copa", limit=8).items)
    texts: dict[int, str] = {}

    def render(text: str, condition: object, *, seed: int = 0) -> tuple[np.ndarray, int]:
        n = 1000 + len(texts)
        texts[n] = text
        return np.zeros(n, np.float32), 16000

    monkeypatch.setattr(cond_mod, "render", render)
    scorer = CascadeScorer(lm_for(items), transcribe=lambda x, rate: texts[x.size])
    run = run_probe(
        ProbeConfig(model="fake", sets=("copa",), conditions=("t2t", "s2t"), limit=8),
        scorer=scorer,
    )
    by = {(r["id"], r["condition"]): r for r in run.items}
    for it in items:
        assert by[(it.id, "t2t")]["choices"] == by[(it.id, "s2t")]["choices"]
        assert by[(it.id, "s2t")]["context_heard"] == it.context
    s2t = next(r for r in run.rows if r["condition"] == "s2t")
    assert s2t["gap_mean"] == {"value": 0.0, "ci_low": 0.0, "ci_high": 0.0}
    assert s2t["nll_shift"]["value"] == 0.0 and s2t["context_wer"] == 0.0


def test_a_garbled_transcript_opens_a_gap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cond_mod, "render", lambda t, c, seed=0: (np.zeros(10, np.float32), 16000))
    good = {it.choices[it.label] for it in load_set("copa").items}
    # the ASR hears nothing; the LM still prefers the plausible choice (it scores the choices)
    scorer = CascadeScorer(CopyScorer(good, bias=0.5), transcribe=lambda x, rate: "")
    run = run_probe(
        ProbeConfig(model="fake", sets=("copa",), conditions=("s2t",), limit=20), scorer=scorer
    )
    assert [r["condition"] for r in run.rows] == ["t2t", "s2t"]  # t2t added as the reference
    assert run.rows[0]["acc_mean"]["value"] == 1.0
    assert run.rows[1]["context_wer"] == 1.0


def test_conditions_a_text_model_cannot_take_are_refused() -> None:
    scorer = CopyScorer()
    assert [c.name for c in resolve_conditions(scorer, [])] == ["t2t"]
    with pytest.raises(ConfigError, match=r"cannot take condition 's2t'.*cascade:SPEC"):
        resolve_conditions(scorer, ["s2t"])


def test_python_hook_loads_and_checks_the_protocol() -> None:
    scorer = load_scorer("python:tests.probes.fakes:make_copy_scorer:ckpt/step_500")
    assert scorer.name == "copy" and scorer.describe()["bias"] == pytest.approx(0.5)
    with pytest.raises(ConfigError, match="no 'name'"):
        load_scorer("python:tests.probes.fakes:not_a_scorer")
    with pytest.raises(ConfigError, match="cannot import"):
        load_scorer("python:no.such.module:f")
    with pytest.raises(ConfigError, match="declares 'speech' but has no score_speech"):
        bad = CopyScorer()
        bad.modalities = frozenset({"text", "speech"})
        check_scorer(bad, "x")


def test_results_are_json_with_provenance(tmp_path: Path) -> None:
    from duplex.probes.run import write_results

    run = run_probe(
        ProbeConfig(
            model="python:tests.probes.fakes:make_copy_scorer", sets=("copa", "bcopa"), limit=5
        )
    )
    assert {r["set"] for r in run.rows} == {"copa", "bcopa", "all"}
    path = write_results(run, tmp_path)
    import json

    data = json.loads(path.read_text())
    prov = data["provenance"]
    assert prov["model_spec"].startswith("python:")
    assert [s["version"] for s in prov["sets"]] and prov["environment"]["packages"]
    assert prov["seeds"] == {"noise": 0, "bootstrap": 0}
    assert not math.isnan(data["summary"][0]["acc_mean"]["value"])


def test_word_error_rate() -> None:
    assert word_error_rate("The cat sat.", "the cat sat") == (0, 3)
    assert word_error_rate("well-groomed lawn", "well groomed long") == (1, 3)
    assert word_error_rate("a b", "") == (2, 2)


class SpeechBoth:
    """A 'speech LLM' that scores spoken continuations: shorter audio = more likely."""

    name = "speech-both"
    modalities = frozenset({"speech+speech"})

    def describe(self) -> dict[str, str]:
        return {"name": self.name}

    def score_speech_continuation(
        self, context: np.ndarray, rate: int, continuations: list, continuation_rate: int
    ) -> list[TokenScores]:
        assert context.size == 7 and continuation_rate == 16000
        return [TokenScores((-0.001 * c.size,)) for c in continuations]


def test_s2s_hands_spoken_continuations_to_a_speech_model(monkeypatch: pytest.MonkeyPatch) -> None:
    def render(text: str, condition: object, *, seed: int = 0) -> tuple[np.ndarray, int]:
        return np.zeros(7 if text.endswith(("because", "so")) else len(text), np.float32), 16000

    monkeypatch.setattr(cond_mod, "render", render)
    scorer = check_scorer(SpeechBoth(), "test")
    run = run_probe(ProbeConfig(model="t", sets=("copa",), limit=6), scorer=scorer)
    assert [r["condition"] for r in run.rows] == ["s2s"]  # no text: no t2t, no gap
    assert "gap_mean" not in run.rows[0]


def test_a_scorer_returning_bad_numbers_is_a_model_error() -> None:
    class Broken(CopyScorer):
        def score_text(self, context: str, continuations: list) -> list[TokenScores]:
            return [TokenScores((0.5,))]  # positive log-probability

    with pytest.raises(ModelError, match="probe model 'copy' on copa-dev-"):
        run_probe(ProbeConfig(model="t", sets=("copa",), limit=1), scorer=Broken())


def test_an_error_while_speaking_a_context_names_set_item_and_condition(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def render(text: str, condition: object, *, seed: int = 0) -> tuple[np.ndarray, int]:
        raise AudioError("mix: peak 1.052 exceeds full scale; lower the gains")

    monkeypatch.setattr(cond_mod, "render", render)
    config = ProbeConfig(model="t", sets=("copa",), conditions=("t2t", "s2t"), limit=2)
    where = r"probe set 'copa', item copa-dev-\S+, condition s2t: mix"
    with pytest.raises(AudioError, match=where):
        run_probe(config, scorer=CascadeScorer(CopyScorer(), lambda x, rate: "x"))


def test_a_model_crash_on_one_item_is_a_recorded_failure_and_the_run_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    items = list(load_set("copa", limit=6).items)
    bad = items[2]
    # a context's length stands for the item, so the model knows which one it is hearing
    monkeypatch.setattr(
        cond_mod, "render", lambda t, c, seed=0: (np.zeros(len(t), np.float32), 16000)
    )

    class Crashing(CascadeScorer):
        def score_speech_batch(self, requests: Any, *, batch: bool = True) -> Any:
            if any(x.size == len(bad.context) for x, _, _ in requests):
                raise RuntimeError("CUDA out of memory")
            return super().score_speech_batch(requests, batch=batch)

    scorer = Crashing(CopyScorer(), lambda x, rate: "heard")
    config = ProbeConfig(model="t", sets=("copa",), conditions=("t2t", "s2t"), limit=6)
    run = run_probe(config, scorer=scorer)
    assert run.failures == [
        {
            "set": "copa",
            "id": bad.id,
            "condition": "s2t",
            "reason": f"probe set 'copa', item {bad.id}, condition s2t: probe model "
            f"'cascade:copy' crashed on {bad.id}: RuntimeError: CUDA out of memory",
        }
    ]
    # the batch failed, so its items were scored one by one: only the culprit is lost, and it
    # is left out of t2t too, so that the gap compares the same items
    assert [r["items"] for r in run.rows] == [5, 5]
    assert len([r for r in run.items if r["condition"] == "s2t"]) == 5
    table = format_table(run.rows, run.timing, run.failures)
    assert "the model failed on 1 items (1 item-conditions)" in table


def test_a_model_that_fails_on_every_item_is_an_error_naming_the_first() -> None:
    class Broken(CopyScorer):
        def score_text(self, context: str, continuations: list) -> list[TokenScores]:
            raise RuntimeError("segfault in the kernel")

    with pytest.raises(ModelError, match=r"failed on every item \(3 failures\).*segfault"):
        run_probe(ProbeConfig(model="t", sets=("copa",), limit=3), scorer=Broken())
