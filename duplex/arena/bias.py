"""How a judge's verdicts lean, apart from quality: the arena's bias report.

MTalk-Bench documents position and length bias in LLM judges; these figures show them for the
judge actually used:

- ``position_agreement``: over comparisons judged in both orders, the fraction where the verdict
  names the same system (or a tie) both times. 1 for a judge without position bias (and for one
  that answers at random only by luck).
- ``first_position_win_rate``: among decisive verdicts, the fraction won by the response shown
  first. About 0.5 for an unbiased judge, because every comparison is shown both ways.
- ``length_preference``: among decisive verdicts between responses of different length (words),
  the fraction won by the longer one. Not a bias by itself - a full answer should beat a cut one -
  but a judge near 1 on systems of similar quality prefers length.
- ``tie_rate``: ties among judged verdicts; ``missing``: verdicts the judge failed to give.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Judged:
    """One verdict as the bias report needs it."""

    unit: int  # the comparison (item, pair of systems) it belongs to
    first: str
    second: str
    winner: str | None  # "A" (first), "B" (second), "tie", None missing
    first_words: int
    second_words: int


@dataclass(frozen=True)
class BiasReport:
    judged: int
    missing: int
    ties: int
    tie_rate: float | None
    decisive: int
    first_wins: int
    first_position_win_rate: float | None
    compared_both_orders: int
    agreeing: int
    position_agreement: float | None
    length_decisive: int
    longer_wins: int
    length_preference: float | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> BiasReport:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__})


def _rate(k: int, n: int) -> float | None:
    return round(k / n, 4) if n else None


def _winning_system(v: Judged) -> str | None:
    return v.first if v.winner == "A" else v.second if v.winner == "B" else "tie"


def bias_report(verdicts: Sequence[Judged]) -> BiasReport:
    judged = [v for v in verdicts if v.winner is not None]
    ties = sum(v.winner == "tie" for v in judged)
    decisive = [v for v in judged if v.winner in ("A", "B")]
    first_wins = sum(v.winner == "A" for v in decisive)
    by_unit: dict[int, list[Judged]] = {}
    for v in judged:
        by_unit.setdefault(v.unit, []).append(v)
    both = [vs for vs in by_unit.values() if len({v.first for v in vs}) == 2]
    agreeing = sum(len({_winning_system(v) for v in vs}) == 1 for vs in both)
    sized = [v for v in decisive if v.first_words != v.second_words]
    longer = sum((v.first_words > v.second_words) == (v.winner == "A") for v in sized)
    return BiasReport(
        judged=len(judged),
        missing=len(verdicts) - len(judged),
        ties=ties,
        tie_rate=_rate(ties, len(judged)),
        decisive=len(decisive),
        first_wins=first_wins,
        first_position_win_rate=_rate(first_wins, len(decisive)),
        compared_both_orders=len(both),
        agreeing=agreeing,
        position_agreement=_rate(agreeing, len(both)),
        length_decisive=len(sized),
        longer_wins=longer,
        length_preference=_rate(longer, len(sized)),
    )


def format_bias(b: BiasReport) -> str:
    def f(x: float | None) -> str:
        return "-" if x is None else f"{x:.3f}"

    return (
        f"bias: position agreement {f(b.position_agreement)} ({b.agreeing}/"
        f"{b.compared_both_orders} comparisons judged both ways), first-position win rate "
        f"{f(b.first_position_win_rate)} ({b.first_wins}/{b.decisive} decisive), longer response "
        f"wins {f(b.length_preference)} ({b.longer_wins}/{b.length_decisive}), tie rate "
        f"{f(b.tie_rate)} ({b.ties}/{b.judged}); {b.missing} missing"
    )
