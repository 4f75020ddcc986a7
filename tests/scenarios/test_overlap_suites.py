"""Overlap items: the ``overlap`` block, clean/overlapped variants, rendering, and the bundled
v1.5 suites' design."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from duplex.annotations import CLEAN_SUFFIX, pair_id
from duplex.audio import SESSION_RATE
from duplex.errors import ScenarioError
from duplex.metrics.tasks import load_task_suite
from duplex.scenarios import load_spec, load_suite
from duplex.scenarios.spec import OverlapSpec
from duplex.speech import tts, voices
from tests.support.praat import needs_praat

HEAD = """\
suite: ov
version: "1.0"
task: overlap
defaults:
  tail: 2.0
  overlap: {talker: user, effect: none, expect: resume, after_model_onset: 1.5}
items:
"""


def write(tmp_path: Path, items: str, head: str = HEAD) -> Path:
    path = tmp_path / "ov.yaml"
    path.write_text(head + textwrap.indent(textwrap.dedent(items), "  "), encoding="utf-8")
    return path


def test_defaults_apply_per_talker_and_items_expand_to_clean_then_overlapped(
    tmp_path: Path,
) -> None:
    spec = load_spec(
        write(
            tmp_path,
            """\
            - id: a
              voice: joe-low
              script: [{say: "Tell me about tides."}]
              overlap: {say: "Mm-hmm."}
            - id: b
              script: [{say: "Tell me about tides."}]
              overlap: {say: "And now the weather.", talker: background, voice: mia}
            - id: c
              script: [{say: "Tell me about tides."}]
              overlap: {say: "Kids, quiet!", effect: other_room, level_db: -10, expect: respond,
                        fallback_after: 2.5}
            """,
        )
    )
    assert [i.id for i in spec.items] == ["a.clean", "a", "b.clean", "b", "c.clean", "c"]
    a_clean, a, b = spec.items[:3]
    assert a.overlap == OverlapSpec("Mm-hmm.", "user", "joe-low", "none", 0.0, "resume", 1.5, 4.0)
    assert a_clean.overlap == OverlapSpec(
        "Mm-hmm.", "user", "joe-low", "none", 0.0, "resume", 1.5, 4.0, clean=True
    )
    assert a_clean.script == a.script and a_clean.voice == a.voice
    # the user's default effect does not carry over to a background talker
    assert (b.overlap.talker, b.overlap.voice, b.overlap.effect, b.overlap.level_db) == (
        "background",
        "mia",
        "background",
        -15.0,
    )
    c = spec.items[5].overlap
    assert (c.effect, c.level_db, c.expect, c.fallback_after) == (
        "other_room",
        -10.0,
        "respond",
        2.5,
    )
    assert pair_id("a.clean") == ("a", True) and pair_id("a") == ("a", False)
    assert a.to_json()["overlap"]["variant"] == "overlapped"
    assert a_clean.to_json()["overlap"]["variant"] == "clean"


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (
            '- id: a\n  script: [{say: "Hi."}]\n',
            "ov.yaml: item 'a': overlap: missing (every item of task 'overlap' needs one)",
        ),
        (
            '- id: a\n  script: [{say: "Hi."}]\n  overlap: {say: "Hm.", talker: boss}\n',
            "ov.yaml: item 'a': overlap.talker: 'boss' is not one of user, other, background",
        ),
        (
            '- id: a\n  script: [{say: "Hi."}]\n  overlap: {say: "Hm.", talker: other}\n',
            "ov.yaml: item 'a': overlap.voice: missing (talker 'other' needs a talker voice)",
        ),
        (
            '- id: a\n  script: [{say: "Hi."}]\n  overlap: {say: "Hm.", level_db: 20}\n',
            "ov.yaml: item 'a': overlap.level_db: 20 is out of range [-40.0, 6.0]",
        ),
        (
            '- id: a\n  script: [{say: "Hi."}]\n  overlap: {say: "Hm.", expect: ignore}\n',
            "ov.yaml: item 'a': overlap.expect: 'ignore' is not one of resume, respond",
        ),
        (
            '- id: a\n  script: [{say: "Hi."}]\n  overlap: {say: "Hm.", loud: 1}\n',
            "ov.yaml: item 'a': overlap.loud: unknown field (allowed: after_model_onset, effect, "
            "expect, fallback_after, level_db, say, talker, voice)",
        ),
        (
            '- id: a.clean\n  script: [{say: "Hi."}]\n  overlap: {say: "Hm."}\n',
            "ov.yaml: item 'a.clean': id: ids ending in '.clean' name the clean variants of "
            "overlap items",
        ),
        (
            '- id: a\n  script: [{say: "Hi."}]\n  overlap: {say: "Hm."}\n'
            '  interrupt: {say: "Wait."}\n',
            "ov.yaml: item 'a': overlap: an item has an interrupt or an overlap, not both",
        ),
        (
            '- id: a\n  script: [{say: "Hi."}]\n  overlap: {say: "Hm.", after_model_onset: -1}\n',
            "ov.yaml: item 'a': overlap.after_model_onset: -1 is out of range [0.0, 10.0]",
        ),
    ],
)
def test_errors_name_file_item_and_field(tmp_path: Path, items: str, message: str) -> None:
    # the task asks for the overlap block (its cues), the parser checks the block itself
    with pytest.raises(ScenarioError) as info:
        load_task_suite(str(write(tmp_path, items)))
    assert str(info.value) == message


def test_unknown_voices_and_effects_suggest_names(tmp_path: Path) -> None:
    bad_talker = (
        '- id: a\n  script: [{say: "Hi."}]\n  overlap: {say: "Hm.", talker: other, voice: anne}\n'
    )
    with pytest.raises(ScenarioError, match=r"item .a.: overlap\.voice: unknown talker .anne."):
        load_spec(write(tmp_path, bad_talker))
    bad_effect = '- id: a\n  script: [{say: "Hi."}]\n  overlap: {say: "Hm.", effect: kitchen}\n'
    with pytest.raises(ScenarioError, match=r"overlap\.effect: unknown room effect 'kitchen'"):
        load_spec(write(tmp_path, bad_effect))
    # a user overlap takes a user voice, not a talker
    user_talker = '- id: a\n  script: [{say: "Hi."}]\n  overlap: {say: "Hm.", voice: ann}\n'
    with pytest.raises(ScenarioError, match=r"overlap\.voice: unknown voice 'ann'"):
        load_spec(write(tmp_path, user_talker))
    missing_expect = HEAD.replace("expect: resume, ", "")
    with pytest.raises(ScenarioError, match=r"overlap\.expect: missing"):
        load_spec(
            write(
                tmp_path,
                '- id: a\n  script: [{say: "Hi."}]\n  overlap: {say: "Hm."}\n',
                missing_expect,
            )
        )


@pytest.fixture
def cache_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DUPLEX_BENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.mark.slow
@needs_praat  # item b's background talker is re-voiced with Praat
def test_clean_variant_is_the_same_item_with_a_silent_cue(tmp_path: Path, cache_root: Path) -> None:
    path = write(
        tmp_path,
        """\
        - id: a
          script: [{say: "How do tides work?"}]
          overlap: {say: "Could you close the window?", effect: other_room}
        - id: b
          script: [{say: "How do tides work?"}]
          overlap: {say: "And now the weather.", talker: background, voice: ray}
        """,
    )
    suite = load_suite(str(path))
    for base in ("a", "b"):
        clean, over = suite.render(base + CLEAN_SUFFIX), suite.render(base)
        assert np.array_equal(clean.audio, over.audio)  # the context and the silence after it
        (cc,), (co,) = clean.cues, over.cues
        assert (cc.name, cc.armed_at, cc.fallback_at, cc.after_model_onset) == (
            co.name,
            co.armed_at,
            co.fallback_at,
            co.after_model_onset,
        )
        assert cc.audio.size == co.audio.size and not cc.audio.any() and co.audio.any()
        sc, so = clean.annotations.overlap, over.annotations.overlap
        assert sc is not None and so is not None
        assert (sc.variant, so.variant) == ("clean", "overlapped")
        assert sc.speech_duration == so.speech_duration and so.speech_duration is not None
        assert so.context == "How do tides work?"
        # the echo tail makes the cue longer than its speech
        tail = {"a": 0.120, "b": 0.100}[base]
        assert co.duration - so.speech_duration == pytest.approx(tail, abs=1 / SESSION_RATE)
        assert clean.spec_hash != over.spec_hash
        # the item lasts until tail s after the latest possible end of the overlap
        latest_end = co.fallback_at + co.after_model_onset + co.duration
        assert over.duration == pytest.approx(latest_end + 2.0, abs=2 / SESSION_RATE)
    # levels: other_room speech at about -8 dB re the user's -20 dBFS
    a = suite.render("a").cues[0].audio
    level = 20 * np.log10(np.sqrt(np.mean(a[np.abs(a) > 1e-4] ** 2)))
    assert -32.0 < level < -25.0


# --- the bundled v1.5 suites' design, checked on the specs (no rendering) ---

V15 = {
    "user_backchannel": ("user", "none", "resume"),
    "talking_to_other": ("user", "other_room", "resume"),
    "background_speech": ("background", "background", "resume"),
    "overlap_interruption": ("user", "none", "respond"),
}


@pytest.mark.parametrize("name", sorted(V15))
def test_v15_suite_design(name: str) -> None:
    suite = load_suite(name)
    assert suite.task == "overlap" and suite.version == "1.0"
    items = [i for i in suite.spec.items if not i.id.endswith(CLEAN_SUFFIX)]
    assert len(items) >= 50 and len(suite) == 2 * len(items)
    talker, effect, expect = V15[name]
    contexts = set()
    for item in items:
        ov = item.overlap
        assert ov is not None and (ov.talker, ov.effect, ov.expect) == (talker, effect, expect)
        assert len(item.texts) == 1 and item.texts[0].endswith(("?", "."))
        # 2-5 s of context at ~2.5-3.6 words/s
        assert 6 <= len(item.texts[0].split()) <= 16, item.texts
        assert 1.0 <= ov.after_model_onset <= 3.0 and ov.fallback_after == 4.0
        if talker == "user":
            assert ov.voice == item.voice in tts.VOICES
        else:
            assert ov.voice in voices.TALKERS and ov.voice not in tts.VOICES
        contexts.add(item.texts[0])
    assert len(contexts) == len(items)  # no context twice in a suite
    assert len({i.voice for i in items}) == 3 and len({i.rate for i in items}) == 3
    assert len({i.overlap.after_model_onset for i in items if i.overlap}) == 5
    if name == "user_backchannel":
        assert all(len(i.overlap.text.split()) <= 3 for i in items if i.overlap)
    if name == "background_speech":
        assert {i.overlap.voice for i in items if i.overlap} == set(voices.TALKERS.names())


@pytest.mark.slow
def test_every_backchannel_is_heard_as_a_backchannel() -> None:
    # Piper's "Mm-hmm." is heard as "No." - which a system under test could take for a real
    # objection. Each backchannel of the suite must be heard as backchannel words in every voice.
    from duplex.audio import resample, trim_silence
    from duplex.speech.asr import transcribe

    allowed = set(
        "yeah yes yep okay ok right sure i see oh wow mm really got it interesting ah".split()  # noqa: SIM905
    )
    items = load_suite("user_backchannel").spec.items
    pairs = sorted({(i.overlap.voice, i.overlap.text) for i in items if i.overlap})
    for voice, text in pairs:  # as rendered: each text in the voice of its items
        x, rate = tts.synthesize(text, voice=voice)
        pad = np.zeros(4000, np.float32)
        y = np.concatenate([pad, resample(trim_silence(x, rate), rate, 16000), pad])
        heard = transcribe(y, 16000).text.lower()
        words = set(heard.replace(",", " ").replace(".", " ").replace("?", " ").split())
        assert words and words <= allowed, (voice, text, heard)
