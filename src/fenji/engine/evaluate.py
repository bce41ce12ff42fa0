"""Evaluate a policy over Arrow tables: compile, run on DuckDB, explain, summarise.

This is the engine's entry point; :mod:`fenji.api` adds readers for files and DataFrames on
top. The whole evaluation is one set-based query — no per-customer Python loop — so the same
compiled policy can run on another SQL engine unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb
import pyarrow as pa
from sqlglot import exp

from fenji.engine.compiler import CompiledPolicy, compile_policy
from fenji.engine.context import col
from fenji.engine.runner import locked_connection, run_sql
from fenji.engine.summary import Summary, summarize
from fenji.policy.models import Policy


@dataclass(frozen=True)
class DimensionExplanation:
    """Why one customer got one label: label, score, next label, gap and the sentence."""

    dimension: str
    title: str
    label: str | None
    score: Any = None
    next_label: str | None = None
    gap: Any = None
    why: str | None = None
    strategy: str | None = None

    def __str__(self) -> str:
        return f"{self.title}: {self.why or self.label}"


@dataclass
class Evaluation:
    """The result of evaluating a policy: labels, explanations on demand, and a summary."""

    policy: Policy
    as_of: date
    table: pa.Table
    lang: str
    _tables: Mapping[str, pa.Table] = field(repr=False)
    _con: duckdb.DuckDBPyConnection | None = field(default=None, repr=False)
    _explained: CompiledPolicy | None = field(default=None, repr=False)

    @property
    def labels(self) -> Any:
        """The labels as a pandas DataFrame (one row per customer or customer and line)."""
        return self.table.to_pandas()

    def _explain_query(self) -> tuple[duckdb.DuckDBPyConnection, CompiledPolicy]:
        if self._con is None or self._explained is None:
            tables = {k: set(v.column_names) for k, v in self._tables.items()}
            self._explained = compile_policy(
                self.policy, self.as_of, tables, lang=self.lang, explain=True
            )
            self._con = locked_connection(self._tables)
        return self._con, self._explained

    def explain(
        self, customer_id: str, business_line: str | None = None
    ) -> list[DimensionExplanation]:
        """Explanations of every dimension for one customer (and business line)."""
        con, compiled = self._explain_query()
        cond: exp.Expr = exp.EQ(this=col("customer_id"), expression=exp.Placeholder())
        params: list[Any] = [customer_id]
        if business_line is not None and "business_line" in self.policy.key_columns:
            cond = exp.and_(cond, exp.EQ(this=col("business_line"), expression=exp.Placeholder()))
            params.append(business_line)
        query = exp.select("*").from_(compiled.query.subquery("r")).where(cond)
        sql = compiled.dialect.sql(query)
        rows = con.execute(sql, params).fetchall()
        if not rows:
            raise KeyError(f"customer {customer_id!r} is not in the evaluation")
        names = [c.name for c in compiled.columns]
        out: list[DimensionExplanation] = []
        for row in rows:
            values = dict(zip(names, row, strict=True))
            for dim, spec in self.policy.dimensions.items():
                label = values.get(dim)
                info = spec.labels.get(label) if label is not None else None
                out.append(
                    DimensionExplanation(
                        dimension=dim,
                        title=spec.title.get(self.lang) if spec.title else dim,
                        label=label,
                        score=values.get(f"{dim}.score"),
                        next_label=values.get(f"{dim}.next"),
                        gap=values.get(f"{dim}.gap"),
                        why=values.get(f"{dim}.why"),
                        strategy=info.strategy if info is not None else None,
                    )
                )
        return out

    def summary(self) -> Summary:
        """Counts, shares and revenue per label, and the Pareto figures (S8)."""
        return summarize(self.policy, self.as_of.isoformat(), self.table, self.lang)

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None


def evaluate_tables(
    policy: Policy,
    tables: Mapping[str, pa.Table],
    as_of: date,
    *,
    lang: str = "zh",
    explain: bool = False,
    include_metrics: bool = False,
    threads: int | None = None,
) -> Evaluation:
    """Evaluate ``policy`` at ``as_of`` over Arrow ``tables`` keyed by source name."""
    compiled = compile_policy(
        policy,
        as_of,
        {k: set(v.column_names) for k, v in tables.items()},
        lang=lang,
        explain=explain,
        include_metrics=include_metrics,
    )
    con = locked_connection(tables, threads=threads)
    try:
        table = run_sql(con, compiled.sql())
    finally:
        con.close()
    return Evaluation(policy=policy, as_of=as_of, table=table, lang=lang, _tables=tables)
