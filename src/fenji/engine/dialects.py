"""Where SQL engines differ, in one small table per engine.

The compiler builds dialect-neutral SQLGlot expressions; the few constructs whose spelling or
availability differs between engines are built here. An engine that cannot do something raises
:class:`UnsupportedFeature` naming it — it never silently computes something else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from sqlglot import exp


class UnsupportedFeature(NotImplementedError):
    """The chosen engine cannot run this part of a policy."""


def _duckdb_percentile(value: exp.Expression, fraction: Decimal) -> exp.Expression:
    return exp.Anonymous(
        this="QUANTILE_CONT", expressions=[value, exp.Literal.number(str(fraction))]
    )


def _spark_percentile(value: exp.Expression, fraction: Decimal) -> exp.Expression:
    return exp.Anonymous(this="PERCENTILE", expressions=[value, exp.Literal.number(str(fraction))])


@dataclass(frozen=True)
class EngineDialect:
    """The spelling of engine-specific constructs for one SQL engine."""

    name: str
    percentile: Callable[[exp.Expression, Decimal], exp.Expression]
    unsupported: frozenset[str] = field(default_factory=frozenset)

    def require(self, feature: str) -> None:
        if feature in self.unsupported:
            raise UnsupportedFeature(f"{feature} is not supported on {self.name}")

    def sql(self, expression: exp.Expr, pretty: bool = False) -> str:
        return expression.sql(dialect=self.name, pretty=pretty)


DUCKDB = EngineDialect(name="duckdb", percentile=_duckdb_percentile)
SPARK = EngineDialect(name="spark", percentile=_spark_percentile)

DIALECTS: dict[str, EngineDialect] = {d.name: d for d in (DUCKDB, SPARK)}
