"""What every grading method shares: forced ``first`` rules, the population, cut points, and
the final label/why columns.

A method compiles its own core label; :func:`finish` wraps it so that forced rules win first,
entities outside the population get the ``outside`` label, and the explanation says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlglot import exp

from fenji.engine.context import (
    BreakSample,
    ColumnDef,
    CompileContext,
    CompileError,
    and_,
    case,
    coalesce_false,
    col,
    not_,
    num,
    string,
)
from fenji.engine.explain import concat, fmt, quote
from fenji.engine.sqlexpr import compile_entity, over, rounded, wide_decimal
from fenji.policy.dimensions import Cut, DimensionBase
from fenji.policy.expressions import parse_expression


def coldef(name: str, expr: exp.Expression, *, explain_only: bool = False) -> ColumnDef:
    """A column with dependencies and window-ness read off the expression itself."""
    deps = frozenset(c.name for c in expr.find_all(exp.Column))
    return ColumnDef(
        name, expr, deps, window=expr.find(exp.Window) is not None, explain_only=explain_only
    )


def hidden(dim: str, part: str) -> str:
    """Name of an internal column of dimension ``dim``."""
    return f"__{dim}__{part}"


def condition(text: str, ctx: CompileContext) -> exp.Expression:
    """A policy condition as SQL where NULL counts as false."""
    parsed = parse_expression(text, "entity")
    return coalesce_false(compile_entity(parsed, as_of=ctx.as_of, key=ctx.key))


def value_of(ref: str, ctx: CompileContext) -> tuple[exp.Expression, str, str]:
    """A metric name or expression as (SQL value, display title, unit)."""
    p = ctx.policy
    if ref in p.metrics or ref in p.dimensions or ref in ctx.key:
        return col(ref), ctx.title(ref), ctx.units.get(ref, "")
    parsed = parse_expression(ref, "entity")
    value = compile_entity(parsed, as_of=ctx.as_of, key=ctx.key)
    if parsed.divides:
        value = rounded(value)
    units = {ctx.units.get(n, "") for n in parsed.names}
    unit = units.pop() if len(units) == 1 and not parsed.divides else ""
    return value, ref, unit


def scope(
    dim: str, spec: DimensionBase, ctx: CompileContext
) -> tuple[list[ColumnDef], exp.Expression]:
    """Column that is true for the entities the method itself grades (not forced, in the
    dimension's population); population statistics are taken over these."""
    parts: list[exp.Expression] = [not_(condition(r.when, ctx)) for r in spec.first]
    if spec.population:
        parts.append(condition(spec.population, ctx))
    if not parts:
        return [], exp.true()
    name = hidden(dim, "scope")
    return [coldef(name, and_(*parts))], col(name)


@dataclass(frozen=True)
class CutSQL:
    """A compiled cut point: the column holding its value and how to compare against it."""

    value: exp.Expression
    mean_parts: tuple[exp.Expression, exp.Expression] | None = None

    def compare(self, x: exp.Expression, inclusive: bool) -> exp.Expression:
        """``x >= cut`` (or ``>``); a mean is compared exactly as ``x * n >= sum``."""
        cls = exp.GTE if inclusive else exp.GT
        if self.mean_parts is not None:
            total, count = self.mean_parts
            return cls(
                this=exp.Mul(this=exp.Paren(this=x.copy()), expression=count.copy()),
                expression=total.copy(),
            )
        return cls(this=x.copy(), expression=self.value.copy())


def compile_cut(
    dim: str,
    index: str,
    cut: Cut,
    value: exp.Expression,
    in_scope: exp.Expression,
    ctx: CompileContext,
) -> tuple[list[ColumnDef], CutSQL]:
    """A cut point as SQL: a literal, or a population statistic in its own window column."""
    if cut.value is not None:
        return [], CutSQL(num(cut.value))
    member = and_(
        None if isinstance(in_scope, exp.Boolean) else in_scope,
        condition(cut.where, ctx) if cut.where else None,
    )
    masked = case([(member, value.copy())]) if not isinstance(member, exp.Boolean) else value.copy()
    name = hidden(dim, f"cut{index}")
    if cut.stat == "natural_breaks":
        return natural_break_cut(dim, name, cut, masked, ctx)
    if cut.stat == "mean":
        total, count = hidden(dim, f"cut{index}_sum"), hidden(dim, f"cut{index}_n")
        defs = [
            coldef(total, over(exp.Sum(this=masked.copy()))),
            coldef(count, over(exp.Count(this=masked.copy()))),
            coldef(
                name,
                exp.Div(this=col(total), expression=exp.Nullif(this=col(count), expression=num(0))),
            ),
        ]
        return defs, CutSQL(col(name), (col(total), col(count)))
    # Interpolating statistics keep the scale of their input: DuckDB's median of DECIMAL(18, 4)
    # 1.0001 and 1.0002 is 1.0001, not 1.00015, which would make 1.0001 ">= the median".
    # Widening the scale first keeps the interpolated cut exact.
    wide = wide_decimal(masked)
    if cut.stat == "median":
        stat: exp.Expression = exp.Median(this=wide)
    else:
        assert cut.p is not None
        stat = ctx.dialect.percentile(wide, cut.p / Decimal(100))
    return [coldef(name, over(stat))], CutSQL(col(name))


def natural_break_cut(
    dim: str, name: str, cut: Cut, masked: exp.Expression, ctx: CompileContext
) -> tuple[list[ColumnDef], CutSQL]:
    """A natural-breaks cut: the exact value a pre-pass found, as a literal.

    While compiling the pre-pass itself, an unresolved cut becomes a placeholder column (so
    that what depends on it can be told apart) and a sample column of the in-scope values,
    which the pre-pass summarises; see :mod:`fenji.engine.prepass`."""
    if cut.resolved:
        found = cut.break_value
        # No such class in the population (fewer distinct values than classes, or none at
        # all): like a percentile of an empty population, the cut is NULL and nothing meets it.
        return [], CutSQL(num(found) if found is not None else exp.Null())
    if not ctx.prepass:
        raise CompileError(
            f"dimension '{dim}': the natural-breaks cut {{natural_breaks: {cut.classes}, "
            f"class: {cut.class_}}} takes its value from the data; resolve the policy over "
            "the data first (fenji.engine.prepass.resolve_natural_breaks)"
        )
    sample = f"{name}_sample"
    ctx.samples.append(BreakSample(cut, sample, name))
    return [coldef(sample, masked), coldef(name, exp.Null())], CutSQL(col(name))


def label_title(dim: str, label: str, ctx: CompileContext) -> str:
    spec = ctx.policy.dimensions[dim]
    info = spec.labels.get(label)
    if info is not None and info.title is not None:
        return info.title.get(ctx.lang)
    return label


def finish(
    dim: str,
    spec: DimensionBase,
    ctx: CompileContext,
    *,
    label: exp.Expression,
    why: exp.Expression | None,
    score: exp.Expression | None = None,
    next_label: exp.Expression | None = None,
    gap: exp.Expression | None = None,
    in_scope: exp.Expression | None = None,
) -> list[ColumnDef]:
    """Final columns of a dimension: label (forced rules first, then population), score,
    next label, gap and explanation."""
    zh = ctx.lang == "zh"
    forced: list[tuple[exp.Expression, exp.Expression]] = []
    forced_why: list[tuple[exp.Expression, exp.Expression]] = []
    for rule in spec.first:
        cond = condition(rule.when, ctx)
        forced.append((cond, string(rule.label)))
        reason = rule.title.get(ctx.lang) if rule.title else rule.when
        forced_why.append(
            (
                cond.copy(),
                concat(
                    f"{rule.label}: ",
                    f"满足前置规则 {quote(reason)}" if zh else f"forced by rule {quote(reason)}",
                ),
            )
        )
    if spec.population:
        outside = string(spec.outside) if spec.outside is not None else exp.Null()
        pop = condition(spec.population, ctx)
        forced.append((not_(pop), outside))
        forced_why.append(
            (
                not_(pop.copy()),
                concat(
                    f"{spec.outside or ''}{': ' if spec.outside else ''}",
                    f"不在评估范围 {quote(spec.population)}"
                    if zh
                    else f"outside the population {quote(spec.population)}",
                ),
            )
        )
    defs = [coldef(dim, case(forced, label))]
    if score is not None:
        scored = case([(c.copy(), exp.Null()) for c, _ in forced], score) if forced else score
        defs.append(coldef(f"{dim}.score", scored))
    if next_label is not None:
        nl = case([(c.copy(), exp.Null()) for c, _ in forced], next_label) if forced else next_label
        defs.append(coldef(f"{dim}.next", nl, explain_only=True))
    if gap is not None:
        g = case([(c.copy(), exp.Null()) for c, _ in forced], gap) if forced else gap
        defs.append(coldef(f"{dim}.gap", g, explain_only=True))
    if why is not None:
        defs.append(coldef(f"{dim}.why", case(forced_why, why), explain_only=True))
    del in_scope
    return defs


def show(value: exp.Expression, unit: str, ctx: CompileContext) -> exp.Expression:
    return fmt(value, unit, ctx.lang)
