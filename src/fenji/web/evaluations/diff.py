"""What changed between two runs: upgrades and downgrades per dimension, the migration matrix,
and the customers who moved, each with the explanations of both runs.

"Why did this customer drop from A to B in March?" is answered by the two ``why`` texts side by
side: the values and the band or rule that decided each label. Labels are compared by the
dimension's order (best first, :func:`fenji.engine.labels.label_order`); the applied ``label``
is compared (after hysteresis and overrides), and each side's ``source`` says which it was.

Both runs' rows are read in bulk as Arrow and joined in DuckDB: a diff of two runs of 50,000
customers and five dimensions is a join of 250,000 rows, not 250,000 ORM objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from fenji.engine.labels import label_order
from fenji.policy.models import Policy as PolicyModel
from fenji.web.customers.models import BusinessLine, Customer
from fenji.web.evaluations import arrowdb
from fenji.web.evaluations.models import EvaluationRun, RunResult
from fenji.web.policies.selectors import parsed_version


@dataclass(frozen=True)
class Move:
    """One customer (and line) whose label changed in one dimension."""

    customer_id: str
    customer_name: str
    business_line: str | None
    dimension: str
    from_label: str
    to_label: str
    #: Levels moved: positive up (an upgrade), negative down; None when a label is unranked.
    steps: int | None
    why_before: str
    why_after: str
    source_before: str
    source_after: str


@dataclass(frozen=True)
class DimensionDiff:
    """Counts for one dimension; ``matrix[from][to]`` counts customers by both labels."""

    dimension: str
    title: str
    labels: list[str]
    upgrades: int
    downgrades: int
    unchanged: int
    #: Changed between labels the dimension does not rank (e.g. after a policy change).
    changed_unranked: int
    #: In this run only (new customers) / in the previous run only.
    entered: int
    left: int
    matrix: dict[str, dict[str, int]]


@dataclass(frozen=True)
class RunDiff:
    run_id: int
    previous_id: int | None
    policy: str
    as_of: str
    previous_as_of: str | None
    dimensions: list[DimensionDiff] = field(default_factory=list)
    #: Biggest movements first (most levels, then downgrades, then customer id).
    movers: list[Move] = field(default_factory=list)
    movers_total: int = 0

    @classmethod
    def between(
        cls,
        run: EvaluationRun,
        previous: EvaluationRun | None,
        *,
        dimensions: list[DimensionDiff],
        movers: list[Move],
        movers_total: int,
    ) -> RunDiff:
        """The diff of evaluation run ``run`` from ``previous`` (None: its first run)."""
        return cls(
            run_id=run.pk,
            previous_id=previous.pk if previous is not None else None,
            policy=run.policy.name,
            as_of=run.as_of.isoformat(),
            previous_as_of=previous.as_of.isoformat() if previous is not None else None,
            dimensions=dimensions,
            movers=movers,
            movers_total=movers_total,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def dimension(self, name: str) -> DimensionDiff:
        for d in self.dimensions:
            if d.dimension == name:
                return d
        raise KeyError(name)


def _rows_sql(run_id: int) -> str:
    d = arrowdb.dialect()
    return (
        f"SELECT customer_id, business_line_id, dimension, {d.select('text', 'label')}, "
        f"{d.select('text', 'source')} "
        f"FROM {arrowdb.quote(RunResult._meta.db_table)} WHERE run_id = {int(run_id)}"
    )


def _rows(raw: pa.Table) -> pa.Table:
    return arrowdb.finish(
        raw,
        [
            ("customer_id", "id", False),
            ("business_line_id", "id", False),
            ("dimension", "text", False),
            ("label", "text", True),
            ("source", "text", False),
        ],
    )


def _names_sql() -> dict[str, str]:
    d = arrowdb.dialect()
    c = arrowdb.quote(Customer._meta.db_table)
    b = arrowdb.quote(BusinessLine._meta.db_table)
    return {
        "customers": f"SELECT id, {d.select('text', 'external_id')}, {d.select('text', 'name')} "
        f"FROM {c}",
        "lines": f"SELECT id, {d.select('text', 'code')} FROM {b}",
    }


def _names(raw: dict[str, pa.Table]) -> tuple[pa.Table, pa.Table]:
    customers = arrowdb.finish(
        raw["customers"],
        [("id", "id", False), ("external_id", "text", False), ("name", "text", False)],
    )
    lines = arrowdb.finish(raw["lines"], [("id", "id", False), ("code", "text", False)])
    return customers, lines


def label_orders(
    policies: list[PolicyModel], lang: str
) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Label order (best first) and title per dimension; the first policy given (the newer
    version) wins where both have a dimension."""
    order: dict[str, list[str]] = {}
    titles: dict[str, str] = {}
    for p in policies:
        for dim, spec in p.dimensions.items():
            if dim not in order:
                order[dim] = label_order(spec)
                titles[dim] = spec.title.get(lang) if spec.title else dim
    return order, titles


