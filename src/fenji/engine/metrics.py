"""Compile a policy's metrics: one aggregate query per fact table, joined onto the entities.

Every aggregation over a table is computed in a single scan with ``FILTER (WHERE ...)`` per
metric, so ten metrics over orders cost one pass over orders. Entities are the customers (or
the customer x business-line pairs seen in the facts); attributes come from ``customers``;
tenure and derived metrics are columns on top, placed in layers by the assembler.

How facts are treated (also in docs/METRICS.md):
- rows dated after the as-of date never count;
- orders whose ``status`` says cancelled (cancelled, canceled, 已取消, 取消, void) never count;
- returns (negative amounts) net against sales in sum/avg/min/max/median, but are not
  purchases: count, count_distinct, months and days_since_* ignore rows with amount < 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlglot import exp

from fenji.engine.context import ColumnDef, CompileContext, and_, col, date_lit, num, or_
from fenji.engine.sqlexpr import (
    compile_entity,
    compile_row,
    days_between,
    month_trunc,
    rounded,
    wide_decimal,
)
from fenji.engine.windows import Bounds, resolve
from fenji.policy.dimensions import ClustersDimension
from fenji.policy.expressions import parse_expression
from fenji.policy.models import Metric, Policy
from fenji.policy.sources import BUILTIN_SOURCES

CANCELLED = ("cancelled", "canceled", "已取消", "取消", "void", "作废")
_PURCHASE_AGGS = {"count", "count_distinct", "months", "days_since_last", "days_since_first"}
_ZERO_DEFAULT = {"sum", "count", "count_distinct", "months"}


def not_cancelled() -> exp.Expression:
    """Orders that count: no status, or a status that does not say cancelled."""
    status = exp.Lower(this=exp.Trim(this=col("status")))
    return or_(
        exp.Is(this=col("status"), expression=exp.Null()),
        exp.Not(this=exp.In(this=status, expressions=[exp.Literal.string(s) for s in CANCELLED])),
    )


class MissingSourceError(ValueError):
    """A policy reads a table or column the data does not have."""


@dataclass(frozen=True)
class SourceInfo:
    """What the engine knows of a registered table: its name, columns and date column."""

    name: str
    columns: frozenset[str]
    date_column: str | None


#: Tables of model predictions registered by the model pre-pass (:mod:`fenji.engine.clv.prepass`).
MODEL_TABLE_PREFIX = "__fenji_model_"

#: Tables of cluster assignments registered by the clusters pre-pass
#: (:mod:`fenji.engine.clusters`), one per ``clusters`` dimension.
CLUSTER_TABLE_PREFIX = "__fenji_clusters_"

#: Columns of a cluster table after the key: the cluster's rank (1 = highest value), the
#: number of clusters, the distance to the centroid (standardised units), the cluster's size
#: and revenue share; then ``c0``, ``c1``, ... the centroid in the metrics' own units.
CLUSTER_COLUMNS = ("rank", "k", "distance", "size", "share")


def cluster_table(dim: str) -> str:
    """The table holding the clusters of dimension ``dim``."""
    return f"{CLUSTER_TABLE_PREFIX}{dim}"


def cluster_column(dim: str, part: str) -> str:
    """The column of layer 0 carrying ``part`` of the cluster table of ``dim``."""
    return f"__{dim}__cluster_{part}"


#: Units of model predictions when the metric does not give one.
MODEL_UNITS = {
    "p_alive": "ratio",
    "expected_orders": "count",
    "expected_spend": "yuan",
    "clv": "yuan",
}


def model_table(m: Metric) -> str:
    """The table holding the predictions of a model metric: one per source and time unit,
    since metrics sharing both share the fitted models."""
    return f"{MODEL_TABLE_PREFIX}{m.source}_{m.time_unit or 'week'}"


def source_info(policy_sources: Mapping[str, object], name: str, columns: set[str]) -> SourceInfo:
    if name in BUILTIN_SOURCES:
        return SourceInfo(name, frozenset(columns), BUILTIN_SOURCES[name].date_column)
    decl = policy_sources.get(name)
    date_column = getattr(decl, "date_column", None)
    return SourceInfo(name, frozenset(columns), date_column)


def _window_condition(date_col: exp.Expression, bounds: Bounds) -> exp.Expression:
    upper = exp.LTE(this=date_col.copy(), expression=date_lit(bounds.upper))
    if bounds.lower is None:
        return upper
    cls = exp.GTE if bounds.lower_inclusive else exp.GT
    return and_(cls(this=date_col.copy(), expression=date_lit(bounds.lower)), upper)


def _agg_expr(m: Metric, date_col: exp.Expression, as_of: date) -> exp.Expression:
    of = None
    if m.of is not None and m.of != "*":
        of = compile_row(parse_expression(m.of, "row"), as_of=as_of)
    agg = m.agg
    if agg == "sum":
        assert of is not None
        return exp.Sum(this=of)
    if agg == "count":
        return exp.Count(this=of if of is not None else exp.Star())
    if agg == "count_distinct":
        assert of is not None
        return exp.Count(this=exp.Distinct(expressions=[of]))
    if agg == "avg":
        assert of is not None
        return exp.Avg(this=of)
    if agg == "min":
        assert of is not None
        return exp.Min(this=of)
    if agg == "max":
        assert of is not None
        return exp.Max(this=of)
    if agg == "median":
        assert of is not None
        return exp.Median(this=wide_decimal(of))
    if agg == "months":
        return exp.Count(this=exp.Distinct(expressions=[month_trunc(date_col.copy())]))
    if agg == "days_since_last":
        return days_between(exp.Max(this=date_col.copy()), date_lit(as_of))
    if agg == "days_since_first":
        return days_between(exp.Min(this=date_col.copy()), date_lit(as_of))
    raise ValueError(f"unknown aggregation {agg}")  # pragma: no cover


def read_range(metrics: Mapping[str, Metric], as_of: date) -> Bounds:
    """The dates of a fact table any of ``metrics`` reads: up to the as-of date, from the
    earliest window start (no lower bound when some metric reads all history)."""
    bounds = [resolve(m.window, as_of) for m in metrics.values()]
    if not bounds or any(b.lower is None for b in bounds):
        return Bounds(None, False, as_of)
    lowest = min(bounds, key=lambda b: (b.lower, not b.lower_inclusive))
    return Bounds(lowest.lower, lowest.lower_inclusive, as_of)


def read_ranges(policy: Policy, as_of: date) -> dict[str, Bounds]:
    """:func:`read_range` for every fact table the policy reads. Per customer and line, the
    pairs to grade come from all rows up to the as-of date, so there is no lower bound."""
    by_source: dict[str, dict[str, Metric]] = {}
    for name, m in policy.metrics.items():
        if m.source is not None:
            by_source.setdefault(m.source, {})[name] = m
    out: dict[str, Bounds] = {}
    for source, metrics in by_source.items():
        out[source] = (
            Bounds(None, False, as_of)
            if policy.grain == "customer_line"
            else read_range(metrics, as_of)
        )
    return out


def source_query(source: SourceInfo, metrics: dict[str, Metric], ctx: CompileContext) -> exp.Select:
    """One aggregate query over ``source`` computing every metric that reads it."""
    if source.date_column is None:
        raise MissingSourceError(f"source '{source.name}' has no date column declared")
    date_col = col(source.date_column)
    key = [col(k) for k in ctx.key]
    selects: list[exp.Expr] = list(key)
    for name, m in metrics.items():
        bounds = resolve(m.window, ctx.as_of)
        conds: list[exp.Expression | None] = [_window_condition(date_col, bounds)]
        if m.where:
            conds.append(
                exp.Paren(this=compile_row(parse_expression(m.where, "row"), as_of=ctx.as_of))
            )
        if m.agg in _PURCHASE_AGGS and "amount" in source.columns:
            conds.append(exp.GTE(this=col("amount"), expression=num(0)))
        agg = _agg_expr(m, date_col, ctx.as_of)
        keep = exp.Where(this=and_(*conds))
        if isinstance(agg, exp.AggFunc):
            # A bare aggregate has no parent to be replaced in: the filtered node takes its
            # place (replacing in place would silently drop the metric's window and 'where').
            agg = exp.Filter(this=agg, expression=keep)
        else:
            # days_since_* wrap the aggregate; the filter belongs on the inner MIN/MAX.
            inner = agg.find(exp.AggFunc)
            assert inner is not None
            inner.replace(exp.Filter(this=inner.copy(), expression=keep))
        selects.append(exp.alias_(agg, exp.to_identifier(name, quoted=True)))
    where: list[exp.Expression | None] = [
        exp.LTE(this=date_col.copy(), expression=date_lit(ctx.as_of))
    ]
    span = read_range(metrics, ctx.as_of)
    if span.lower is not None:
        cls = exp.GTE if span.lower_inclusive else exp.GT
        where.append(cls(this=date_col.copy(), expression=date_lit(span.lower)))
    if source.name == "orders" and "status" in source.columns:
        where.append(not_cancelled())
    return (
        exp.select(*selects)
        .from_(exp.Table(this=exp.to_identifier(source.name, quoted=True)))
        .where(and_(*where))
        .group_by(*[col(k) for k in ctx.key])
    )


def entities_query(
    ctx: CompileContext, fact_sources: list[SourceInfo], has_customers: bool
) -> exp.Select:
    """The rows to grade: every customer, or every (customer, line) seen in the facts."""
    if ctx.policy.grain == "customer" and has_customers:
        return exp.select(col("customer_id")).from_(exp.to_table('"customers"'))
    usable = [s for s in fact_sources if all(k in s.columns for k in ctx.key)]
    if not usable:
        raise MissingSourceError(
            "no table to take the customers from: provide customers"
            + (" and facts with business_line" if ctx.policy.grain == "customer_line" else "")
        )
    parts: list[exp.Select] = []
    for s in usable:
        q = exp.select(*[col(k) for k in ctx.key]).from_(
            exp.Table(this=exp.to_identifier(s.name, quoted=True))
        )
        if s.date_column:
            q = q.where(exp.LTE(this=col(s.date_column), expression=date_lit(ctx.as_of)))
        if ctx.policy.grain == "customer_line":
            q = q.where(exp.Not(this=exp.Is(this=col("business_line"), expression=exp.Null())))
        parts.append(q)
    union: exp.Query = parts[0]
    for q in parts[1:]:
        union = exp.union(union, q, distinct=True)
    return exp.select(*[col(k) for k in ctx.key]).from_(union.subquery("u")).distinct()


def tenure_column(name: str, source: exp.Expression, as_of: date) -> ColumnDef:
    """Tenure in calendar years as a fraction: full years plus the share of the current year.

    Exactly 5 years gives 5.0 (so '> 5 years' is false), one day more gives 5.0027. A customer
    whose first deal was on 29 February has its anniversary on 28 February in other years,
    matching 'D minus N years' in the acceptance semantics."""
    f = source
    later = exp.Or(
        this=exp.GT(this=exp.Month(this=f.copy()), expression=num(as_of.month)),
        expression=exp.And(
            this=exp.EQ(this=exp.Month(this=f.copy()), expression=num(as_of.month)),
            expression=exp.GT(this=exp.Day(this=f.copy()), expression=num(as_of.day)),
        ),
    )
    years = exp.Sub(
        this=exp.Sub(this=num(as_of.year), expression=exp.Year(this=f.copy())),
        expression=exp.Case(ifs=[exp.If(this=later, true=num(1))], default=num(0)),
    )

    def plus_years(n: exp.Expression) -> exp.Expression:
        return exp.Cast(
            this=exp.DateAdd(this=f.copy(), expression=n, unit=exp.var("YEAR")),
            to=exp.DataType.build("date"),
        )

    anniversary = plus_years(exp.Paren(this=years.copy()))
    following = plus_years(exp.Paren(this=exp.Add(this=years.copy(), expression=num(1))))
    fraction = exp.Div(
        this=days_between(anniversary, date_lit(as_of)),
        expression=days_between(anniversary.copy(), following),
    )
    value = rounded(exp.Add(this=exp.Paren(this=years), expression=fraction))
    deps = frozenset(c.name for c in source.find_all(exp.Column))
    return ColumnDef(name, value, deps)


def derived_columns(ctx: CompileContext) -> list[ColumnDef]:
    """Tenure and expression metrics as columns over the base (aggregates and attributes)."""
    out: list[ColumnDef] = []
    for name, m in ctx.policy.metrics.items():
        if m.kind == "tenure":
            assert m.tenure is not None
            src = col(m.tenure) if m.tenure in ctx.policy.metrics else col(f"__attr_{m.tenure}")
            out.append(tenure_column(name, src, ctx.as_of))
            ctx.units.setdefault(name, m.unit or "year")
        elif m.kind == "expr":
            assert m.expr is not None
            parsed = parse_expression(m.expr, "entity")
            value = compile_entity(parsed, as_of=ctx.as_of, key=ctx.key)
            if parsed.divides:
                value = rounded(value)
            out.append(ColumnDef(name, value, parsed.names, window=parsed.uses_population))
            ctx.units.setdefault(name, m.unit)
    return out


def base_query(ctx: CompileContext, tables: Mapping[str, set[str]]) -> tuple[exp.Select, list[str]]:
    """Entities joined with attributes and per-source aggregates; returns the query and the
    names of the columns it provides."""
    policy = ctx.policy
    by_source: dict[str, dict[str, Metric]] = {}
    for name, m in policy.metrics.items():
        if m.kind == "agg":
            assert m.source is not None
            by_source.setdefault(m.source, {})[name] = m
            ctx.units.setdefault(name, m.unit)
    models: dict[str, dict[str, Metric]] = {}
    for name, m in policy.metrics.items():
        if m.kind == "model":
            models.setdefault(model_table(m), {})[name] = m
            ctx.units.setdefault(name, m.unit or MODEL_UNITS[m.predict or "p_alive"])
    model_sources = sorted({m.source for ms in models.values() for m in ms.values() if m.source})
    for src in [*by_source, *model_sources]:
        if src not in tables:
            needed = ", ".join(
                sorted(n for n, m in policy.metrics.items() if m.source == src and m.kind != "expr")
            )
            raise MissingSourceError(
                f"the policy reads '{src}' (for {needed}) but the data has no {src} table; "
                f"add {src}.csv, {src}.parquet or {src}.xlsx"
            )
    infos = {
        name: source_info(policy.sources, name, cols)
        for name, cols in tables.items()
        if name != "customers"
        and not name.startswith(MODEL_TABLE_PREFIX)
        and not name.startswith(CLUSTER_TABLE_PREFIX)
    }
    for src, metrics in by_source.items():
        for k in ctx.key:
            if k not in infos[src].columns:
                raise MissingSourceError(f"table '{src}' has no column '{k}'")
        del metrics  # columns of expressions are checked by the engine at run time
    has_customers = "customers" in tables
    used = [infos[s] for s in dict.fromkeys([*by_source, *model_sources])] or list(infos.values())
    entities = entities_query(ctx, used, has_customers)
    query = exp.select(*[exp.column(k, table="e", quoted=True) for k in ctx.key]).from_(
        entities.subquery("e")
    )
    provided: list[str] = list(ctx.key)
    attrs: dict[str, str] = {}
    for name, m in policy.metrics.items():
        if m.kind == "attribute":
            assert m.attribute is not None
            attrs[name] = m.attribute
            ctx.units.setdefault(name, m.unit)
        elif m.kind == "tenure" and m.tenure not in policy.metrics:
            assert m.tenure is not None
            attrs[f"__attr_{m.tenure}"] = m.tenure
    if attrs:
        if not has_customers:
            raise MissingSourceError(
                "the policy reads customer attributes ("
                + ", ".join(sorted(set(attrs.values())))
                + ") but the data has no customers table"
            )
        for alias, column in attrs.items():
            if column not in tables["customers"]:
                raise MissingSourceError(
                    f"metric '{alias}' reads customers.{column}, which the customers table "
                    f"does not have (columns: {', '.join(sorted(tables['customers']))})"
                )
            query = query.select(
                exp.alias_(
                    exp.column(column, table="c", quoted=True),
                    exp.to_identifier(alias, quoted=True),
                )
            )
            provided.append(alias)
        query = query.join(
            exp.to_table('"customers"').as_("c"),
            on=exp.EQ(
                this=exp.column("customer_id", table="c", quoted=True),
                expression=exp.column("customer_id", table="e", quoted=True),
            ),
            join_type="left",
        )
    for j, (table, metrics) in enumerate(sorted(models.items())):
        # Predictions are per customer; with grain customer_line every line of a customer
        # gets the customer's value. Customers without purchases have none (NULL).
        alias = f"m{j}"
        query = query.join(
            exp.Table(this=exp.to_identifier(table, quoted=True)).as_(alias),
            on=exp.EQ(
                this=exp.column("customer_id", table=alias, quoted=True),
                expression=exp.column("customer_id", table="e", quoted=True),
            ),
            join_type="left",
        )
        for name in metrics:
            query = query.select(
                exp.alias_(
                    exp.column(name, table=alias, quoted=True), exp.to_identifier(name, quoted=True)
                )
            )
            provided.append(name)
    for j, (dim, spec) in enumerate(policy.dimensions.items()):
        if not isinstance(spec, ClustersDimension):
            continue
        # Cluster assignments are fitted by a pre-pass and registered as a table; customers
        # outside the dimension's scope or with a missing metric are not in it (NULL).
        alias = f"k{j}"
        query = query.join(
            exp.Table(this=exp.to_identifier(cluster_table(dim), quoted=True)).as_(alias),
            on=and_(
                *[
                    exp.EQ(
                        this=exp.column(k, table=alias, quoted=True),
                        expression=exp.column(k, table="e", quoted=True),
                    )
                    for k in ctx.key
                ]
            ),
            join_type="left",
        )
        parts = [*CLUSTER_COLUMNS, *(f"c{i}" for i in range(len(spec.metrics)))]
        for part in parts:
            name = cluster_column(dim, part)
            query = query.select(
                exp.alias_(
                    exp.column(part, table=alias, quoted=True), exp.to_identifier(name, quoted=True)
                )
            )
            provided.append(name)
    for i, (src, metrics) in enumerate(sorted(by_source.items())):
        alias = f"s{i}"
        sub = source_query(infos[src], metrics, ctx).subquery(alias)
        on = and_(
            *[
                exp.EQ(
                    this=exp.column(k, table=alias, quoted=True),
                    expression=exp.column(k, table="e", quoted=True),
                )
                for k in ctx.key
            ]
        )
        query = query.join(sub, on=on, join_type="left")
        for name, m in metrics.items():
            value: exp.Expression = exp.column(name, table=alias, quoted=True)
            default = (
                m.default if m.default is not None else (0 if m.agg in _ZERO_DEFAULT else None)
            )
            if default is not None:
                value = exp.Coalesce(this=value, expressions=[num(default)])
            query = query.select(exp.alias_(value, exp.to_identifier(name, quoted=True)))
            provided.append(name)
    return query, provided
