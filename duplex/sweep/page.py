"""``sweep.html``: a sweep on one self-contained page.

Each task's headline metrics against the training step, mean with its 95 % interval per checkpoint
(the report's step plot, :func:`duplex.report.svg.step_plot_svg`); plots of metrics that got
significantly worse from one checkpoint to the next are outlined and captioned; then a table of
every flagged change with ``compare``'s statistics, and the run folders. Per-item timelines and
audio: ``duplex-bench report OUT/step-* --html FILE``.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

from duplex.errors import ResultsError
from duplex.report.html import CSS
from duplex.report.runs import directions
from duplex.report.svg import StepPoint, step_plot_svg
from duplex.sweep.table import SweepStep, Transition

PAGE_CSS = """
figure.sweep{margin:0;padding:4px;border:2px solid transparent;border-radius:6px}
figure.sweep.flagged{border-color:#d93a3a}
figure.sweep figcaption{font-size:11px;color:#a02020;max-width:320px}
table.flags td,table.flags th,table.steps td,table.steps th{padding:3px 8px;font-size:12px;
border-bottom:1px solid #eef0f3;text-align:right}
table.flags td.l,table.flags th.l,table.steps td.l,table.steps th.l{text-align:left}
td.gated{color:#a02020;font-weight:600}
"""


def _num(x: float | None, fmt: str = ".4g") -> str:
    return "-" if x is None else format(x, fmt)


def _headline(steps: Sequence[SweepStep], task: str) -> list[tuple[str, str, str | None]]:
    """(key, label, direction) of the task's headline metrics, as its runs declare them."""
    keys: dict[str, tuple[str, str | None]] = {}
    for s in steps:
        run = s.runs.get(task)
        if run is None:
            continue
        dirs = directions(run)
        for key, label, _d in run.headline:
            keys.setdefault(key, (label, dirs.get(key)))
    return [(k, label, d) for k, (label, d) in keys.items()]


def _plots(steps: Sequence[SweepStep], found: Sequence[Transition]) -> str:
    worse: dict[tuple[str, str], list[int]] = {}
    for t in found:
        for metric in t.worse:
            worse.setdefault((t.task, metric.key), []).append(t.step)
    parts = []
    tasks = sorted({task for s in steps for task in s.runs})
    for task in tasks:
        figures = []
        for key, label, direction in _headline(steps, task):
            points = []
            for s in steps:
                run = s.runs.get(task)
                m = (run.summary.get("metrics", {}).get(key) if run else None) or {}
                if m.get("mean") is not None:
                    points.append(StepPoint(s.step, m["mean"], m.get("ci_low"), m.get("ci_high")))
            if not points:
                continue
            svg = step_plot_svg(f"{task}: {key}", {label: points}, direction=direction)
            flagged = worse.get((task, key), [])
            caption = (
                f"<figcaption>significantly worse at step {', '.join(map(str, flagged))}"
                "</figcaption>"
                if flagged
                else ""
            )
            cls = "sweep flagged" if flagged else "sweep"
            figures.append(f'<figure class="{cls}">{svg}{caption}</figure>')
        if figures:
            parts.append(f'<h3>{escape(task)}</h3><div class="plots">{"".join(figures)}</div>')
    return "".join(parts)


def _flags(found: Sequence[Transition]) -> str:
    rows = []
    for t in found:
        where = f'<td class="l">{escape(t.task)}</td><td>{t.base_step} &rarr; {t.step}</td>'
        if t.skipped:
            rows.append(
                f'<tr>{where}<td class="l" colspan="8">not compared: {escape(t.skipped)}</td></tr>'
            )
        for m in t.worse:
            gate = '<td class="gated">gated</td>' if m.regression else "<td></td>"
            rows.append(
                f'<tr>{where}<td class="l">{escape(m.key)}</td><td>{_num(m.base_mean)}</td>'
                f"<td>{_num(m.candidate_mean)}</td><td>{_num(m.diff, '+.4g')}</td>"
                f"<td>[{_num(m.ci_low)}, {_num(m.ci_high)}]</td><td>{_num(m.p_value, '.3g')}</td>"
                f"<td>{m.n}</td>{gate}</tr>"
            )
        if t.new_failures:
            rows.append(
                f'<tr>{where}<td class="l" colspan="8">newly failed: '
                f"{escape(', '.join(t.new_failures))}</td></tr>"
            )
    if not rows:
        return "<p>No metric got significantly worse between consecutive checkpoints.</p>"
    head = (
        '<tr><th class="l">task</th><th>steps</th><th class="l">metric</th><th>before</th>'
        "<th>after</th><th>diff</th><th>95% CI</th><th>p</th><th>n</th><th>gate</th></tr>"
    )
    return f'<table class="flags"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _folders(steps: Sequence[SweepStep], root: Path) -> str:
    rows = []
    for s in steps:
        cells = []
        for task in sorted(s.runs):
            run = s.runs[task]
            ok = len(run.ok_rows())
            rel = run.folder.relative_to(root) if run.folder.is_relative_to(root) else run.folder
            cells.append(
                f"{escape(task)}: {ok} ok, {len(run.rows) - ok} failed ({escape(str(rel))})"
            )
        rows.append(
            f'<tr><td>{s.step}</td><td class="l">{escape(str(s.checkpoint))}</td>'
            f'<td class="l">{"<br>".join(cells)}</td></tr>'
        )
    return (
        '<table class="steps"><thead><tr><th>step</th><th class="l">checkpoint</th>'
        f'<th class="l">runs</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def build_page(
    steps: Sequence[SweepStep], found: Sequence[Transition], root: Path, title: str
) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{CSS}{PAGE_CSS}</style></head><body>"
        f"<header><h1>{escape(title)}</h1>"
        '<p class="note">Headline metrics per checkpoint: mean over items with its 95% bootstrap '
        "interval. Outlined plots got significantly worse from one checkpoint to the next "
        "(duplex-bench compare: paired bootstrap interval and sign-flip test on the items both "
        "runs scored, p &lt; 0.05 and an interval excluding 0; gated = a headline metric "
        "compare fails on).</p></header><main>"
        f'<section id="steps"><h2>Metrics against training step</h2>{_plots(steps, found)}'
        "</section>"
        f'<section id="regressions"><h2>Regressions between checkpoints</h2>{_flags(found)}'
        "</section>"
        f'<section id="runs"><h2>Checkpoints and run folders</h2>{_folders(steps, root)}'
        '<p class="note">Items, timelines and audio: <code>duplex-bench report '
        "OUT/step-* --html FILE</code>.</p></section></main></body></html>"
    )


def write_page(
    steps: Sequence[SweepStep], found: Sequence[Transition], path: Path, title: str
) -> Path:
    page = build_page(steps, found, path.parent, title)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise ResultsError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path
