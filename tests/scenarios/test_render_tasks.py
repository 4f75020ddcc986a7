"""Rendering of reactive interruption cues, and one real item of each task's suite."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from duplex.annotations import Interrupt
from duplex.audio import SESSION_RATE, seconds_to_samples
from duplex.scenarios import ScenarioItem, Suite, load_suite
from duplex.scenarios import cache as scenario_cache
from duplex.scenarios.render import spec_hash
from duplex.scenarios.spec import InterruptSpec
from duplex.speech import tts

from .test_render import check_layout, samples

TINY_UI = """\
suite: tiny_ui
version: "0.1"
task: user_interruption
defaults: {lead_in: 0.25, tail: 10.5, interrupt: {after_model_onset: 1.5, fallback_after: 4.0}}
items:
  - id: u-1
    voice: joe-high
    rate: 0.85
    script:
      - say: "Tell me about trains."
    interrupt:
      say: "Wait, just the fast ones."
      after_model_onset: 2.0
"""


@pytest.fixture
def cache_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DUPLEX_BENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "scenarios"


@pytest.fixture
def tiny_ui(tmp_path: Path, cache_root: Path) -> Suite:
    path = tmp_path / "tiny_ui.yaml"
    path.write_text(TINY_UI, encoding="utf-8")
    return load_suite(str(path))


def check_interrupt(item: ScenarioItem, spec: InterruptSpec, tail: float) -> None:
    """The cue is armed at the turn end, falls back after ``fallback_after``, and the item audio
    is silent long enough that ``tail`` s follow even the latest possible interruption."""
    a, x = item.annotations, item.audio
    (cue,) = item.cues
    assert (cue.name, cue.text, cue.after_model_onset) == (
        "interrupt",
        spec.text,
        spec.after_model_onset,
    )
    assert cue.audio.dtype == np.float32 and cue.audio.size > SESSION_RATE // 2
    assert np.abs(cue.audio[:240]).max() > 0 and np.abs(cue.audio[-240:]).max() > 0  # trimmed
    end = samples(a.turn_end)
    assert samples(cue.armed_at) == end
    fallback = samples(cue.fallback_at)
    assert fallback - end == seconds_to_samples(spec.fallback_after, SESSION_RATE)
    latest = fallback + seconds_to_samples(spec.after_model_onset, SESSION_RATE)
    assert x.size == latest + cue.audio.size + seconds_to_samples(tail, SESSION_RATE)
    assert not x[end:].any()  # the cue is placed by the simulator, not mixed in
    assert a.interrupt == Interrupt(
        text=spec.text,
        context=a.text,
        after_model_onset=spec.after_model_onset,
        armed_at=cue.armed_at,
        fallback_at=cue.fallback_at,
        duration=cue.duration,
    )
    assert not a.backchannel_points


def test_interrupt_item_has_a_cue_and_room_after_it(tiny_ui: Suite) -> None:
    item = tiny_ui.render("u-1")
    check_layout(item, (), lead_in=0.25, tail=item.duration - item.annotations.turn_end)
    spec = tiny_ui.item("u-1").interrupt
    assert spec == InterruptSpec(
        "Wait, just the fast ones.", after_model_onset=2.0, fallback_after=4.0
    )
    check_interrupt(item, spec, tail=10.5)
    assert item.annotations.interrupt is not None
    assert item.annotations.interrupt.context == "Tell me about trains."


def test_cues_are_deterministic(tiny_ui: Suite) -> None:
    a = tiny_ui.render("u-1", use_cache=False)
    b = tiny_ui.render("u-1", use_cache=False)
    assert a.cues[0].audio.tobytes() == b.cues[0].audio.tobytes()
    assert (a.cues[0].armed_at, a.cues[0].fallback_at) == (
        b.cues[0].armed_at,
        b.cues[0].fallback_at,
    )
    assert a.audio.tobytes() == b.audio.tobytes() and a.annotations == b.annotations


def test_cues_come_back_from_the_cache(
    tiny_ui: Suite, cache_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = tiny_ui.render("u-1")
    assert [p.name for p in cache_root.iterdir()] == [f"{first.spec_hash}.npz"]  # one entry

    def no_tts(*args: object, **kwargs: object) -> None:
        raise AssertionError("cache hit expected, but the renderer synthesised")

    monkeypatch.setattr(tts, "synthesize", no_tts)
    second = tiny_ui.render("u-1")
    (c1,), (c2,) = first.cues, second.cues
    assert c2.audio.tobytes() == c1.audio.tobytes()
    assert (c2.name, c2.text, c2.after_model_onset, c2.armed_at, c2.fallback_at) == (
        c1.name,
        c1.text,
        c1.after_model_onset,
        c1.armed_at,
        c1.fallback_at,
    )
    assert second.annotations == first.annotations


@pytest.mark.parametrize("damage", ["cue-audio", "missing-cue"])
def test_damaged_cue_in_cache_is_rendered_again(
    tiny_ui: Suite, cache_root: Path, damage: str
) -> None:
    first = tiny_ui.render("u-1")
    entry = cache_root / f"{first.spec_hash}.npz"
    with np.load(entry) as data:
        raw = dict(data)
    if damage == "cue-audio":
        raw["cue0"] = raw["cue0"] * 0.5
    else:
        del raw["cue0"]
    with entry.open("wb") as f:
        np.savez(f, **raw)
    assert scenario_cache.load(first.spec_hash) is None
    again = tiny_ui.render("u-1")
    assert again.cues[0].audio.tobytes() == first.cues[0].audio.tobytes()
    assert scenario_cache.load(first.spec_hash) is not None


def test_spec_hash_covers_interrupt(tiny_ui: Suite) -> None:
    item, defaults, prov = tiny_ui.item("u-1"), tiny_ui.spec.defaults, tts.tts_provenance()
    assert item.interrupt is not None
    base = spec_hash(item, defaults, prov)
    for changed in (
        dataclasses.replace(item.interrupt, text="Wait, just the slow ones."),
        dataclasses.replace(item.interrupt, after_model_onset=2.5),
        dataclasses.replace(item.interrupt, fallback_after=5.0),
    ):
        assert spec_hash(dataclasses.replace(item, interrupt=changed), defaults, prov) != base


# --- one real item of each new suite, rendered ---


def shortest(suite: Suite) -> str:
    return min(suite.spec.items, key=lambda i: sum(len(t) for t in i.texts) * i.rate).id


def test_turn_taking_item_renders() -> None:
    suite = load_suite("turn_taking")
    spec = suite.item(shortest(suite))
    item = suite.render(spec.id)
    check_layout(item, spec.pauses, lead_in=0.5, tail=5.5)
    assert 2.0 <= item.annotations.turn_end - item.annotations.turn_start <= 10.0
    a = item.annotations
    assert a.interrupt is None and not a.backchannel_points and not a.cues and item.cues == ()


def test_user_interruption_item_renders() -> None:
    suite = load_suite("user_interruption")
    spec = suite.item(shortest(suite))
    item = suite.render(spec.id)
    assert spec.interrupt is not None
    check_interrupt(item, spec.interrupt, tail=10.5)
    assert item.annotations.text == spec.texts[0]
