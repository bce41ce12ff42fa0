"""Pareto (ABC): classes by the cumulative share of a metric, largest customers first.

Entities are ranked by the metric descending, ties by the key columns ascending, so the ranking
is total and does not depend on row order. An entity gets class i while the sum of the metric
over the entities ranked *before* it is below ``upto_i`` of the total: the customer that crosses
70% is still an A ("the customers that make the first 70% of revenue"), the next one is a B.

The test is ``cum_before < upto * total``, compared in exact decimals without dividing: a
customer at exactly 70% before is a B, which a division in binary floating point could flip.
Total and ranking are over the entities the method itself grades: those forced by ``first``
rules (no order in a year, overdue payments) or outside the ``population`` take no share. An
entity without a value is not ranked and gets the last class.
"""

from __future__ import annotations

from decimal import Decimal

from sqlglot import exp

from fenji.engine.context import ColumnDef, CompileContext, and_, case, col, num, string
from fenji.engine.explain import concat, fmt
from fenji.engine.methods.common import coldef, finish, hidden, scope, show, value_of
from fenji.engine.sqlexpr import over
from fenji.policy.dimensions import ParetoClass, ParetoDimension


def percent(share: Decimal) -> str:
    """0.7 -> "70%"."""
    return format((share * 100).normalize(), "f") + "%"


def ranked(
    func: exp.Expression,
    member: exp.Expression,
    value: exp.Expression,
    ctx: CompileContext,
    frame: exp.WindowSpec | None = None,
) -> exp.Window:
    """``func`` over the members ordered by value descending, then key ascending. Partitioning
    by membership keeps entities that are not ranked from taking a place or a share; callers
    read the result only for members."""
    order = [exp.Ordered(this=value.copy(), desc=True)] + [
        exp.Ordered(this=col(k)) for k in ctx.key
    ]
    window = over(func, partition=[member.copy()], order=order)
    if frame is not None:
        window.set("spec", frame)
    return window


def cum_before(
    member: exp.Expression, value: exp.Expression, ctx: CompileContext
) -> exp.Expression:
    """Sum of the metric over the members ranked before this one (0 for the first)."""
    rows_before = exp.WindowSpec(
        kind="ROWS", start="UNBOUNDED", start_side="PRECEDING", end=num(1), end_side="PRECEDING"
    )
    running = ranked(exp.Sum(this=value.copy()), member, value, ctx, rows_before)
    # The first-ranked member has no rows before it: the empty frame sums to NULL, meaning 0.
    return case([(member.copy(), exp.Coalesce(this=running, expressions=[num(0)]))])


def pareto_label(
    classes: list[ParetoClass],
    value: exp.Expression,
    before: exp.Expression,
    total: exp.Expression,
) -> exp.Expression:
    """CASE over the classes: the first whose ``cum_before < upto x total`` holds."""
    last = string(classes[-1].label)
    whens: list[tuple[exp.Expression, exp.Expression]] = [
        (exp.Is(this=value.copy(), expression=exp.Null()), last)
    ]
    for c in classes:
        if c.upto is not None:
            limit = exp.Mul(this=num(c.upto), expression=total.copy())
            whens.append((exp.LT(this=before.copy(), expression=limit), string(c.label)))
    return case(whens, last.copy())


def pareto_why(
    classes: list[ParetoClass],
    label: exp.Expression,
    value: exp.Expression,
    before: exp.Expression,
    total: exp.Expression,
    rank: exp.Expression,
    count: exp.Expression,
    title: str,
    unit: str,
    ctx: CompileContext,
) -> exp.Expression:
    """ "B: 近12个月销售额 48.3万，排名第12/57，之前累计占比 75.3% ≥ 70%，< 90%"."""
    zh = ctx.lang == "zh"
    share = exp.Div(this=before.copy(), expression=exp.Nullif(this=total.copy(), expression=num(0)))
    head: list[exp.Expression | str] = [
        f": {title} ",
        show(value, unit, ctx),
        "，排名第" if zh else ", rank ",
        fmt(rank, "count", ctx.lang),
        "/" if zh else " of ",
        fmt(count, "count", ctx.lang),
        "，之前累计占比 " if zh else ", cumulative share before ",
        fmt(share, "ratio", ctx.lang),
    ]
    whens: list[tuple[exp.Expression, exp.Expression]] = []
    for i, c in enumerate(classes):
        bounds: list[str] = []
        previous = classes[i - 1].upto if i > 0 else None
        if previous is not None:
            bounds.append(f"≥ {percent(previous)}")
        if c.upto is not None:
            bounds.append(f"< {percent(c.upto)}")
        text = " " + (" 且 " if zh else " and ").join(bounds)
        whens.append(
            (
                exp.EQ(this=label.copy(), expression=string(c.label)),
                concat(c.label, *head, text),
            )
        )
    missing = concat(
        label.copy(),
        f": {title} ",
        "无数据，不参与排名" if zh else "has no value and is not ranked",
    )
    return case([(exp.Is(this=value.copy(), expression=exp.Null()), missing), *whens])


def compile(dim: str, spec: ParetoDimension, ctx: CompileContext) -> list[ColumnDef]:
    value, title, unit = value_of(spec.metric, ctx)
    defs, in_scope = scope(dim, spec, ctx)
    vname = hidden(dim, "value")
    defs.append(coldef(vname, value))
    v = col(vname)
    not_null = exp.Not(this=exp.Is(this=v.copy(), expression=exp.Null()))
    member_name = hidden(dim, "member")
    defs.append(
        coldef(
            member_name,
            and_(None if isinstance(in_scope, exp.Boolean) else in_scope, not_null),
        )
    )
    member = col(member_name)
    masked = case([(member.copy(), v.copy())])
    total_name, count_name = hidden(dim, "total"), hidden(dim, "n")
    before_name, rank_name = hidden(dim, "before"), hidden(dim, "rank")
    defs += [
        coldef(total_name, over(exp.Sum(this=masked.copy()))),
        coldef(count_name, over(exp.Count(this=masked.copy())), explain_only=True),
        coldef(before_name, cum_before(member, v, ctx)),
        coldef(
            rank_name,
            case([(member.copy(), ranked(exp.RowNumber(), member, v, ctx))]),
            explain_only=True,
        ),
    ]
    total, before = col(total_name), col(before_name)
    core = hidden(dim, "core")
    defs.append(coldef(core, pareto_label(spec.classes, v, before, total)))
    label = col(core)
    nexts: list[tuple[exp.Expression, exp.Expression]] = [
        (exp.EQ(this=label.copy(), expression=string(c.label)), string(spec.classes[i].label))
        for i, c in enumerate(spec.classes[1:])
    ]
    why = pareto_why(
        spec.classes,
        label,
        v,
        before,
        total,
        col(rank_name),
        col(count_name),
        title,
        unit,
        ctx,
    )
    return defs + finish(dim, spec, ctx, label=label, why=why, next_label=case(nexts))
