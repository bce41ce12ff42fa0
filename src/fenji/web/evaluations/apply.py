"""From an evaluation's labels to the rows of a run: hysteresis, overrides, database ids.

The engine gives one row per customer (or customer and line) with a column group per
dimension. A run stores one row per customer and dimension (:class:`RunResult`), with the label
that applies after two steps taken here, set-based in DuckDB over Arrow:

1. Hysteresis (per dimension, ``hysteresis: {downgrade_after: N}``): when the computed label is
   below the label held in the baseline run, the held label stays until N consecutive runs
   have computed a lower one; ``held_runs`` counts them. Upgrades apply at once.
2. Overrides: an active override replaces the label (``source = override``); the label after
   hysteresis stays in ``base_label`` so an override neither feeds nor resets the count.

``computed_label`` always keeps what the policy gave, so both are shown and every change can be
explained.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from fenji.engine.labels import label_order
from fenji.engine.summary import Summary, summarize
from fenji.policy.models import Policy as PolicyModel

#: Columns of the baseline (previous run) rows that hysteresis reads.
BASELINE_SCHEMA = pa.schema(
    [
        ("customer_id", pa.int64()),
        ("business_line_id", pa.int64()),
        ("dimension", pa.string()),
        ("base_label", pa.string()),
        ("held_runs", pa.int64()),
    ]
)
#: Active overrides: the newest one wins, one for a line before one for every line.
OVERRIDE_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("customer_id", pa.int64()),
        ("business_line_id", pa.int64()),
        ("dimension", pa.string()),
        ("label", pa.string()),
    ]
)
#: The columns written to ``evaluations_runresult``, in this order.
RESULT_COLUMNS = (
    "run_id",
    "customer_id",
    "business_line_id",
    "dimension",
    "label",
    "computed_label",
    "base_label",
    "held_runs",
    "score",
    "why",
    "next_label",
    "gap",
    "source",
    "override_id",
)


@dataclass(frozen=True)
class Applied:
    """The rows of a run, how many labels were held or overridden per dimension, and — when
    some were — the summary of the labels that apply (the engine's is of computed labels)."""

    rows: pa.Table
    held: dict[str, int]
    overridden: dict[str, int]
    summary: Summary | None = None


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _dimension_select(policy: PolicyModel, dim: str, schema: pa.Schema) -> str:
    """One dimension of the wide result as long rows, with database ids."""

    def numeric(col: str, *, text: bool) -> str:
        if col not in schema.names:
            return "NULL"
        t = schema.field(col).type
        if pa.types.is_floating(t):
            value = f"round(r.{_q(col)}, 6)"
        elif pa.types.is_decimal(t) or pa.types.is_integer(t):
            value = f"r.{_q(col)}"
        else:
            return f"CAST(r.{_q(col)} AS VARCHAR)" if text else "NULL"
        return f"CAST({value} AS VARCHAR)" if text else f"CAST({value} AS DECIMAL(24, 6))"

    line = (
        "l.id"
        if "business_line" in policy.key_columns and "business_line" in schema.names
        else "CAST(NULL AS BIGINT)"
    )
    join_line = (
        "LEFT JOIN line_ids l ON l.business_line = r.business_line" if line == "l.id" else ""
    )

    def text(col: str) -> str:
        return f"r.{_q(col)}" if col in schema.names else "NULL"

    return (
        f"SELECT k.id AS customer_id, {line} AS business_line_id, {_lit(dim)} AS dimension, "
        f"r.{_q(dim)} AS computed_label, {numeric(dim + '.score', text=False)} AS score, "
        f"COALESCE({text(dim + '.why')}, '') AS why, "
        f"COALESCE({text(dim + '.next')}, '') AS next_label, "
        f"COALESCE({numeric(dim + '.gap', text=True)}, '') AS gap "
        f"FROM result r JOIN customer_ids k ON k.customer_id = r.customer_id {join_line}"
    )


def _ranks(policy: PolicyModel) -> pa.Table:
    dims: list[str] = []
    labels: list[str] = []
    ranks: list[int] = []
    downgrade_after: list[int | None] = []
    for dim, spec in policy.dimensions.items():
        for rank, label in enumerate(label_order(spec)):
            dims.append(dim)
            labels.append(label)
            ranks.append(rank)
            downgrade_after.append(spec.hysteresis.downgrade_after if spec.hysteresis else None)
    return pa.table(
        {
            "dimension": pa.array(dims, pa.string()),
            "label": pa.array(labels, pa.string()),
            "rank": pa.array(ranks, pa.int64()),
            "downgrade_after": pa.array(downgrade_after, pa.int64()),
        }
    )


HYSTERESIS_SQL = """
    SELECT c.*, p.base_label AS p_label,
        (rp.downgrade_after IS NOT NULL AND rc.rank IS NOT NULL AND rp.rank IS NOT NULL
         AND rc.rank > rp.rank AND COALESCE(p.held_runs, 0) + 1 < rp.downgrade_after) AS held,
        COALESCE(p.held_runs, 0) + 1 AS streak
    FROM cur c
    LEFT JOIN baseline p ON p.customer_id = c.customer_id
        AND p.business_line_id IS NOT DISTINCT FROM c.business_line_id
        AND p.dimension = c.dimension
    LEFT JOIN ranks rc ON rc.dimension = c.dimension AND rc.label = c.computed_label
    LEFT JOIN ranks rp ON rp.dimension = c.dimension AND rp.label = p.base_label
"""
NO_HYSTERESIS_SQL = """
    SELECT c.*, CAST(NULL AS VARCHAR) AS p_label, false AS held, 0 AS streak FROM cur c
"""
OVERRIDES_SQL = """
    SELECT d.*, o.id AS override_id, o.label AS override_label
    FROM decided d
    LEFT JOIN overrides o ON o.customer_id = d.customer_id AND o.dimension = d.dimension
        AND (o.business_line_id IS NULL OR o.business_line_id = d.business_line_id)
    QUALIFY row_number() OVER (
        PARTITION BY d.customer_id, d.business_line_id, d.dimension
        ORDER BY (o.business_line_id IS NULL), o.id DESC
    ) = 1
"""
NO_OVERRIDES_SQL = """
    SELECT d.*, CAST(NULL AS BIGINT) AS override_id, CAST(NULL AS VARCHAR) AS override_label
    FROM decided d
"""
APPLY_SQL = """
WITH cur AS ({long}), decided AS ({decided}), overridden AS ({overridden})
SELECT
    CAST({run_id} AS BIGINT) AS run_id,
    customer_id,
    business_line_id,
    dimension,
    COALESCE(override_label, CASE WHEN held THEN p_label ELSE computed_label END) AS label,
    computed_label,
    CASE WHEN held THEN p_label ELSE computed_label END AS base_label,
    CAST(CASE WHEN held THEN streak ELSE 0 END AS INTEGER) AS held_runs,
    score,
    why,
    next_label,
    gap,
    CASE WHEN override_id IS NOT NULL THEN 'override' WHEN held THEN 'held' ELSE 'computed' END
        AS source,
    override_id
FROM overridden
-- In the order of the (run, customer) index: written in this order, its pages are filled one
-- after the other instead of all being touched at random (about twice as fast to write).
ORDER BY customer_id, business_line_id NULLS FIRST, dimension
"""


def _labelled(policy: PolicyModel, result: pa.Table) -> str:
    """The engine's wide result with each dimension's column holding the applied label."""
    line = "business_line" in policy.key_columns and "business_line" in result.column_names
    pivot = ", ".join(
        f"max(label) FILTER (WHERE dimension = {_lit(dim)}) AS {_q(dim)}"
        for dim in policy.dimensions
    )
    replaced = ", ".join(f"p.{_q(dim)} AS {_q(dim)}" for dim in policy.dimensions)
    join_line = (
        "LEFT JOIN line_ids l ON l.business_line = r.business_line "
        "LEFT JOIN pivoted p ON p.customer_id = k.id "
        "AND p.business_line_id IS NOT DISTINCT FROM l.id"
        if line
        else "LEFT JOIN pivoted p ON p.customer_id = k.id"
    )
    return (
        f"WITH pivoted AS (SELECT customer_id, business_line_id, {pivot} FROM applied "
        f"GROUP BY customer_id, business_line_id) "
        f"SELECT r.* REPLACE ({replaced}) FROM result r "
        f"JOIN customer_ids k ON k.customer_id = r.customer_id {join_line}"
    )


#: Result rows per part handed to the writer: on PostgreSQL the parts go to COPY streams side by
#: side, and the progress of a run is reported per part (a run of 50,000 customers with five
#: labels each goes in five parts).
PART_ROWS = 50_000


class RunRows:
    """The result rows of run ``run_id`` from the engine's ``result`` table, given in parts.

    :meth:`parts` gives the rows in the order of the indexes (customer, line, dimension), in
    consecutive parts of about :data:`PART_ROWS` rows: the caller hands each part to the
    writer as it comes. The first part's customers are made by a query of their own, so that
    the writer starts at once; the rest by one query, cut into parts (a query per part took
    half as long again in all). :meth:`finish` then counts what was held or overridden and,
    when some were, summarises the labels that apply. Use it as a context manager (it holds a
    DuckDB connection)."""

    def __init__(
        self,
        *,
        policy: PolicyModel,
        result: pa.Table,
        customer_ids: pa.Table,
        line_ids: pa.Table,
        run_id: int,
        baseline: pa.Table | None = None,
        overrides: pa.Table | None = None,
        as_of: str = "",
        lang: str = "zh",
        part_rows: int | None = None,
    ) -> None:
        self.policy = policy
        self.result = result
        self.customer_ids = customer_ids
        self.as_of = as_of
        self.lang = lang
        self.part_rows = max(int(PART_ROWS if part_rows is None else part_rows), 1)
        self._parts: list[pa.Table] = []
        self._con = duckdb.connect(":memory:")
        tables: Mapping[str, pa.Table] = {
            "result": result,
            "customer_ids": customer_ids,
            "line_ids": line_ids,
            "ranks": _ranks(policy),
            "baseline": baseline if baseline is not None else BASELINE_SCHEMA.empty_table(),
            "overrides": overrides if overrides is not None else OVERRIDE_SCHEMA.empty_table(),
        }
        for name, table in tables.items():
            self._con.register(name, table)
        self._con.execute("SET enable_external_access = false")
        self._run_id = int(run_id)
        # Steps with nothing to do (no baseline, no override) are left out of the query.
        self._decided = HYSTERESIS_SQL if tables["baseline"].num_rows else NO_HYSTERESIS_SQL
        self._overridden = OVERRIDES_SQL if tables["overrides"].num_rows else NO_OVERRIDES_SQL

    def _sql(self, schema: pa.Schema) -> str:
        long = " UNION ALL ".join(
            _dimension_select(self.policy, dim, schema) for dim in self.policy.dimensions
        )
        return APPLY_SQL.format(
            long=long, decided=self._decided, overridden=self._overridden, run_id=self._run_id
        )

    def __enter__(self) -> RunRows:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._con.close()

    def _ranges(self) -> list[pa.Table]:
        """The customer-id table in two ranges of ids: the customers of about one part, and
        the rest (one range when they are few)."""
        ids = self.customer_ids.sort_by("id")
        per_customer = max(self.result.num_rows, 1) * max(len(self.policy.dimensions), 1)
        per_customer = -(-per_customer // max(ids.num_rows, 1))  # rows per customer, rounded up
        head = max(self.part_rows // per_customer, 1)
        if ids.num_rows <= 2 * head:
            return [ids]
        return [ids.slice(0, head), ids.slice(head)]

    def parts(self) -> Iterator[pa.Table]:
        """The rows in index order, part after part, each range of customers made from their
        result rows alone."""
        ranges = self._ranges()
        try:
            for ids in ranges:
                rows = self.result
                if len(ranges) > 1:
                    mine = pc.is_in(rows.column("customer_id"), value_set=ids.column("customer_id"))
                    rows = rows.filter(mine)
                self._con.register("result", rows)
                self._con.register("customer_ids", ids)
                made = self._con.sql(self._sql(rows.schema)).to_arrow_table()
                made = made.select(list(RESULT_COLUMNS))
                for start in range(0, made.num_rows, self.part_rows):
                    part = made.slice(start, self.part_rows)
                    self._parts.append(part)
                    yield part
        finally:
            self._con.register("result", self.result)
            self._con.register("customer_ids", self.customer_ids)

    def finish(self) -> Applied:
        """What the parts made: every row, the counts of held and overridden labels per
        dimension, and the summary of the labels that apply when some were held or
        overridden (computed here, after the parts, while they are being written)."""
        rows = (
            pa.concat_tables(self._parts)
            if self._parts
            else self._con.sql(self._sql(self.result.schema)).to_arrow_table()
        ).select(list(RESULT_COLUMNS))
        con = self._con
        con.register("applied", rows)
        held: dict[str, int] = {}
        overridden: dict[str, int] = {}
        counts = con.execute(
            "SELECT dimension, source, count(*) FROM applied WHERE source <> 'computed' "
            "GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        for dim, source, n in counts:
            (held if source == "held" else overridden)[str(dim)] = int(n)
        summary = None
        if held or overridden:
            con.execute(f"CREATE TEMP TABLE labelled AS {_labelled(self.policy, self.result)}")
            summary = summarize(self.policy, self.as_of, con, "labelled", self.lang)
        return Applied(rows=rows, held=held, overridden=overridden, summary=summary)
