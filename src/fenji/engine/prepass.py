"""The natural-breaks pre-pass: a summary query, a small Python step, exact cut values.

A natural-breaks cut (``{natural_breaks: 4, class: 1}``) is the lowest value of a class of the
optimal 1-D k-means classes of the population, which no SQL engine computes set-based. So a
policy that has such cuts is evaluated in two steps, and both are engine-neutral:

1. **SQL.** The policy is compiled as usual up to the values each cut is taken over (the
   dimension's metric, score or composite, NULL outside its population and ``where``), and a
   final SELECT summarises each into at most :data:`~fenji.engine.breaks.MAX_BUCKETS` buckets:
   every distinct value its own bucket when there are that few, else runs of equal population.
   Only GROUP BY, COUNT, SUM, MIN, ROW_NUMBER, SUM OVER and integer division are used, so the
   same query runs on DuckDB and Spark; it returns at most 1,000 rows per cut's values,
   whatever the number of customers.
2. **Python.** :mod:`fenji.engine.breaks` finds the optimal classes over the buckets and each
   cut takes the lowest value of its class — a value of the data, exactly as the engine
   returned it — which is then compiled into the real query as an exact decimal literal.
   Only when more than 1,000 distinct values were bucketed and a class begins next to a
   bucket of several values does a second, one-row-per-cut query look up the lowest value
   nearer that class's mean than the mean of the class below.

Everything is deterministic: buckets are fixed by the sorted distinct values and their counts,
sums are exact decimals, and the Python step breaks ties in a fixed way, so neither row order
nor engine parallelism changes a cut. Cuts whose values depend on other natural-breaks cuts (a
scorecard graded by natural breaks of a score built from natural-breaks item bands) are
resolved in further rounds.

The resolved values are kept on a *copy* of the policy, which compiles like any other; the
explanation shows the values used, as it does for percentiles.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlglot import exp

from fenji.engine.breaks import MAX_BUCKETS, Break, Bucket, class_breaks
from fenji.engine.compiler import compile_columns, stack_layers, with_ctes
from fenji.engine.context import BreakSample, ColumnDef, CompileContext, CompileError, col, num
from fenji.engine.dialects import DUCKDB, EngineDialect
from fenji.policy.dimensions import Cut
from fenji.policy.models import Policy

#: Runs one SQL query on the engine and returns its rows, e.g.
#: ``lambda sql: con.execute(sql).fetchall()`` for DuckDB.
Run = Callable[[str], Sequence[Sequence[Any]]]

#: Bucket sums are taken in this exact type: a floating-point SUM depends on the order the
#: engine adds rows in, which would make the classes (rarely) differ between runs.
SUM_TYPE = "DECIMAL(38, 9)"


def natural_break_cuts(policy: Policy) -> list[Cut]:
    """Every natural-breaks cut of ``policy``, wherever it is (bands, grades, point bands,
    stars, matrix axes), in document order."""
    found: list[Cut] = []

    def walk(node: Any) -> None:
        if isinstance(node, Cut):
            if node.stat == "natural_breaks":
                found.append(node)
        elif isinstance(node, BaseModel):
            for name in type(node).model_fields:
                walk(getattr(node, name))
        elif isinstance(node, dict):
            for item in node.values():
                walk(item)
        elif isinstance(node, list | tuple):
            for item in node:
                walk(item)

    walk(policy)
    return found


def exact(value: Any) -> Decimal:
    """A value returned by the engine as an exact decimal: a float by its shortest repr, which
    converts back to the same double, so ``x >= literal`` holds for the value itself."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("a natural-breaks value cannot be true or false")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    raise TypeError(f"a natural-breaks value must be a number, got {type(value).__name__}")


@dataclass(frozen=True)
class Refinement:
    """The second query of a round, for cuts whose class starts inside a bucket of several
    values: the lowest value at or above each one's midpoint between class means.

    The query returns rows ``(cut, lo_0, lo_1, ...)``: cut ``j``'s value is in ``lo_j``."""

    query: exp.Query
    cuts: list[Cut]
    dialect: EngineDialect

    def sql(self, pretty: bool = False) -> str:
        return self.dialect.sql(self.query, pretty=pretty)

    def apply(self, rows: Iterable[Sequence[Any]]) -> None:
        found: dict[int, Decimal | None] = {}
        for row in rows:
            j = int(row[0])
            value = row[1 + j]
            found[j] = exact(value) if value is not None else None
        for j, cut in enumerate(self.cuts):
            cut.resolve(found.get(j))


