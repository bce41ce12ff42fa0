"""Stars (客户星级, S7): a weighted composite of percent ranks, cut into star bands.

Each component (purchase amount, frequency, tenure, ...) becomes a percent rank in [0, 1] over
the in-scope entities that have a value — PERCENT_RANK, so the lowest value is 0 and a unique
highest value is 1 — which puts yuan, counts and years on one scale without choosing units. A
missing value ranks 0: no data never earns a star. The composite is Σ weight × rank / Σ weight,
rounded to 9 decimals before it meets the bands (percent ranks are binary fractions), and the
``stars`` bands over it give the label, reusing the bands machinery for bounds, gap and text.

Raising one component of a customer never lowers its own rank, so it never lowers its stars
when the star bounds are fixed numbers.
"""

from __future__ import annotations

from sqlglot import exp

from fenji.engine.context import ColumnDef, CompileContext, and_, case, col, num
from fenji.engine.explain import concat, fmt
from fenji.engine.methods.bands import band_gap, band_label, band_why, compile_bands
from fenji.engine.methods.common import coldef, finish, hidden, scope, show, value_of
from fenji.engine.sqlexpr import over, rounded
from fenji.policy.dimensions import StarsDimension


def percent_rank(value: exp.Expression, in_scope: exp.Expression) -> exp.Expression:
    """PERCENT_RANK of ``value`` among in-scope entities with a value; others rank 0.

    Ties share the rank of their first position (standard PERCENT_RANK), so equal values get
    equal ranks whatever the row order; that is why the key columns are *not* in the window
    order: they would split ties into different ranks."""
    member = and_(
        None if isinstance(in_scope, exp.Boolean) else in_scope.copy(),
        exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null())),
    )
    ranked = over(exp.PercentRank(), partition=[member], order=[exp.Ordered(this=value.copy())])
    return case([(member.copy(), ranked)], num(0))


def compile(dim: str, spec: StarsDimension, ctx: CompileContext) -> list[ColumnDef]:
    zh = ctx.lang == "zh"
    defs, in_scope = scope(dim, spec, ctx)
    total_weight = sum(c.weight for c in spec.components)
    weighted: list[exp.Expression] = []
    parts: list[exp.Expression | str] = ["；构成：" if zh else "; from: "]
    for i, comp in enumerate(spec.components):
        value, title, unit = value_of(comp.metric, ctx)
        vname, rname = hidden(dim, f"v{i}"), hidden(dim, f"rank{i}")
        defs.append(coldef(vname, value))
        defs.append(coldef(rname, percent_rank(col(vname), in_scope)))
        weighted.append(exp.Mul(this=num(comp.weight), expression=col(rname)))
        share = fmt(num(comp.weight / total_weight), "ratio", ctx.lang)
        parts += [
            " + " if i else "",
            f"{title} ",
            show(col(vname), unit, ctx),
            " 排名 " if zh else " rank ",
            fmt(col(rname), "ratio", ctx.lang),
            " × ",
            share,
        ]
    total: exp.Expression = weighted[0]
    for w in weighted[1:]:
        total = exp.Add(this=total, expression=w)
    composite_name = hidden(dim, "composite")
    defs.append(
        coldef(
            composite_name,
            rounded(exp.Div(this=exp.Paren(this=total), expression=num(total_weight))),
        )
    )
    composite = col(composite_name)
    more, cuts = compile_bands(dim, spec.stars, composite, in_scope, ctx)
    defs += more
    core = hidden(dim, "core")
    defs.append(coldef(core, band_label(spec.stars, cuts, composite, None)))
    label = col(core)
    nxt, gap = band_gap(spec.stars, cuts, label, composite)
    # "4: 综合分 72.3% ∈ [60%, 80%)；还差 7.7% 可达 5；构成：购买金额 68.2万 排名 85% × 50% + …"
    title = "综合分" if zh else "composite"
    why = concat(
        band_why(spec.stars, cuts, label, composite, title, "ratio", ctx),
        *parts,
    )
    score = exp.Round(this=composite.copy(), decimals=num(4))
    return defs + finish(dim, spec, ctx, label=label, why=why, score=score, next_label=nxt, gap=gap)


__all__ = ["compile", "percent_rank"]