def label_ranks(
    policies: list[PolicyModel], lang: str
) -> tuple[pa.Table, dict[str, list[str]], dict[str, str]]:
    """Label ranks per dimension as a table (for SQL joins), with :func:`label_orders`."""
    order, titles = label_orders(policies, lang)
    dims, labels, ranks = [], [], []
    for dim, names in order.items():
        for rank, label in enumerate(names):
            dims.append(dim)
            labels.append(label)
            ranks.append(rank)
    table = pa.table(
        {
            "dimension": pa.array(dims, pa.string()),
            "label": pa.array(labels, pa.string()),
            "rank": pa.array(ranks, pa.int64()),
        }
    )
    return table, order, titles


JOIN_SQL = """
SELECT
    COALESCE(b.customer_id, a.customer_id) AS customer_id,
    COALESCE(b.business_line_id, a.business_line_id) AS business_line_id,
    COALESCE(b.dimension, a.dimension) AS dimension,
    a.label AS from_label, b.label AS to_label,
    a.source AS source_before, b.source AS source_after,
    ra.rank - rb.rank AS steps
FROM before a
FULL OUTER JOIN after b ON a.customer_id = b.customer_id
    AND a.business_line_id IS NOT DISTINCT FROM b.business_line_id
    AND a.dimension = b.dimension
LEFT JOIN ranks ra ON ra.dimension = COALESCE(b.dimension, a.dimension) AND ra.label = a.label
LEFT JOIN ranks rb ON rb.dimension = COALESCE(b.dimension, a.dimension) AND rb.label = b.label
"""

MOVERS_SQL = """
SELECT c.external_id, c.name, l.code, j.dimension, j.from_label, j.to_label, j.steps,
    j.customer_id, j.business_line_id, j.source_before, j.source_after
FROM joined j
JOIN customers c ON c.id = j.customer_id
LEFT JOIN lines l ON l.id = j.business_line_id
WHERE j.from_label IS NOT NULL AND j.to_label IS NOT NULL AND j.from_label <> j.to_label
ORDER BY abs(j.steps) DESC NULLS LAST, j.steps ASC, c.external_id, l.code NULLS FIRST, j.dimension
"""