@dataclass(frozen=True)
class Prepass:
    """One round of the pre-pass: the summary query and, per sample in it, the cuts it fixes.

    The query returns rows ``(sample, bucket, n, total, n_values, lo_0, lo_1, ...)``: sample
    ``i``'s lowest values are in ``lo_i`` (other ``lo`` columns are NULL), so each keeps its own
    type and decimals stay exact."""

    query: exp.Query
    samples: list[list[Cut]]
    dialect: EngineDialect
    layers: list[tuple[str, exp.Query]]
    top: str
    columns: list[str]

    def sql(self, pretty: bool = False) -> str:
        return self.dialect.sql(self.query, pretty=pretty)

    def apply(self, rows: Iterable[Sequence[Any]]) -> Refinement | None:
        """Resolve the cuts of this round from the query's rows; the cuts whose class starts
        inside a bucket need the :class:`Refinement` returned (None when there are none)."""
        buckets: dict[int, list[tuple[int, Bucket]]] = {}
        for row in rows:
            sample, bucket, n, total, values = (
                int(row[0]),
                int(row[1]),
                int(row[2]),
                row[3],
                int(row[4]),
            )
            found = Bucket(exact(row[5 + sample]), n, exact(total), values)
            buckets.setdefault(sample, []).append((bucket, found))
        pending: list[tuple[Cut, int, Decimal]] = []
        for i, cuts in enumerate(self.samples):
            ordered = [b for _, b in sorted(buckets.get(i, []), key=lambda pair: pair[0])]
            by_k: dict[int, list[Break]] = {}
            for cut in cuts:
                k, c = cut.classes, cut.class_
                assert k is not None
                assert c is not None
                if k not in by_k:
                    by_k[k] = class_breaks(ordered, k)
                breaks = by_k[k]
                where = breaks[c - 1] if 1 <= c <= len(breaks) else Break()
                if where.midpoint is not None:
                    pending.append((cut, i, where.midpoint))
                else:
                    cut.resolve(where.value)
        if not pending:
            return None
        return self._refinement(pending)

    def _refinement(self, pending: list[tuple[Cut, int, Decimal]]) -> Refinement:
        query: exp.Query | None = None
        for j, (_, i, midpoint) in enumerate(pending):
            column = col(self.columns[i])
            lows = [
                exp.alias_(exp.Min(this=column.copy()) if m == j else exp.Null(), _ident(f"lo_{m}"))
                for m in range(len(pending))
            ]
            row = (
                exp.select(exp.alias_(num(j), _ident("cut")), *lows)
                .from_(self.top)
                .where(exp.GTE(this=column.copy(), expression=num(midpoint)))
            )
            query = row if query is None else exp.union(query, row, distinct=False)
        assert query is not None
        return Refinement(with_ctes(query, self.layers), [c for c, _, _ in pending], self.dialect)


