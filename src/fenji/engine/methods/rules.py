"""Rules: ordered first-match conditions over metrics, attributes and other labels.

The explanation names the rule that matched and the values of the names it reads, and for a
lower label it names the condition of the rule above it: what the customer would need to meet.
"""

from __future__ import annotations

from sqlglot import exp

from fenji.engine.context import ColumnDef, CompileContext, case, col, string
from fenji.engine.explain import concat, fmt, quote
from fenji.engine.methods.common import coldef, condition, finish, hidden
from fenji.policy.dimensions import Rule, RulesDimension
from fenji.policy.expressions import parse_expression


def values_text(names: list[str], ctx: CompileContext) -> list[exp.Expression | str]:
    """ "(sales_12m = 68.2万, influence = 知名品牌)" for the names a condition reads."""
    parts: list[exp.Expression | str] = []
    for i, name in enumerate(names):
        unit = ctx.units.get(name, "")
        value: exp.Expression = col(name)
        shown = (
            fmt(value, unit, ctx.lang)
            if unit
            else exp.Cast(this=value, to=exp.DataType.build("VARCHAR"))
        )
        parts += [
            ("（" if ctx.lang == "zh" else " (") if i == 0 else ", ",
            f"{ctx.title(name)} = ",
            shown,
        ]
    if parts:
        parts.append("）" if ctx.lang == "zh" else ")")
    return parts


def rules_label(rules: list[Rule], default: str | None, ctx: CompileContext) -> exp.Expression:
    whens = [(condition(r.when, ctx), string(r.label)) for r in rules]
    return case(whens, string(default) if default is not None else exp.Null())


def rules_why(rules: list[Rule], default: str | None, ctx: CompileContext) -> exp.Expression:
    zh = ctx.lang == "zh"
    whens: list[tuple[exp.Expression, exp.Expression]] = []
    for rule in rules:
        reason = rule.title.get(ctx.lang) if rule.title else rule.when
        names = sorted(parse_expression(rule.when, "entity").names)
        whens.append(
            (
                condition(rule.when, ctx),
                concat(
                    f"{rule.label}: ",
                    f"满足 {quote(reason)}" if zh else f"meets {quote(reason)}",
                    *values_text(names, ctx),
                ),
            )
        )
    all_names = sorted({n for r in rules for n in parse_expression(r.when, "entity").names})
    fallback = concat(
        f"{default}: " if default else "",
        "不满足任何规则" if zh else "meets none of the rules",
        *values_text(all_names, ctx),
    )
    return case(whens, fallback)


def rules_next(rules: list[Rule], label: exp.Expression) -> tuple[exp.Expression, exp.Expression]:
    """The label of the nearest rule above with a different label, and its condition."""
    order: list[str] = []
    conds: dict[str, str] = {}
    for r in rules:
        if r.label not in conds:
            order.append(r.label)
            conds[r.label] = r.when
    nexts: list[tuple[exp.Expression, exp.Expression]] = []
    needs: list[tuple[exp.Expression, exp.Expression]] = []
    for i in range(1, len(order)):
        is_label = exp.EQ(this=label.copy(), expression=string(order[i]))
        nexts.append((is_label, string(order[i - 1])))
        needs.append((is_label.copy(), string(conds[order[i - 1]])))
    return case(nexts), case(needs)


def compile(dim: str, spec: RulesDimension, ctx: CompileContext) -> list[ColumnDef]:
    core = hidden(dim, "core")
    defs = [coldef(core, rules_label(spec.rules, spec.default, ctx))]
    label = col(core)
    nxt, need = rules_next(spec.rules, label)
    # For rules the "gap" is the condition of the next label: there is no single number.
    return defs + finish(
        dim,
        spec,
        ctx,
        label=label,
        why=rules_why(spec.rules, spec.default, ctx),
        next_label=nxt,
        gap=need,
    )