def compute_diff(
    *,
    run: EvaluationRun,
    previous: EvaluationRun | None,
    movers_limit: int | None = None,
    movers_offset: int = 0,
    lang: str = "zh",
    customers: Sequence[int] | None = None,
) -> RunDiff:
    """The diff from ``previous`` to ``run`` (no previous run: every row has "entered"), over
    the customers of the database ids ``customers`` when given (else all), with
    ``movers_limit`` movers from ``movers_offset``. The labels of both runs are compared in
    bulk; the explanations are read for the movers listed only (all of them are 100 MB at
    100,000 customers)."""
    policies = [parsed_version(run.policy_version)]
    if previous is not None:
        policies.append(parsed_version(previous.policy_version))
    ranks, order, titles = label_ranks(policies, lang)
    queries = {"after": _rows_sql(run.pk), **_names_sql()}
    if previous is not None:
        queries["before"] = _rows_sql(previous.pk)
    raw = arrowdb.fetch_all(queries)
    after = _rows(raw["after"])
    before = _rows(raw["before"]) if previous is not None else after.schema.empty_table()
    names, lines = _names(raw)
    if customers is not None:
        wanted = pa.array(list(customers), pa.int64())
        after = after.filter(pc.is_in(after.column("customer_id"), value_set=wanted))
        before = before.filter(pc.is_in(before.column("customer_id"), value_set=wanted))
    con = duckdb.connect(":memory:")
    try:
        for name, table in (
            ("before", before),
            ("after", after),
            ("ranks", ranks),
            ("customers", names),
            ("lines", lines),
        ):
            con.register(name, table)
        con.execute("SET enable_external_access = false")
        con.execute(f"CREATE TEMP TABLE joined AS {JOIN_SQL}")
        cells = con.execute(
            "SELECT dimension, from_label, to_label, steps, count(*) FROM joined GROUP BY ALL"
        ).fetchall()
        total = con.execute(
            "SELECT count(*) FROM joined WHERE from_label IS NOT NULL AND to_label IS NOT NULL "
            "AND from_label <> to_label"
        ).fetchone()
        limit = f" LIMIT {int(movers_limit)}" if movers_limit is not None else ""
        if movers_offset:
            limit += f" OFFSET {int(movers_offset)}"
        moved = con.execute(MOVERS_SQL + limit).fetchall()
    finally:
        con.close()
    dimensions = dimension_diffs(cells, order, titles)
    whys = explanations_of(run, previous, [(int(r[7]), r[8], str(r[3])) for r in moved])
    movers = [
        Move(
            customer_id=r[0],
            customer_name=r[1],
            business_line=r[2],
            dimension=r[3],
            from_label=r[4],
            to_label=r[5],
            steps=None if r[6] is None else int(r[6]),
            why_before=whys.get((previous.pk if previous else 0, r[7], r[8], r[3]), ""),
            why_after=whys.get((run.pk, r[7], r[8], r[3]), ""),
            source_before=r[9],
            source_after=r[10],
        )
        for r in moved
    ]
    return RunDiff.between(
        run,
        previous,
        dimensions=dimensions,
        movers=movers,
        movers_total=int(total[0]) if total else 0,
    )


#: Customers named in one ``IN`` list at most (SQLite takes 32,766 parameters); beyond, the
#: explanations of both runs are read whole and picked here.
MAX_LISTED = 5000
Key = tuple[int, int | None, str]


def explanations_of(
    run: EvaluationRun, previous: EvaluationRun | None, keys: list[Key]
) -> dict[tuple[int, int, int | None, str], str]:
    """The explanations of the listed movers — (customer id, line id, dimension) — in both
    runs, by (run id, customer id, line id, dimension), in one query through the ``(run,
    customer)`` index."""
    if not keys:
        return {}
    runs = [run.pk] + ([previous.pk] if previous is not None else [])
    rows = RunResult.objects.filter(run_id__in=runs)
    ids = {k[0] for k in keys}
    if len(ids) <= MAX_LISTED:
        rows = rows.filter(customer_id__in=ids)
    values = rows.values_list("run_id", "customer_id", "business_line_id", "dimension", "why")
    wanted = set(keys)
    return {(r, c, b, d): why for r, c, b, d, why in values if (c, b, d) in wanted}


def dimension_diffs(
    cells: list[tuple[Any, ...]], order: dict[str, list[str]], titles: dict[str, str]
) -> list[DimensionDiff]:
    by_dim: dict[str, list[tuple[Any, ...]]] = {}
    for cell in cells:
        by_dim.setdefault(str(cell[0]), []).append(cell)
    out: list[DimensionDiff] = []
    for dim in [*order, *sorted(set(by_dim) - set(order))]:
        if dim not in by_dim:
            continue
        labels = list(order.get(dim, []))
        seen = {c[1] for c in by_dim[dim]} | {c[2] for c in by_dim[dim]}
        labels += sorted(str(x) for x in seen if x is not None and x not in labels)
        matrix = {a: dict.fromkeys(labels, 0) for a in labels}
        up = down = same = unranked = entered = left = 0
        for _, a, b, steps, n in by_dim[dim]:
            n = int(n)
            if a is None and b is None:
                continue
            if a is None:
                entered += n
                continue
            if b is None:
                left += n
                continue
            matrix[a][b] += n
            if a == b:
                same += n
            elif steps is None:
                unranked += n
            elif steps > 0:
                up += n
            else:
                down += n
        out.append(
            DimensionDiff(
                dimension=dim,
                title=titles.get(dim, dim),
                labels=labels,
                upgrades=up,
                downgrades=down,
                unchanged=same,
                changed_unranked=unranked,
                entered=entered,
                left=left,
                matrix=matrix,
            )
        )
    return out
