"""SQL-like expressions in policies, parsed by SQLGlot and checked against an allow-list.

Conditions (``annual_sales >= 100万 AND overdue_days_max <= 90``) and derived metrics are written
as SQL expressions because every analyst reads SQL. They are *parsed* into a SQLGlot tree and every
node is checked against an allow-list of node types and functions; names must be known metrics,
attributes, dimensions or source columns. Nothing is ever passed to ``eval`` or pasted into SQL as
text: the engine compiles the checked tree, so a policy can never read files, call arbitrary
functions or run statements.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from fenji.policy.numbers import MAGNITUDES

Scope = Literal["row", "entity"]

#: Longest accepted expression text and deepest nesting: far above any real policy, far below
#: what could exhaust the parser's recursion.
MAX_LENGTH = 4000
MAX_DEPTH = 40

#: Node types an expression may contain, whatever the scope.
_ALLOWED_NODES: tuple[type[exp.Expression], ...] = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Paren,
    exp.Neg,
    exp.Not,
    exp.And,
    exp.Or,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.Is,
    exp.In,
    exp.Between,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.Mod,
    exp.Case,
    exp.If,
    exp.Least,
    exp.Greatest,
    exp.Coalesce,
    exp.Abs,
    exp.Round,
    exp.Nullif,
    exp.Year,
    exp.Month,
    exp.Like,
    exp.Anonymous,
)


@dataclass(frozen=True)
class FunctionSpec:
    """A fenji function in expressions: arity, scope, and whether it reads the population."""

    min_args: int
    max_args: int
    scopes: tuple[Scope, ...]
    window: bool = False
    doc: str = ""


#: Functions beyond plain SQL (LEAST, GREATEST, COALESCE, ABS, ROUND, NULLIF, YEAR, MONTH).
FUNCTIONS: dict[str, FunctionSpec] = {
    "days_since": FunctionSpec(1, 1, ("row", "entity"), doc="days from a date to the as-of date"),
    "month_of": FunctionSpec(1, 1, ("row",), doc="first day of the date's calendar month"),
    "growth": FunctionSpec(2, 2, ("entity",), doc="(a - b) / b; NULL when b <= 0"),
    "safe_div": FunctionSpec(2, 2, ("row", "entity"), doc="a / b; NULL when b = 0"),
    "share": FunctionSpec(1, 1, ("entity",), True, "x / sum of x over the population"),
    "pct_rank": FunctionSpec(1, 1, ("entity",), True, "percent rank in [0, 1], 1 = highest"),
    "rank_desc": FunctionSpec(1, 1, ("entity",), True, "rank, 1 = highest value"),
    "tile": FunctionSpec(2, 2, ("entity",), True, "tile(n, x): NTILE(n), 1 = highest tile"),
    "pop_mean": FunctionSpec(1, 1, ("entity",), True, "mean of x over the population"),
    "pop_median": FunctionSpec(1, 1, ("entity",), True, "median of x over the population"),
    "pop_sum": FunctionSpec(1, 1, ("entity",), True, "sum of x over the population"),
    "pop_count": FunctionSpec(1, 1, ("entity",), True, "non-null values of x in the population"),
}

_MAGNITUDE_LITERAL = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(百万|万元|亿元|万|亿)")


@dataclass(frozen=True)
class ExpressionProblem:
    """One reason an expression is rejected, with its character position when known."""

    code: str
    message: str
    hint: str
    position: int | None = None


@dataclass(frozen=True)
class ParsedExpression:
    """A checked expression: the original text, the SQLGlot tree and what it refers to."""

    text: str
    tree: exp.Expression
    names: frozenset[str]
    functions: frozenset[str] = field(default_factory=frozenset)
    uses_population: bool = False
    divides: bool = False


class ExpressionError(ValueError):
    """An expression that cannot be used; ``problems`` lists every reason found."""

    def __init__(self, text: str, problems: list[ExpressionProblem]) -> None:
        self.text = text
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems))


def _outside_quotes(text: str) -> list[tuple[int, int]]:
    """Spans of ``text`` outside single-quoted strings ('' is an escaped quote)."""
    spans: list[tuple[int, int]] = []
    start = 0
    i = 0
    in_str = False
    while i < len(text):
        ch = text[i]
        if ch == "'":
            if in_str and i + 1 < len(text) and text[i + 1] == "'":
                i += 2
                continue
            if not in_str:
                spans.append((start, i))
            else:
                start = i + 1
            in_str = not in_str
        i += 1
    if not in_str:
        spans.append((start, len(text)))
    return spans


def _expand_magnitudes(text: str) -> str:
    """Turn ``100万`` into ``1000000`` outside string literals, so amounts read naturally."""
    out: list[str] = []
    last = 0
    for start, end in _outside_quotes(text):
        out.append(text[last:start])
        segment = text[start:end]

        def repl(m: re.Match[str]) -> str:
            value = Decimal(m.group(1)) * MAGNITUDES[m.group(2)]
            return format(value.normalize(), "f")

        out.append(_MAGNITUDE_LITERAL.sub(repl, segment))
        last = end
    out.append(text[last:])
    return "".join(out)


def _precheck(text: str) -> list[ExpressionProblem]:
    problems: list[ExpressionProblem] = []
    if not text.strip():
        return [ExpressionProblem("expr.empty", "the expression is empty", "write a condition")]
    if len(text) > MAX_LENGTH:
        problems.append(
            ExpressionProblem(
                "expr.too_long",
                f"the expression has {len(text)} characters, more than {MAX_LENGTH}",
                "split it into derived metrics",
            )
        )
        return problems
    depth = 0
    deepest = 0
    for start, end in _outside_quotes(text):
        for pos in range(start, end):
            ch = text[pos]
            if ch == "(":
                depth += 1
                deepest = max(deepest, depth)
            elif ch == ")":
                depth -= 1
            elif ch == ";":
                problems.append(
                    ExpressionProblem(
                        "expr.statement",
                        "';' is not allowed: an expression is one condition or formula, "
                        "never a statement",
                        "remove the ';' and anything after it",
                        pos,
                    )
                )
                return problems
    if deepest > MAX_DEPTH:
        problems.append(
            ExpressionProblem(
                "expr.too_deep",
                f"parentheses are nested {deepest} deep, more than {MAX_DEPTH}",
                "simplify the expression or split it into derived metrics",
            )
        )
    return problems


def parse_expression(text: str, scope: Scope = "entity") -> ParsedExpression:
    """Parse and check ``text``; raise :class:`ExpressionError` listing every problem."""
    text = str(text)
    problems = _precheck(text)
    if problems:
        raise ExpressionError(text, problems)
    source = _expand_magnitudes(text)
    try:
        statements = sqlglot.parse(source, read="duckdb")
    except (ParseError, TokenError) as err:
        position = None
        detail = str(err).splitlines()[0]
        errors = getattr(err, "errors", None)
        if errors:
            first = errors[0]
            detail = str(first.get("description") or detail)
            col = first.get("col")
            position = int(col) - 1 if isinstance(col, int) else None
        raise ExpressionError(
            text,
            [
                ExpressionProblem(
                    "expr.syntax",
                    f"cannot read the expression: {detail}",
                    "check quotes, parentheses and operators; strings go in single quotes",
                    position,
                )
            ],
        ) from None
    except RecursionError:
        raise ExpressionError(
            text,
            [ExpressionProblem("expr.too_deep", "the expression is nested too deeply", "simplify")],
        ) from None
    trees = [s for s in statements if s is not None]
    if len(trees) != 1:
        raise ExpressionError(
            text,
            [ExpressionProblem("expr.statement", "write exactly one expression", "remove extras")],
        )
    tree = trees[0]
    if not isinstance(tree, exp.Expression):
        raise ExpressionError(text, [_disallowed(tree)])
    names: set[str] = set()
    functions: set[str] = set()
    uses_population = False
    divides = False
    for node in tree.walk():
        if not isinstance(node, _ALLOWED_NODES):
            problems.append(_disallowed(node))
            continue
        if isinstance(node, exp.Column):
            if node.table or not isinstance(node.this, exp.Identifier):
                problems.append(
                    ExpressionProblem(
                        "expr.qualified_name",
                        f"'{node.sql()}' is not allowed: refer to metrics by their plain name",
                        "drop the table prefix",
                    )
                )
            else:
                names.add(node.name)
        elif isinstance(node, exp.In):
            if node.args.get("query") is not None or node.args.get("unnest") is not None:
                problems.append(_disallowed(node.args.get("query") or node))
        elif isinstance(node, exp.Anonymous):
            fname = str(node.name).lower()
            spec = FUNCTIONS.get(fname)
            if spec is None:
                problems.append(
                    ExpressionProblem(
                        "expr.unknown_function",
                        f"function '{node.name}' is not allowed",
                        "use one of: LEAST, GREATEST, COALESCE, ABS, ROUND, NULLIF, YEAR, MONTH, "
                        + ", ".join(sorted(FUNCTIONS)),
                    )
                )
                continue
            if scope not in spec.scopes:
                problems.append(
                    ExpressionProblem(
                        "expr.function_scope",
                        f"function '{fname}' cannot be used here",
                        "population functions belong in metrics over customers, "
                        "not in filters over fact rows",
                    )
                )
            nargs = len(node.expressions)
            if not spec.min_args <= nargs <= spec.max_args:
                problems.append(
                    ExpressionProblem(
                        "expr.arity",
                        f"function '{fname}' takes {spec.min_args}"
                        + (f" to {spec.max_args}" if spec.max_args != spec.min_args else "")
                        + f" argument(s), got {nargs}",
                        spec.doc,
                    )
                )
            functions.add(fname)
            uses_population = uses_population or spec.window
            if fname in ("growth", "safe_div"):
                divides = True
        elif isinstance(node, exp.Div):
            divides = True
    if problems:
        unique = list({(p.code, p.message): p for p in problems}.values())
        raise ExpressionError(text, unique)
    return ParsedExpression(
        text=text,
        tree=tree,
        names=frozenset(names),
        functions=frozenset(functions),
        uses_population=uses_population,
        divides=divides,
    )


def _disallowed(node: exp.Expr) -> ExpressionProblem:
    kind = type(node).__name__
    if isinstance(node, exp.Query | exp.Subquery):
        return ExpressionProblem(
            "expr.subquery", "subqueries are not allowed", "use metrics instead of queries"
        )
    if isinstance(node, exp.Func):
        return ExpressionProblem(
            "expr.unknown_function",
            f"function '{node.sql(dialect='duckdb').split('(')[0]}' is not allowed",
            "use one of: LEAST, GREATEST, COALESCE, ABS, ROUND, NULLIF, YEAR, MONTH, "
            + ", ".join(sorted(FUNCTIONS)),
        )
    return ExpressionProblem(
        "expr.not_allowed",
        f"'{node.sql(dialect='duckdb')[:60]}' ({kind}) is not allowed in a policy expression",
        "use comparisons, AND/OR/NOT, arithmetic, CASE, IN and the listed functions",
    )
