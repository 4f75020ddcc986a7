"""How well a conversation judge orders conversations of known quality:
``duplex-bench judge --calibrate --task conversation``.

The set is built from the four conversation suites: for every item, four text-level versions of
the conversation (each goal's line, then the model's reply 0.8 s after it, no overlap):

- ``good``: every goal's reference ``reply``;
- ``bad``: each goal's ``bad_reply`` where it has one (the old fact, the swapped entity, going
  along with the harmful request, an off-topic remark in ``daily``), else its reply;
- ``off``: the replies of another item of the same suite (a fluent model that is not listening);
- ``silent``: no reply at all.

Items are split in two halves by their position in the suite (even: *tuning*, odd: *held out*).
The embedded judge's one tuned setting, ``on_topic_nats`` (``prompts/conversation_v1.json``), was
chosen on the tuning half: the value that best separates the relevance of ``good`` replies from
``off`` ones on goals without expected words. Every figure is reported on the held-out half too,
and the held-out half is what to quote. The replies are the suites' own text, so the word rules
meet exactly the words they were written with: read the ``expect``-based orderings as a check of
the rules, and the relevance separation and the ``daily`` orderings as the judge's real quality.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from duplex.annotations import Conversation
from duplex.judges.conversation import (
    ConversationCache,
    ConversationInput,
    ConversationJudge,
    ConversationVerdict,
    ExchangeView,
    judge_conversation,
)

SUITES = ("daily", "correction", "entity_tracking", "safety")
VARIANTS = ("good", "bad", "off", "silent")
#: orderings checked per conversation: (better, worse)
PAIRS = (("good", "bad"), ("good", "off"), ("good", "silent"), ("off", "silent"))
#: how far along the suite the ``off`` replies are taken from
OFF_SHIFT = 7
LINE_S, GAP_S, LATENCY_S, REPLY_S = 3.0, 1.0, 0.8, 2.0


@dataclass(frozen=True)
class CalItem:
    suite: str
    index: int
    item_id: str
    conv: Conversation

    @property
    def half(self) -> str:
        return "tuning" if self.index % 2 == 0 else "held-out"


def load_items(suites: Sequence[str] = SUITES) -> list[CalItem]:
    from duplex.scenarios import load_suite

    out = []
    for name in suites:
        for i, spec in enumerate(load_suite(name).spec.items):
            assert spec.conversation is not None
            out.append(CalItem(name, i, spec.id, spec.conversation))
    return out


def replies(items: Sequence[CalItem], k: int, variant: str) -> list[str]:
    """The model's replies, goal by goal, in one version of item ``k``'s conversation."""
    item = items[k]
    goals = item.conv.goals
    if variant == "good":
        return [g.reply for g in goals]
    if variant == "bad":
        return [g.bad_reply or g.reply for g in goals]
    if variant == "silent":
        return ["" for _ in goals]
    same = [x for x in items if x.suite == item.suite]
    other = same[(same.index(item) + OFF_SHIFT) % len(same)].conv.goals
    return [other[min(i, len(other) - 1)].reply for i in range(len(goals))]


def conversation(conv: Conversation, said: Sequence[str]) -> ConversationInput:
    """The conversation with these replies, on a plain timeline."""
    exchanges = []
    t = 0.5
    for k, (goal, reply) in enumerate(zip(conv.goals, said, strict=True)):
        start = t + LATENCY_S + LINE_S
        words = tuple(
            (w, start + 0.3 * j, start + 0.3 * j + 0.25) for j, w in enumerate(reply.split())
        )
        exchanges.append(
            ExchangeView(
                goal=k,
                trigger="opening" if k == 0 else "turn_end",
                user_text=goal.say,
                user_start=t,
                user_end=t + LINE_S,
                model_text=reply,
                model_words=words,
                response_start=start if reply else None,
                latency_s=LATENCY_S if reply else None,
            )
        )
        t += LINE_S + LATENCY_S + REPLY_S + GAP_S
    ended = "goal_met" if any(said) else "model_silent"
    return ConversationInput(conv.kind, conv.goals, conv.references, tuple(exchanges), ended)


@dataclass
class Ordering:
    right: int = 0
    wrong: int = 0
    ties: int = 0
    missing: int = 0

    def add(self, better: float | None, worse: float | None) -> None:
        if better is None or worse is None:
            self.missing += 1
        elif better > worse:
            self.right += 1
        elif better < worse:
            self.wrong += 1
        else:
            self.ties += 1

    @property
    def n(self) -> int:
        return self.right + self.wrong + self.ties

    @property
    def accuracy(self) -> float | None:
        return None if not self.n else (self.right + 0.5 * self.ties) / self.n


@dataclass
class ConversationCalibration:
    judge: dict[str, Any]
    #: (half, suite or "all", figure, pair) -> ordering
    orderings: dict[tuple[str, str, str, str], Ordering] = field(default_factory=dict)
    #: (half, variant) -> relevance values on goals without expected words (embedded judge)
    relevance: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    threshold: float | None = None
    #: (half) -> share of good >= threshold and off < threshold at the tuned threshold
    separation: dict[str, float] = field(default_factory=dict)
    #: (variant) -> mean task score over the held-out half
    mean_task: dict[str, float] = field(default_factory=dict)


def _figures(v: ConversationVerdict) -> dict[str, float | None]:
    return {"task_score": v.task_score, "instruction": v.mean("instruction")}


def best_threshold(good: Sequence[float], off: Sequence[float]) -> float:
    """The cut that classifies most values right (good at or above it, off below it): the
    midpoint between two neighbouring values, the lower one when several are as good."""
    values = sorted(set(good) | set(off))
    cuts = [values[0] - 1.0] + [(a + b) / 2 for a, b in itertools.pairwise(values)]
    cuts.append(values[-1] + 1.0)

    def hits(cut: float) -> int:
        return sum(g >= cut for g in good) + sum(o < cut for o in off)

    best: float = max(cuts, key=lambda c: (hits(c), -c))
    return round(best, 3)


def separation(good: Sequence[float], off: Sequence[float], cut: float) -> float:
    n = len(good) + len(off)
    return (sum(g >= cut for g in good) + sum(o < cut for o in off)) / n if n else float("nan")


def calibrate_conversations(
    judge: ConversationJudge,
    *,
    cache: ConversationCache | None = None,
    items: list[CalItem] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ConversationCalibration:
    items = items if items is not None else load_items()
    cal = ConversationCalibration(judge.describe())
    verdicts: dict[tuple[int, str], ConversationVerdict] = {}
    for k, item in enumerate(items):
        for variant in VARIANTS:
            said = replies(items, k, variant)
            verdicts[k, variant] = judge_conversation(
                judge, conversation(item.conv, said), cache=cache
            )
            relevance = getattr(judge, "relevance", None)
            if relevance is not None and variant in ("good", "off"):
                for goal, reply in zip(item.conv.goals, said, strict=True):
                    if not (goal.expect or goal.avoid or goal.refuse) and reply:
                        value = relevance(goal.say, reply)
                        if value is not None:
                            cal.relevance.setdefault((item.half, variant), []).append(value)
        if progress is not None:
            progress(k + 1, len(items))
    for k, item in enumerate(items):
        for figure in ("task_score", "instruction"):
            for better, worse in PAIRS:
                b = _figures(verdicts[k, better])[figure]
                w = _figures(verdicts[k, worse])[figure]
                for suite in (item.suite, "all"):
                    key = (item.half, suite, figure, f"{better}>{worse}")
                    cal.orderings.setdefault(key, Ordering()).add(b, w)
    held = [k for k, item in enumerate(items) if item.half == "held-out"]
    for variant in VARIANTS:
        scores = [s for k in held if (s := verdicts[k, variant].task_score) is not None]
        cal.mean_task[variant] = sum(scores) / len(scores) if scores else float("nan")
    if cal.relevance:
        good, off = (
            cal.relevance.get(("tuning", "good"), []),
            cal.relevance.get(("tuning", "off"), []),
        )
        if good and off:
            cal.threshold = best_threshold(good, off)
        cut = getattr(judge, "settings", {}).get("on_topic_nats")
        if cut is not None:
            for half in ("tuning", "held-out"):
                g, o = cal.relevance.get((half, "good"), []), cal.relevance.get((half, "off"), [])
                cal.separation[half] = separation(g, o, float(cut))
    return cal


def format_conversation_calibration(cal: ConversationCalibration) -> str:
    j = cal.judge
    out = [f"judge {j.get('spec')} (model {j.get('model')}, prompt {j.get('prompt_version')})"]
    for half in ("held-out", "tuning"):
        out.append(f"{half} half: ordering accuracy (right/wrong/ties)")
        suites = sorted({s for h, s, _f, _p in cal.orderings if h == half})
        for suite in suites:
            for figure in ("task_score", "instruction"):
                cells = []
                for better, worse in PAIRS:
                    o = cal.orderings.get((half, suite, figure, f"{better}>{worse}"))
                    if o is None or o.accuracy is None:
                        cells.append(f"{better}>{worse} -")
                        continue
                    cells.append(
                        f"{better}>{worse} {o.accuracy:.2f} ({o.right}/{o.wrong}/{o.ties})"
                    )
                out.append(f"  {suite:<16} {figure:<12} " + "  ".join(cells))
    means = ", ".join(f"{k} {v:.2f}" for k, v in cal.mean_task.items())
    out.append(f"mean task score, held-out half: {means}")
    if cal.relevance:
        for half in ("tuning", "held-out"):
            g, f = cal.relevance.get((half, "good"), []), cal.relevance.get((half, "off"), [])
            if g and f:
                out.append(
                    f"relevance ({half}): good mean {sum(g) / len(g):+.3f} (n={len(g)}), "
                    f"off mean {sum(f) / len(f):+.3f} (n={len(f)}); separated at the "
                    f"setting: {cal.separation.get(half, float('nan')):.3f}"
                )
        if cal.threshold is not None:
            out.append(f"best threshold on the tuning half: {cal.threshold:+.3f} nats/token")
    return "\n".join(out)