def _closure(names: Iterable[str], defs: Mapping[str, ColumnDef]) -> set[str]:
    """The columns ``names`` are computed from, themselves included."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        d = defs.get(name)
        if d is not None:
            todo.extend(d.deps)
    return seen


def _ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _bucket_ctes(i: int, column: str, source: str) -> list[tuple[str, exp.Query]]:
    """Sample ``i``: its distinct values with counts, then each value's bucket.

    Fewer than :data:`MAX_BUCKETS` distinct values: one bucket each (the classes are then the
    exact optimum). More: the bucket of a value is the share of the rows below it, in steps of
    1/MAX_BUCKETS — equal values always share a bucket, so a class never splits them."""
    values = (
        exp.select(
            exp.alias_(col(column), _ident("v")),
            exp.alias_(exp.Count(this=exp.Star()), _ident("n")),
        )
        .from_(source)
        .where(exp.Not(this=exp.Is(this=col(column), expression=exp.Null())))
        .group_by(col(column))
    )
    by_value = exp.Order(expressions=[exp.Ordered(this=col("v"))])
    before = exp.Sub(
        this=exp.Window(this=exp.Sum(this=col("n")), order=by_value.copy()), expression=col("n")
    )
    ranked = exp.select(
        col("v"),
        col("n"),
        exp.alias_(before, _ident("before")),
        exp.alias_(exp.Window(this=exp.Sum(this=col("n"))), _ident("total")),
        exp.alias_(exp.Window(this=exp.Count(this=exp.Star())), _ident("distinct_n")),
        exp.alias_(exp.Window(this=exp.RowNumber(), order=by_value.copy()), _ident("rn")),
    ).from_(f"p{i}_values")
    bucket = exp.Case(
        ifs=[
            exp.If(
                this=exp.LTE(this=col("distinct_n"), expression=num(MAX_BUCKETS)),
                true=exp.Sub(this=col("rn"), expression=num(1)),
            )
        ],
        default=exp.IntDiv(
            this=exp.Mul(this=col("before"), expression=num(MAX_BUCKETS)), expression=col("total")
        ),
    )
    buckets = exp.select(exp.alias_(bucket, _ident("bucket")), col("v"), col("n")).from_(
        f"p{i}_ranked"
    )
    return [(f"p{i}_values", values), (f"p{i}_ranked", ranked), (f"p{i}_buckets", buckets)]


def _bucket_rows(i: int, count: int) -> exp.Select:
    """One row per bucket of sample ``i``: rows, exact sum, distinct values, and the lowest
    value in ``lo_i``."""
    total = exp.Sum(
        this=exp.Mul(
            this=col("n"), expression=exp.Cast(this=col("v"), to=exp.DataType.build(SUM_TYPE))
        )
    )
    lows = [
        exp.alias_(exp.Min(this=col("v")) if j == i else exp.Null(), _ident(f"lo_{j}"))
        for j in range(count)
    ]
    return (
        exp.select(
            exp.alias_(num(i), _ident("sample")),
            col("bucket"),
            exp.alias_(exp.Sum(this=col("n")), _ident("n")),
            exp.alias_(total, _ident("total")),
            exp.alias_(exp.Count(this=exp.Star()), _ident("n_values")),
            *lows,
        )
        .from_(f"p{i}_buckets")
        .group_by(col("bucket"))
    )


def plan_prepass(
    policy: Policy,
    as_of: date,
    tables: Mapping[str, set[str]],
    *,
    dialect: EngineDialect = DUCKDB,
) -> Prepass | None:
    """The next round of the pre-pass for ``policy``, or None when no natural-breaks cut is
    left unresolved. A round covers the cuts whose values do not depend on unresolved cuts;
    cuts over the same values share one sample."""
    ctx = CompileContext(
        policy=policy, as_of=as_of, dialect=dialect, key=policy.key_columns, prepass=True
    )
    parts = compile_columns(ctx, tables)
    if not ctx.samples:
        return None
    defs = {d.name: d for d in parts.defs}
    placeholders = {s.placeholder for s in ctx.samples}
    groups: dict[str, list[BreakSample]] = {}
    for s in ctx.samples:
        if _closure([s.sample], defs) & placeholders:
            continue  # waits for a cut it depends on: next round
        groups.setdefault(dialect.sql(defs[s.sample].expr), []).append(s)
    if not groups:
        names = ", ".join(sorted(placeholders))
        raise CompileError(f"natural-breaks cuts depend on each other in a circle ({names})")
    columns = [g[0].sample for g in groups.values()]
    roots = list(columns) + (list(parts.population.deps) if parts.population else [])
    needed = _closure(roots, defs)
    kept = [d for d in parts.defs if d.name in needed]
    layers, top = stack_layers(parts.base, parts.provided, kept, parts.population)
    ctes = list(layers)
    query: exp.Query | None = None
    for i, column in enumerate(columns):
        ctes += _bucket_ctes(i, column, top)
        rows = _bucket_rows(i, len(columns))
        query = rows if query is None else exp.union(query, rows, distinct=False)
    assert query is not None
    query = query.order_by(col("sample"), col("bucket"))
    samples = [[s.cut for s in g] for g in groups.values()]
    return Prepass(with_ctes(query, ctes), samples, dialect, layers, top, columns)


def resolve_natural_breaks(
    policy: Policy,
    as_of: date,
    tables: Mapping[str, set[str]],
    run: Run,
    *,
    dialect: EngineDialect = DUCKDB,
) -> Policy:
    """``policy`` with the value of every natural-breaks cut found over the data.

    ``tables`` are the column names of each table, as for
    :func:`~fenji.engine.compiler.compile_policy`; ``run`` executes SQL on the engine that holds
    them. A policy without natural breaks is returned as is, at no cost; otherwise a copy is
    returned (the policy passed in is never changed), ready for ``compile_policy``. Its cuts
    are found anew even if the policy was resolved before, over other data."""
    if not natural_break_cuts(policy):
        return policy
    resolved = policy.model_copy(deep=True)
    cuts = natural_break_cuts(resolved)
    for cut in cuts:
        cut.clear_resolution()
    for _ in range(len(cuts)):
        plan = plan_prepass(resolved, as_of, tables, dialect=dialect)
        if plan is None:
            break
        refinement = plan.apply(run(plan.sql()))
        if refinement is not None:
            refinement.apply(run(refinement.sql()))
    return resolved


__all__ = [
    "Prepass",
    "Refinement",
    "Run",
    "exact",
    "natural_break_cuts",
    "plan_prepass",
    "resolve_natural_breaks",
]
