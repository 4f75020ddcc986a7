"""The ``conversation`` block of suite files: parsing, defaults, errors naming file, item and
field, and rendering (silence for the examiner to speak into)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from duplex.annotations import Conversation
from duplex.errors import ScenarioError
from duplex.metrics.tasks import load_task_suite
from duplex.scenarios import load_spec, load_suite

HEAD = """\
suite: talk
version: "1.0"
task: conversation
defaults:
  lead_in: 0.5
  conversation: {kind: correction, policy: fast, max_turns: 4, max_seconds: 30}
items:
"""
GOOD_ITEM = """\
  - id: c-1
    conversation:
      policy: slow
      references: {task: "Seat twelve.", old_fact: [eight], new_fact: [twelve, 12]}
      goals:
        - goal: "State the number of guests."
          say: "I have eight guests."
          reply: "Lovely."
        - goal: "Correct it."
          say: "Sorry, twelve, not eight."
          reply: "Twelve it is."
          expect: [twelve, 12]
          avoid: [eight]
          bad_reply: "Eight it is."
"""


def write(tmp_path: Path, items: str) -> Path:
    path = tmp_path / "talk.yaml"
    path.write_text(textwrap.dedent(HEAD + items), encoding="utf-8")
    return path


def test_a_conversation_item_parses_with_defaults(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, GOOD_ITEM))
    (item,) = spec.items
    conv = item.conversation
    assert isinstance(conv, Conversation) and item.script == ()
    assert (conv.kind, conv.policy, conv.max_turns, conv.max_seconds) == (
        "correction",
        "slow",
        4,
        30,
    )
    assert conv.references.new_fact == ("twelve", "12")  # numbers are taken as written
    assert conv.goals[1].expect == ("twelve", "12") and conv.goals[1].avoid == ("eight",)
    assert conv.goals[1].bad_reply == "Eight it is." and not conv.goals[0].refuse
    assert item.to_json()["conversation"]["policy"] == "slow"


def test_a_conversation_item_renders_to_silence_with_its_goals(tmp_path: Path) -> None:
    suite, task = load_task_suite(str(write(tmp_path, GOOD_ITEM)))
    assert task.name == "conversation"
    item = suite.render("c-1")
    assert item.audio.size == 30 * 24000 and not np.any(item.audio)
    assert item.annotations.conversation is not None and item.annotations.speech == ()
    assert item.provenance["lead_in"] == 0.5 and item.provenance["voice"] == "joe"


def goals(extra: str = "", expect: str = "[twelve]", avoid: str = "[eight]") -> str:
    return (
        "      goals:\n"
        "        - {goal: g, say: s, reply: r}\n"
        f"        - {{goal: g, say: s, reply: r, expect: {expect}, avoid: {avoid}{extra}}}\n"
    )


REFS = "      references: {old_fact: [eight], new_fact: [twelve]}\n"

BAD = [
    (
        "  - id: c-1\n    conversation:\n      colour: red\n" + REFS + goals(),
        "talk.yaml: item 'c-1': conversation.colour: unknown field (allowed: goals, kind, "
        "max_seconds, max_turns, policy, references)",
    ),
    (
        "  - id: c-1\n    conversation:\n      policy: quick\n" + REFS + goals(),
        "talk.yaml: item 'c-1': conversation.policy: 'quick' is not one of fast, slow",
    ),
    (
        "  - id: c-1\n    conversation:\n      kind: chat\n" + REFS + goals(),
        "talk.yaml: item 'c-1': conversation.kind: 'chat' is not one of daily, correction, "
        "entity_tracking, safety",
    ),
    (
        "  - id: c-1\n    conversation:\n      max_turns: 1\n" + REFS + goals(),
        "talk.yaml: item 'c-1': conversation.goals: 2 goals but max_turns is 1",
    ),
    (
        "  - id: c-1\n    conversation:\n      max_seconds: 2\n" + REFS + goals(),
        "talk.yaml: item 'c-1': conversation.max_seconds: 2 is out of range [5.0, 600.0]",
    ),
    (
        "  - id: c-1\n    conversation:\n" + REFS + goals(expect="twelve"),
        "talk.yaml: item 'c-1': conversation.goals[1].expect: expected a non-empty list of words",
    ),
    (
        "  - id: c-1\n    conversation:\n" + REFS + goals(extra=", refuse: maybe"),
        "talk.yaml: item 'c-1': conversation.goals[1].refuse: expected true or false",
    ),
    (
        "  - id: c-1\n    conversation:\n" + REFS + "      goals:\n        - {goal: g, reply: r}\n",
        "talk.yaml: item 'c-1': conversation.goals[0].say: missing",
    ),
    (
        "  - id: c-1\n    conversation:\n      references: {new_fact: [twelve]}\n" + goals(),
        "talk.yaml: item 'c-1': conversation.references.old_fact: missing (a correction item "
        "needs it)",
    ),
    (
        "  - id: c-1\n    conversation:\n" + REFS + goals(avoid="[]"),
        "talk.yaml: item 'c-1': conversation.goals[1].avoid: expected a non-empty list of words",
    ),
    (
        "  - id: c-1\n    conversation:\n      kind: safety\n" + goals(),
        "talk.yaml: item 'c-1': conversation.goals: a safety item needs a goal with refuse: true",
    ),
    (
        "  - id: c-1\n    conversation:\n      kind: entity_tracking\n" + goals(),
        "talk.yaml: item 'c-1': conversation.references.entities: missing",
    ),
    (
        "  - id: c-1\n    script:\n      - say: hi\n    conversation:\n" + REFS + goals(),
        "talk.yaml: item 'c-1': script: a conversation item has none",
    ),
]


@pytest.mark.parametrize(("items", "message"), BAD, ids=[m.split(": ")[2] for _, m in BAD])
def test_bad_conversation_blocks_name_file_item_and_field(
    tmp_path: Path, items: str, message: str
) -> None:
    with pytest.raises(ScenarioError) as err:
        load_spec(write(tmp_path, items))
    assert str(err.value).startswith(message), str(err.value)


def test_bad_defaults_name_the_field(tmp_path: Path) -> None:
    path = tmp_path / "talk.yaml"
    path.write_text(HEAD.replace("max_seconds: 30}", "max_seconds: 30, pace: 1}") + GOOD_ITEM)
    with pytest.raises(ScenarioError, match=r"talk.yaml: defaults.conversation.pace: unknown"):
        load_spec(path)


def test_a_conversation_task_needs_every_item_to_be_a_conversation(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_ITEM + "  - id: s-1\n    script:\n      - say: hello.\n")
    with pytest.raises(ScenarioError, match="item 's-1': conversation: missing"):
        load_task_suite(str(path))


def test_the_bundled_conversation_suites_load() -> None:
    for name in ("daily", "correction", "entity_tracking", "safety"):
        suite, task = load_task_suite(name)
        assert task.name == "conversation" and len(suite) >= 40
        assert load_suite(name).render(suite.item_ids()[0]).annotations.conversation is not None
