"""The ``conversation`` block of a suite item: staged goals for the examiner, parsed and checked.

See :mod:`duplex.scenarios.spec` for the file format. The parsed block is the annotation type
itself (:class:`duplex.annotations.Conversation`): what the examiner pursues, what the instrument
models say and what the judge checks all read one object.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from duplex.annotations import Conversation, Goal, References
from duplex.scenarios.fields import (
    Where,
    boolean,
    check_keys,
    describe,
    integer,
    mapping,
    number,
    string,
    strings,
)

MAX_SECONDS_RANGE = (5.0, 600.0)
MAX_TURNS_RANGE = (1, 20)
#: Conversation kinds: each has a task rubric in the conversation judge.
KINDS = ("daily", "correction", "entity_tracking", "safety")
#: Examiner pacings (:mod:`duplex.conversation.policy`).
POLICIES = ("fast", "slow")

_PACING_KEYS = {"kind", "policy", "max_turns", "max_seconds"}
_KEYS = _PACING_KEYS | {"references", "goals"}
_REFERENCE_KEYS = {"task", "old_fact", "new_fact", "entities"}
_GOAL_KEYS = {"goal", "say", "reply", "bad_reply", "expect", "avoid", "refuse"}


@dataclass(frozen=True)
class Pacing:
    """A conversation's kind, the examiner's pacing policy and its limits."""

    kind: str = "daily"
    policy: str = "fast"
    max_turns: int = 5
    max_seconds: float = 60.0


def _choice(value: object, where: Where, field: str, options: tuple[str, ...]) -> str:
    text = string(value, where, field)
    if text not in options:
        raise where.error(field, f"{text!r} is not one of {', '.join(options)}")
    return text


def parse_pacing(raw: object, base: Pacing, where: Where, prefix: str) -> Pacing:
    """The pacing fields of ``raw`` (others are left to the caller), ``base`` filling the gaps."""
    d = mapping(raw, where, prefix)
    if prefix.startswith("defaults"):
        check_keys(d, _PACING_KEYS, where, prefix)
    turns = integer(d.get("max_turns", base.max_turns), where, f"{prefix}.max_turns")
    low, high = MAX_TURNS_RANGE
    if not low <= turns <= high:
        raise where.error(f"{prefix}.max_turns", f"{turns} is out of range [{low}, {high}]")
    return Pacing(
        kind=_choice(d.get("kind", base.kind), where, f"{prefix}.kind", KINDS),
        policy=_choice(d.get("policy", base.policy), where, f"{prefix}.policy", POLICIES),
        max_turns=turns,
        max_seconds=number(
            d.get("max_seconds", base.max_seconds),
            where,
            f"{prefix}.max_seconds",
            MAX_SECONDS_RANGE,
        ),
    )


def _goal(raw: object, where: Where, field: str) -> Goal:
    d = mapping(raw, where, field)
    check_keys(d, _GOAL_KEYS, where, field)
    for key in ("goal", "say"):
        if key not in d:
            raise where.error(f"{field}.{key}", "missing")

    def text(key: str) -> str:
        return string(d[key], where, f"{field}.{key}") if key in d else ""

    def words(key: str) -> tuple[str, ...]:
        return strings(d[key], where, f"{field}.{key}") if key in d else ()

    return Goal(
        goal=text("goal"),
        say=text("say"),
        reply=text("reply"),
        bad_reply=text("bad_reply"),
        expect=words("expect"),
        avoid=words("avoid"),
        refuse=boolean(d["refuse"], where, f"{field}.refuse") if "refuse" in d else False,
    )


def _references(raw: object, where: Where, goals: tuple[Goal, ...]) -> References:
    field = "conversation.references"
    d = mapping(raw, where, field) if raw is not None else {}
    check_keys(d, _REFERENCE_KEYS, where, field)
    return References(
        task=string(d["task"], where, f"{field}.task") if "task" in d else "",
        old_fact=strings(d["old_fact"], where, f"{field}.old_fact") if "old_fact" in d else (),
        new_fact=strings(d["new_fact"], where, f"{field}.new_fact") if "new_fact" in d else (),
        entities=strings(d["entities"], where, f"{field}.entities") if "entities" in d else (),
        refuse=any(g.refuse for g in goals),
    )


def _check_kind(conv: Conversation, where: Where) -> None:
    """Each kind's task rubric needs its references."""
    refs, field = conv.references, "conversation.references"
    checked = any(g.expect for g in conv.goals)
    if conv.kind == "correction":
        for name in ("old_fact", "new_fact"):
            if not getattr(refs, name):
                raise where.error(f"{field}.{name}", "missing (a correction item needs it)")
        if not any(g.avoid for g in conv.goals) or not checked:
            raise where.error(
                "conversation.goals", "a correction item needs a goal with expect and avoid"
            )
    elif conv.kind == "entity_tracking":
        if not refs.entities:
            raise where.error(f"{field}.entities", "missing (an entity_tracking item needs it)")
        if not checked:
            raise where.error("conversation.goals", "an entity_tracking item needs expect words")
    elif conv.kind == "safety" and not refs.refuse:
        raise where.error("conversation.goals", "a safety item needs a goal with refuse: true")


def parse_conversation(raw: object, defaults: Pacing, where: Where) -> Conversation:
    d: Mapping[str, Any] = mapping(raw, where, "conversation")
    check_keys(d, _KEYS, where, "conversation")
    pacing = parse_pacing(d, defaults, where, "conversation")
    raw_goals = d.get("goals")
    if not isinstance(raw_goals, list) or not raw_goals:
        raise where.error(
            "conversation.goals", f"expected a non-empty list, got {describe(raw_goals)}"
        )
    goals = tuple(_goal(g, where, f"conversation.goals[{i}]") for i, g in enumerate(raw_goals))
    if len(goals) > pacing.max_turns:
        raise where.error(
            "conversation.goals",
            f"{len(goals)} goals but max_turns is {pacing.max_turns}: the examiner could not "
            "pursue them all",
        )
    conv = Conversation(
        kind=pacing.kind,
        policy=pacing.policy,
        max_turns=pacing.max_turns,
        max_seconds=pacing.max_seconds,
        goals=goals,
        references=_references(d.get("references"), where, goals),
    )
    _check_kind(conv, where)
    return conv
