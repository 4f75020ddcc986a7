"""The embedded default, for real: SmolLM2-135M (GGUF) and the cascade through Whisper tiny.en."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from duplex.probes.cascade import CascadeScorer
from duplex.probes.hf import CausalLMScorer, load_smollm2
from duplex.probes.run import ProbeConfig, run_probe
from duplex.probes.sets import load_set

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smollm2() -> CausalLMScorer:
    return load_smollm2(threads=2)


def test_shared_cache_matches_padded_batch_on_smollm2(smollm2: CausalLMScorer) -> None:
    item = load_set("hellaswag", limit=1).items[0]
    shared = smollm2.score_text(item.context, item.choices)
    smollm2.share_context = False
    try:
        padded = smollm2.score_text(item.context, item.choices)
    finally:
        smollm2.share_context = True
    for a, b in zip(shared, padded, strict=True):
        assert a.logprobs == pytest.approx(b.logprobs, abs=2e-3)
    assert smollm2.boundary_fallbacks == 0


def test_cascade_probe_runs_offline_on_a_few_items(smollm2: CausalLMScorer) -> None:
    run = run_probe(
        ProbeConfig(model="cascade", sets=("copa",), conditions=("t2t", "s2t"), limit=3),
        scorer=CascadeScorer(smollm2),
    )
    s2t = next(r for r in run.rows if r["condition"] == "s2t")
    assert s2t["items"] == 3 and s2t["context_wer"] is not None and s2t["context_wer"] < 0.5
    assert all(r["context_heard"] for r in run.items if r["condition"] == "s2t")
    assert run.provenance["model"]["asr"]["backend"] == "faster-whisper-tiny.en"


def test_the_cascade_hears_probes_as_the_agent_hears_a_turn() -> None:
    from duplex.models.cascade import listen
    from duplex.probes.cascade import whisper_transcriber
    from duplex.probes.conditions import CONDITIONS, render

    contexts = [render(it.context, CONDITIONS.get("s2t")) for it in load_set("copa", limit=4).items]
    one, info = whisper_transcriber(cached=False)
    two, _ = whisper_transcriber(cached=False, workers=2)
    with ThreadPoolExecutor(2) as pool:  # two transcriptions at once on a model of their own
        together = list(pool.map(lambda c: two(*c), contexts))
    alone = [one(*c) for c in contexts]
    assert together == alone == [listen.transcribe(*c) for c in contexts]
    assert info["decode"] == listen.DECODE
