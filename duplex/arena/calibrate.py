"""How well an arena judge orders pairs of known order: ``duplex-bench arena --calibrate``.

``calibration.jsonl`` (written for this project) holds a full, relevant reply for user turns of
the bundled suites (turn_taking, pause_handling). From each reply four pairs of known order are
built, each judged in both orders:

- ``full>cut``: the reply against its first two words (what ``cascade:max_words=2`` says);
- ``full>irrelevant``: against the full reply written for another item of the same split;
- ``full>empty``: against no response at all;
- ``cut>empty``: two words against nothing.

Responses get plausible speech features (170 words/min, 0.6 s latency, -20 dBFS, 110 Hz) so that
the API judges see what they see in an arena; the features are the same on both sides, so only
the words decide.

Split: the embedded judge's settings were chosen on the *tuning* items (:data:`TUNE_IDS`,
turn_taking tt-001 to tt-014) only; the figures to quote are those of the *held-out* items
(turn_taking tt-015 to tt-030 and the pause_handling items), the default. A verdict is right when
it names the better response, a tie counts half in the accuracy, and ``agreement`` is the fraction
of pairs whose two verdicts (one per order) name the same response.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from duplex.arena.judging import ArenaJudge, BattleCache, PairInput, PairVerdict, judge_pairs
from duplex.arena.responses import Response, SpeechFeatures
from duplex.errors import ConfigError

KINDS = ("full>cut", "full>irrelevant", "full>empty", "cut>empty")
SPLITS = ("held-out", "tune", "all")
TUNE_IDS = frozenset(f"tt-{i:03d}" for i in range(1, 15))
_RATE_WPM, _LATENCY = 170.0, 0.6


@dataclass(frozen=True)
class KindFigures:
    pairs: int = 0
    right: int = 0
    wrong: int = 0
    ties: int = 0
    missing: int = 0
    agreeing: int = 0  # pairs whose two verdicts agree
    both: int = 0  # pairs judged in both orders

    @property
    def verdicts(self) -> int:
        return self.right + self.wrong + self.ties

    @property
    def accuracy(self) -> float | None:
        return (self.right + 0.5 * self.ties) / self.verdicts if self.verdicts else None

    @property
    def agreement(self) -> float | None:
        return self.agreeing / self.both if self.both else None


@dataclass
class ArenaCalibration:
    judge: dict[str, Any]
    split: str
    items: list[str]
    by_kind: dict[str, KindFigures]
    overall: KindFigures
    margins: dict[str, list[float]] = field(default_factory=dict)


def load_items() -> list[dict[str, str]]:
    """Calibration lines with the user's turn looked up in the bundled suites."""
    from duplex.scenarios import SUITES, load_suite

    text = (resources.files("duplex.arena") / "calibration.jsonl").read_text(encoding="utf-8")
    lines = [json.loads(x) for x in text.splitlines() if x.strip()]
    turns: dict[str, str] = {}
    for name in ("turn_taking", "pause_handling"):
        if name in SUITES:
            turns |= {i.id: " ".join(i.texts) for i in load_suite(name).spec.items}
    out = []
    for line in lines:
        if line["id"] not in turns:
            raise ConfigError(f"calibration.jsonl: item {line['id']!r} is in no bundled suite")
        out.append({"id": line["id"], "turn": turns[line["id"]], "reply": line["reply"]})
    return out


def spoken(text: str) -> Response:
    """A response with plausible features for ``text`` ("" is no response)."""
    words = len(text.split())
    if not words:
        return Response("", (), SpeechFeatures(0.0, 0.0, 0, None, None, None, None))
    duration = round(60.0 * words / _RATE_WPM, 2)
    feats = SpeechFeatures(duration, duration, words, _RATE_WPM, _LATENCY, -20.0, 110.0)
    return Response(text, ((_LATENCY, round(_LATENCY + duration, 2)),), feats)


