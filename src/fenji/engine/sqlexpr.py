"""Compile checked policy expressions into SQLGlot trees over the engine's columns.

Input trees come from :func:`fenji.policy.expressions.parse_expression`, which has already
rejected every node and function outside the allow-list. Here names become quoted column
references, and fenji's functions (``days_since``, ``share``, ``tile``...) become standard SQL,
window functions for those that look at the whole population.
"""

from __future__ import annotations

from datetime import date

from sqlglot import exp

from fenji.engine.context import POPULATION, col, date_lit, num
from fenji.policy.expressions import ParsedExpression, parse_expression

ROUND_DIGITS = 9


def days_between(start: exp.Expression, end: exp.Expression) -> exp.Expression:
    """Whole days from ``start`` to ``end`` (end - start)."""
    return exp.DateDiff(this=end, expression=start, unit=exp.var("DAY"))


def month_trunc(value: exp.Expression) -> exp.Expression:
    return exp.Cast(
        this=exp.DateTrunc(this=value, unit=exp.Literal.string("MONTH")),  # type: ignore[no-untyped-call]
        to=exp.DataType.build("date"),
    )


def over(
    func: exp.Expression,
    *,
    partition: list[exp.Expression] | None = None,
    order: list[exp.Ordered] | None = None,
) -> exp.Window:
    w = exp.Window(this=func)
    if partition:
        w.set("partition_by", partition)
    if order:
        w.set("order", exp.Order(expressions=order))
    return w


def compile_entity(
    parsed: ParsedExpression | str,
    *,
    as_of: date,
    names: dict[str, exp.Expression] | None = None,
    key: tuple[str, ...] = ("customer_id",),
) -> exp.Expression:
    """An entity-level expression (over metrics and labels) as SQL over the layer below.

    ``names`` may map some names to other expressions (e.g. ``r`` in RFM segments)."""
    if isinstance(parsed, str):
        parsed = parse_expression(parsed, "entity")
    mapping = names or {}

    def names_(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column):
            name = node.name
            return mapping[name].copy() if name in mapping else col(name)
        return node

    def functions(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous):
            return _entity_function(str(node.name).lower(), node.expressions, as_of, key)
        return node

    # Names first, so that the arguments of fenji's functions are already column references.
    return portable(parsed.tree.copy().transform(names_).transform(functions))


def portable(tree: exp.Expression) -> exp.Expression:
    """The same meaning on every engine, and the one a policy author expects.

    - ``a / 0`` is empty (NULL): DuckDB would give infinity and Spark NULL.
    - ``LEAST`` and ``GREATEST`` are empty when any argument is: engines skip NULLs, so
      ``least(sales / target, 1)`` with no target would otherwise score full points."""
    for div in list(tree.find_all(exp.Div)):
        divisor = div.expression
        constant = isinstance(divisor, exp.Literal) and divisor.is_number
        if not (constant and float(divisor.this) != 0):
            div.set("expression", exp.Nullif(this=divisor.copy(), expression=num(0)))
    for node in list(tree.find_all(exp.Least, exp.Greatest)):
        args = [a for a in (node.this, *node.expressions) if not isinstance(a, exp.Literal)]
        if not args:
            continue
        any_null = exp.or_(*[exp.Is(this=a.copy(), expression=exp.Null()) for a in args])
        strict = exp.Case(ifs=[exp.If(this=any_null, true=exp.Null())], default=node.copy())
        if node.parent is None:  # the whole expression is the LEAST/GREATEST
            return strict
        node.replace(strict)
    return tree


def _tiebreak(key: tuple[str, ...]) -> list[exp.Ordered]:
    return [exp.Ordered(this=col(k)) for k in key]


def _entity_function(
    name: str, args: list[exp.Expression], as_of: date, key: tuple[str, ...]
) -> exp.Expression:
    if name == "days_since":
        return days_between(args[0], date_lit(as_of))
    if name == "safe_div":
        return exp.Div(this=args[0], expression=args[1])  # made safe by portable()
    if name == "growth":
        a, b = args
        return exp.Case(
            ifs=[
                exp.If(
                    this=exp.GT(this=b.copy(), expression=num(0)),
                    true=exp.Div(
                        this=exp.Paren(this=exp.Sub(this=a, expression=b.copy())), expression=b
                    ),
                )
            ]
        )
    x = args[-1]
    not_null = exp.Not(this=exp.Is(this=x.copy(), expression=exp.Null()))
    partition: list[exp.Expression] = [exp.Is(this=x.copy(), expression=exp.Null())]
    if name == "share":
        total = over(exp.Sum(this=x.copy()))
        return exp.Div(this=x, expression=exp.Nullif(this=total, expression=num(0)))
    if name == "pop_mean":
        return over(exp.Avg(this=x))
    if name == "pop_median":
        return over(exp.Median(this=wide_decimal(x)))
    if name == "pop_sum":
        return over(exp.Sum(this=x))
    if name == "pop_count":
        return over(exp.Count(this=x))
    if name == "pct_rank":
        func: exp.Expression = exp.PercentRank()
        order = [exp.Ordered(this=x.copy())]
    elif name == "rank_desc":
        func = exp.Rank()
        order = [exp.Ordered(this=x.copy(), desc=True)]
    elif name == "tile":
        func = exp.Anonymous(this="NTILE", expressions=[args[0]])
        order = [exp.Ordered(this=x.copy(), desc=True), *_tiebreak(key)]
    else:  # pragma: no cover - the parser admits only known functions
        raise ValueError(f"unknown function {name}")
    ranked = over(func, partition=partition, order=order)
    return exp.Case(ifs=[exp.If(this=not_null, true=ranked)])


def compile_row(parsed: ParsedExpression | str, *, as_of: date) -> exp.Expression:
    """A fact-row expression (``of`` / ``where`` of an aggregation) over the source's columns."""
    if isinstance(parsed, str):
        parsed = parse_expression(parsed, "row")

    def names_(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column):
            if node.name == "as_of":
                return date_lit(as_of)
            return col(node.name)
        return node

    def transform(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous):
            fname = str(node.name).lower()
            if fname == "days_since":
                return days_between(node.expressions[0], date_lit(as_of))
            if fname == "month_of":
                return month_trunc(node.expressions[0])
            if fname == "safe_div":
                a, b = node.expressions
                return exp.Div(this=a, expression=b)  # made safe by portable()
        return node

    return portable(parsed.tree.copy().transform(names_).transform(transform))


#: Type statistics are computed in: engines compute a median at the scale of its input, so the
#: median of 1.0001 and 1.0002 as DECIMAL(18, 4) would be 1.0001 rather than 1.00015.
STAT_TYPE = "DECIMAL(38, 12)"


def wide_decimal(value: exp.Expression) -> exp.Expression:
    """``value`` as a decimal wide enough for an interpolated median or percentile."""
    return exp.Cast(this=value, to=exp.DataType.build(STAT_TYPE))


def rounded(expr: exp.Expression) -> exp.Expression:
    """Round a computed ratio to 9 decimals before it is compared with a bound.

    Division gives binary floating point on every engine; 60 * 7/12 may come out as
    34.99999999999999. Rounding to 9 decimals restores the exact value whenever it has at most
    9 decimals, which is what keeps a score of exactly 75 a B."""
    return exp.Round(this=expr, decimals=exp.Literal.number(ROUND_DIGITS))


__all__ = [
    "POPULATION",
    "compile_entity",
    "compile_row",
    "days_between",
    "month_trunc",
    "over",
    "rounded",
]
