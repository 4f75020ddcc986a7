"""``arena.json``: the arena's typed, versioned result document, and its terminal leaderboard.

Everything needed to read and reproduce the figures: the runs (folders, models, suite), the judge
(name, model, prompt version and hash), the settings (seed, resamples, style control), every
judgement with its inputs' responses, the ratings (Bradley-Terry with intervals, Elo) and the bias
report. ``format`` names the document kind and ``version`` its layout; a reader refuses other
layouts rather than guess.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from duplex.arena.bias import BiasReport, format_bias
from duplex.arena.ratings import Interval
from duplex.errors import ResultsError
from duplex.writing import write_json

FORMAT = "duplex-bench-arena"
VERSION = 1
FILE = "arena.json"


@dataclass(frozen=True)
class ArenaRun:
    label: str
    folder: str
    model: str
    suite: str
    suite_version: str
    task: str


@dataclass(frozen=True)
class Judgement:
    """One verdict: ``first`` was shown as A. ``winner`` A, B, tie, or None (missing)."""

    item_id: str
    first: str
    second: str
    winner: str | None
    reason: str
    cached: bool = False
    margin: float | None = None


@dataclass(frozen=True)
class Rating:
    label: str
    bt: Interval
    elo_k32: float
    elo_k4: float
    wins: float  # ties count half
    judgements: int
    bt_style: Interval | None = None


@dataclass
class ArenaDoc:
    judge: dict[str, Any]
    settings: dict[str, Any]
    runs: list[ArenaRun]
    #: shared items per pair of labels ("a|b" -> item ids)
    pairs: dict[str, list[str]]
    ratings: list[Rating]
    bias: BiasReport
    judgements: list[Judgement]
    #: label -> item id -> the response as judged (transcript, timing, features)
    responses: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: style-control coefficients, rating points per sd of the covariate
    style: dict[str, Interval] = field(default_factory=dict)
    created: str = ""
    format: str = FORMAT
    version: int = VERSION

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ArenaDoc:
        if d.get("format") != FORMAT or d.get("version") != VERSION:
            raise ResultsError(
                f"not an arena document of version {VERSION} "
                f"(format {d.get('format')!r}, version {d.get('version')!r})"
            )

        def interval(x: dict[str, Any] | None) -> Interval | None:
            return None if x is None else Interval(**x)

        ratings = [
            Rating(
                label=r["label"],
                bt=Interval(**r["bt"]),
                elo_k32=r["elo_k32"],
                elo_k4=r["elo_k4"],
                wins=r["wins"],
                judgements=r["judgements"],
                bt_style=interval(r.get("bt_style")),
            )
            for r in d["ratings"]
        ]
        return cls(
            judge=d["judge"],
            settings=d["settings"],
            runs=[ArenaRun(**r) for r in d["runs"]],
            pairs=d["pairs"],
            ratings=ratings,
            bias=BiasReport.from_json(d["bias"]),
            judgements=[Judgement(**j) for j in d["judgements"]],
            responses=d.get("responses") or {},
            style={k: Interval(**v) for k, v in (d.get("style") or {}).items()},
            created=str(d.get("created", "")),
        )


def write_arena(doc: ArenaDoc, path: Path) -> None:
    write_json(path, doc.to_json(), what="the arena results")


def load_arena(path: Path | str) -> ArenaDoc:
    path = Path(path)
    try:
        return ArenaDoc.from_json(json.loads(path.read_text()))
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ResultsError(f"{path}: unreadable arena results ({exc})") from exc
    except ResultsError as exc:
        raise ResultsError(f"{path}: {exc}") from exc


def _ci(i: Interval) -> str:
    return f"[{i.low:.0f}, {i.high:.0f}]"


def format_leaderboard(doc: ArenaDoc) -> str:
    j = doc.judge
    missing = doc.bias.missing
    cached = sum(x.cached for x in doc.judgements)
    items = sorted({i for ids in doc.pairs.values() for i in ids})
    lines = [
        f"arena: {len(doc.runs)} runs, {len(items)} items shared, {len(doc.judgements)} "
        f"judgements ({cached} from cache, {missing} missing); judge {j.get('spec')} "
        f"(model {j.get('model')}, prompt {j.get('prompt_version')})",
        "",
    ]
    style = any(r.bt_style for r in doc.ratings)
    head = f"{'rank':<5}{'model':<32}{'BT':>8} {'95% CI':<14}{'Elo K=32':>9}{'Elo K=4':>9}"
    head += f"{'win rate':>9}{'n':>5}"
    lines.append(head + (f"  {'BT style':>9} {'95% CI':<14}" if style else ""))
    for rank, r in enumerate(doc.ratings, 1):
        rate = r.wins / r.judgements if r.judgements else 0.0
        line = (
            f"{rank:<5}{r.label[:31]:<32}{r.bt.rating:>8.0f} {_ci(r.bt):<14}{r.elo_k32:>9.0f}"
            f"{r.elo_k4:>9.0f}{rate:>9.3f}{r.judgements:>5}"
        )
        if r.bt_style is not None:
            line += f"  {r.bt_style.rating:>9.0f} {_ci(r.bt_style):<14}"
        lines.append(line)
    unrated = [r.label for r in doc.runs if r.label not in {x.label for x in doc.ratings}]
    if unrated:
        lines.append(f"not rated (no judged item shared with another run): {', '.join(unrated)}")
    lines.append("")
    s = doc.settings
    lines.append(
        f"Bradley-Terry (1000 + 400 log10 odds; ties half a win), 95% bootstrap over "
        f"comparisons ({s.get('resamples')} resamples, seed {s.get('seed')}); Elo from 1000 in "
        "a seeded order"
    )
    if doc.style:
        coefs = ", ".join(f"{k} {v.rating:+.0f} {_ci(v)}" for k, v in doc.style.items())
        lines.append(f"style control (points per sd of the normalised difference): {coefs}")
    lines.append(format_bias(doc.bias))
    return "\n".join(lines)
