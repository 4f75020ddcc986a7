"""A conversation in the HTML report: a two-lane timeline of who spoke when (the examiner's turns
above, the model's words below) and the transcript, exchange by exchange, with the judge's
scores. Drawn from the session's annotations (the examiner's turns) and the result row's
``turns`` (the exchanges, with the model's words and times); empty for any other item.
"""

from __future__ import annotations

from html import escape
from typing import Any

from duplex.annotations import Annotations

W, LEFT, RIGHT = 1000.0, 70.0, 10.0
USER, MODEL = (18.0, 46.0), (58.0, 86.0)
AXIS, H = 100.0, 112.0
USER_FILL, MODEL_FILL = "#2f6bd8", "#e0702a"


def _x(t: float, duration: float) -> float:
    span = W - LEFT - RIGHT
    return LEFT + span * min(max(t / duration, 0.0), 1.0) if duration > 0 else LEFT


def _rect(t0: float, t1: float, lane: tuple[float, float], d: float, fill: str, title: str) -> str:
    x0, x1 = _x(t0, d), _x(t1, d)
    return (
        f'<rect x="{x0:.1f}" y="{lane[0]}" width="{max(x1 - x0, 1.0):.1f}" '
        f'height="{lane[1] - lane[0]}" fill="{fill}" fill-opacity="0.55" rx="3">'
        f"<title>{escape(title)}</title></rect>"
    )


def _svg(turns: list[Any], exchanges: list[dict[str, Any]], duration: float) -> str:
    out = [
        f'<svg class="turns" viewBox="0 0 {W:.0f} {H:.0f}" role="img" style="width:100%;'
        'max-width:1100px;height:auto;display:block;margin:8px 0" '
        'aria-label="who spoke when">',
        f'<text x="4" y="{sum(USER) / 2 + 4}" font-weight="600">examiner</text>',
        f'<text x="4" y="{sum(MODEL) / 2 + 4}" font-weight="600">model</text>',
    ]
    for t in turns:
        label = "closing" if t.goal is None else f"T{t.goal + 1}"
        cut = " (cut)" if t.cut else ""
        out.append(_rect(t.start, t.end, USER, duration, USER_FILL, f"{label}{cut}: {t.text}"))
        out.append(
            f'<text x="{_x(t.start, duration) + 3:.1f}" y="{USER[0] - 4}">{escape(label)}</text>'
        )
    for e in exchanges:
        for word, start, end in e.get("model_words") or []:
            out.append(_rect(start, end, MODEL, duration, MODEL_FILL, f"{word} {start:.2f} s"))
    step = next((s for s in (1, 2, 5, 10, 20, 30) if duration / s <= 12), 60)
    for i in range(int(duration // step) + 1):
        x = _x(i * step, duration)
        out.append(f'<text x="{x:.1f}" y="{AXIS + 8}" text-anchor="middle">{i * step}s</text>')
    out.append("</svg>")
    return "".join(out)


def _score(e: dict[str, Any], key: str) -> str:
    v = e.get(key)
    return "-" if v is None else str(v)


def _transcript(exchanges: list[dict[str, Any]]) -> str:
    rows = []
    for e in exchanges:
        goal = e.get("goal")
        label = "closing" if goal is None else f"T{goal + 1}"
        latency = e.get("latency_s")
        when = "-" if latency is None else f"{latency:+.2f} s"
        rows.append(
            f"<tr><td>{float(e.get('user_start') or 0):.1f}</td><td>{escape(label)}</td>"
            f"<td>{escape(str(e.get('user_text', '')))}</td>"
            f"<td>{escape(str(e.get('model_text') or '(silence)'))}</td><td>{when}</td>"
            f"<td>{_score(e, 'fluency')}</td><td>{_score(e, 'instruction')}</td>"
            f"<td>{escape(str(e.get('judge') or ''))}</td></tr>"
        )
    return (
        '<table class="metrics"><thead><tr><th>s</th><th>goal</th><th>examiner</th>'
        "<th>model (ASR)</th><th>latency</th><th>fluency</th><th>instruction</th><th>judge</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def conversation_html(session: dict[str, Any], row: dict[str, Any]) -> str:
    """The conversation section of one item; "" when the session holds no conversation."""
    conv = Annotations.from_json(session.get("annotations") or {}).conversation
    if conv is None:
        return ""
    rate = float(session.get("sample_rate") or 24000)
    duration = float(session.get("samples") or 0) / rate
    exchanges = list(row.get("turns") or [])
    ended = f"ended: {conv.ended} at {conv.ended_at or 0:.1f} s" if conv.ended else ""
    return (
        f'<div class="conversation"><h4>conversation ({escape(conv.kind)}, '
        f"{escape(conv.policy)} examiner) {escape(ended)}</h4>"
        f"{_svg(list(conv.turns), exchanges, duration)}{_transcript(exchanges)}</div>"
    )
