"""`duplex-bench report RUN... --html FILE`: one self-contained HTML file.

Everything is inline (CSS, a few lines of script, SVG, audio as data: URIs), so the file opens
offline and can be attached to an issue or a CI artefact. Contents:

- a leaderboard across runs: the anchor's columns then ours (as the tasks declare them), each
  cell a mean with its 95% bootstrap interval and n; rubric scores and arena leaderboards when
  the runs have them (:mod:`duplex.report.preference`);
- metric-against-step plots when the runs are successive checkpoints (a step in run.json, the
  model spec or the folder name, or given explicitly);
- per run: every metric with its interval, then one section per item: a timeline of both channels
  (level envelopes, pause windows, turn end, interruptions and other cues, events), an audio
  player (the two channels mixed), transcripts, metrics, judge verdicts when the rows have them;
  a conversation also gets its turns on two lanes and its transcript exchange by exchange.

Audio is capped (items per run and seconds per item, said on the page) to keep the file small.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from duplex.errors import AudioError, ConfigError, ResultsError
from duplex.metrics.stats import number
from duplex.provenance import STEP_RE
from duplex.report.conversation_view import conversation_html
from duplex.report.media import encode_clip, envelope, session_mix
from duplex.report.preference import RUBRIC_NOTE, arena_section, rubric_columns
from duplex.report.rundata import RunData
from duplex.report.runs import directions, expand_runs
from duplex.report.svg import (
    LEFT,
    RIGHT,
    StepPoint,
    W,
    step_plot_svg,
    timeline_from_session,
    timeline_svg,
)
from duplex.report.table import pooled, suite_columns
from duplex.writing import write_text

ENVELOPE_BINS = 480


@dataclass(frozen=True)
class ReportOptions:
    #: items per run whose audio is embedded (0: none)
    audio_items: int = 8
    #: seconds of audio embedded per item at most
    audio_seconds: float = 30.0
    #: items per run given a section (timeline, transcripts); the rest are counted, not shown
    max_items: int = 64
    title: str = "duplex-bench report"
    #: explicit training steps, one per RUN argument (overrides what the runs say)
    steps: Sequence[int] | None = None


@dataclass
class ReportInfo:
    path: Path
    nbytes: int
    runs: int
    items: int
    clips: int
    audio_bytes: int
    notes: list[str] = field(default_factory=list)


@dataclass
class _Ctx:
    opts: ReportOptions
    steps: dict[Path, int]
    clips: int = 0
    clips_left: int = 0
    audio_bytes: int = 0
    items: int = 0


def _fmt(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _slug(*parts: str) -> str:
    return "-".join(re.sub(r"[^A-Za-z0-9_.-]+", "_", p) for p in parts)


def _family(model: str) -> str:
    return STEP_RE.sub("", model).strip(":-_,") or model


def run_labels(runs: Sequence[RunData]) -> dict[Path, str]:
    """A leaderboard row label per run: the model spec, with the folder added where one model
    has two runs of the same task (two rows, not one cell overwritten)."""
    seen: dict[tuple[str, str], int] = {}
    for r in runs:
        seen[(r.model, r.task)] = seen.get((r.model, r.task), 0) + 1
    clash = {m for (m, _t), n in seen.items() if n > 1}
    labels: dict[Path, str] = {}
    for r in runs:
        if r.model in clash:
            where = r.folder.parent.name if r.folder.name == r.suite else r.folder.name
            labels[r.folder] = f"{r.model} ({where})"
        else:
            labels[r.folder] = r.model
    return labels


# ----------------------------------------------------------------------------- leaderboard


def _task_directions(runs: Sequence[RunData]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for r in runs:
        out.setdefault(r.task, {}).update(directions(r))
    return out


Column = tuple[str, str, str]  # (task, metric key, header)


def _board(
    runs: Sequence[RunData], ctx: _Ctx, columns: Sequence[Column], labels: dict[Path, str]
) -> str:
    """One row per label, a cell per column: mean, 95% interval and n; best per column bold."""
    rows: dict[str, dict[str, list[RunData]]] = {}
    for r in runs:
        rows.setdefault(labels[r.folder], {}).setdefault(r.task, []).append(r)

    def cell(tasks: dict[str, list[RunData]], task: str, key: str) -> dict[str, Any] | None:
        return pooled([r.summary.get("metrics", {}).get(key) or {} for r in tasks.get(task, [])])

    dirs = _task_directions(runs)
    any_step = any(r.folder in ctx.steps for r in runs)
    head = ["<th>model</th>"] + (["<th>step</th>"] if any_step else [])
    best: dict[int, float] = {}
    for j, (task, key, _h) in enumerate(columns):
        d = dirs.get(task, {}).get(key)
        means = [
            v
            for row in rows.values()
            if (v := number((cell(row, task, key) or {}).get("mean"))) is not None
        ]
        if d and len(means) > 1:
            best[j] = min(means) if d == "lower" else max(means)
    for task, key, header in columns:
        d = dirs.get(task, {}).get(key)
        arrow = {"lower": " &darr;", "higher": " &uarr;"}.get(d or "", "")
        tip = f"{task} / {key}" + (f" ({d} is better)" if d else "")
        head.append(f'<th title="{escape(tip)}">{escape(header)}{arrow}</th>')
    body = []
    for label, tasks in rows.items():
        cells = [f'<th class="model">{escape(label)}</th>']
        if any_step:
            step = next(
                (ctx.steps[r.folder] for rs in tasks.values() for r in rs if r.folder in ctx.steps),
                None,
            )
            cells.append(f"<td>{'' if step is None else step}</td>")
        for j, (task, key, _h) in enumerate(columns):
            m = cell(tasks, task, key)
            if not m or m.get("mean") is None:
                cells.append('<td class="na">-</td>')
                continue
            cls = ' class="best"' if best.get(j) == m["mean"] else ""
            ci = f"[{_fmt(m.get('ci_low'))}, {_fmt(m.get('ci_high'))}]"
            cells.append(
                f'<td{cls}><span class="mean">{_fmt(m["mean"])}</span>'
                f'<span class="ci">{ci} n={m.get("n", "?")}</span></td>'
            )
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        '<div class="scroll"><table class="leaderboard"><thead><tr>'
        + "".join(head)
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table></div>"
    )


def _probe_columns(runs: Sequence[RunData]) -> list[Column]:
    """Accuracy per condition over all sets (the probe's headline), then the gaps to t2t."""
    keys = [k for r in runs for k, _l, _d in r.headline]
    keys += sorted(
        k
        for r in runs
        for k in r.summary.get("metrics", {})
        if k.startswith("all/") and k.endswith("/gap_mean")
    )
    out: list[Column] = []
    for k in dict.fromkeys(keys):
        _scope, cond, fig = k.split("/")
        out.append(("probe", k, f"{cond} {fig.replace('_mean', '')}"))
    return out


def _leaderboard(runs: Sequence[RunData], ctx: _Ctx) -> str:
    labels = run_labels(runs)
    suites = [r for r in runs if r.kind == "suite"]
    probes = [r for r in runs if r.kind == "probe"]
    parts = ['<section id="leaderboard"><h2>Leaderboard</h2>']
    if suites:
        parts.append(
            '<p class="note">Columns: Full-Duplex-Bench v1\'s published table, then ours. Each '
            "cell: mean over items, 95% bootstrap interval, number of items; &darr;/&uarr; "
            "lower/higher is better, best in bold. FDB-rule figures are comparable with the "
            "anchor's only up to the ASR backend, named per run below.</p>"
        )
        parts.append(_board(suites, ctx, suite_columns(), labels))
    rubric = rubric_columns(suites)
    if rubric:
        parts.append(RUBRIC_NOTE)
        parts.append(_board(suites, ctx, rubric, labels))
    if probes:
        parts.append(
            '<h3>Intelligence probes</h3><p class="note">Pairwise continuation accuracy '
            "(mean-token-NLL rule) per condition over all sets, and the gap acc(t2t) - "
            "acc(condition); intervals from the probe run.</p>"
        )
        parts.append(_board(probes, ctx, _probe_columns(probes), labels))
    parts.append("</section>")
    return "".join(parts)


# ------------------------------------------------------------------------------ step plots


def _step_plots(runs: Sequence[RunData], ctx: _Ctx) -> str:
    stepped = [r for r in runs if r.folder in ctx.steps]
    if len({ctx.steps[r.folder] for r in stepped}) < 2:
        return ""
    explicit = ctx.opts.steps is not None
    dirs = _task_directions(runs)
    plots = []
    for task in sorted({r.task for r in stepped}):
        of_task = [r for r in stepped if r.task == task]
        keys = [k for t, k, _h in suite_columns() if t == task]
        keys += [k for r in of_task for k, _l, _d in r.headline]
        for key in dict.fromkeys(keys):
            series: dict[str, list[StepPoint]] = {}
            for r in of_task:
                m = r.summary.get("metrics", {}).get(key) or {}
                if m.get("mean") is None:
                    continue
                name = "runs" if explicit else _family(r.model)
                series.setdefault(name, []).append(
                    StepPoint(ctx.steps[r.folder], m["mean"], m.get("ci_low"), m.get("ci_high"))
                )
            if sum(len(s) for s in series.values()) >= 2:
                plots.append(step_plot_svg(f"{task}: {key}", series, direction=dirs[task].get(key)))
    if not plots:
        return ""
    return (
        '<section id="steps"><h2>Metrics against training step</h2>'
        '<p class="note">Means with 95% intervals per checkpoint.</p>'
        f'<div class="plots">{"".join(plots)}</div></section>'
    )


# ----------------------------------------------------------------------------------- items


def _read_session(folder: Path) -> dict[str, Any] | None:
    path = folder / "session.json"
    if not path.is_file():
        return None
    try:
        doc: dict[str, Any] = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return doc


def _kv_table(d: dict[str, Any], cls: str = "kv") -> str:
    rows = []
    for k, v in d.items():
        if isinstance(v, float):
            text = f"{v:.4g}"
        elif isinstance(v, dict | list):
            text = json.dumps(v, indent=1, default=str)
        else:
            text = "-" if v is None else str(v)
        rows.append(f"<tr><th>{escape(str(k))}</th><td>{escape(text)}</td></tr>")
    return f'<table class="{cls}">{"".join(rows)}</table>'


def _judge(row: dict[str, Any]) -> dict[str, Any]:
    """Whatever the row holds about judging: a ``judge``/``judges`` field, judge metrics,
    judge details. The field is optional: runs without a judge show nothing."""
    out: dict[str, Any] = {}
    for key in ("judge", "judges", "verdict", "verdicts"):
        if row.get(key) is not None:
            out[key] = row[key]
    for where in ("metrics", "details"):
        for k, v in (row.get(where) or {}).items():
            if "judge" in k.lower():
                out[k] = v
    return out


def _item(run: RunData, run_key: str, row: dict[str, Any], ctx: _Ctx, *, open_: bool) -> str:
    item_id = str(row.get("item_id"))
    key = _slug(run_key, item_id)
    metrics = row.get("metrics") or {}
    chips = []
    for k, label, _d in run.headline[:3]:
        if k in metrics:
            chips.append(
                f'<span class="chip" title="{escape(label)}">{escape(k)}='
                f"{escape(str(metrics[k]))}</span>"
            )
    status = str(row.get("status", "?"))
    parts = [
        f'<details class="item" id="{escape(key)}"{" open" if open_ else ""}>'
        f'<summary><span class="item-id">{escape(item_id)}</span> '
        f'<span class="status {escape(status)}">{escape(status)}</span> {"".join(chips)}'
        "</summary>"
    ]
    folder = run.folder / "sessions" / item_id
    session = _read_session(folder)
    if session is not None:
        parts.append(_media(folder, session, key, ctx))
        parts.append(conversation_html(session, row))  # empty unless the item is a conversation
    else:
        parts.append('<p class="note">no session folder recorded for this item</p>')
    if status == "failed":
        parts.append(f'<p class="failure">failed: {escape(str(row.get("reason")))}</p>')
    texts: dict[str, Any] = {}
    if session is not None:
        speech = (session.get("annotations") or {}).get("speech") or []
        texts["user (script)"] = " ".join(str(s.get("text", "")) for s in speech) or None
    texts["model (ASR)"] = row.get("transcript")
    texts.update(row.get("details") or {})
    parts.append('<div class="cols">')
    parts.append(f"<div><h4>transcripts</h4>{_kv_table(texts, 'kv texts')}</div>")
    parts.append(f"<div><h4>metrics</h4>{_kv_table(metrics)}</div>")
    judge = _judge(row)
    if judge:
        parts.append(f'<div class="judge"><h4>judge</h4>{_kv_table(judge)}</div>')
    parts.append("</div></details>")
    return "".join(parts)


def _media(folder: Path, session: dict[str, Any], key: str, ctx: _Ctx) -> str:
    from duplex.audio import read_wav

    try:
        user, _ = read_wav(folder / "input.wav")
        model, _ = read_wav(folder / "output.wav")
    except AudioError as exc:
        return f'<p class="note">audio unreadable: {escape(str(exc))}</p>'
    tl = timeline_from_session(
        session, envelope(user, ENVELOPE_BINS), envelope(model, ENVELOPE_BINS)
    )
    out = [timeline_svg(tl, item_key=key)]
    if ctx.clips_left > 0:
        clip = encode_clip(session_mix(user, model), max_seconds=ctx.opts.audio_seconds)
        ctx.clips_left -= 1
        ctx.clips += 1
        ctx.audio_bytes += clip.nbytes
        cut = f" (first {clip.seconds:.0f} s)" if clip.truncated else ""
        out.append(
            f'<div class="player"><audio controls preload="none" src="{clip.uri}"></audio>'
            f'<span class="note">user + model mixed{cut}; click the timeline to seek</span></div>'
        )
    else:
        out.append(
            '<p class="note">audio not embedded (cap reached); listen to session.wav in the '
            "run folder</p>"
        )
    return "".join(out)


def _items_text(run: RunData) -> str:
    ok = len(run.ok_rows())
    planned = (run.summary.get("items") or {}).get("planned", len(run.rows))
    return f"{ok} scored, {len(run.rows) - ok} failed, {planned} planned"


def _run_section(run: RunData, run_key: str, label: str, ctx: _Ctx, first: bool) -> str:
    cfg = run.config
    backends = run.run_doc.get("backends", {})
    info = {
        "folder": str(run.folder),
        "model": run.model,
        "suite": f"{run.suite} v{cfg.get('suite_version')}",
        "task": f"{run.task} v{cfg.get('task_version')}",
        "clock": cfg.get("clock"),
        "VAD": (backends.get("vad") or {}).get("backend", cfg.get("vad")),
        "ASR": (backends.get("asr") or {}).get("backend", cfg.get("asr")),
        "items": _items_text(run),
    }
    info = {k: v for k, v in info.items() if v is not None}
    if run.folder in ctx.steps:
        info["step"] = ctx.steps[run.folder]
    for k, v in run.run_doc.items():
        if "judge" in k.lower():
            info[k] = v
    dirs = directions(run)
    heads = {k for k, _l, _d in run.headline}
    metric_rows = []
    metrics = run.summary.get("metrics", {})
    order = [k for k, _l, _d in run.headline if k in metrics]
    order += sorted(k for k in metrics if k not in heads)
    for k in order:
        m = metrics[k]
        d = dirs.get(k)
        metric_rows.append(
            f"<tr{' class=headline' if k in heads else ''}><th>{escape(k)}</th>"
            f"<td>{_fmt(m.get('mean'))}</td><td>[{_fmt(m.get('ci_low'))}, "
            f"{_fmt(m.get('ci_high'))}]</td><td>{m.get('n')}</td><td>{d or ''}</td></tr>"
        )
    rows = list(run.rows.values())
    if run.kind != "suite":  # no sessions to show: the figures above are the report
        rows = []
    shown = rows[: ctx.opts.max_items]
    ctx.clips_left = ctx.opts.audio_items
    items = [_item(run, run_key, row, ctx, open_=first and i == 0) for i, row in enumerate(shown)]
    ctx.items += len(shown)
    more = (
        f'<p class="note">{len(rows) - len(shown)} more items not shown (--max-items)</p>'
        if len(rows) > len(shown)
        else ""
    )
    return (
        f'<section class="run" id="{run_key}">'
        f"<h2>{escape(label)} &middot; {escape(run.suite)}</h2>"
        f'<div class="cols"><div>{_kv_table(info)}</div><div><table class="metrics">'
        "<thead><tr><th>metric</th><th>mean</th><th>95% CI</th><th>n</th><th>better</th></tr>"
        f"</thead><tbody>{''.join(metric_rows)}</tbody></table></div></div>"
        + (f"<h3>Items</h3>{''.join(items)}{more}" if items else "")
        + "</section>"
    )


# ------------------------------------------------------------------------------------ page


def build_report(
    runs: Sequence[RunData], opts: ReportOptions, steps: dict[Path, int] | None = None
) -> tuple[str, _Ctx]:
    """The page as a string, and counters of what went into it."""
    if not runs:
        raise ResultsError("no runs to report")
    if steps is None:
        steps = {r.folder: s for r in runs if (s := r.step()) is not None}
    ctx = _Ctx(opts, steps)
    labels = run_labels(runs)
    sections = [
        _run_section(r, f"run{i}", labels[r.folder], ctx, i == 0) for i, r in enumerate(runs)
    ]
    nav = "".join(
        f'<a href="#run{i}">{escape(labels[r.folder])} &middot; {escape(r.suite)}</a>'
        for i, r in enumerate(runs)
    )
    audio_note = (
        f"Audio: up to {opts.audio_items} items per run, at most {opts.audio_seconds:g} s each, "
        "user and model mixed to mono (Ogg/Opus, or 16 kHz WAV where Opus is unavailable); the "
        "full recordings are in each run's sessions/ folder."
        if opts.audio_items > 0
        else "Audio: not embedded (--audio-items 0)."
    )
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(opts.title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{escape(opts.title)}</h1><nav>{nav}</nav>"
        f'<p class="note">{escape(audio_note)}</p></header><main>'
        + _leaderboard(runs, ctx)
        + arena_section(runs)
        + _step_plots(runs, ctx)
        + "".join(sections)
        + f"</main><script>{SCRIPT}</script></body></html>"
    )
    return page, ctx


def write_report(
    paths: Sequence[Path | str], out: Path | str, opts: ReportOptions | None = None
) -> ReportInfo:
    """Read the runs (folders, or parents of run folders) and write the HTML file."""
    opts = opts or ReportOptions()
    if opts.audio_items < 0 or opts.audio_seconds <= 0 or opts.max_items < 1:
        raise ConfigError("--audio-items must be >= 0, --audio-seconds > 0, --max-items >= 1")
    steps: dict[Path, int] | None = None
    runs: list[RunData] = []
    if opts.steps is not None:
        if len(opts.steps) != len(paths):
            raise ConfigError(
                f"--steps gives {len(opts.steps)} steps for {len(paths)} runs; give one per RUN"
            )
        steps = {}
        for p, s in zip(paths, opts.steps, strict=True):
            found = expand_runs([p])
            runs += found
            steps.update({r.folder: int(s) for r in found})
    else:
        runs = expand_runs(paths)
    page, ctx = build_report(runs, opts, steps)
    out = Path(out)
    write_text(out, page, what="the report")
    return ReportInfo(out, len(page.encode()), len(runs), ctx.items, ctx.clips, ctx.audio_bytes)


CSS = """
:root{--user:#2f6bd8;--model:#e0702a;--ink:#1d232b;--mute:#66707c;--line:#d9dde3}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);
background:#f6f7f9}
header{background:#1d232b;color:#fff;padding:14px 24px}
header h1{margin:0 0 6px;font-size:20px}
header nav a{color:#b9d0ff;margin-right:14px;text-decoration:none}
header .note{color:#c9ced6}
main{padding:8px 24px 40px;max-width:1400px}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px 16px;
margin:16px 0}
h2{font-size:17px;margin:4px 0 8px}h3{font-size:15px;margin:14px 0 6px}
h4{font-size:13px;margin:8px 0 4px;color:var(--mute)}
.note{color:var(--mute);font-size:12px;margin:4px 0}
.scroll{overflow-x:auto}
table{border-collapse:collapse}
.leaderboard th,.leaderboard td{border-bottom:1px solid var(--line);padding:5px 8px;
text-align:right;white-space:nowrap;vertical-align:top}
.leaderboard thead th{font-size:12px;color:var(--mute);font-weight:600}
.leaderboard th.model{text-align:left}
.leaderboard .mean{display:block;font-variant-numeric:tabular-nums}
.leaderboard .ci{display:block;font-size:11px;color:var(--mute)}
.leaderboard td.best .mean{font-weight:700}
.leaderboard td.na{color:#b0b6bf}
table.metrics th,table.metrics td,table.kv th,table.kv td{padding:2px 8px;text-align:left;
border-bottom:1px solid #eef0f3;font-size:12px;vertical-align:top}
table.metrics tr.headline th{color:#0d4fbf}
table.kv td{white-space:pre-wrap;font-variant-numeric:tabular-nums}
table.texts td{max-width:520px}
.cols{display:flex;gap:24px;flex-wrap:wrap}
.cols>div{min-width:260px}
details.item{border-top:1px solid var(--line);padding:6px 0}
details.item summary{cursor:pointer}
.item-id{font-weight:600}
.status{font-size:11px;padding:1px 6px;border-radius:8px;background:#e4f4e8;color:#1b6b35}
.status.failed{background:#fde5e5;color:#a02020}
.chip{font-size:11px;padding:1px 6px;border-radius:8px;background:#eef2f8;margin-left:4px}
.failure{color:#a02020}
svg.timeline{width:100%;max-width:1100px;height:auto;display:block;margin:8px 0;cursor:pointer}
svg.timeline .lane{fill:#f3f5f8}
svg.timeline .env.user{fill:var(--user)}
svg.timeline .env.model{fill:var(--model)}
svg.timeline .pause{fill:#f5c542;fill-opacity:.28}
svg.timeline .cue{fill:#d93a3a;fill-opacity:.22}
svg.timeline .span{fill:var(--user);fill-opacity:.45}
svg.timeline .turn-end{stroke:#222;stroke-width:1.5;stroke-dasharray:4 3}
svg.timeline .marker{fill:#7a3fc0}
svg.timeline .tick{stroke:#c9ced6}
svg.timeline .playhead{stroke:#d0021b;stroke-width:1.5}
svg text{font:11px system-ui,sans-serif;fill:var(--mute)}
svg .lane-label{font-weight:600;fill:var(--ink)}
svg .ann{fill:#6b5200}svg .cue-label{fill:#a02020}
svg .tick-label{text-anchor:middle}
.player{display:flex;align-items:center;gap:12px}
.player audio{height:32px}
.plots{display:flex;flex-wrap:wrap;gap:12px}
svg.stepplot{width:320px;height:190px;background:#fbfcfd;border:1px solid #eef0f3}
svg.stepplot .axis{stroke:#9aa3ad}
svg.stepplot .plot-title{font-weight:600;fill:var(--ink)}
svg.stepplot path.series{fill:none;stroke-width:2}
svg.stepplot line.bar{stroke-width:1.5}
svg.stepplot circle.dot{stroke:none}
.s0{stroke:#2f6bd8;fill:#2f6bd8}.s1{stroke:#e0702a;fill:#e0702a}.s2{stroke:#2a9d5b;fill:#2a9d5b}
.s3{stroke:#8c4fd1;fill:#8c4fd1}.s4{stroke:#c2397a;fill:#c2397a}.s5{stroke:#6b7480;fill:#6b7480}
"""

# Playhead and click-to-seek. The geometry comes from the SVG's data attributes.
SCRIPT = """
(function () {
  var L = __LEFT__, R = __RIGHT__;
  document.querySelectorAll('details.item').forEach(function (item) {
    var svg = item.querySelector('svg.timeline');
    var audio = item.querySelector('audio');
    if (!svg || !audio) { return; }
    var head = svg.querySelector('.playhead');
    var dur = parseFloat(svg.getAttribute('data-duration')) || 0;
    function place(t) {
      var x = L + (R - L) * Math.min(Math.max(dur > 0 ? t / dur : 0, 0), 1);
      head.setAttribute('x1', x); head.setAttribute('x2', x);
    }
    audio.addEventListener('timeupdate', function () { place(audio.currentTime); });
    svg.addEventListener('click', function (ev) {
      var m = svg.getScreenCTM();
      if (!m || dur <= 0) { return; }
      var pt = svg.createSVGPoint(); pt.x = ev.clientX; pt.y = ev.clientY;
      var t = (pt.matrixTransform(m.inverse()).x - L) / (R - L) * dur;
      audio.currentTime = Math.min(Math.max(t, 0), dur);
      place(audio.currentTime);
      var playing = audio.play();
      if (playing && playing.catch) { playing.catch(function () {}); }
    });
  });
})();
""".replace("__LEFT__", f"{LEFT:g}").replace("__RIGHT__", f"{W - RIGHT:g}")
