"""RFM: recency, frequency and monetary value, in two models.

``cn8`` is the Chinese eight-class model (RFM 八类客户, S6): each of R, F and M is high or low
against the mean (or median) of the graded population, and the three flags pick one of eight
classes. R is high when recency is *at most* the mean (fewer days since the last order is
better); F and M are high when at least the mean. A value equal to the mean is high on all three
axes. The mean is never computed as a floating quotient: ``x <= sum / n`` is evaluated as
``x * n <= sum``, so an exact tie stays a tie.

``quintile`` is the international 1-5 model: R, F and M each get NTILE(5) over the graded
population (5 = most recent, most frequent, highest spend), ties broken by the key columns so a
run is reproducible, and the first matching ``segments`` rule over ``r``, ``f`` and ``m`` names
the segment.

Population statistics (mean, median, tiles) are taken over in-scope entities only: customers
forced by ``first`` rules or outside the ``population`` neither get a class nor move the mean.
"""

from __future__ import annotations

from typing import Literal, assert_never

from sqlglot import exp

from fenji.engine.context import (
    ColumnDef,
    CompileContext,
    and_,
    case,
    coalesce_false,
    col,
    num,
    string,
)
from fenji.engine.explain import concat, quote
from fenji.engine.methods.common import (
    CutSQL,
    coldef,
    compile_cut,
    finish,
    hidden,
    scope,
    show,
    value_of,
)
from fenji.engine.sqlexpr import compile_entity, over
from fenji.policy.dimensions import Cut, RfmDimension
from fenji.policy.expressions import parse_expression

Letter = Literal["r", "f", "m"]

#: R is better when lower (days since the last order); F and M when higher.
_LOWER_IS_BETTER: dict[Letter, bool] = {"r": True, "f": False, "m": False}


def _metric(spec: RfmDimension, letter: Letter) -> str:
    return {"r": spec.recency, "f": spec.frequency, "m": spec.monetary}[letter]


def _text(value: exp.Expression) -> exp.Expression:
    """An integer as text, cast explicitly so no engine has to guess inside CONCAT."""
    return exp.Cast(this=value, to=exp.DataType.build("VARCHAR"))


def _is_null(value: exp.Expression) -> exp.Expression:
    return exp.Is(this=value.copy(), expression=exp.Null())


# -- cn8 ---------------------------------------------------------------------------------------


def _at_most(cut: CutSQL, x: exp.Expression) -> exp.Expression:
    """``x <= cut``; against a mean, exactly as ``x * n <= sum`` (CutSQL only has >= and >)."""
    if cut.mean_parts is not None:
        total, count = cut.mean_parts
        return exp.LTE(
            this=exp.Mul(this=exp.Paren(this=x.copy()), expression=count.copy()),
            expression=total.copy(),
        )
    return exp.LTE(this=x.copy(), expression=cut.value.copy())


def _cn8_axis(
    dim: str,
    spec: RfmDimension,
    letter: Letter,
    in_scope: exp.Expression,
    ctx: CompileContext,
) -> tuple[list[ColumnDef], exp.Expression, exp.Expression]:
    """Columns for one axis; returns (defs, high flag column, explanation part)."""
    zh = ctx.lang == "zh"
    value, _, unit = value_of(_metric(spec, letter), ctx)
    vname = hidden(dim, letter)
    defs = [coldef(vname, value)]
    v = col(vname)
    more, cut = compile_cut(dim, letter, Cut(stat=spec.compare), v, in_scope, ctx)
    defs += more
    lower_better = _LOWER_IS_BETTER[letter]
    high = _at_most(cut, v) if lower_better else cut.compare(v, inclusive=True)
    flag = hidden(dim, f"{letter}_high")
    defs.append(coldef(flag, coalesce_false(high)))
    stat = {"mean": ("均值", "mean"), "median": ("中位数", "median")}[spec.compare]
    stat_name = stat[0] if zh else stat[1]
    big, small = ("≤", ">") if lower_better else ("≥", "<")
    shown_cut = show(cut.value, unit, ctx)
    part = case(
        [
            (_is_null(v), string(f"{letter.upper()} {'无数据' if zh else 'no value'}")),
            (
                col(flag),
                concat(f"{letter.upper()} ", show(v, unit, ctx), f" {big} {stat_name} ", shown_cut),
            ),
        ],
        concat(
            f"{letter.upper()} ", show(v, unit, ctx), f" {small} {stat_name} ", shown_cut.copy()
        ),
    )
    return defs, col(flag), part


