"""Scorecard: weighted items with point bands, bonus and deduction items, red-line vetoes,
and score bands to grades.

Points from labels and fixed weights stay exact decimals (0.40 x 4 + ... is exactly 2.5, so a
B stays a B). Items computed by division are rounded to 9 decimals before they are summed and
compared. A red line (红线) forces its label whatever the score; the score is still shown.
"""

from __future__ import annotations

from sqlglot import exp

from fenji.engine.context import ColumnDef, CompileContext, case, col, num, string
from fenji.engine.explain import concat, fmt
from fenji.engine.methods.bands import band_gap, band_label, compile_bands
from fenji.engine.methods.common import (
    coldef,
    condition,
    finish,
    hidden,
    scope,
    value_of,
)
from fenji.engine.methods.rules import values_text
from fenji.engine.sqlexpr import compile_entity, rounded
from fenji.policy.dimensions import Adjustment, Band, PointBand, ScorecardDimension, ScoreItem
from fenji.policy.expressions import parse_expression


def _expr_points(text: str, ctx: CompileContext) -> exp.Expression:
    parsed = parse_expression(text, "entity")
    value = compile_entity(parsed, as_of=ctx.as_of, key=ctx.key)
    return rounded(value) if parsed.divides else value


def _item_points(
    dim: str, i: int, item: ScoreItem, ctx: CompileContext
) -> tuple[list[ColumnDef], exp.Expression]:
    if item.dimension is not None:
        assert item.points is not None
        label = col(item.dimension)
        whens = [
            (exp.EQ(this=label.copy(), expression=string(k)), num(v))
            for k, v in item.points.items()
        ]
        return [], case(whens, num(0))
    if item.value is not None:
        # The uncoalesced value is kept so the explanation can say why an item scored 0.
        raw = hidden(dim, f"raw{i}")
        points = exp.Coalesce(this=col(raw), expressions=[num(0)])
        return [coldef(raw, _expr_points(item.value, ctx))], points
    assert item.metric is not None
    assert item.bands is not None
    value, _, _ = value_of(item.metric, ctx)
    bands = [Band(label=str(j), min=b.min, above=b.above) for j, b in enumerate(item.bands)]
    defs, cuts = compile_bands(hidden(dim, f"item{i}"), bands, value, exp.true(), ctx)
    index = band_label(bands, cuts, value, None)
    whens = [
        (exp.EQ(this=index.copy(), expression=string(str(j))), num(b.points))
        for j, b in enumerate(item.bands)
    ]
    return defs, case(whens, num(0))


def _adjustment(adj: Adjustment, ctx: CompileContext) -> exp.Expression:
    if adj.value is not None:
        return exp.Coalesce(this=_expr_points(adj.value, ctx), expressions=[num(0)])
    assert adj.when is not None
    assert adj.points is not None
    return case([(condition(adj.when, ctx), num(adj.points))], num(0))


def _no_value_note(raw: str, text: str, ctx: CompileContext) -> exp.Expression:
    """ "（无数据，计0分：当月销售目标 = 0元）" when an item's expression gives no value.

    A value item scores 0 when its expression is NULL (say, no target to divide by); the
    figures it reads are shown so the reader sees which one is missing rather than a bare 0."""
    names = sorted(parse_expression(text, "entity").names)
    shown = values_text(names, ctx)[1:-1]  # without the surrounding parentheses
    note = (
        concat("（无数据，计0分：", *shown, "）")
        if ctx.lang == "zh"
        else concat(" (no value, 0 points: ", *shown, ")")
    )
    return case([(exp.Is(this=col(raw), expression=exp.Null()), note)], string(""))


def _title(obj: ScoreItem | Adjustment, ctx: CompileContext) -> str:
    """The item's own title, else the title of the dimension it scores, else its name."""
    if obj.title is not None:
        return obj.title.get(ctx.lang)
    if isinstance(obj, ScoreItem) and obj.dimension is not None:
        return ctx.title(obj.dimension)
    return obj.name


