"""Readable summaries in the terminal: label distribution, revenue share, Pareto figures."""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console
from rich.table import Table

from fenji.engine.summary import Summary

_TEXT = {
    "zh": {
        "label": "标签",
        "count": "客户数",
        "share": "占比",
        "revenue": "收入",
        "revenue_share": "收入占比",
        "pareto": "二八检验",
        "top20": "前20%客户收入占比",
        "top10": "前10%客户收入占比",
        "bottom10": "后10%客户收入占比",
        "ratio": "前10%/后10%",
        "rows": "条评估结果",
    },
    "en": {
        "label": "label",
        "count": "customers",
        "share": "share",
        "revenue": "revenue",
        "revenue_share": "revenue share",
        "pareto": "Pareto check",
        "top20": "top 20% revenue share",
        "top10": "top 10% revenue share",
        "bottom10": "bottom 10% revenue share",
        "ratio": "top 10% / bottom 10%",
        "rows": "rows evaluated",
    },
}


def money(value: Decimal | None, lang: str) -> str:
    """Money as users read it: 万 and 亿 in Chinese, thousands separators in English."""
    if value is None:
        return "—"
    v = Decimal(value)
    if lang == "zh":
        if abs(v) >= 100_000_000:
            return f"{v / 100_000_000:,.2f}亿"
        if abs(v) >= 10_000:
            return f"{v / 10_000:,.1f}万"
        return f"{v:,.2f}元"
    return f"{v:,.0f}"


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def print_summary(summary: Summary, console: Console, lang: str = "zh") -> None:
    t = _TEXT["en" if lang == "en" else "zh"]
    console.print(f"[bold]{summary.policy}[/bold] @ {summary.as_of}: {summary.rows} {t['rows']}")
    for dim in summary.dimensions:
        table = Table(title=f"{dim.title} ({dim.dimension})", title_justify="left")
        table.add_column(t["label"])
        table.add_column(t["count"], justify="right")
        table.add_column(t["share"], justify="right")
        if summary.revenue_metric:
            table.add_column(t["revenue"], justify="right")
            table.add_column(t["revenue_share"], justify="right")
        for s in dim.labels:
            name = s.label if s.label is not None else "—"
            shown = name if s.title == name else f"{name} {s.title}"
            row = [shown, str(s.count), pct(s.share)]
            if summary.revenue_metric:
                row += [money(s.revenue, lang), pct(s.revenue_share)]
            table.add_row(*row)
        console.print(table)
    p = summary.pareto
    if p is not None:
        ratio = "—" if p.top_bottom_ratio is None else f"{p.top_bottom_ratio:.1f}x"
        console.print(
            f"[bold]{t['pareto']}[/bold]: {t['top20']} {pct(p.top20_share)}, "
            f"{t['top10']} {pct(p.top10_share)}, {t['bottom10']} {pct(p.bottom10_share)}, "
            f"{t['ratio']} {ratio}"
        )
