"""Per-customer purchase summaries (x, t_x, T, monetary) computed by the engine in SQL.

The conventions of the buy-till-you-die literature (Fader, Hardie & Lee 2005):

- a **purchase occasion** is a day with at least one order: several orders on one day are one
  occasion, worth the sum of their amounts;
- **x** (frequency) is the number of *repeat* occasions: occasions after the first;
- **t_x** (recency) is the time from the first occasion to the last, **T** the time from the
  first occasion to the as-of date, both in days or weeks (a week is 7 days, so T = 38.86 weeks
  for a first purchase on 1997-01-01 and an as-of date of 1997-09-30);
- **monetary** is the mean value of the repeat occasions (empty when x = 0).

Orders follow the engine's rules (docs/METRICS.md): rows after the as-of date and cancelled
orders never count; returns (negative amounts) are not purchases and are left out of spend too,
as the spend model only knows positive purchase values.

One aggregate query per summary, built as SQLGlot expressions like the rest of the engine so
it runs on DuckDB and Spark alike; 20 million orders never pass through Python. Days are kept as
integers, so customers with the same (x, t_x, T) can be grouped exactly for the likelihood.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
from sqlglot import exp

from fenji.engine.context import and_, col, date_lit, num
from fenji.engine.dialects import DUCKDB, EngineDialect
from fenji.engine.metrics import not_cancelled
from fenji.engine.sqlexpr import days_between

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

TimeUnit = Literal["day", "week"]
UNIT_DAYS: dict[str, int] = {"day": 1, "week": 7}
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: The columns an orders table needs for a summary (``status`` is used when present).
REQUIRED_COLUMNS = ("customer_id", "order_date", "amount")


def _ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _count_if(cond: exp.Expression) -> exp.Expression:
    return exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=cond))


def occasions_query(table: str, columns: Iterable[str], end: date) -> exp.Select:
    """One row per customer and purchase day up to ``end``: ``customer_id, day, value``."""
    names = set(columns)
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise ValueError(
            f"table '{table}' has no column(s) {', '.join(missing)}; a purchase summary needs "
            "customer_id, order_date and amount"
        )
    where: list[exp.Expression | None] = [
        exp.LTE(this=col("order_date"), expression=date_lit(end)),
        exp.GTE(this=col("amount"), expression=num(0)),
        exp.Not(this=exp.Is(this=col("customer_id"), expression=exp.Null())),
    ]
    if "status" in names:
        where.append(not_cancelled())
    return (
        exp.select(
            col("customer_id"),
            exp.alias_(col("order_date"), _ident("day")),
            exp.alias_(exp.Sum(this=col("amount")), _ident("value")),
        )
        .from_(exp.Table(this=_ident(table)))
        .where(and_(*where))
        .group_by(col("customer_id"), col("order_date"))
    )


def summary_query(
    table: str,
    columns: Iterable[str],
    as_of: date,
    *,
    holdout_end: date | None = None,
) -> exp.Query:
    """The summary of every customer with a purchase on or before ``as_of``:
    ``customer_id, x, t_x_days, T_days, monetary, first_day`` and, with ``holdout_end``,
    ``holdout_x`` — the occasions in (as_of, holdout_end], all of them repeat purchases.

    Ordered by customer id, so the result does not depend on the engine's parallelism."""
    end = holdout_end if holdout_end is not None else as_of
    if end < as_of:
        raise ValueError(f"the holdout end {end} is before the as-of date {as_of}")
    calibration = exp.LTE(this=col("day"), expression=date_lit(as_of))
    n_calibration = _count_if(calibration.copy())
    x = exp.Sub(this=n_calibration, expression=num(1))
    first = exp.Min(this=col("day"))
    last = exp.Filter(this=exp.Max(this=col("day")), expression=exp.Where(this=calibration.copy()))
    spent = exp.Filter(
        this=exp.Sum(this=col("value")), expression=exp.Where(this=calibration.copy())
    )
    repeat_total = exp.Sub(
        this=spent, expression=exp.ArgMin(this=col("value"), expression=col("day"))
    )
    monetary = exp.Div(
        this=exp.Cast(this=repeat_total, to=exp.DataType.build("double")),
        expression=exp.Nullif(this=x.copy(), expression=num(0)),
    )
    selects: list[exp.Expr] = [
        col("customer_id"),
        exp.alias_(x, _ident("x")),
        exp.alias_(days_between(first.copy(), last), _ident("t_x_days")),
        exp.alias_(days_between(first.copy(), date_lit(as_of)), _ident("T_days")),
        exp.alias_(monetary, _ident("monetary")),
        exp.alias_(first.copy(), _ident("first_day")),
    ]
    if holdout_end is not None:
        later = exp.GT(this=col("day"), expression=date_lit(as_of))
        selects.append(exp.alias_(_count_if(later), _ident("holdout_x")))
    query = (
        exp.select(*selects)
        .from_("occasions")
        .group_by(col("customer_id"))
        .having(exp.LTE(this=first.copy(), expression=date_lit(as_of)))
        .order_by(col("customer_id"))
    )
    return query.with_("occasions", as_=occasions_query(table, columns, end))


