"""Inline SVG for the HTML report: a two-channel session timeline and metric-vs-step plots.

Drawn in Python as plain SVG strings (no script needed to see them); colours come from the page's
CSS classes so the look lives in one place.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

import numpy as np
import numpy.typing as npt

from duplex.annotations import Annotations

# Timeline geometry (viewBox units).
W = 1000.0
LEFT = 56.0
RIGHT = 10.0
USER = (22.0, 78.0)  # lane top, bottom
MODEL = (92.0, 148.0)
AXIS_Y = 164.0
H = 184.0


def _f(x: float) -> str:
    return f"{x:.1f}"


@dataclass
class Timeline:
    """What one item's timeline shows; times in seconds on the session clock."""

    duration: float
    user_level: npt.NDArray[np.float64]
    model_level: npt.NDArray[np.float64]
    pauses: list[tuple[float, float]] = field(default_factory=list)
    speech: list[tuple[float, float, str]] = field(default_factory=list)
    turn_end: float | None = None
    cues: list[tuple[float, float, str]] = field(default_factory=list)  # interruptions etc.
    markers: list[tuple[float, str]] = field(default_factory=list)  # events: (time, label)

    def x(self, t: float) -> float:
        span = W - LEFT - RIGHT
        return LEFT + span * min(max(t / self.duration, 0.0), 1.0) if self.duration > 0 else LEFT


def _lane(
    tl: Timeline, level: npt.NDArray[np.float64], lane: tuple[float, float], ident: str
) -> str:
    """A filled envelope, symmetric around the lane's centre line: the upper half is drawn once
    and mirrored with ``<use>`` (half the bytes)."""
    top, bottom = lane
    mid, half = (top + bottom) / 2, (bottom - top) / 2
    n = level.size
    if n == 0:
        return ""
    pts = " L".join(
        f"{_f(tl.x(tl.duration * (i + 0.5) / n))},{_f(mid - half * v)}" for i, v in enumerate(level)
    )
    path = f"M{_f(tl.x(0))},{_f(mid)} L{pts} L{_f(tl.x(tl.duration))},{_f(mid)} Z"
    return (
        f'<path id="{ident}" d="{path}"/>'
        f'<use href="#{ident}" transform="translate(0 {_f(2 * mid)}) scale(1 -1)"/>'
    )


