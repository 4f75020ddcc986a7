"""The arena and rubric parts of the HTML report (:mod:`duplex.report.html`).

- Arena leaderboards: every ``arena.json`` (from ``duplex-bench arena``) found in a reported run
  folder or in the folder holding it, whose runs include a reported run: Bradley-Terry rating with
  its 95% bootstrap interval, Elo at K = 32 and K = 4, win rate, and the judge's bias report.
- Rubric columns: the ``rubric_*`` figures of runs scored with ``duplex-bench rubric``, for a
  board of their own (they are ordinary metrics of those runs once loaded).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

from duplex.arena.document import FILE, ArenaDoc, load_arena
from duplex.report.rubric_store import KEYS as RUBRIC_KEYS
from duplex.report.runs import RunData

Column = tuple[str, str, str]  # (task, metric key, header), as in duplex.report.html


def find_arenas(runs: Sequence[RunData]) -> list[tuple[Path, ArenaDoc]]:
    """Arena documents beside the runs that rated at least one of them."""
    reported = {r.folder.resolve() for r in runs}
    seen: set[Path] = set()
    out = []
    for r in runs:
        for folder in (r.folder, r.folder.parent):
            path = (folder / FILE).resolve()
            if path in seen or not path.is_file():
                continue
            seen.add(path)
            doc = load_arena(path)
            if any(Path(x.folder).resolve() in reported for x in doc.runs):
                out.append((path, doc))
    return out


def _f(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _arena_table(path: Path, doc: ArenaDoc) -> str:
    j = doc.judge
    rows = []
    for rank, r in enumerate(doc.ratings, 1):
        rate = r.wins / r.judgements if r.judgements else None
        style = (
            f"<td>{r.bt_style.rating:.0f}<span class='ci'>[{r.bt_style.low:.0f}, "
            f"{r.bt_style.high:.0f}]</span></td>"
            if r.bt_style
            else ""
        )
        rows.append(
            f"<tr><td>{rank}</td><th class='model'>{escape(r.label)}</th>"
            f"<td{' class=best' if rank == 1 else ''}><span class='mean'>{r.bt.rating:.0f}</span>"
            f"<span class='ci'>[{r.bt.low:.0f}, {r.bt.high:.0f}] median {r.bt.median:.0f}</span>"
            f"</td><td>{r.elo_k32:.0f}</td><td>{r.elo_k4:.0f}</td><td>{_f(rate)}</td>"
            f"<td>{r.judgements}</td>{style}</tr>"
        )
    head = "<th>#</th><th>model</th><th>BT rating</th><th>Elo K=32</th><th>Elo K=4</th>"
    head += "<th>win rate</th><th>n</th>"
    if any(r.bt_style for r in doc.ratings):
        head += "<th>BT, style controlled</th>"
    b = doc.bias
    items = sorted({i for ids in doc.pairs.values() for i in ids})
    bias = (
        f"position agreement {_f(b.position_agreement)} ({b.agreeing}/{b.compared_both_orders}), "
        f"first-position win rate {_f(b.first_position_win_rate)} ({b.first_wins}/{b.decisive}), "
        f"longer response wins {_f(b.length_preference)} ({b.longer_wins}/{b.length_decisive}), "
        f"tie rate {_f(b.tie_rate)}, missing {b.missing}"
    )
    s = doc.settings
    return (
        f"<h3>{escape(str(path))}</h3>"
        f"<p class='note'>Judge {escape(str(j.get('spec')))} (model {escape(str(j.get('model')))},"
        f" prompt {escape(str(j.get('prompt_version')))}); {len(items)} items, "
        f"{len(doc.judgements)} judgements, every pair in both orders. Bradley-Terry on Chatbot "
        f"Arena's scale (1000 + 400 log10 odds, ties half a win), 95% bootstrap over comparisons "
        f"({s.get('resamples')} resamples, seed {s.get('seed')}); online Elo from 1000 beside it."
        f"</p><div class='scroll'><table class='leaderboard'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
        f"<p class='note'>Judge bias: {escape(bias)}</p>"
    )


def arena_section(runs: Sequence[RunData]) -> str:
    """The arena leaderboards for these runs, or "" when there is none."""
    found = find_arenas(runs)
    if not found:
        return ""
    tables = "".join(_arena_table(p, d) for p, d in found)
    return f'<section id="arena"><h2>Arena: pairwise preference</h2>{tables}</section>'


def rubric_columns(runs: Sequence[RunData]) -> list[Column]:
    """Rubric columns for the runs that have rubric scores."""
    cols: list[Column] = []
    for task in dict.fromkeys(r.task for r in runs):
        have = {
            k
            for r in runs
            if r.task == task
            for k in r.summary.get("metrics", {})
            if k in RUBRIC_KEYS
        }
        cols += [(task, k, f"{task} {k.removeprefix('rubric_')}") for k in RUBRIC_KEYS if k in have]
    return cols


RUBRIC_NOTE = (
    '<h3>Rubric scores</h3><p class="note">0-5, higher is better (duplex-bench rubric): content '
    "by the judge named in each run's rubric.json, delivery (latency, rate, pauses) by a fixed "
    "rule, item criteria from the suite file, overall their mean; 95% bootstrap over items.</p>"
)