def _compile_cn8(dim: str, spec: RfmDimension, ctx: CompileContext) -> list[ColumnDef]:
    defs, in_scope = scope(dim, spec, ctx)
    flags: list[exp.Expression] = []
    parts: list[exp.Expression] = []
    letters: tuple[Letter, ...] = ("r", "f", "m")
    for letter in letters:
        more, flag, part = _cn8_axis(dim, spec, letter, in_scope, ctx)
        defs += more
        flags.append(flag)
        parts.append(part)
    whens: list[tuple[exp.Expression, exp.Expression]] = []
    codes: list[tuple[exp.Expression, exp.Expression]] = []
    for key, label in spec.classes.items():
        cond = and_(
            *[
                f.copy() if c == "h" else exp.Not(this=f.copy())
                for c, f in zip(key, flags, strict=True)
            ]
        )
        whens.append((cond, string(label)))
        codes.append((cond.copy(), string(key.upper())))
    core = hidden(dim, "core")
    defs.append(coldef(core, case(whens)))
    sep = "；" if ctx.lang == "zh" else "; "
    # "important_value (HHH): R 12天 ≤ 均值 45.3天；F 8 ≥ 均值 5.1；M 32.1万 ≥ 均值 12.4万"
    why = concat(col(core), " (", case(codes), "): ", parts[0], sep, parts[1], sep, parts[2])
    return defs + finish(dim, spec, ctx, label=col(core), why=why)


# -- quintile ----------------------------------------------------------------------------------


def _tile(
    v: exp.Expression, lower_is_better: bool, in_scope: exp.Expression, ctx: CompileContext
) -> exp.Expression:
    """Score 1-5 by NTILE(5) over in-scope entities with a value; 5 is the best fifth.

    Entities without a value take no part in the tiles and score 1: a customer with no recency
    (never ordered) or no spend is at the bottom, not unclassified. Ties are broken by the key
    columns, ascending, so the same data always gives the same scores whatever the row order."""
    member = and_(
        None if isinstance(in_scope, exp.Boolean) else in_scope.copy(),
        exp.Not(this=_is_null(v)),
    )
    order = [exp.Ordered(this=v.copy(), desc=lower_is_better)]
    order += [exp.Ordered(this=col(k)) for k in ctx.key]
    ntile = over(exp.Anonymous(this="NTILE", expressions=[num(5)]), partition=[member], order=order)
    return case([(member.copy(), ntile)], num(1))


def _compile_quintile(dim: str, spec: RfmDimension, ctx: CompileContext) -> list[ColumnDef]:
    zh = ctx.lang == "zh"
    defs, in_scope = scope(dim, spec, ctx)
    scores: dict[str, exp.Expression] = {}
    shown: list[exp.Expression | str] = ["（" if zh else " ("]
    letters: tuple[Letter, ...] = ("r", "f", "m")
    for i, letter in enumerate(letters):
        value, title, unit = value_of(_metric(spec, letter), ctx)
        vname, sname = hidden(dim, letter), hidden(dim, f"{letter}_score")
        defs.append(coldef(vname, value))
        defs.append(coldef(sname, _tile(col(vname), _LOWER_IS_BETTER[letter], in_scope, ctx)))
        scores[letter] = col(sname)
        shown += ["、" if zh and i else ", " if i else "", f"{title} ", show(col(vname), unit, ctx)]
    shown.append("）" if zh else ")")
    whens: list[tuple[exp.Expression, exp.Expression]] = []
    matched: list[tuple[exp.Expression, exp.Expression]] = []
    for rule in spec.segments:
        parsed = parse_expression(rule.when, "entity")
        cond = coalesce_false(compile_entity(parsed, as_of=ctx.as_of, names=scores, key=ctx.key))
        whens.append((cond, string(rule.label)))
        reason = rule.title.get(ctx.lang) if rule.title else rule.when
        matched.append((cond.copy(), string(("；满足 " if zh else "; meets ") + quote(reason))))
    core = hidden(dim, "core")
    default = string(spec.default) if spec.default is not None else exp.Null()
    defs.append(coldef(core, case(whens, default)))
    r, f, m = scores["r"], scores["f"], scores["m"]
    score = exp.Add(
        this=exp.Add(
            this=exp.Mul(this=r.copy(), expression=num(100)),
            expression=exp.Mul(this=f.copy(), expression=num(10)),
        ),
        expression=m.copy(),
    )
    # "champions: R5 F4 M5（最近一次下单距今 3天、订单数 12、销售额 32.1万）；满足 “r >= 4 ...”"
    why = concat(
        col(core),
        ": R",
        _text(r.copy()),
        " F",
        _text(f.copy()),
        " M",
        _text(m.copy()),
        *shown,
        case(matched, string("；不满足任何分群规则" if zh else "; meets no segment rule")),
    )
    return defs + finish(dim, spec, ctx, label=col(core), why=why, score=score)


def compile(dim: str, spec: RfmDimension, ctx: CompileContext) -> list[ColumnDef]:
    if spec.model == "cn8":
        return _compile_cn8(dim, spec, ctx)
    if spec.model == "quintile":
        return _compile_quintile(dim, spec, ctx)
    assert_never(spec.model)
