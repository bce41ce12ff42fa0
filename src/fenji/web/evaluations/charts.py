"""ECharts options of the dashboard, built from its figures as plain JSON-ready dicts.

The page embeds each option as JSON and ``ui/fenji.js`` draws it, so nothing here may be a
function: axis labels use the named formatters ``"wan"`` and ``"pct"``, tooltips ECharts'
string templates. Labels keep the tier colours of the badges (rank 0 = best), so a grade has
one colour on every chart and table.
"""

from __future__ import annotations

from typing import Any

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from fenji.web.evaluations.dashboard import History, LabelRow, Migration, Pareto

#: The badge colours of ``ui/fenji.css`` (--t0 .. --t5), best tier first.
TIER_COLOURS = ("#1f5fbf", "#2f9e8f", "#d69e2e", "#dd6b20", "#c53030", "#718096")
_GRID = {"left": 12, "right": 16, "top": 28, "bottom": 8, "containLabel": True}


def tier_colour(rank: int | None) -> str:
    return TIER_COLOURS[-1] if rank is None else TIER_COLOURS[min(rank, len(TIER_COLOURS) - 1)]


def _name(row: LabelRow) -> str:
    label = row.label or "—"
    return label if row.title in ("", label) else f"{label} {row.title}"


def distribution_chart(rows: list[LabelRow]) -> dict[str, Any]:
    """Customers per label, best label on the left."""
    return {
        "grid": _GRID,
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "xAxis": {
            "type": "category",
            "data": [_name(r) for r in rows],
            "axisLabel": {"interval": 0, "overflow": "truncate", "width": 96},
        },
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            {
                "type": "bar",
                "name": _("Customers"),
                "barMaxWidth": 56,
                "label": {"show": True, "position": "top"},
                "data": [
                    {"value": r.count, "itemStyle": {"color": tier_colour(r.rank)}} for r in rows
                ],
            }
        ],
    }


def revenue_chart(rows: list[LabelRow]) -> dict[str, Any]:
    """Revenue share per label as a ring (a label with a net negative revenue shows as 0)."""
    return {
        "tooltip": {"trigger": "item", "formatter": "{b}: {d}%"},
        "legend": {"bottom": 0, "type": "scroll"},
        "series": [
            {
                "type": "pie",
                "name": _("Revenue"),
                "radius": ["42%", "70%"],
                "center": ["50%", "45%"],
                "avoidLabelOverlap": True,
                "minShowLabelAngle": 6,
                "label": {"formatter": "{b}\n{d}%"},
                "data": [
                    {
                        "name": _name(r),
                        "value": max(float(r.revenue or 0), 0.0),
                        "itemStyle": {"color": tier_colour(r.rank)},
                    }
                    for r in rows
                ],
            }
        ],
    }


def pareto_chart(pareto: Pareto) -> dict[str, Any]:
    """Cumulative revenue share against cumulative customer share, with the top-20% point
    marked where it lies on the curve, and the line of equal shares for comparison."""
    top = round(pareto.top_share, 4)
    at = round(pareto.top_at, 4)
    return {
        "grid": {**_GRID, "top": 36, "bottom": 24},
        "tooltip": {"trigger": "axis"},
        "xAxis": {
            "type": "value",
            "min": 0,
            "max": 1,
            "name": _("share of customers"),
            "nameLocation": "middle",
            "nameGap": 26,
            "axisLabel": {"formatter": "pct"},
        },
        "yAxis": {
            "type": "value",
            "min": 0,
            "max": 1,
            "name": _("share of revenue"),
            "axisLabel": {"formatter": "pct"},
        },
        "series": [
            {
                "type": "line",
                "name": _("Cumulative revenue share"),
                "showSymbol": False,
                "smooth": False,
                "areaStyle": {"opacity": 0.12},
                "itemStyle": {"color": TIER_COLOURS[0]},
                "data": [list(p) for p in pareto.points],
                "markLine": {
                    "symbol": "none",
                    "silent": True,
                    "lineStyle": {"type": "dashed", "color": TIER_COLOURS[3]},
                    "data": [
                        {"xAxis": at, "label": {"formatter": f"{at * 100:.0f}%"}},
                        {"yAxis": top, "label": {"show": False}},
                    ],
                },
                "markPoint": {
                    "symbol": "circle",
                    "symbolSize": 10,
                    "itemStyle": {"color": TIER_COLOURS[3]},
                    "label": {"position": "left", "formatter": f"{top * 100:.1f}%"},
                    "data": [{"coord": [at, top], "name": _("top 20%")}],
                },
            },
            {
                "type": "line",
                "name": _("Equal shares"),
                "showSymbol": False,
                "silent": True,
                "lineStyle": {"type": "dotted", "color": TIER_COLOURS[-1]},
                "data": [[0, 0], [1, 1]],
            },
        ],
    }


def migration_chart(migration: Migration) -> dict[str, Any]:
    """The migration matrix as a heatmap: previous label down the side (best on top), current
    label along the bottom; the diagonal is the customers who kept their label."""
    labels = migration.labels
    peak = max((n for row in migration.matrix for n in row), default=0)
    return {
        "grid": {**_GRID, "top": 36, "bottom": 28},
        "tooltip": {"position": "top"},
        "xAxis": {
            "type": "category",
            "data": labels,
            "name": _("this run"),
            "nameLocation": "middle",
            "nameGap": 26,
            "splitArea": {"show": True},
        },
        "yAxis": {
            "type": "category",
            "data": labels,
            "inverse": True,
            "name": _("previous run"),
            "nameLocation": "start",
            "splitArea": {"show": True},
        },
        "visualMap": {
            "show": False,
            "min": 0,
            "max": max(peak, 1),
            "inRange": {"color": ["#f5f7fa", TIER_COLOURS[0]]},
        },
        "series": [
            {
                "type": "heatmap",
                "name": _("Customers"),
                "label": {"show": True},
                "data": [
                    [j, i, n]
                    for i, row in enumerate(migration.matrix)
                    for j, n in enumerate(row)
                    if n
                ],
            }
        ],
    }


def history_chart(history: History, ranks: dict[str, int]) -> dict[str, Any]:
    """Label counts per as-of date as stacked bars, best label at the bottom of each bar."""
    return {
        "grid": {**_GRID, "top": 36},
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"top": 0, "type": "scroll"},
        "xAxis": {
            "type": "category",
            "data": [date_format(d, "Y-m-d") for d in history.dates],
        },
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            {
                "type": "bar",
                "stack": "labels",
                "name": label,
                "barMaxWidth": 48,
                "itemStyle": {"color": tier_colour(ranks.get(label))},
                "data": history.counts[label],
            }
            for label in history.labels
        ],
    }