def compile(dim: str, spec: ScorecardDimension, ctx: CompileContext) -> list[ColumnDef]:
    zh = ctx.lang == "zh"
    defs, in_scope = scope(dim, spec, ctx)
    del in_scope
    parts: list[exp.Expression] = []
    why_parts: list[exp.Expression | str] = []
    for i, item in enumerate(spec.items):
        more, points = _item_points(dim, i, item, ctx)
        defs += more
        name = hidden(dim, f"p{i}")
        defs.append(coldef(name, points))
        weighted: exp.Expression = col(name)
        if item.weight != 1:
            weighted = exp.Mul(this=num(item.weight), expression=col(name))
        parts.append(weighted)
        shown: list[exp.Expression | str] = [" + " if i else "", f"{_title(item, ctx)} "]
        if item.dimension is not None:
            shown += [col(item.dimension), " → "]
        shown.append(fmt(col(name), "", ctx.lang))
        if item.weight != 1:
            shown += [f"×{item.weight.normalize():f}"]
        if item.max_points is not None:
            shown += [f"/{item.max_points.normalize():f}"]
        if item.value is not None:
            shown.append(_no_value_note(hidden(dim, f"raw{i}"), item.value, ctx))
        why_parts += shown
    for group, sign in (("bonus", 1), ("deductions", -1)):
        for j, adj in enumerate(getattr(spec, group)):
            name = hidden(dim, f"{group}{j}")
            defs.append(coldef(name, _adjustment(adj, ctx)))
            parts.append(col(name) if sign > 0 else exp.Neg(this=col(name)))
            why_parts += [
                " + " if sign > 0 else " − ",
                f"{_title(adj, ctx)} ",
                fmt(col(name), "", ctx.lang),
            ]
    total: exp.Expression = parts[0]
    for p in parts[1:]:
        total = exp.Add(this=total, expression=p)
    score_name = hidden(dim, "score")
    defs.append(coldef(score_name, rounded(total)))
    score = col(score_name)
    grades: list[Band] = spec.grades
    more, cuts = compile_bands(dim, grades, score, exp.true(), ctx)
    defs += more
    grade_name = hidden(dim, "grade")
    defs.append(coldef(grade_name, band_label(grades, cuts, score, None)))
    red_whens = [(condition(r.when, ctx), string(r.label)) for r in spec.red_lines]
    core = hidden(dim, "core")
    defs.append(coldef(core, case(red_whens, col(grade_name))))
    nxt, gap = band_gap(grades, cuts, col(grade_name), score)
    if red_whens:
        nxt = case([(c.copy(), exp.Null()) for c, _ in red_whens], nxt)
        gap = case([(c.copy(), exp.Null()) for c, _ in red_whens], gap)
    score_text = fmt(score, "", ctx.lang)
    base = concat(col(core), ": ", "得分 " if zh else "score ", score_text, " = ", *why_parts)
    red_why = [
        (
            c.copy(),
            concat(
                f"{r.label}: ",
                "触及红线 " if zh else "red line ",
                f"“{r.title.get(ctx.lang) if r.title else r.name}”",
                "，不论得分（" if zh else " applies whatever the score (",
                score_text.copy(),
                "）" if zh else ")",
            ),
        )
        for (c, _), r in zip(red_whens, spec.red_lines, strict=True)
    ]
    gap_text: list[tuple[exp.Expression, exp.Expression]] = []
    for k in range(1, len(grades)):
        upper = cuts[k - 1]
        if upper is None:
            continue
        gap_text.append(
            (
                exp.EQ(this=col(core), expression=string(grades[k].label)),
                concat(
                    "；还差 " if zh else "; +",
                    fmt(exp.Sub(this=upper.value.copy(), expression=score.copy()), "", ctx.lang),
                    " 分可达 " if zh else " points reaches ",
                    grades[k - 1].label,
                ),
            )
        )
    why = case(red_why, concat(base, case(gap_text, string(""))))
    shown_score = exp.Round(this=score.copy(), decimals=num(spec.decimals))
    return defs + finish(
        dim, spec, ctx, label=col(core), why=why, score=shown_score, next_label=nxt, gap=gap
    )


__all__ = ["PointBand", "compile"]
