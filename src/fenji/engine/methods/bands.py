"""Bands: one metric cut into ordered bands with explicit inclusive or exclusive lower bounds.

Bands are listed best first; a value gets the first band whose bound it meets (``min`` is
inclusive, ``above`` exclusive), so "B: [50万, 100万)" is ``min: 50万`` under an A band of
``min: 100万``. The explanation shows the interval and how much more reaches the band above.
"""

from __future__ import annotations

from sqlglot import exp

from fenji.engine.context import ColumnDef, CompileContext, case, col, string
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
from fenji.policy.dimensions import Band, BandsDimension


def compile_bands(
    dim: str,
    bands: list[Band],
    value: exp.Expression,
    in_scope: exp.Expression,
    ctx: CompileContext,
) -> tuple[list[ColumnDef], list[CutSQL | None]]:
    """Cut columns for a list of bands (shared with stars and scorecard grades)."""
    defs: list[ColumnDef] = []
    cuts: list[CutSQL | None] = []
    for i, band in enumerate(bands):
        bound = band.bound
        if bound is None:
            cuts.append(None)
            continue
        more, cut = compile_cut(dim, str(i), bound, value, in_scope, ctx)
        defs += more
        cuts.append(cut)
    return defs, cuts


def band_label(
    bands: list[Band], cuts: list[CutSQL | None], value: exp.Expression, missing: str | None
) -> exp.Expression:
    """CASE over the bands, best first; NULL values get ``missing`` (or the catch-all)."""
    catch_all = bands[-1].label if bands[-1].bound is None else None
    null_label = missing if missing is not None else catch_all
    whens: list[tuple[exp.Expression, exp.Expression]] = [
        (
            exp.Is(this=value.copy(), expression=exp.Null()),
            string(null_label) if null_label is not None else exp.Null(),
        )
    ]
    for band, cut in zip(bands, cuts, strict=True):
        if cut is not None:
            whens.append((cut.compare(value, band.inclusive), string(band.label)))
    return case(whens, string(catch_all) if catch_all is not None else exp.Null())


def band_gap(
    bands: list[Band], cuts: list[CutSQL | None], label: exp.Expression, value: exp.Expression
) -> tuple[exp.Expression, exp.Expression]:
    """(next label, gap to it) for the band a value is in; the best band has neither."""
    nexts: list[tuple[exp.Expression, exp.Expression]] = []
    gaps: list[tuple[exp.Expression, exp.Expression]] = []
    for i in range(1, len(bands)):
        upper = cuts[i - 1]
        if upper is None:
            continue
        is_band = exp.EQ(this=label.copy(), expression=string(bands[i].label))
        nexts.append((is_band, string(bands[i - 1].label)))
        gaps.append((is_band.copy(), exp.Sub(this=upper.value.copy(), expression=value.copy())))
    return case(nexts), case(gaps)


def band_why(
    bands: list[Band],
    cuts: list[CutSQL | None],
    label: exp.Expression,
    value: exp.Expression,
    title: str,
    unit: str,
    ctx: CompileContext,
) -> exp.Expression:
    """ "B: 12个月销售额 68.2万 ∈ [50万, 100万)；再增加 31.8万 可达 A"."""
    zh = ctx.lang == "zh"
    whens: list[tuple[exp.Expression, exp.Expression]] = []
    for i, band in enumerate(bands):
        lower = cuts[i]
        upper = cuts[i - 1] if i > 0 else None
        if lower is None and upper is None:
            interval: list[exp.Expression | str] = []
        else:
            lo: list[exp.Expression | str] = (
                ["[" if band.inclusive else "(", show(lower.value, unit, ctx)]
                if lower is not None
                else ["(-∞"]
            )
            hi: list[exp.Expression | str] = (
                [show(upper.value, unit, ctx), ")" if bands[i - 1].inclusive else "]"]
                if upper is not None
                else ["+∞)"]
            )
            interval = [" ∈ " if zh else " in ", *lo, ", ", *hi]
        parts: list[exp.Expression | str] = [
            f"{band.label}: {title} ",
            show(value, unit, ctx),
            *interval,
        ]
        if upper is not None:
            gap = exp.Sub(this=upper.value.copy(), expression=value.copy())
            strict = not bands[i - 1].inclusive
            if zh:
                parts += [
                    "；还差",
                    "超过 " if strict else " ",
                    show(gap, unit, ctx),
                    f" 可达 {bands[i - 1].label}",
                ]
            else:
                parts += [
                    "; ",
                    "more than +" if strict else "+",
                    show(gap, unit, ctx),
                    f" reaches {bands[i - 1].label}",
                ]
        whens.append((exp.EQ(this=label.copy(), expression=string(band.label)), concat(*parts)))
    missing = concat(f"{title} ", "无数据" if zh else "has no value")
    return case([(exp.Is(this=value.copy(), expression=exp.Null()), missing), *whens])


def compile(dim: str, spec: BandsDimension, ctx: CompileContext) -> list[ColumnDef]:
    value, title, unit = value_of(spec.metric, ctx)
    defs, in_scope = scope(dim, spec, ctx)
    vname = hidden(dim, "value")
    defs.append(coldef(vname, value))
    v = col(vname)
    more, cuts = compile_bands(dim, spec.bands, v, in_scope, ctx)
    defs += more
    core = hidden(dim, "core")
    defs.append(coldef(core, band_label(spec.bands, cuts, v, spec.missing)))
    label = col(core)
    nxt, gap = band_gap(spec.bands, cuts, label, v)
    why = band_why(spec.bands, cuts, label, v, title, unit, ctx)
    return defs + finish(dim, spec, ctx, label=label, why=why, next_label=nxt, gap=gap)