def build_pairs(items: Sequence[dict[str, str]]) -> list[tuple[str, str, PairInput]]:
    """(item id, kind, pair with the better response as A), one per kind and item."""
    out = []
    for k, item in enumerate(items):
        full = item["reply"]
        cut = " ".join(full.split()[:2])
        other = items[(k + len(items) // 2) % len(items)]["reply"] if len(items) > 1 else ""
        for kind, better, worse in (
            ("full>cut", full, cut),
            ("full>irrelevant", full, other),
            ("full>empty", full, ""),
            ("cut>empty", cut, ""),
        ):
            if kind == "full>irrelevant" and not other:
                continue
            out.append((item["id"], kind, PairInput(item["turn"], spoken(better), spoken(worse))))
    return out


def _tally(pairs: Sequence[tuple[PairVerdict, PairVerdict]]) -> KindFigures:
    right = wrong = ties = missing = agreeing = both = 0
    for shown, swapped in pairs:
        # Where the better response was A, then B: the verdict naming the better one.
        named: list[str | None] = []
        for v, better in ((shown, "A"), (swapped, "B")):
            if v.winner is None:
                missing += 1
                named.append(None)
            elif v.winner == "tie":
                ties += 1
                named.append("tie")
            elif v.winner == better:
                right += 1
                named.append("better")
            else:
                wrong += 1
                named.append("worse")
        if None not in named:
            both += 1
            agreeing += named[0] == named[1]
    return KindFigures(len(pairs), right, wrong, ties, missing, agreeing, both)


def select(items: list[dict[str, str]], split: str) -> list[dict[str, str]]:
    if split not in SPLITS:
        raise ConfigError(f"unknown calibration split {split!r}; choose one of {', '.join(SPLITS)}")
    if split == "all":
        return items
    return [i for i in items if (i["id"] in TUNE_IDS) == (split == "tune")]


def calibrate_arena(
    judge: ArenaJudge, *, split: str = "held-out", cache: BattleCache | None = None
) -> ArenaCalibration:
    items = select(load_items(), split)
    built = build_pairs(items)
    asked = [p for _i, _k, p in built] + [p.swapped() for _i, _k, p in built]
    verdicts = judge_pairs(judge, asked, cache=cache)
    n = len(built)
    per: dict[str, list[tuple[PairVerdict, PairVerdict]]] = {k: [] for k in KINDS}
    margins: dict[str, list[float]] = {k: [] for k in KINDS}
    for j, (_id, kind, _p) in enumerate(built):
        per[kind].append((verdicts[j], verdicts[n + j]))
        margin = verdicts[j].margin
        if margin is not None:
            margins[kind].append(margin)
    return ArenaCalibration(
        judge.describe(),
        split,
        [i["id"] for i in items],
        {k: _tally(v) for k, v in per.items()},
        _tally([p for v in per.values() for p in v]),
        {k: v for k, v in margins.items() if v},
    )


def format_arena_calibration(cal: ArenaCalibration) -> str:
    def line(name: str, f: KindFigures) -> str:
        acc = "-" if f.accuracy is None else f"{f.accuracy:.3f}"
        agr = "-" if f.agreement is None else f"{f.agreement:.3f}"
        return (
            f"  {name:<16} accuracy {acc}  position agreement {agr}  (n={f.verdicts} verdicts: "
            f"{f.right} right, {f.wrong} wrong, {f.ties} ties; {f.missing} missing)"
        )

    j = cal.judge
    tuned = "tuned on turn_taking tt-001..tt-014"
    out = [
        f"arena judge {j.get('spec')} (model {j.get('model')}, prompt {j.get('prompt_version')})",
        f"split {cal.split}: {len(cal.items)} items, each pair judged in both orders ({tuned})",
    ]
    out += [line(k, f) for k, f in cal.by_kind.items()]
    out.append(line("all pairs", cal.overall))
    if cal.margins:
        spans = ", ".join(f"{k} {min(v):+.1f}..{max(v):+.1f}" for k, v in cal.margins.items())
        out.append(f"  quality margin (nats, better minus worse): {spans}")
    return "\n".join(out)