def _ticks(duration: float) -> list[float]:
    step = next((s for s in (0.5, 1, 2, 5, 10, 20, 30, 60, 120) if duration / s <= 12), 300)
    return [i * step for i in range(int(duration // step) + 1)]


def timeline_svg(tl: Timeline, *, item_key: str) -> str:
    """The timeline of one item; ``data-duration`` lets the page's script move a playhead."""
    out = [
        f'<svg class="timeline" viewBox="0 0 {W:.0f} {H:.0f}" role="img" '
        f'data-duration="{tl.duration:.4f}" data-item="{escape(item_key)}" '
        f'aria-label="timeline of {escape(item_key)}">',
        f'<text class="lane-label" x="4" y="{_f(sum(USER) / 2 + 4)}">user</text>',
        f'<text class="lane-label" x="4" y="{_f(sum(MODEL) / 2 + 4)}">model</text>',
        f'<rect class="lane" x="{LEFT}" y="{USER[0]}" width="{W - LEFT - RIGHT}" '
        f'height="{USER[1] - USER[0]}"/>',
        f'<rect class="lane" x="{LEFT}" y="{MODEL[0]}" width="{W - LEFT - RIGHT}" '
        f'height="{MODEL[1] - MODEL[0]}"/>',
    ]
    for start, end in tl.pauses:
        x0, x1 = tl.x(start), tl.x(end)
        out.append(
            f'<rect class="pause" x="{_f(x0)}" y="{USER[0] - 6}" width="{_f(max(x1 - x0, 1))}" '
            f'height="{MODEL[1] - USER[0] + 6}"><title>pause {start:.2f}-{end:.2f} s</title></rect>'
            f'<text class="ann" x="{_f(x0 + 2)}" y="{USER[0] - 8}">pause</text>'
        )
    for start, end, name in tl.cues:
        x0, x1 = tl.x(start), tl.x(end)
        out.append(
            f'<rect class="cue" x="{_f(x0)}" y="{USER[0]}" width="{_f(max(x1 - x0, 1))}" '
            f'height="{USER[1] - USER[0]}"><title>{escape(name)} {start:.2f}-{end:.2f} s'
            f'</title></rect><text class="ann cue-label" x="{_f(x0 + 2)}" y="{USER[0] - 8}">'
            f"{escape(name)}</text>"
        )
    for start, end, text in tl.speech:
        x0, x1 = tl.x(start), tl.x(end)
        out.append(
            f'<rect class="span" x="{_f(x0)}" y="{USER[1] + 1}" width="{_f(max(x1 - x0, 1))}" '
            f'height="3"><title>{escape(text)}</title></rect>'
        )
    ident = escape(item_key)
    out.append(f'<g class="env user">{_lane(tl, tl.user_level, USER, ident + "-u")}</g>')
    out.append(f'<g class="env model">{_lane(tl, tl.model_level, MODEL, ident + "-m")}</g>')
    if tl.turn_end is not None:
        x = tl.x(tl.turn_end)
        out.append(
            f'<line class="turn-end" x1="{_f(x)}" x2="{_f(x)}" y1="{USER[0] - 4}" '
            f'y2="{MODEL[1]}"><title>turn end {tl.turn_end:.2f} s</title></line>'
            f'<text class="ann" x="{_f(x + 2)}" y="{_f(MODEL[0] - 4)}">turn end</text>'
        )
    for t, label in tl.markers:
        x = tl.x(t)
        out.append(
            f'<path class="marker" d="M{_f(x - 4)},{MODEL[1] + 2} L{_f(x + 4)},{MODEL[1] + 2} '
            f'L{_f(x)},{MODEL[1] - 5} Z"><title>{escape(label)} at {t:.2f} s</title></path>'
        )
    for t in _ticks(tl.duration):
        x = tl.x(t)
        out.append(
            f'<line class="tick" x1="{_f(x)}" x2="{_f(x)}" y1="{MODEL[1]}" y2="{AXIS_Y - 8}"/>'
            f'<text class="tick-label" x="{_f(x)}" y="{AXIS_Y + 6}">{t:g}s</text>'
        )
    out.append(
        f'<line class="playhead" x1="{LEFT}" x2="{LEFT}" y1="{USER[0] - 4}" y2="{MODEL[1]}"/></svg>'
    )
    return "".join(out)


def timeline_from_session(
    session: dict[str, Any],
    user_level: npt.NDArray[np.float64],
    model_level: npt.NDArray[np.float64],
) -> Timeline:
    """Read the annotations a timeline shows out of a session.json document."""
    ann = Annotations.from_json(session.get("annotations") or {})
    rate = float(session.get("sample_rate") or 24000)
    duration = float(session.get("samples") or 0) / rate
    tl = Timeline(duration, user_level, model_level)
    tl.pauses = [(p.start, p.end) for p in ann.pauses]
    tl.speech = [(s.start, s.end, s.text) for s in ann.speech]
    if ann.speech:
        tl.turn_end = ann.turn_end
    tl.cues = [(c.start, c.end, c.name) for c in ann.cues]
    for ev in session.get("events") or []:
        if ev.get("type") == "ModelAudio" or "t" not in ev:
            continue
        label = ev.get("type", "event") + (f" {ev['name']}" if ev.get("name") else "")
        tl.markers.append((float(ev["t"]), label))
    return tl


# ------------------------------------------------------------------------------ step plots

PW, PH = 320.0, 190.0
PL, PR, PT, PB = 48.0, 12.0, 24.0, 34.0


def _nice(lo: float, hi: float) -> tuple[float, float]:
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return (0.0, 1.0)
    if hi - lo < 1e-9:
        pad = abs(hi) * 0.1 or 0.5
        return (lo - pad, hi + pad)
    pad = (hi - lo) * 0.08
    return (lo - pad, hi + pad)


@dataclass(frozen=True)
class StepPoint:
    step: int
    mean: float
    low: float | None
    high: float | None


def step_plot_svg(
    title: str, series: Mapping[str, Sequence[StepPoint]], *, direction: str | None = None
) -> str:
    """One metric against the training step: a line per series, intervals as error bars."""
    points = [p for pts in series.values() for p in pts]
    steps = [p.step for p in points]
    ys = [v for p in points for v in (p.mean, p.low, p.high) if v is not None]
    x0, x1 = min(steps), max(steps)
    y0, y1 = _nice(min(ys), max(ys))
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1

    def sx(s: float) -> float:  # 10 units inside the axes, clear of the tick labels
        return PL + 10 + (PW - PL - PR - 20) * (s - x0) / (x1 - x0)

    def sy(v: float) -> float:
        return PT + (PH - PT - PB) * (1 - (v - y0) / (y1 - y0))

    better = {"lower": " \u2193", "higher": " \u2191"}.get(direction or "", "")
    out = [
        f'<svg class="stepplot" viewBox="0 0 {PW:.0f} {PH:.0f}" role="img" '
        f'aria-label="{escape(title)} against step">',
        f'<text class="plot-title" x="{PL}" y="14">{escape(title)}{better}'
        f"<title>{escape(title)}"
        + (f" ({direction} is better)" if direction else "")
        + "</title></text>",
        f'<line class="axis" x1="{PL}" x2="{PL}" y1="{PT}" y2="{PH - PB}"/>',
        f'<line class="axis" x1="{PL}" x2="{PW - PR}" y1="{PH - PB}" y2="{PH - PB}"/>',
    ]
    for v in (y0, (y0 + y1) / 2, y1):
        out.append(
            f'<text class="tick-label" x="{PL - 4}" y="{_f(sy(v) + 3)}" '
            f'text-anchor="end">{v:.3g}</text>'
        )
    for s in sorted(set(steps)):
        out.append(f'<text class="tick-label" x="{_f(sx(s))}" y="{PH - PB + 14}">{s}</text>')
    out.append(f'<text class="tick-label" x="{_f((PL + PW) / 2)}" y="{PH - 4}">step</text>')
    for k, (name, pts) in enumerate(series.items()):
        pts = sorted(pts, key=lambda p: p.step)
        cls = f"series s{k % 6}"
        line = " L".join(f"{_f(sx(p.step))},{_f(sy(p.mean))}" for p in pts)
        out.append(f'<path class="{cls}" d="M{line}"><title>{escape(name)}</title></path>')
        for p in pts:
            if p.low is not None and p.high is not None:
                out.append(
                    f'<line class="{cls} bar" x1="{_f(sx(p.step))}" x2="{_f(sx(p.step))}" '
                    f'y1="{_f(sy(p.low))}" y2="{_f(sy(p.high))}"/>'
                )
            out.append(
                f'<circle class="{cls} dot" cx="{_f(sx(p.step))}" cy="{_f(sy(p.mean))}" r="3">'
                f"<title>{escape(name)} step {p.step}: {p.mean:.3f}"
                + ("" if p.low is None else f" [{p.low:.3f}, {p.high:.3f}]")
                + "</title></circle>"
            )
    out.append("</svg>")
    return "".join(out)
