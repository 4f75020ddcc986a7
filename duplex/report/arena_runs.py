"""``run_arena``: every pair of runs on the items they share, judged in both orders, rated.

1. The runs are read (:func:`duplex.report.runs.load_run`); they must be of one suite and suite
   version. A pair of runs shares an item when both scored it (status ok) from the same rendered
   spec (``spec_hash``).
2. Each shared item of each pair is one *comparison*, judged twice: run X shown as A, then run Y
   shown as A. Each verdict is a battle in the ratings; the comparison is the bootstrap unit.
3. Verdicts come from the battle cache when present, else from the judge (and are cached as they
   come), so an interrupted arena resumes and a re-run is free.
4. Ratings (:mod:`duplex.arena.ratings`), the bias report (:mod:`duplex.arena.bias`), and the
   document (:mod:`duplex.arena.document`).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from duplex.arena.bias import BiasReport, Judged, bias_report
from duplex.arena.document import ArenaDoc, ArenaRun, Judgement, Rating
from duplex.arena.judging import (
    DEFAULT_ARENA_JUDGE,
    ArenaJudge,
    BattleCache,
    PairInput,
    PairVerdict,
    check_arena_judge,
    judge_pairs,
    load_arena_judge,
)
from duplex.arena.ratings import ELO_KS, Interval, Outcome, elo, fit_bt
from duplex.errors import ConfigError, ResultsError
from duplex.judges.base import redact_spec
from duplex.judges.engine import owned
from duplex.report.arena_responses import ItemResponse, read_item
from duplex.report.runs import RunData, load_run

#: Style-control covariates: the response's duration (s) and length (words).
STYLE = ("duration", "words")


@dataclass(frozen=True)
class ArenaConfig:
    judge: str = DEFAULT_ARENA_JUDGE
    seed: int = 0
    resamples: int = 1000
    style_control: bool = False
    #: judge each comparison in both orders (off only to show what a biased judge does unswapped)
    swap: bool = True
    concurrency: int | None = None


@dataclass(frozen=True)
class Battle:
    unit: int
    item_id: str
    first: int  # run index shown as A
    second: int
    pair: PairInput


def labels_of(runs: Sequence[RunData]) -> list[str]:
    """The model spec per run, with the folder name added where two runs share a model."""
    models = [r.model for r in runs]
    labels = [
        f"{r.model} ({r.folder.name})" if models.count(r.model) > 1 else r.model for r in runs
    ]
    # Still equal (same model, same folder name elsewhere): number them, ratings are by label.
    return [f"{x} #{i + 1}" if labels.count(x) > 1 else x for i, x in enumerate(labels)]


def _check_runs(runs: Sequence[RunData]) -> None:
    if len(runs) < 2:
        raise ConfigError("an arena needs at least two runs")
    first = runs[0]
    for r in runs[1:]:
        if (r.suite, r.config.get("suite_version")) != (
            first.suite,
            first.config.get("suite_version"),
        ):
            raise ResultsError(
                f"{r.folder}: suite {r.suite} v{r.config.get('suite_version')} differs from "
                f"{first.folder}: {first.suite} v{first.config.get('suite_version')}; an arena "
                "compares runs of one suite"
            )
    folders = [r.folder.resolve() for r in runs]
    if len(set(folders)) < len(folders):
        raise ConfigError("the same run folder was given twice")


def shared_items(a: RunData, b: RunData) -> list[str]:
    ok_a, ok_b = a.ok_rows(), b.ok_rows()
    return sorted(
        i for i in set(ok_a) & set(ok_b) if ok_a[i].get("spec_hash") == ok_b[i].get("spec_hash")
    )


def plan_battles(
    n_runs: int,
    shared: dict[tuple[int, int], list[str]],
    response: Callable[[int, str], ItemResponse],
    *,
    swap: bool = True,
) -> list[Battle]:
    """Every battle: each shared item of each pair of runs, in both orders when ``swap``."""
    battles: list[Battle] = []
    units = itertools.count()
    for x, y in itertools.combinations(range(n_runs), 2):
        for item_id in shared.get((x, y), []):
            rx, ry = response(x, item_id), response(y, item_id)
            unit = next(units)
            battles.append(
                Battle(unit, item_id, x, y, PairInput(rx.turn, rx.response, ry.response))
            )
            if swap:
                battles.append(
                    Battle(unit, item_id, y, x, PairInput(rx.turn, ry.response, rx.response))
                )
    if not battles:
        raise ResultsError("the runs share no scored item; nothing to compare")
    return battles


_SCORE = {"A": 1.0, "B": 0.0, "tie": 0.5}


def outcomes_of(battles: Sequence[Battle], verdicts: Sequence[PairVerdict]) -> list[Outcome]:
    out = []
    for b, v in zip(battles, verdicts, strict=True):
        if v.winner is None:
            continue
        style = {
            "duration": (b.pair.a.features.duration_s, b.pair.b.features.duration_s),
            "words": (float(b.pair.a.features.words), float(b.pair.b.features.words)),
        }
        out.append(Outcome(b.first, b.second, _SCORE[v.winner], b.unit, style))
    return out


def rate(
    labels: Sequence[str], outcomes: Sequence[Outcome], config: ArenaConfig
) -> tuple[list[Rating], dict[str, Interval]]:
    """Ratings sorted by BT rating (best first), and the style coefficients."""
    if not outcomes:
        raise ResultsError("every judgement is missing; no ratings")
    bt = fit_bt(labels, outcomes, resamples=config.resamples, seed=config.seed)
    styled = (
        fit_bt(labels, outcomes, style=STYLE, resamples=config.resamples, seed=config.seed)
        if config.style_control
        else None
    )
    elos = {k: elo(labels, outcomes, k=k, seed=config.seed) for k in ELO_KS}
    ratings = []
    for i, label in enumerate(labels):
        mine = [o for o in outcomes if i in (o.a, o.b)]
        wins = sum(o.score if o.a == i else 1.0 - o.score for o in mine)
        ratings.append(
            Rating(
                label=label,
                bt=bt.ratings[label],
                elo_k32=elos[32.0][label],
                elo_k4=elos[4.0][label],
                wins=wins,
                judgements=len(mine),
                bt_style=styled.ratings[label] if styled else None,
            )
        )
    # A run that met no other (no shared item) would be rated by the prior alone: leave it out.
    ratings = sorted((r for r in ratings if r.judgements), key=lambda r: -r.bt.rating)
    return ratings, dict(styled.style) if styled else {}


@dataclass
class ArenaResult:
    """What judging a plan gives: ratings, style coefficients, bias report, judgements."""

    ratings: list[Rating]
    style: dict[str, Interval]
    bias: BiasReport
    judgements: list[Judgement]


def judge_and_rate(
    labels: Sequence[str],
    battles: Sequence[Battle],
    judge: ArenaJudge,
    config: ArenaConfig,
    *,
    cache: BattleCache | None,
) -> ArenaResult:
    verdicts = judge_pairs(
        judge, [b.pair for b in battles], cache=cache, concurrency=config.concurrency
    )
    ratings, style = rate(labels, outcomes_of(battles, verdicts), config)
    pairs = list(zip(battles, verdicts, strict=True))
    bias = bias_report(
        [
            Judged(
                b.unit,
                labels[b.first],
                labels[b.second],
                v.winner,
                b.pair.a.features.words,
                b.pair.b.features.words,
            )
            for b, v in pairs
        ]
    )
    judgements = [
        Judgement(
            b.item_id, labels[b.first], labels[b.second], v.winner, v.reason, v.cached, v.margin
        )
        for b, v in pairs
    ]
    return ArenaResult(ratings, style, bias, judgements)


def run_arena(
    paths: Sequence[Path | str],
    config: ArenaConfig | None = None,
    *,
    judge: ArenaJudge | None = None,
    cache: BattleCache | None = None,
) -> ArenaDoc:
    """Judge and rate; ``judge`` and ``cache`` are injected by tests (else loaded from the
    config's spec and ``$DUPLEX_BENCH_CACHE``)."""
    config = config or ArenaConfig()
    if config.resamples < 100:
        raise ConfigError(f"--resamples must be at least 100, got {config.resamples}")
    if judge is None:
        check_arena_judge(config.judge)  # a typo fails before every session is read
    runs = [load_run(p) for p in paths]
    _check_runs(runs)
    labels = labels_of(runs)
    shared = {
        (x, y): shared_items(runs[x], runs[y])
        for x, y in itertools.combinations(range(len(runs)), 2)
    }
    responses: dict[tuple[int, str], ItemResponse] = {}

    def response(run: int, item_id: str) -> ItemResponse:
        if (run, item_id) not in responses:
            responses[(run, item_id)] = read_item(runs[run], item_id)
        return responses[(run, item_id)]

    battles = plan_battles(len(runs), shared, response, swap=config.swap)
    spec = redact_spec(check_arena_judge(config.judge)) if judge is None else judge.name
    with (
        owned(judge, lambda: load_arena_judge(config.judge)) as j,
        owned(cache, BattleCache.default) as c,
    ):
        result = judge_and_rate(labels, battles, j, config, cache=c)
        describe = j.describe()
    return ArenaDoc(
        judge=describe,
        settings={
            "seed": config.seed,
            "resamples": config.resamples,
            "style_control": config.style_control,
            "swap": config.swap,
            "judge_spec": spec,
        },
        runs=[
            ArenaRun(
                labels[i],
                str(r.folder),
                r.model,
                r.suite,
                str(r.config.get("suite_version")),
                r.task,
            )
            for i, r in enumerate(runs)
        ],
        pairs={f"{labels[x]}|{labels[y]}": ids for (x, y), ids in shared.items()},
        ratings=result.ratings,
        bias=result.bias,
        judgements=result.judgements,
        responses={
            labels[run]: {
                item_id: resp.response.to_json()
                for (k, item_id), resp in sorted(responses.items())
                if k == run
            }
            for run in range(len(runs))
        },
        style=result.style,
        created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
