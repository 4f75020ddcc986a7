"""How well a judge orders responses of known quality: ``duplex-bench judge --calibrate``.

``calibration.jsonl`` (written for this project) holds interruption contexts, each with three
responses: ``relevant`` (answers the interruption), ``partly`` (on the topic of the first request
but ignoring the interruption) and ``unrelated``. Per item there are three ordered pairs,
relevant > unrelated, relevant > partly, partly > unrelated. A pair is concordant when the judge's
score orders it the same way, discordant when the other way, and a tie counts half in the
accuracy. ``tau`` is (concordant - discordant) / pairs, a Kendall-tau-like figure in [-1, 1].
Pairs with a missing score are counted apart, never as ties.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from duplex.judges.base import Judge, JudgeInput, Verdict
from duplex.judges.cache import VerdictCache
from duplex.judges.engine import judge_items

LEVELS = ("relevant", "partly", "unrelated")
PAIRS = (("relevant", "unrelated"), ("relevant", "partly"), ("partly", "unrelated"))


@dataclass(frozen=True)
class PairFigures:
    pairs: int = 0
    concordant: int = 0
    discordant: int = 0
    ties: int = 0
    missing: int = 0

    @property
    def accuracy(self) -> float | None:
        return None if not self.pairs else (self.concordant + 0.5 * self.ties) / self.pairs

    @property
    def tau(self) -> float | None:
        return None if not self.pairs else (self.concordant - self.discordant) / self.pairs


@dataclass
class Calibration:
    judge: dict[str, Any]
    by_pair: dict[str, PairFigures]
    overall: PairFigures
    #: the same on the judge's continuous value, when it has one (the embedded scorer)
    by_pair_value: dict[str, PairFigures] = field(default_factory=dict)
    mean_score: dict[str, float | None] = field(default_factory=dict)


def load_calibration() -> list[dict[str, str]]:
    text = (resources.files("duplex.judges") / "calibration.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _figures(pairs: Sequence[tuple[float | None, float | None]]) -> PairFigures:
    c = d = t = m = 0
    for better, worse in pairs:
        if better is None or worse is None:
            m += 1
        elif better > worse:
            c += 1
        elif better < worse:
            d += 1
        else:
            t += 1
    return PairFigures(c + d + t, c, d, t, m)


def calibrate(
    judge: Judge, *, cache: VerdictCache | None = None, items: list[dict[str, str]] | None = None
) -> Calibration:
    items = items if items is not None else load_calibration()
    inputs = [JudgeInput(i["context"], i["interrupt"], i[level]) for i in items for level in LEVELS]
    verdicts = judge_items(judge, inputs, cache=cache)
    table: list[dict[str, Verdict]] = [
        dict(zip(LEVELS, verdicts[k * 3 : k * 3 + 3], strict=True)) for k in range(len(items))
    ]

    def pairs(a: str, b: str, attr: str) -> list[tuple[float | None, float | None]]:
        return [(getattr(row[a], attr), getattr(row[b], attr)) for row in table]

    by_pair = {f"{a}>{b}": _figures(pairs(a, b, "score")) for a, b in PAIRS}
    overall = _figures([p for a, b in PAIRS for p in pairs(a, b, "score")])
    has_value = all(v.value is not None for v in verdicts)
    by_value = {f"{a}>{b}": _figures(pairs(a, b, "value")) for a, b in PAIRS} if has_value else {}
    means: dict[str, float | None] = {}
    for level in LEVELS:
        scores = [s for row in table if (s := row[level].score) is not None]
        means[level] = sum(scores) / len(scores) if scores else None
    return Calibration(judge.describe(), by_pair, overall, by_value, means)


def format_calibration(cal: Calibration) -> str:
    def line(name: str, f: PairFigures) -> str:
        acc = "-" if f.accuracy is None else f"{f.accuracy:.3f}"
        tau = "-" if f.tau is None else f"{f.tau:+.3f}"
        return (
            f"  {name:<20} accuracy {acc}  tau {tau}  (n={f.pairs}: {f.concordant} right, "
            f"{f.discordant} wrong, {f.ties} ties; {f.missing} missing)"
        )

    j = cal.judge
    out = [f"judge {j.get('spec')} (model {j.get('model')}, prompt {j.get('prompt_version')})"]
    out.append("on the 0-5 score:")
    out += [line(k, f) for k, f in cal.by_pair.items()]
    out.append(line("all pairs", cal.overall))
    if cal.by_pair_value:
        out.append("on the continuous value:")
        out += [line(k, f) for k, f in cal.by_pair_value.items()]
    means = ", ".join(f"{k} {'-' if v is None else f'{v:.2f}'}" for k, v in cal.mean_score.items())
    out.append(f"mean score: {means}")
    return "\n".join(out)
