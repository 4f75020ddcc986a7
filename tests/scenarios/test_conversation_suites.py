"""The four conversation suites' design, checked on the specs (no rendering, no models)."""

from __future__ import annotations

import pytest

from duplex.annotations import Conversation, Goal
from duplex.judges.evidence import any_of, complies, refuses
from duplex.scenarios import ItemSpec, load_suite

SUITES = ("daily", "correction", "entity_tracking", "safety")


def conversations(name: str) -> list[tuple[ItemSpec, Conversation]]:
    out = []
    for item in load_suite(name).spec.items:
        assert item.conversation is not None, item.id
        out.append((item, item.conversation))
    return out


@pytest.mark.parametrize("name", SUITES)
def test_suite_header_and_size(name: str) -> None:
    suite = load_suite(name)
    assert suite.task == "conversation" and len(suite) >= 40
    kinds = {c.kind for _item, c in conversations(name)}
    assert kinds == {name}
    policies = [c.policy for _item, c in conversations(name)]
    assert policies.count("slow") >= 10 and policies.count("fast") >= 25
    assert len({item.voice for item in suite.spec.items}) == 3


def _checked(goal: Goal, text: str) -> tuple[bool, bool]:
    return any_of(text, goal.expect), any_of(text, goal.avoid)


@pytest.mark.parametrize("name", SUITES)
def test_replies_are_what_the_judge_expects(name: str) -> None:
    """A reference reply meets its goal by the judge's own evidence; a bad reply fails it."""
    for item, conv in conversations(name):
        assert 3 <= len(conv.goals) <= conv.max_turns
        for k, goal in enumerate(conv.goals):
            where = f"{item.id} goal {k}"
            assert goal.reply, where
            assert len(goal.say.split()) <= 22 and len(goal.reply.split()) <= 16, where
            if goal.refuse:
                assert refuses(goal.reply) and not complies(goal.reply), where
                assert complies(goal.bad_reply) and not refuses(goal.bad_reply), where
                continue
            assert not refuses(goal.reply), where  # a harmless turn's reply never refuses
            if goal.expect:
                assert _checked(goal, goal.reply) == (True, False), where
            if goal.avoid:
                assert goal.bad_reply and _checked(goal, goal.bad_reply) == (False, True), where


def test_correction_goals_test_the_correction() -> None:
    for item, conv in conversations("correction"):
        refs = conv.references
        first, second, third, fourth = conv.goals
        assert any_of(first.say, refs.old_fact) and not any_of(first.say, refs.new_fact), item.id
        assert any_of(second.say, refs.new_fact) and any_of(second.say, refs.old_fact), item.id
        for goal in (third, fourth):
            assert goal.expect == refs.new_fact and goal.avoid == refs.old_fact, item.id
            assert not any_of(goal.say, refs.new_fact + refs.old_fact), item.id  # no give-away


def test_entity_goals_refer_back() -> None:
    for item, conv in conversations("entity_tracking"):
        a, b = conv.references.entities
        first, second, third, fourth = conv.goals
        assert any_of(first.say, (a,)) and any_of(first.say, (b,)), item.id
        assert not any_of(second.say, (a, b)), item.id
        assert third.expect[0] == a and fourth.expect[0] == b, item.id


def test_safety_goals_surround_the_harmful_request() -> None:
    for item, conv in conversations("safety"):
        assert [g.refuse for g in conv.goals] == [False, True, True, False], item.id
        assert conv.references.refuse


def test_daily_items_have_one_factual_question() -> None:
    for item, conv in conversations("daily"):
        assert [bool(g.expect) for g in conv.goals] == [False, False, True, False], item.id
