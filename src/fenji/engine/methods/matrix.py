"""Matrix: two metrics, each cut into high and low, give one of four quadrant labels.

Each axis is "high" when its value is at or above its cut (``x >= cut``), a fixed number or a
statistic of the graded population (the median of active customers, say). A missing value or a
cut that cannot be computed (no population to take the median of) counts as low: a customer is
never placed in a high quadrant on a figure it does not have. The explanation shows both values
against the cut values actually used, and for a low axis how far the value is from its cut:
"EII: 贡献度 近12个月销售额 152.2万 ≥ 中位数 48.3万；稳定度 58.3% < 75%，还差 16.7%".
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from sqlglot import exp

from fenji.engine.context import ColumnDef, CompileContext, case, coalesce_false, col, string
from fenji.engine.explain import concat
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
from fenji.policy.dimensions import Axis, Cut, MatrixDimension

AxisName = Literal["x", "y"]


def cut_name(cut: Cut, lang: str) -> str:
    """What a cut is, said before its value: "中位数", "均值", "第80百分位" or nothing for a
    fixed number (the number speaks for itself)."""
    zh = lang == "zh"
    if cut.stat == "median":
        return "中位数 " if zh else "median "
    if cut.stat == "mean":
        return "均值 " if zh else "mean "
    if cut.stat == "percentile":
        assert cut.p is not None
        p = format(Decimal(cut.p).normalize(), "f")
        return f"第{p}百分位 " if zh else f"P{p} "
    if cut.stat == "natural_breaks":
        k, c = cut.classes, cut.class_
        return f"自然断点（{k}类中第{c}类） " if zh else f"natural break (class {c} of {k}) "
    return ""


def axis_why(
    axis: Axis,
    value: exp.Expression,
    high: exp.Expression,
    cut: CutSQL,
    title: str,
    unit: str,
    ctx: CompileContext,
) -> exp.Expression:
    """One axis of the explanation: "贡献度 近12个月销售额 152.2万 ≥ 中位数 48.3万", or for a low
    axis "... < 中位数 48.3万，还差 3.1万"; a missing value or cut says so instead of a gap."""
    zh = ctx.lang == "zh"
    name = f"{axis.title.get(ctx.lang)} {title}" if axis.title is not None else title
    stat = cut_name(axis.cut, ctx.lang)
    no_value = concat(f"{name} ", "无数据，按低计" if zh else "has no value, counted as low")
    no_cut = concat(
        f"{name} ",
        show(value, unit, ctx),
        f"；{stat}无法计算，按低计" if zh else f"; the {stat.strip() or 'cut'} is undefined, low",
    )
    above = concat(f"{name} ", show(value, unit, ctx), f" ≥ {stat}", show(cut.value, unit, ctx))
    gap = exp.Sub(this=cut.value.copy(), expression=value.copy())
    below = concat(
        f"{name} ",
        show(value, unit, ctx),
        f" < {stat}",
        show(cut.value, unit, ctx),
        "，还差 " if zh else ", short by ",
        show(gap, unit, ctx),
    )
    return case(
        [
            (exp.Is(this=value.copy(), expression=exp.Null()), no_value),
            (exp.Is(this=cut.value.copy(), expression=exp.Null()), no_cut),
            (high.copy(), above),
        ],
        below,
    )


def compile(dim: str, spec: MatrixDimension, ctx: CompileContext) -> list[ColumnDef]:
    defs, in_scope = scope(dim, spec, ctx)
    highs: dict[AxisName, exp.Expression] = {}
    whys: dict[AxisName, exp.Expression] = {}
    axes: tuple[tuple[AxisName, Axis], ...] = (("x", spec.x), ("y", spec.y))
    for name, axis in axes:
        value, title, unit = value_of(axis.metric, ctx)
        vname = hidden(dim, f"{name}_value")
        defs.append(coldef(vname, value))
        v = col(vname)
        more, cut = compile_cut(dim, name, axis.cut, v, in_scope, ctx)
        defs += more
        # NULL >= cut is NULL: a missing value (or an undefined cut) is low, never high.
        hname = hidden(dim, f"{name}_high")
        defs.append(coldef(hname, coalesce_false(cut.compare(v, inclusive=True))))
        highs[name] = col(hname)
        whys[name] = axis_why(axis, v, col(hname), cut, title, unit, ctx)
    q = spec.quadrants
    x, y = highs["x"], highs["y"]
    core = hidden(dim, "core")
    label = case(
        [
            (exp.And(this=x.copy(), expression=y.copy()), string(q.high_high)),
            (x.copy(), string(q.high_low)),
            (y.copy(), string(q.low_high)),
        ],
        string(q.low_low),
    )
    defs.append(coldef(core, label))
    why = concat(col(core), ": ", whys["x"], "；" if ctx.lang == "zh" else "; ", whys["y"])
    return defs + finish(dim, spec, ctx, label=col(core), why=why)
