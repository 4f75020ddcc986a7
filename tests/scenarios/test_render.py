"""Rendering: exact layout, determinism, and the content-hash cache."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from duplex.audio import SESSION_RATE, seconds_to_samples
from duplex.scenarios import ScenarioItem, Suite, load_suite
from duplex.scenarios import cache as scenario_cache
from duplex.scenarios.render import spec_hash
from duplex.scenarios.spec import Pause
from duplex.speech import tts

SUITE = """\
suite: tiny
version: "0.1"
task: pause_handling
defaults: {voice: joe, rate: 1.0, lead_in: 0.5, tail: 1.25}
items:
  - id: t-1
    voice: joe-low
    script:
      - say: "I was wondering whether,"
      - pause: 0.43
      - say: "we could,"
      - pause: 1.9
      - say: "leave a bit earlier."
  - id: t-2
    rate: 1.25
    script:
      - say: "Please call me back."
"""


@pytest.fixture
def cache_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DUPLEX_BENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "scenarios"


@pytest.fixture
def suite(tmp_path: Path, cache_root: Path) -> Suite:
    path = tmp_path / "tiny.yaml"
    path.write_text(SUITE, encoding="utf-8")
    return load_suite(str(path))


def samples(t: float) -> int:
    index = round(t * SESSION_RATE)
    assert index / SESSION_RATE == t  # annotation times are exact sample positions
    return index


def check_layout(
    item: ScenarioItem, pauses: tuple[float, ...], lead_in: float, tail: float
) -> None:
    a, x = item.annotations, item.audio
    assert item.sample_rate == SESSION_RATE and x.dtype == np.float32
    assert len(a.pauses) == len(a.speech) - 1 == len(pauses)
    speech = a.speech
    for before, gap, after, seconds in zip(speech[:-1], a.pauses, speech[1:], pauses, strict=True):
        start, end = samples(gap.start), samples(gap.end)
        assert start == samples(before.end) and end == samples(after.start)
        assert end - start == seconds_to_samples(seconds, SESSION_RATE)
        assert not x[start:end].any()  # the pause is digital silence, to the sample
    for span in a.speech:
        s, e = samples(span.start), samples(span.end)
        assert np.abs(x[s : s + 240]).max() > 0 and np.abs(x[e - 240 : e]).max() > 0
    assert samples(a.turn_start) == seconds_to_samples(lead_in, SESSION_RATE)
    assert not x[: samples(a.turn_start)].any()
    assert x.size - samples(a.turn_end) == seconds_to_samples(tail, SESSION_RATE)
    assert not x[samples(a.turn_end) :].any()


def test_pause_windows_are_exact(suite: Suite) -> None:
    item = suite.render("t-1")
    check_layout(item, (0.43, 1.9), lead_in=0.5, tail=1.25)
    assert item.annotations.text == "I was wondering whether, we could, leave a bit earlier."
    assert (item.suite, item.suite_version, item.item_id) == ("tiny", "0.1", "t-1")
    p = item.provenance
    assert (p["voice"], p["rate"], p["seed"]) == ("joe-low", 1.0, 0)
    assert p["tts"] == tts.tts_provenance()


def test_rendering_is_deterministic(suite: Suite) -> None:
    a = suite.render("t-2", use_cache=False)
    b = suite.render("t-2", use_cache=False)
    assert a.audio.tobytes() == b.audio.tobytes()
    assert a.annotations == b.annotations and a.spec_hash == b.spec_hash


def test_cache_hit_returns_identical_audio_without_synthesis(
    suite: Suite, cache_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = suite.render("t-2")
    assert [p.name for p in cache_root.iterdir()] == [f"{first.spec_hash}.npz"]  # no temp left

    def no_tts(*args: object, **kwargs: object) -> None:
        raise AssertionError("cache hit expected, but the renderer synthesised")

    monkeypatch.setattr(tts, "synthesize", no_tts)
    second = suite.render("t-2")
    assert second.audio.tobytes() == first.audio.tobytes()
    assert second.annotations == first.annotations and second.provenance == first.provenance


@pytest.mark.parametrize("damage", ["truncate", "garbage", "stale-header"])
def test_damaged_cache_entry_is_rendered_again(suite: Suite, cache_root: Path, damage: str) -> None:
    first = suite.render("t-2")
    entry = cache_root / f"{first.spec_hash}.npz"
    if damage == "truncate":
        entry.write_bytes(entry.read_bytes()[:1000])
    elif damage == "garbage":
        entry.write_bytes(b"not a cache entry")
    else:  # a well-formed file whose audio no longer matches its header
        with np.load(entry) as data:
            raw = dict(data)
        raw["audio"] = raw["audio"] * 0.5
        with entry.open("wb") as f:
            np.savez(f, **raw)
    assert scenario_cache.load(first.spec_hash) is None
    again = suite.render("t-2")
    assert again.audio.tobytes() == first.audio.tobytes()
    assert scenario_cache.load(first.spec_hash) is not None  # and the entry was repaired


def test_spec_hash_follows_content_not_notes(suite: Suite) -> None:
    item, defaults, prov = suite.item("t-1"), suite.spec.defaults, tts.tts_provenance()
    base = spec_hash(item, defaults, prov)
    assert spec_hash(dataclasses.replace(item, note="reworded"), defaults, prov) == base
    longer = (*item.script[:1], Pause(0.44), *item.script[2:])
    assert spec_hash(dataclasses.replace(item, script=longer), defaults, prov) != base
    assert spec_hash(item, dataclasses.replace(defaults, tail=2.0), prov) != base
    assert spec_hash(item, defaults, {**prov, "phonemizer_version": "x"}) != base
    # interrupt timing defaults only matter through the items that use them
    timing = dataclasses.replace(defaults.interrupt, fallback_after=9.0)
    assert spec_hash(item, dataclasses.replace(defaults, interrupt=timing), prov) == base


def test_pause_handling_extremes_render_within_design() -> None:
    # The shortest and the longest item by text: each turn lasts over 5 s, each item under 20 s.
    suite = load_suite("pause_handling")
    by_size = sorted(suite.spec.items, key=lambda i: sum(len(t.split()) for t in i.texts) * i.rate)
    for spec in (by_size[0], by_size[-1]):
        item = suite.render(spec.id)
        check_layout(item, spec.pauses, lead_in=0.5, tail=4.0)
        assert item.annotations.turn_end - item.annotations.turn_start > 5.0
        assert item.duration < 20.5
