"""Evaluate a policy: compile, run on DuckDB, explain, summarise, write.

This is the engine's entry point; :mod:`fenji.api` adds readers for files and DataFrames on
top. The whole evaluation is one set-based query — no per-customer Python loop — so the same
compiled policy can run on another SQL engine unchanged. The result stays in the engine as a
table until it is asked for: writing it to Parquet or CSV, and summarising it, happen in
DuckDB without a round trip through Python objects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
from sqlglot import exp

from fenji.engine.compiler import CompiledPolicy, compile_policy
from fenji.engine.context import col
from fenji.engine.prepass import resolve_natural_breaks
from fenji.engine.runner import locked_connection
from fenji.engine.summary import Summary, summarize
from fenji.policy.dimensions import ClustersDimension
from fenji.policy.models import Policy

if TYPE_CHECKING:
    import pyarrow as pa

    from fenji.engine.clv.models import FittedModels

RESULT_TABLE = "__fenji_result"


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


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class Evaluation:
    """The result of evaluating a policy: labels, explanations on demand, and a summary."""

    policy: Policy
    as_of: date
    lang: str
    compiled: CompiledPolicy
    _con: duckdb.DuckDBPyConnection = field(repr=False)
    _columns: Mapping[str, set[str]] = field(repr=False)
    _explained: CompiledPolicy | None = field(default=None, repr=False)
    _table: pa.Table | None = field(default=None, repr=False)
    _verify: Callable[[], None] | None = field(default=None, repr=False)
    #: Lifetime-value models fitted for the policy's model metrics, by prediction table
    #: (``__fenji_model_<source>_<unit>``): parameters, standard errors, fit figures.
    models: dict[str, FittedModels] = field(default_factory=dict)

    def model_parameters(self) -> dict[str, Any]:
        """The fitted models as plain data, to keep with the evaluation run."""
        return {table: fitted.as_dict() for table, fitted in self.models.items()}

    def verified(self) -> Evaluation:
        """Wait for the input checks still running in the engine; raise if one failed.

        Every way of looking at the result goes through here first, so a result computed from
        bad input can never be shown or written."""
        if self._verify is not None:
            verify, self._verify = self._verify, None
            verify()
        return self

    @property
    def table(self) -> pa.Table:
        """The labels as an Arrow table, one row per customer (or customer and line)."""
        if self._table is None:
            self.verified()
            self._table = self._con.table(RESULT_TABLE).to_arrow_table()
        return self._table

    @property
    def labels(self) -> Any:
        """The labels as a pandas DataFrame."""
        return self.table.to_pandas()

    @property
    def num_rows(self) -> int:
        self.verified()
        row = self._con.execute(f"SELECT COUNT(*) FROM {_q(RESULT_TABLE)}").fetchone()
        return int(row[0]) if row else 0

    def write(self, path: Path) -> None:
        """Write the labels to ``.parquet`` or ``.csv`` from the engine itself (the path must
        have been allowed when the data was opened), or to any format through Arrow."""
        self.verified()
        suffix = path.suffix.lower()
        fmt = {".parquet": "PARQUET", ".csv": "CSV"}.get(suffix)
        if fmt is None:
            raise ValueError(f"cannot write {path.name}: use .parquet or .csv here")
        target = "'" + str(path.resolve()).replace("'", "''") + "'"
        options = "FORMAT PARQUET" if fmt == "PARQUET" else "FORMAT CSV, HEADER true"
        self._con.execute(f"COPY {_q(RESULT_TABLE)} TO {target} ({options})")

    def explain(
        self, customer_id: str, business_line: str | None = None
    ) -> list[DimensionExplanation]:
        """Explanations of every dimension for one customer (and business line)."""
        self.verified()
        if self._explained is None:
            self._explained = compile_policy(
                self.policy, self.as_of, self._columns, lang=self.lang, explain=True
            )
        compiled = self._explained
        cond: exp.Expr = exp.EQ(this=col("customer_id"), expression=exp.Placeholder())
        params: list[Any] = [customer_id]
        if business_line is not None and "business_line" in self.policy.key_columns:
            cond = exp.and_(cond, exp.EQ(this=col("business_line"), expression=exp.Placeholder()))
            params.append(business_line)
        query = exp.select("*").from_(compiled.query.subquery("r")).where(cond)
        rows = self._con.execute(compiled.dialect.sql(query), params).fetchall()
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
        self.verified()
        return summarize(self.policy, self.as_of.isoformat(), self._con, RESULT_TABLE, self.lang)

    def close(self) -> None:
        try:
            self.verified()  # the checks use the connection: let them finish first
        finally:
            self._con.close()


def evaluate_connection(
    policy: Policy,
    con: duckdb.DuckDBPyConnection,
    columns: Mapping[str, set[str]],
    as_of: date,
    *,
    lang: str = "zh",
    explain: bool = False,
    include_metrics: bool = False,
    verify: Callable[[], None] | None = None,
    compiled: CompiledPolicy | None = None,
) -> Evaluation:
    """Evaluate ``policy`` over the tables (or views) of a locked connection.

    ``verify`` waits for input checks running alongside; the result is not observable until
    it has returned. ``compiled`` is the policy compiled beforehand with the same as-of date,
    columns and options (a caller may compile while it reads the data); it is used unless a
    natural-breaks pre-pass changed the policy, which needs the data."""
    models: dict[str, FittedModels] = {}
    if any(m.kind == "model" for m in policy.metrics.values()):
        # Model metrics come from models fitted on the data: a pre-pass fits them and
        # registers their predictions as tables (the compiled query joins them by name, so a
        # policy compiled beforehand stays valid). SciPy is loaded only here.
        from fenji.engine.clv.prepass import resolve_models

        def register(name: str, table: pa.Table) -> None:
            con.register(name, table)

        columns, models = resolve_models(
            policy, as_of, columns, lambda sql: con.sql(sql).to_arrow_table(), register
        )
    if any(isinstance(d, ClustersDimension) for d in policy.dimensions.values()):
        # Clusters are fitted by k-means on the data: a pre-pass fits them and registers the
        # assignments as tables the compiled query joins by name. scikit-learn loads only here.
        from fenji.engine.clusters import resolve_clusters

        def register_clusters(name: str, table: pa.Table) -> None:
            con.register(name, table)

        columns, _ = resolve_clusters(
            policy, as_of, columns, lambda sql: con.sql(sql).to_arrow_table(), register_clusters
        )
    # Natural-breaks cut points come from the data: a pre-pass fixes them before compiling.
    resolved = resolve_natural_breaks(
        policy, as_of, columns, lambda sql: con.execute(sql).fetchall()
    )
    if compiled is None or resolved is not policy:
        compiled = compile_policy(
            resolved, as_of, columns, lang=lang, explain=explain, include_metrics=include_metrics
        )
    policy = resolved
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_q(RESULT_TABLE)} AS {compiled.sql()}")
    result = Evaluation(
        policy, as_of, lang, compiled, con, dict(columns), _verify=verify, models=models
    )
    return result.verified()


def evaluate_tables(
    policy: Policy,
    tables: Mapping[str, pa.Table],
    as_of: date,
    *,
    lang: str = "zh",
    explain: bool = False,
    include_metrics: bool = False,
    threads: int | None = None,
    compiled: CompiledPolicy | None = None,
) -> Evaluation:
    """Evaluate ``policy`` at ``as_of`` over Arrow ``tables`` keyed by source name
    (``compiled``: see :func:`evaluate_connection`)."""
    con = locked_connection(tables, threads=threads)
    columns = {k: set(v.column_names) for k, v in tables.items()}
    try:
        return evaluate_connection(
            policy,
            con,
            columns,
            as_of,
            lang=lang,
            explain=explain,
            include_metrics=include_metrics,
            compiled=compiled,
        )
    except BaseException:
        con.close()
        raise
