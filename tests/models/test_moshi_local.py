"""`moshi:` in process: the genuine moshi package on CPU with tiny random weights."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from duplex.errors import ConfigError
from duplex.events import ModelText
from duplex.models.batch import BatchLockstepModel
from duplex.models.registry import load_model
from duplex.scenarios import load_suite
from duplex.scenarios.base import ScenarioItem
from duplex.simulator.batch import run_lockstep_batch
from duplex.simulator.recording import Recording
from duplex.simulator.session import SessionOptions, run_lockstep
from duplex.timeline import no_compute
from tests.support.moshi_inproc import needs_moshi, tiny_checkpoint

pytestmark = needs_moshi
F = 1920
#: Measured: the same tokens, audio within 1.2e-7 of a batch of one (sums in another order).
AUDIO_TOLERANCE = 1e-5
EXACT = SessionOptions(stopwatch=no_compute())


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_checkpoint(tmp_path_factory)


@pytest.fixture(scope="module")
def model(ckpt: Path) -> Iterator[BatchLockstepModel]:
    m = load_model(f"moshi:dir={ckpt},threads=1")
    assert isinstance(m, BatchLockstepModel)
    yield m
    m.close()


@pytest.fixture(scope="module")
def items() -> list[ScenarioItem]:
    suite = load_suite("turn_taking")
    return [suite.render(i) for i in suite.item_ids()[:4]]


def texts(rec: Recording) -> list[tuple[int, str]]:
    return [(e.at, e.text) for e in rec.events if isinstance(e, ModelText)]


def short_item(seconds: float = 2.0, item_id: str = "short") -> ScenarioItem:
    rng = np.random.default_rng(7)
    audio = (rng.standard_normal(int(seconds * 24000)) * 0.05).astype(np.float32)
    from duplex.annotations import Annotations

    return ScenarioItem("t", "1", item_id, audio, 24000, Annotations(speech=()), "h")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("", "missing lm, mimi, tokenizer; give dir=FOLDER"),
        ("dir=/nonexistent/ckpt", "dir '/nonexistent/ckpt' is not a folder"),
        ("lm=hf://kyutai/moshiko/model.safetensors,mimi=a,tokenizer=b", "never downloads"),
        ("lm=/no/lm.safetensors,mimi=/no/m,tokenizer=/no/t", "lm file '/no/lm.safetensors'"),
        ("dir=X,lm=Y", "either dir= or config="),
        ("dir=X,text_prompt=hello", "text_prompt is not supported: moshi 0.2.13 has no text"),
        ("dir=X,temperature=0.5", "unknown argument 'temperature'"),
    ],
)
def test_spec_errors_name_the_argument(args: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_model(f"moshi:{args}")


def test_bad_values_and_a_folder_without_weights(ckpt: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="dtype='float16'; choose one of float32, bfloat16"):
        load_model(f"moshi:dir={ckpt},dtype=float16")
    with pytest.raises(ConfigError, match=r"batch=0 is outside \[1, 4096\]"):
        load_model(f"moshi:dir={ckpt},batch=0")
    with pytest.raises(ConfigError, match="top_k='many' is not a whole number"):
        load_model(f"moshi:dir={ckpt},top_k=many")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ConfigError, match=r"no LM weights in .*model.safetensors, moshi.safe"):
        load_model(f"moshi:dir={tmp_path}")


@pytest.mark.slow
def test_a_rerun_is_identical_and_the_seed_matters(model: BatchLockstepModel, ckpt: Path) -> None:
    it = short_item()
    first, again = run_lockstep(model, it, EXACT), run_lockstep(model, it, EXACT)
    assert np.array_equal(first.model, again.model) and texts(first) == texts(again)
    assert np.abs(first.model).max() > 0.01  # random weights still make sound
    assert not first.model[:F].any()  # the first step yields nothing, as in Moshi's server
    other_run_seed = run_lockstep(model, it, SessionOptions(stopwatch=no_compute(), seed=1))
    assert not np.array_equal(first.model, other_run_seed.model)
    reseeded = load_model(f"moshi:dir={ckpt},threads=1,seed=5")
    try:
        assert not np.array_equal(first.model, run_lockstep(reseeded, it, EXACT).model)
    finally:
        reseeded.close()


@pytest.mark.slow
def test_batch_of_four_equals_four_single_runs(
    model: BatchLockstepModel, items: list[ScenarioItem]
) -> None:
    assert len({it.audio.size for it in items}) == 4  # different lengths: they leave at their end
    singles = [run_lockstep(model, it, EXACT) for it in items]
    for batch in (4, 3):  # 3: the fourth item takes the slot of the first one to end
        batched = run_lockstep_batch(model, items, EXACT, batch)
        for one, many in zip(singles, batched, strict=True):
            assert isinstance(many, Recording), many
            assert texts(one) == texts(many)
            assert np.abs(one.model - many.model).max() <= AUDIO_TOLERANCE
            assert np.array_equal(one.user, many.user)
            assert many.timings["batch"] == batch


@pytest.mark.slow
def test_interleaved_sessions_keep_their_own_state(model: BatchLockstepModel) -> None:
    """Two sessions open at once (as `serve` runs them) each equal their run alone."""
    a, b = short_item(1.6, "a"), short_item(1.6, "b")
    alone = [run_lockstep(model, it, EXACT) for it in (a, b)]
    from duplex.simulator.session import LockstepTrack

    tracks = [LockstepTrack(model, it, EXACT) for it in (a, b)]
    sessions = [model.open(t.info) for t in tracks]
    while not tracks[0].done:
        for track, session in zip(tracks, sessions, strict=True):
            track.place(session.step(track.next_frame()), 0.0)
    for session in sessions:
        session.close()
    for rec, track in zip(alone, tracks, strict=True):
        assert np.abs(rec.model - track.finish().model).max() <= AUDIO_TOLERANCE


@pytest.mark.slow
def test_the_server_form_and_a_moved_folder_load_the_same_model(
    model: BatchLockstepModel, ckpt: Path, tmp_path: Path
) -> None:
    it = short_item(1.2)
    reference = run_lockstep(model, it, EXACT)
    # config.json names its files with absolute file:// URLs; in a moved folder they are found by
    # name beside it.
    moved = tmp_path / "moved"
    shutil.copytree(ckpt, moved)
    explicit = (
        f"moshi:config={ckpt}/config.json,lm={ckpt}/moshi.safetensors,"
        f"mimi={ckpt}/mimi.safetensors,tokenizer={ckpt}/tokenizer.model,threads=1"
    )
    for spec in (explicit, f"moshi:dir={moved},threads=1"):
        other = load_model(spec)
        try:
            assert np.array_equal(run_lockstep(other, it, EXACT).model, reference.model)
            files = other.describe()["checkpoint"]
            assert files["lm"]["sha256"] == model.describe()["checkpoint"]["lm"]["sha256"]
        finally:
            other.close()
