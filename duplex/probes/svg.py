"""A small dependency-free SVG line chart: stacked panels sharing the x axis, interval bands.

Enough for figures against training step; keeps matplotlib out of the install.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

#: Colour-blind-safe palette (Okabe-Ito), cycled.
PALETTE = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#D55E00", "#0072B2", "#CC79A7", "#999999")

WIDTH, PANEL_H, LEFT, RIGHT, TOP, GAP, BOTTOM = 760, 260, 64, 150, 30, 56, 44


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[float, float, float, float]]  # x, y, y_low, y_high


def nice_ticks(low: float, high: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0]
    if high <= low:
        low, high = low - 1.0, high + 1.0
    raw = (high - low) / max(1, n)
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(low / step) * step
    ticks = []
    v = start
    while v <= high + step * 1e-9:
        ticks.append(round(v, 10))
        v += step
    return ticks


def _fmt(v: float) -> str:
    return f"{v:g}" if abs(v) < 1e5 else f"{v:.3g}"


def _series(
    s: Series, colour: str, sx: Callable[[float], float], sy: Callable[[float], float]
) -> list[str]:
    """One series: its interval band and line, then a whisker and a dot per point."""
    out = []
    pts = sorted(s.points)
    if len(pts) > 1:
        band = [(sx(p[0]), sy(p[3])) for p in pts] + [(sx(p[0]), sy(p[2])) for p in reversed(pts)]
        poly = " ".join(f"{x:.1f},{y:.1f}" for x, y in band)
        out.append(f'<polygon points="{poly}" fill="{colour}" fill-opacity="0.12"/>')
        line = " ".join(f"{sx(p[0]):.1f},{sy(p[1]):.1f}" for p in pts)
        out.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="1.8"/>')
    for p in pts:
        out.append(
            f'<line x1="{sx(p[0]):.1f}" x2="{sx(p[0]):.1f}" y1="{sy(p[2]):.1f}" '
            f'y2="{sy(p[3]):.1f}" stroke="{colour}" stroke-opacity="0.5"/>'
        )
        out.append(f'<circle cx="{sx(p[0]):.1f}" cy="{sy(p[1]):.1f}" r="3" fill="{colour}"/>')
    return out


def line_chart(panels: Sequence[tuple[str, Sequence[Series]]], *, x_label: str) -> str:
    xs = [p[0] for _, series in panels for s in series for p in s.points]
    x_ticks = nice_ticks(min(xs, default=0.0), max(xs, default=1.0))
    x0, x1 = x_ticks[0], x_ticks[-1]
    if x1 == x0:
        x1 = x0 + 1.0
    plot_w = WIDTH - LEFT - RIGHT
    height = TOP + len(panels) * (PANEL_H + GAP) + BOTTOM - GAP
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
    ]

    def sx(x: float) -> float:
        return LEFT + (x - x0) / (x1 - x0) * plot_w

    for k, (title, series) in enumerate(panels):
        top = TOP + k * (PANEL_H + GAP)
        ys = [v for s in series for p in s.points for v in p[1:] if math.isfinite(v)]
        y_ticks = nice_ticks(min(ys, default=0.0), max(ys, default=1.0))
        y0, y1 = y_ticks[0], y_ticks[-1]
        if y1 == y0:
            y1 = y0 + 1.0

        def sy(y: float, top: float = top, y0: float = y0, y1: float = y1) -> float:
            return top + PANEL_H - (y - y0) / (y1 - y0) * PANEL_H

        out.append(f'<text x="{LEFT}" y="{top - 10}" font-size="12">{escape(title)}</text>')
        out.append(
            f'<rect x="{LEFT}" y="{top}" width="{plot_w}" height="{PANEL_H}" fill="none" '
            'stroke="#444"/>'
        )
        for t in y_ticks:
            y = sy(t)
            out.append(
                f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            )
            out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(t)}</text>')
        if y0 < 0 < y1:
            out.append(
                f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{sy(0):.1f}" y2="{sy(0):.1f}" '
                'stroke="#888" stroke-dasharray="4 3"/>'
            )
        for t in x_ticks:
            x = sx(t)
            out.append(
                f'<text x="{x:.1f}" y="{top + PANEL_H + 14}" text-anchor="middle">{_fmt(t)}</text>'
            )
        for i, s in enumerate(series):
            out += _series(s, PALETTE[i % len(PALETTE)], sx, sy)
            ly = top + 14 + 16 * i
            lx = LEFT + plot_w + 12
            out.append(
                f'<line x1="{lx}" x2="{lx + 18}" y1="{ly - 4}" y2="{ly - 4}" '
                f'stroke="{PALETTE[i % len(PALETTE)]}" stroke-width="2"/>'
            )
            out.append(f'<text x="{lx + 24}" y="{ly}">{escape(s.name)}</text>')
    out.append(
        f'<text x="{LEFT + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"
