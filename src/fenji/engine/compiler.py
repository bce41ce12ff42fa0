"""Assemble a policy into one dialect-neutral SQL query.

The query is a stack of CTEs: layer 0 joins the entities with their attributes and per-table
aggregates; each further layer adds the columns whose inputs exist below it. Window functions
(population statistics) are placed above the policy's population filter, so "the median of
active customers" is taken over exactly the rows being graded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlglot import exp

from fenji.engine.context import POPULATION, ColumnDef, CompileContext, CompileError, col
from fenji.engine.dialects import DUCKDB, EngineDialect
from fenji.engine.methods import compile_dimension
from fenji.engine.methods.common import coldef, condition
from fenji.engine.metrics import base_query, derived_columns
from fenji.policy.models import Policy


@dataclass(frozen=True)
class OutputColumn:
    name: str
    kind: str  # key, label, score, next, gap, why, metric
    dimension: str | None = None


@dataclass
class CompiledPolicy:
    """The compiled query and a description of its output columns."""

    policy: Policy
    as_of: date
    query: exp.Query
    columns: list[OutputColumn]
    dialect: EngineDialect
    units: dict[str, str] = field(default_factory=dict)
    #: The query's text, made once: generating it takes longer than compiling for a large
    #: policy, and a caller that compiles beforehand makes it then (the query is not changed
    #: after compiling).
    _text: str | None = field(default=None, init=False, repr=False, compare=False)

    def sql(self, pretty: bool = False) -> str:
        if pretty:
            return self.dialect.sql(self.query, pretty=True)
        if self._text is None:
            self._text = self.dialect.sql(self.query)
        return self._text


def _layers(
    provided: list[str], defs: list[ColumnDef], population: ColumnDef | None
) -> dict[str, int]:
    by_name = {d.name: d for d in defs}
    if population is not None:
        by_name[population.name] = population
    layer: dict[str, int] = dict.fromkeys(provided, 0)
    pop_layer: int | None = None
    visiting: set[str] = set()

    def place(name: str) -> int:
        nonlocal pop_layer
        if name in layer:
            return layer[name]
        if name not in by_name:
            raise CompileError(f"'{name}' is used but not defined")
        if name in visiting:
            raise CompileError(f"circular definition involving '{name}'")
        visiting.add(name)
        d = by_name[name]
        level = 1 + max((place(dep) for dep in d.deps), default=0)
        if d.window and population is not None and name != POPULATION:
            if pop_layer is None:
                pop_layer = place(POPULATION)
            level = max(level, pop_layer + 1)
        visiting.discard(name)
        layer[name] = level
        return level

    if population is not None:
        for dep in population.deps:
            d = by_name.get(dep)
            if d is not None and d.window:
                raise CompileError(
                    f"the policy population uses '{dep}', which depends on the population itself"
                )
        pop_layer = place(POPULATION)
    for d in defs:
        place(d.name)
    return layer


@dataclass
class PolicyColumns:
    """Every column a policy defines above layer 0, before they are stacked into layers."""

    ctx: CompileContext
    base: exp.Select
    provided: list[str]
    defs: list[ColumnDef]
    population: ColumnDef | None
    outputs: list[OutputColumn]


def compile_columns(
    ctx: CompileContext, tables: Mapping[str, set[str]], *, include_metrics: bool = False
) -> PolicyColumns:
    """Layer 0 and the column definitions of every metric and dimension of ``ctx.policy``,
    with the output columns a full evaluation selects."""
    policy = ctx.policy
    base, provided = base_query(ctx, tables)
    defs = derived_columns(ctx)
    population = (
        coldef(POPULATION, condition(policy.population, ctx)) if policy.population else None
    )
    outputs: list[OutputColumn] = [OutputColumn(k, "key") for k in ctx.key]
    for dim, spec in policy.dimensions.items():
        dim_defs = compile_dimension(dim, spec, ctx)
        defs += dim_defs
        names = {d.name for d in dim_defs}
        outputs.append(OutputColumn(dim, "label", dim))
        if f"{dim}.score" in names:
            outputs.append(OutputColumn(f"{dim}.score", "score", dim))
        if ctx.explain:
            for part in ("next", "gap", "why"):
                if f"{dim}.{part}" in names:
                    outputs.append(OutputColumn(f"{dim}.{part}", part, dim))
    if include_metrics or ctx.explain:
        outputs += [OutputColumn(m, "metric") for m in policy.metrics]
    elif policy.summary.revenue:
        # The revenue metric rides along so that summaries need no second pass over facts.
        outputs.append(OutputColumn(policy.summary.revenue, "metric"))
    return PolicyColumns(ctx, base, provided, defs, population, outputs)


def stack_layers(
    base: exp.Select, provided: list[str], defs: list[ColumnDef], population: ColumnDef | None
) -> tuple[list[tuple[str, exp.Query]], str]:
    """The CTEs ``l0`` (``base``) to ``lN``, each adding the columns whose inputs are below it
    and the population filter applied right above the population column; returns them and the
    name of the top layer."""
    layer = _layers(provided, defs, population)
    top = max(
        [layer[d.name] for d in defs] + [layer.get(POPULATION, 0) + (1 if population else 0)] + [0]
    )
    ctes: list[tuple[str, exp.Query]] = [("l0", base)]
    all_defs = defs + ([population] if population is not None else [])
    pop_level = layer.get(POPULATION)
    for k in range(1, top + 1):
        # Each layer is built in place (``copy=False``): SQLGlot's builders copy the whole
        # query by default, which made adding n columns cost n copies (most of a compile).
        # Every column's expression is still copied once, by ``alias_``.
        q: exp.Select = exp.select(exp.Star()).from_(f"l{k - 1}")
        for d in all_defs:
            if layer[d.name] == k:
                q.select(exp.alias_(d.expr, exp.to_identifier(d.name, quoted=True)), copy=False)
        if pop_level is not None and k == pop_level + 1:
            q.where(col(POPULATION), copy=False)
        ctes.append((f"l{k}", q))
    return ctes, f"l{top}"


def with_ctes(query: exp.Query, ctes: list[tuple[str, exp.Query]]) -> exp.Query:
    """A copy of ``query`` with (copies of) the layers as its WITH clause; neither ``query``
    nor the layers change, so the same layers can head several queries."""
    out = query.copy()
    for name, q in ctes:
        out.with_(name, as_=q.copy(), copy=False)
    return out


def compile_policy(
    policy: Policy,
    as_of: date,
    tables: Mapping[str, set[str]],
    *,
    lang: str = "zh",
    explain: bool = False,
    dialect: EngineDialect = DUCKDB,
    include_metrics: bool = False,
) -> CompiledPolicy:
    """Compile ``policy`` at ``as_of`` over tables with the given column names.

    A policy with natural-breaks cuts must first be resolved by
    :func:`fenji.engine.prepass.resolve_natural_breaks`: their values come from the data."""
    ctx = CompileContext(
        policy=policy,
        as_of=as_of,
        lang=lang,
        explain=explain,
        dialect=dialect,
        key=policy.key_columns,
    )
    parts = compile_columns(ctx, tables, include_metrics=include_metrics)
    outputs = parts.outputs
    wanted = {o.name for o in outputs}
    defs = [d for d in parts.defs if explain or not d.explain_only or d.name in wanted]
    ctes, top = stack_layers(parts.base, parts.provided, defs, parts.population)
    final: exp.Query = exp.select(*[col(o.name) for o in outputs]).from_(top)
    final = with_ctes(final.order_by(*[col(k) for k in ctx.key]), ctes)
    return CompiledPolicy(policy, as_of, final, outputs, dialect, dict(ctx.units))


__all__ = [
    "CompileError",
    "CompiledPolicy",
    "OutputColumn",
    "PolicyColumns",
    "compile_columns",
    "compile_policy",
    "stack_layers",
    "with_ctes",
]
