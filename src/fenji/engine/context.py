"""What every compiler step shares: the policy, the as-of date, the language, column helpers.

The compiled query is a stack of layers; each layer adds columns computed from the columns of
the layers below. A :class:`ColumnDef` is one such column with the names it depends on; the
assembler (:mod:`fenji.engine.compiler`) places it in the lowest layer its dependencies allow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlglot import exp

from fenji.engine.dialects import DUCKDB, EngineDialect
from fenji.policy.dimensions import Cut
from fenji.policy.models import Policy

#: Marker column name: True for the rows inside the policy's population.
POPULATION = "__population"


def col(name: str) -> exp.Column:
    """A reference to a column of the layer below, always quoted (names may contain '.')."""
    return exp.Column(this=exp.Identifier(this=name, quoted=True))


def num(value: Decimal | int | str) -> exp.Expression:
    """An exact numeric literal; decimals stay DECIMAL in DuckDB and Spark."""
    text = format(Decimal(value), "f") if not isinstance(value, str) else value
    lit = exp.Literal.number(text.lstrip("-"))
    return exp.Neg(this=lit) if text.startswith("-") else lit


def string(value: str) -> exp.Literal:
    return exp.Literal.string(value)


def date_lit(day: date) -> exp.Expression:
    return exp.Cast(this=exp.Literal.string(day.isoformat()), to=exp.DataType.build("date"))


def case(
    whens: Sequence[tuple[exp.Expression, exp.Expression]],
    default: exp.Expression | None = None,
) -> exp.Expression:
    """CASE WHEN ... THEN ... [ELSE ...] END; a lone default is returned as is."""
    if not whens:
        return default if default is not None else exp.Null()
    node = exp.Case(ifs=[exp.If(this=c, true=v) for c, v in whens])
    if default is not None:
        node.set("default", default)
    return node


def and_(*parts: exp.Expression | None) -> exp.Expression:
    items = [p for p in parts if p is not None]
    if not items:
        return exp.true()
    out = items[0]
    for p in items[1:]:
        out = exp.And(this=exp.Paren(this=out) if isinstance(out, exp.Or) else out, expression=p)
    return out


def or_(*parts: exp.Expression) -> exp.Expression:
    out = parts[0]
    for p in parts[1:]:
        out = exp.Or(this=out, expression=p)
    return exp.Paren(this=out)


def not_(e: exp.Expression) -> exp.Expression:
    return exp.Not(this=exp.Paren(this=e))


def coalesce_false(e: exp.Expression) -> exp.Expression:
    """A condition where NULL counts as false (SQL would otherwise drop it from CASE/NOT)."""
    return exp.Coalesce(this=exp.Paren(this=e), expressions=[exp.false()])


class CompileError(ValueError):
    """The policy cannot be compiled against the given tables."""


@dataclass(frozen=True)
class ColumnDef:
    """A computed column: its name, its expression over columns below, and their names."""

    name: str
    expr: exp.Expression
    deps: frozenset[str]
    window: bool = False
    explain_only: bool = False


@dataclass(frozen=True)
class BreakSample:
    """A natural-breaks cut met while compiling a pre-pass: the cut, the column holding the
    values its classes are found over (NULL outside its population), and the placeholder
    column standing for its value until the pre-pass has found it."""

    cut: Cut
    sample: str
    placeholder: str


@dataclass
class CompileContext:
    """Inputs of one compilation and the facts learnt about metrics on the way.

    With ``prepass`` set, natural-breaks cuts not yet resolved compile to placeholders and are
    listed in ``samples`` (see :mod:`fenji.engine.prepass`); without it they are an error."""

    policy: Policy
    as_of: date
    lang: str = "zh"
    explain: bool = False
    dialect: EngineDialect = DUCKDB
    units: dict[str, str] = field(default_factory=dict)
    window_names: set[str] = field(default_factory=set)
    key: tuple[str, ...] = ("customer_id",)
    prepass: bool = False
    samples: list[BreakSample] = field(default_factory=list)

    def title(self, name: str) -> str:
        """Display name of a metric or dimension in the context's language."""
        p = self.policy
        t = None
        if name in p.metrics:
            t = p.metrics[name].title
        elif name in p.dimensions:
            t = p.dimensions[name].title
        return t.get(self.lang) if t is not None else name
