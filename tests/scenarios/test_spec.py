"""Suite spec parsing: the bundled suites' design constraints and error messages for bad files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from duplex.errors import ScenarioError, UnknownNameError
from duplex.scenarios import SUITES, ItemSpec, describe_suites, load_spec, load_suite
from duplex.scenarios.spec import InterruptSpec, InterruptTiming, Pause, Say
from duplex.scenarios.suite import SUITES_DIR

GOOD = """\
suite: mini
version: "1.0"
description: two tiny items
defaults: {voice: joe, rate: 1.0, lead_in: 0.25, tail: 1.0}
items:
  - id: a-1
    script:
      - say: "so I was going to,"
      - pause: 0.5
      - say: "ask you something."
  - id: a-2
    voice: joe-low
    rate: 1.25
    script:
      - say: "hello there."
"""


def write(tmp_path: Path, text: str, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def item_a1(script: str, extra: str = "") -> str:
    return GOOD.split("items:")[0] + "items:\n  - id: a-1\n" + extra + script


def test_good_spec_parses_with_defaults_applied(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, GOOD, "mini.yaml"))
    assert (spec.suite, spec.version, spec.task) == ("mini", "1.0", "mini")
    a1, a2 = spec.items
    assert a1.script == (Say("so I was going to,"), Pause(0.5), Say("ask you something."))
    assert (a1.voice, a1.rate, a2.voice, a2.rate) == ("joe", 1.0, "joe-low", 1.25)
    assert spec.defaults.lead_in == 0.25 and spec.defaults.tail == 1.0


BAD_CASES = [
    # (yaml text, exact message expected)
    (
        item_a1(
            "    script:\n      - say: hi,\n      - pause: 1\n      - say: so\n"
            "      - pause: x\n      - say: end\n"
        ),
        "bad.yaml: item 'a-1': script[3].pause: expected a number, got 'x'",
    ),
    (
        item_a1("    script:\n      - say: hi,\n      - pause: 50\n      - say: end\n"),
        "bad.yaml: item 'a-1': script[1].pause: 50 is out of range [0.05, 10.0]",
    ),
    (
        item_a1("    script:\n      - say: hi,\n      - pause: true\n      - say: end\n"),
        "bad.yaml: item 'a-1': script[1].pause: expected a number, got True",
    ),
    (
        item_a1("    script:\n      - say: 12\n"),
        "bad.yaml: item 'a-1': script[0].say: expected a non-empty string, got 12",
    ),
    (
        item_a1("    script:\n      - shout: hi\n"),
        "bad.yaml: item 'a-1': script[0].shout: unknown step (expected 'say' or 'pause')",
    ),
    (
        item_a1("    script:\n      - say: hi\n      - say: there\n"),
        "bad.yaml: item 'a-1': script[1]: steps must alternate say/pause, starting with say "
        "(outer silence comes from lead_in and tail)",
    ),
    (
        item_a1("    script:\n      - say: hi\n      - pause: 1\n"),
        "bad.yaml: item 'a-1': script[1]: a script must end with a say step",
    ),
    (item_a1("    script: []\n"), "bad.yaml: item 'a-1': script: expected a non-empty list"),
    (item_a1(""), "bad.yaml: item 'a-1': script: missing"),
    (
        item_a1("    script:\n      - say: hi\n", extra="    colour: red\n"),
        "bad.yaml: item 'a-1': colour: unknown field "
        "(allowed: conversation, id, interrupt, note, overlap, rate, rubric, script, seed, voice)",
    ),
    (
        item_a1("    script:\n      - say: hi\n", extra="    voice: jo\n"),
        "bad.yaml: item 'a-1': voice: unknown voice 'jo'; did you mean 'joe'",
    ),
    (
        item_a1("    script:\n      - say: hi\n", extra="    rate: fast\n"),
        "bad.yaml: item 'a-1': rate: expected a number, got 'fast'",
    ),
    (
        GOOD + "  - voice: joe\n    script:\n      - say: hi\n",
        "bad.yaml: items[2]: id: missing",
    ),
    (
        GOOD + "  - id: a-1\n    script:\n      - say: hi\n",
        "bad.yaml: item 'a-1': id: duplicate (items[0] and items[2])",
    ),
    (GOOD.replace('version: "1.0"', "version: 1.0"), "bad.yaml: version: expected a quoted"),
    (GOOD.replace("suite: mini\n", ""), "bad.yaml: suite: missing"),
    (GOOD + "extras: 1\n", "bad.yaml: extras: unknown field"),
    (GOOD.replace("lead_in: 0.25", "lead_in: -1"), "bad.yaml: defaults.lead_in: -1 is out of"),
    (GOOD.replace("tail: 1.0", "tail: 1.0, speed: 2"), "bad.yaml: defaults.speed: unknown field"),
    ("- just\n- a list\n", "bad.yaml: expected a mapping, got ['just', 'a list']"),
    (GOOD + "suite: again\n", "bad.yaml: invalid YAML at line 16: duplicate key 'suite'"),
    ("suite: [unclosed\n", "bad.yaml: invalid YAML at line 2"),
    # --- interrupt (reactive cue) fields ---
    (
        item_a1("    script:\n      - say: hi\n", extra="    interrupt: wait\n"),
        "bad.yaml: item 'a-1': interrupt: expected a mapping, got 'wait'",
    ),
    (
        item_a1("    script:\n      - say: hi\n", extra="    interrupt: {after_model_onset: 1}\n"),
        "bad.yaml: item 'a-1': interrupt.say: missing",
    ),
    (
        item_a1("    script:\n      - say: hi\n", extra="    interrupt: {say: ''}\n"),
        "bad.yaml: item 'a-1': interrupt.say: expected a non-empty string, got ''",
    ),
    (
        item_a1("    script:\n      - say: hi\n", extra="    interrupt: {say: no, when: 2}\n"),
        "bad.yaml: item 'a-1': interrupt.when: unknown field "
        "(allowed: after_model_onset, fallback_after, say)",
    ),
    (
        item_a1(
            "    script:\n      - say: hi\n",
            extra="    interrupt: {say: stop, after_model_onset: 11}\n",
        ),
        "bad.yaml: item 'a-1': interrupt.after_model_onset: 11 is out of range [0.0, 10.0]",
    ),
    (
        item_a1(
            "    script:\n      - say: hi\n",
            extra="    interrupt: {say: stop, fallback_after: x}\n",
        ),
        "bad.yaml: item 'a-1': interrupt.fallback_after: expected a number, got 'x'",
    ),
    (
        GOOD.replace("tail: 1.0}", "tail: 1.0, interrupt: {fallback_after: -1}}"),
        "bad.yaml: defaults.interrupt.fallback_after: -1 is out of range [0.0, 30.0]",
    ),
    (
        GOOD.replace("tail: 1.0}", "tail: 1.0, interrupt: {say: hi}}"),
        "bad.yaml: defaults.interrupt.say: unknown field (allowed: after_model_onset, "
        "fallback_after)",
    ),
    (
        GOOD.replace("tail: 1.0}", "tail: 1.0, interrupt: 2}"),
        "bad.yaml: defaults.interrupt: expected a mapping, got 2",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_CASES)
def test_bad_spec_errors_name_file_item_and_field(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ScenarioError) as err:
        load_spec(write(tmp_path, text))
    assert str(err.value).startswith(message)


def test_interrupt_defaults_apply_per_field(tmp_path: Path) -> None:
    text = GOOD.replace("tail: 1.0}", "tail: 1.0, interrupt: {fallback_after: 3.0}}")
    text += "    interrupt: {say: Stop there., after_model_onset: 2.5}\n"
    spec = load_spec(write(tmp_path, text, "mini.yaml"))
    a1, a2 = spec.items
    assert a1.interrupt is None and "interrupt" not in a1.to_json()
    assert a2.interrupt == InterruptSpec("Stop there.", after_model_onset=2.5, fallback_after=3.0)
    assert a2.to_json()["interrupt"] == {
        "say": "Stop there.",
        "after_model_onset": 2.5,
        "fallback_after": 3.0,
    }
    assert spec.defaults.interrupt == InterruptTiming(after_model_onset=1.5, fallback_after=3.0)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "suite.yaml"
    with pytest.raises(ScenarioError, match=str(missing)):
        load_suite(str(missing))


def test_load_suite_accepts_a_users_file(tmp_path: Path) -> None:
    suite = load_suite(str(write(tmp_path, GOOD, "mine.yaml")))
    assert suite.name == "mini" and len(suite) == 2 and suite.item_ids() == ["a-1", "a-2"]


def test_unknown_suite_name_suggests_close_names() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'pause_handling'"):
        load_suite("pause_handlin")


def test_unknown_item_suggests_close_ids() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'ph-001'"):
        load_suite("pause_handling").item("ph-0001")


def test_registry_has_one_entry_per_file_and_names_match() -> None:
    files = sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))
    assert SUITES.names() == files
    for name in files:
        assert load_suite(name).name == name
    rows = {row["name"]: row for row in describe_suites()}
    assert rows["pause_handling"]["task"] == "pause_handling"
    assert rows["pause_handling"]["items"] >= 60 and rows["pause_handling"]["error"] is None
    for name in ("backchannel", "turn_taking", "user_interruption"):
        assert rows[name]["task"] == name
        assert rows[name]["items"] >= 50 and rows[name]["error"] is None


# --- the pause_handling suite's design, checked on the spec (no rendering) ---

PH = load_suite("pause_handling")


def test_pause_handling_header() -> None:
    assert (PH.version, PH.task, len(PH)) == ("1.0", "pause_handling", len(PH.item_ids()))
    assert len(PH) >= 60
    assert (PH.spec.defaults.lead_in, PH.spec.defaults.tail) == (0.5, 4.0)


@pytest.mark.parametrize("item", PH.spec.items, ids=lambda i: i.id)
def test_pause_handling_item_design(item: ItemSpec) -> None:
    assert 2 <= len(item.texts) <= 4
    assert all(0.4 <= p <= 2.0 for p in item.pauses)
    # Mid-thought chunks end in a comma (continuation prosody), never a sentence end; the last
    # chunk completes the thought.
    assert all(t.endswith(",") for t in item.texts[:-1]), item.texts
    assert item.texts[-1].endswith((".", "?"))
    # Rough turn length from the text: this voice speaks at most ~3.6 words/s at rate 1.0.
    words = sum(len(t.split()) for t in item.texts)
    assert words / 3.6 * min(item.rate, 1.0) + sum(item.pauses) > 5.0


def test_pause_handling_spread_of_pauses_voices_and_rates() -> None:
    pauses = [p for item in PH.spec.items for p in item.pauses]
    assert sum(p <= 0.5 for p in pauses) >= 5 and sum(p >= 1.9 for p in pauses) >= 5
    # roughly uniform: every 0.4 s bin of the range is used
    for low in (0.4, 0.8, 1.2, 1.6):
        assert sum(low <= p < low + 0.4 for p in pauses) >= 15
    assert len({item.voice for item in PH.spec.items}) >= 2
    assert len({item.rate for item in PH.spec.items}) >= 2
