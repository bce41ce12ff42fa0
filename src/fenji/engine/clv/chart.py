"""The holdout check as a self-contained SVG chart: actual against predicted repeat purchases
per customer in the holdout period, grouped by purchases in the calibration period (the
conditional-expectation figure of Fader, Hardie & Lee 2005). An SVG file needs no script and
no network, so the web UI, a report or a README can show it as it is."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 640, 360
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 40, 48


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value``."""
    if value <= 0:
        return 1.0
    step = 10 ** (len(str(int(value))) - 1) if value >= 1 else 0.1
    while step * 10 < value:
        step *= 10
    for k in (1, 2, 2.5, 5, 10):
        if step * k >= value:
            return float(step * k)
    return float(step * 10)


def holdout_svg(holdout: Mapping[str, Any], *, title: str = "", lang: str = "zh") -> str:
    """SVG text of the holdout rows (``{"rows": [{"label", "actual_mean", "expected_mean"}]}``)."""
    rows: Sequence[Mapping[str, Any]] = holdout["rows"]
    zh = lang == "zh"
    labels = [str(r["label"]) for r in rows]
    actual = [float(r["actual_mean"]) for r in rows]
    expected = [float(r["expected_mean"]) for r in rows]
    top = _nice_max(max(actual + expected + [0.0]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + plot_w * (i + 0.5) / max(len(rows), 1)

    def y(v: float) -> float:
        return TOP + plot_h * (1 - v / top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{LEFT}" y="22" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    for k in range(5):
        value = top * k / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            'stroke="#e5e7eb"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{value:g}</text>'
        )
    for i, label in enumerate(labels):
        parts.append(
            f'<text x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    for values, colour, dash in ((actual, "#2563eb", ""), (expected, "#dc2626", "6 4")):
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"'
            + (f' stroke-dasharray="{dash}"' if dash else "")
            + "/>"
        )
        parts += [
            f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}"/>'
            for i, v in enumerate(values)
        ]
    axis = "校准期购买次数" if zh else "purchases in the calibration period"
    parts.append(
        f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 10}" text-anchor="middle">{axis}</text>'
    )
    legend = (
        (("实际", "#2563eb"), ("预测", "#dc2626"))
        if zh
        else (
            ("actual", "#2563eb"),
            ("predicted", "#dc2626"),
        )
    )
    for j, (name, colour) in enumerate(legend):
        lx = WIDTH - RIGHT - 170 + j * 85
        parts.append(f'<rect x="{lx}" y="12" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 16}" y="22">{name}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
