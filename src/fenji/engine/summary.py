"""Per-dimension summaries of an evaluation and the Pareto check (S8), computed in SQL.

For every dimension: how many customers got each label, their share, and — when the policy
names a revenue metric — the revenue and revenue share per label. The Pareto figures say what
share of revenue the top 20% and top 10% of customers make, and the top decile versus the bottom
decile among customers with revenue (the seeds quote 80/20 and 5-10x).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

import duckdb

from fenji.engine.labels import label_order
from fenji.policy.models import Policy


@dataclass(frozen=True)
class LabelStat:
    label: str | None
    title: str
    count: int
    share: float
    revenue: Decimal | None = None
    revenue_share: float | None = None


@dataclass(frozen=True)
class DimensionSummary:
    dimension: str
    title: str
    labels: list[LabelStat]


@dataclass(frozen=True)
class ParetoFigures:
    """Revenue concentration over customers (S8)."""

    customers: int
    customers_with_revenue: int
    total_revenue: Decimal
    top20_share: float | None
    top10_share: float | None
    bottom10_share: float | None
    top_bottom_ratio: float | None


@dataclass(frozen=True)
class Summary:
    policy: str
    as_of: str
    rows: int
    dimensions: list[DimensionSummary] = field(default_factory=list)
    pareto: ParetoFigures | None = None
    revenue_metric: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _q(name: str) -> str:
    """Quote an identifier (names come from a validated policy, never from data)."""
    return '"' + name.replace('"', '""') + '"'


def summarize(
    policy: Policy,
    as_of: str,
    con: duckdb.DuckDBPyConnection,
    table: str,
    lang: str = "zh",
) -> Summary:
    """Summary of the labels in ``table`` (on ``con``) for ``policy``."""
    columns = [str(r[0]) for r in con.execute(f"DESCRIBE {_q(table)}").fetchall()]
    revenue = policy.summary.revenue if policy.summary.revenue in columns else None
    count = con.execute(f"SELECT COUNT(*) FROM {_q(table)}").fetchone()
    total_rows = int(count[0]) if count else 0
    dims: list[DimensionSummary] = []
    for dim, spec in policy.dimensions.items():
        if dim not in columns:
            continue
        rev_sql = f", SUM({_q(revenue)})" if revenue else ""
        rows = con.execute(
            f"SELECT {_q(dim)}, COUNT(*){rev_sql} FROM {_q(table)} GROUP BY 1"
        ).fetchall()
        total_rev = sum((r[2] or Decimal(0) for r in rows), Decimal(0)) if revenue else None
        order = label_order(spec)
        rank = {lab: i for i, lab in enumerate(order)}
        rows.sort(key=lambda r: (r[0] is None, rank.get(r[0], len(rank)), str(r[0])))
        stats: list[LabelStat] = []
        for row in rows:
            label = row[0]
            info = spec.labels.get(label) if label is not None else None
            title = info.title.get(lang) if info is not None and info.title else (label or "—")
            rev = Decimal(row[2] or 0) if revenue else None
            stats.append(
                LabelStat(
                    label=label,
                    title=title,
                    count=int(row[1]),
                    share=row[1] / total_rows if total_rows else 0.0,
                    revenue=rev,
                    revenue_share=(
                        float(rev / total_rev) if rev is not None and total_rev else None
                    ),
                )
            )
        dims.append(DimensionSummary(dim, spec.title.get(lang) if spec.title else dim, stats))
    per_line = policy.grain == "customer_line"
    pareto = _pareto(con, table, revenue, per_line) if revenue else None
    return Summary(policy.name, as_of, total_rows, dims, pareto, revenue)


def _pareto(
    con: duckdb.DuckDBPyConnection, table: str, revenue: str, per_line: bool
) -> ParetoFigures:
    """Shares of the top and bottom customers. The sum of the k largest values does not depend
    on how ties among them are ordered, so the ranking needs no tie-breaker (and no string
    sort); rows are customers already unless the policy grades per business line."""
    customers = (
        f"SELECT customer_id, SUM({_q(revenue)}) AS v FROM {_q(table)} GROUP BY customer_id"
        if per_line
        else f"SELECT customer_id, {_q(revenue)} AS v FROM {_q(table)}"
    )
    row = con.execute(
        f"""
        WITH per_customer AS ({customers}), ranked AS (
            SELECT v,
                   ROW_NUMBER() OVER (ORDER BY v DESC) AS rn,
                   COUNT(*) OVER () AS n,
                   SUM(v) OVER () AS total
            FROM per_customer WHERE v > 0
        )
        SELECT
            (SELECT COUNT(*) FROM per_customer),
            COUNT(*),
            COALESCE(MAX(total), 0),
            SUM(v) FILTER (WHERE rn <= CEIL(n * 0.2)) / MAX(total),
            SUM(v) FILTER (WHERE rn <= CEIL(n * 0.1)) / MAX(total),
            SUM(v) FILTER (WHERE rn > n - CEIL(n * 0.1)) / MAX(total)
        FROM ranked
        """
    ).fetchone()
    assert row is not None
    top10, bottom10 = row[4], row[5]
    ratio = float(top10 / bottom10) if top10 is not None and bottom10 else None
    return ParetoFigures(
        customers=int(row[0]),
        customers_with_revenue=int(row[1]),
        total_revenue=Decimal(row[2]),
        top20_share=float(row[3]) if row[3] is not None else None,
        top10_share=float(top10) if top10 is not None else None,
        bottom10_share=float(bottom10) if bottom10 is not None else None,
        top_bottom_ratio=ratio,
    )