def repeat_days_query(table: str, columns: Iterable[str], as_of: date, end: date) -> exp.Query:
    """Repeat occasions per day up to ``end`` of the customers who first bought by ``as_of``
    (``day, repeats``): the actual line of the cumulative tracking plot."""
    firsts = exp.select(
        col("day"),
        exp.alias_(
            exp.Window(this=exp.Min(this=col("day")), partition_by=[col("customer_id")]),
            _ident("first_day"),
        ),
    ).from_("occasions")
    query = (
        exp.select(col("day"), exp.alias_(exp.Count(this=exp.Star()), _ident("repeats")))
        .from_("firsts")
        .where(
            and_(
                exp.GT(this=col("day"), expression=col("first_day")),
                exp.LTE(this=col("first_day"), expression=date_lit(as_of)),
            )
        )
        .group_by(col("day"))
        .order_by(col("day"))
    )
    return query.with_("occasions", as_=occasions_query(table, columns, end)).with_(
        "firsts", as_=firsts
    )


@dataclass(frozen=True)
class Grouped:
    """Distinct (x, t_x, T) rows with the number of customers of each, in time units, and the
    row of each customer (``inverse``): the likelihood and the predictions are computed once
    per distinct row."""

    x: FloatArray
    t_x: FloatArray
    T: FloatArray
    weights: FloatArray
    inverse: IntArray


@dataclass(frozen=True)
class CustomerSummary:
    """The summary of every customer with a purchase by the as-of date, as NumPy arrays
    (one entry per customer, ordered by customer id)."""

    customer_id: pa.Array
    x: IntArray
    t_x_days: IntArray
    T_days: IntArray
    monetary: FloatArray  # NaN where x == 0: there is no repeat purchase to average
    first_day: npt.NDArray[np.datetime64]
    as_of: date
    time_unit: TimeUnit
    holdout_x: IntArray | None = None
    holdout_end: date | None = None

    def __len__(self) -> int:
        return int(self.x.size)

    @property
    def unit_days(self) -> int:
        return UNIT_DAYS[self.time_unit]

    @property
    def t_x(self) -> FloatArray:
        out: FloatArray = self.t_x_days / self.unit_days
        return out

    @property
    def T(self) -> FloatArray:
        out: FloatArray = self.T_days / self.unit_days
        return out

    def grouped(self) -> Grouped:
        """The distinct (x, t_x, T) rows, found exactly on integer days."""
        span = int(self.T_days.max(initial=0)) + 1
        top = int(self.x.max(initial=0)) + 1
        if top * span * span < 2**62:
            key = (self.x * span + self.t_x_days) * span + self.T_days
            uniq, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
            tt = uniq % span
            tx = (uniq // span) % span
            xx = uniq // (span * span)
        else:  # pragma: no cover - needs x * T^2 beyond 4.6e18
            rows = np.stack([self.x, self.t_x_days, self.T_days], axis=1)
            u, inverse, counts = np.unique(rows, axis=0, return_inverse=True, return_counts=True)
            xx, tx, tt = u[:, 0], u[:, 1], u[:, 2]
        unit = float(self.unit_days)
        return Grouped(
            x=xx.astype(np.float64),
            t_x=tx / unit,
            T=tt / unit,
            weights=counts.astype(np.float64),
            inverse=inverse.reshape(-1).astype(np.int64),
        )


def from_arrow(
    table: pa.Table,
    as_of: date,
    time_unit: TimeUnit,
    holdout_end: date | None = None,
) -> CustomerSummary:
    """The :class:`CustomerSummary` of a result of :func:`summary_query`."""
    if time_unit not in UNIT_DAYS:
        raise ValueError(f"time unit '{time_unit}' is not 'day' or 'week'")

    def ints(name: str) -> IntArray:
        out: IntArray = np.asarray(table.column(name).to_numpy(), dtype=np.int64)
        return out

    monetary = table.column("monetary").to_numpy(zero_copy_only=False)
    return CustomerSummary(
        customer_id=table.column("customer_id").combine_chunks(),
        x=ints("x"),
        t_x_days=ints("t_x_days"),
        T_days=ints("T_days"),
        monetary=np.asarray(monetary, dtype=np.float64),
        first_day=np.asarray(table.column("first_day").to_numpy(), dtype="datetime64[D]"),
        as_of=as_of,
        time_unit=time_unit,
        holdout_x=ints("holdout_x") if "holdout_x" in table.column_names else None,
        holdout_end=holdout_end,
    )


def summarize(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: Iterable[str],
    as_of: date,
    *,
    time_unit: TimeUnit = "week",
    holdout_end: date | None = None,
    dialect: EngineDialect = DUCKDB,
) -> CustomerSummary:
    """Summarise the orders in ``table`` of a DuckDB connection at ``as_of``."""
    query = summary_query(table, columns, as_of, holdout_end=holdout_end)
    result = con.sql(dialect.sql(query)).to_arrow_table()
    return from_arrow(result, as_of, time_unit, holdout_end)


def summarize_orders(
    orders: pa.Table,
    as_of: date,
    *,
    time_unit: TimeUnit = "week",
    holdout_end: date | None = None,
) -> CustomerSummary:
    """Summarise an Arrow table of orders (canonical columns) in a private DuckDB."""
    from fenji.engine.runner import locked_connection

    con = locked_connection({"orders": orders})
    try:
        return summarize(
            con,
            "orders",
            orders.column_names,
            as_of,
            time_unit=time_unit,
            holdout_end=holdout_end,
        )
    finally:
        con.close()


__all__ = [
    "REQUIRED_COLUMNS",
    "UNIT_DAYS",
    "CustomerSummary",
    "Grouped",
    "TimeUnit",
    "from_arrow",
    "occasions_query",
    "repeat_days_query",
    "summarize",
    "summarize_orders",
    "summary_query",
]
