"""Who moved between two runs, for the dashboard: the migration matrix and the biggest moves of
the customers a user may see.

The two runs' labels are paired per customer (and line) by grouping the rows of both runs
together — ``MAX(CASE WHEN run = previous THEN label END)`` — instead of joining each row of
one run to the other. A join looks the previous label up through the (customer, dimension)
index, which holds every run of the customer: on SQLite, 100,000 customers and a year of
monthly runs took seconds, and the lookups grow with every run. The grouping reads each run's
rows once through the (run, dimension, label) index, whatever the number of runs.

The paired rows are built by the ORM from a queryset narrowed by
:func:`~fenji.web.accounts.access.scope`, so the visibility rule stays the one rule; a short
statement around them (a common table expression used twice, hence computed once) counts the
matrix cells and ranks the biggest moves in one round trip. A second query reads the names
and explanations of the few customers listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection
from django.db.models import Case, F, IntegerField, Max, Value, When

from fenji.web.evaluations.models import RunResult
from fenji.web.evaluations.visible_rows import rows_of_customers, visible_rows

#: Customers listed among the biggest upgrades and among the biggest downgrades.
MOVERS = 10


@dataclass(frozen=True)
class Move:
    """A visible customer whose label changed since the previous run."""

    external_id: str
    name: str
    business_line: str | None
    from_label: str
    from_rank: int
    to_label: str
    to_rank: int
    #: Levels moved (always positive; the list says which way).
    steps: int
    #: The explanation of the new label, and whether it was computed, held or overridden.
    why: str
    source: str
    #: The customer page, filled in by the view (it knows the addresses).
    url: str = ""


@dataclass(frozen=True)
class Migration:
    """From the previous run to the published one: ``matrix[i][j]`` counts the customers
    labelled ``labels[i]`` before and ``labels[j]`` now."""

    previous_id: int
    previous_as_of: date
    labels: list[str]
    matrix: list[list[int]]
    upgrades: int
    downgrades: int
    unchanged: int
    #: Changed between labels the dimension does not rank (after a change of policy).
    unranked: int
    #: Graded now without a label in the previous run (new customers).
    entered: int
    biggest_upgrades: list[Move]
    biggest_downgrades: list[Move]


def _rank(order: list[str]) -> Case:
    """The rank (0 = best) of a row's label; NULL for labels the dimension does not rank."""
    return Case(
        *[When(label=label, then=Value(i)) for i, label in enumerate(order)],
        default=None,
        output_field=IntegerField(),
    )


def _pairs_sql(
    *, user: Any, run_id: int, previous_id: int, dimension: str, order: list[str]
) -> tuple[str, tuple[Any, ...]]:
    """Per visible customer (and line): label and rank in the previous run and in this one."""
    rows = visible_rows(
        RunResult.objects.all(), user=user, run_ids=[run_id, previous_id], dimension=dimension
    )
    in_run = {"previous": previous_id, "current": run_id}
    pairs = (
        rows.order_by()
        .values("customer_id", "business_line_id")
        .annotate(
            **{
                f"{side}_label": Max(Case(When(run_id=i, then=F("label"))))
                for side, i in in_run.items()
            },
            **{
                f"{side}_rank": Max(
                    Case(When(run_id=i, then=_rank(order)), output_field=IntegerField())
                )
                for side, i in in_run.items()
            },
        )
    )
    sql, params = pairs.query.sql_with_params()
    return sql, tuple(params)


#: Matrix cells (kind 0) and the biggest moves each way (kind 1), over the pairs computed once.
_MIGRATION_SQL = """
WITH pairs (customer_id, business_line_id, previous_label, current_label, previous_rank,
            current_rank) AS ({pairs})
SELECT 0, previous_label, current_label, COUNT(*), NULL, NULL
FROM pairs GROUP BY previous_label, current_label
UNION ALL
SELECT 1, previous_label, current_label, steps, customer_id, business_line_id
FROM (
    SELECT previous_label, current_label, customer_id, business_line_id,
           previous_rank - current_rank AS steps,
           ROW_NUMBER() OVER (
               PARTITION BY CASE WHEN previous_rank > current_rank THEN 1 ELSE 0 END
               ORDER BY ABS(previous_rank - current_rank) DESC, customer_id, business_line_id
           ) AS place
    FROM pairs
    WHERE previous_rank IS NOT NULL AND current_rank IS NOT NULL
      AND previous_rank <> current_rank
) moves
WHERE place <= {limit}
"""


def migration_between(
    *,
    user: Any,
    run_id: int,
    previous: tuple[int, date],
    dimension: str,
    order: list[str],
) -> Migration:
    """The migration of ``user``'s customers in ``dimension`` from run ``previous`` (id,
    as-of date) to run ``run_id``; ``order`` is the dimension's labels, best first."""
    pairs, params = _pairs_sql(
        user=user, run_id=run_id, previous_id=previous[0], dimension=dimension, order=order
    )
    with connection.cursor() as cursor:
        cursor.execute(_MIGRATION_SQL.format(pairs=pairs, limit=int(MOVERS)), params)
        rows = cursor.fetchall()
    cells = [(a, b, int(n)) for kind, a, b, n, _, _ in rows if kind == 0]
    moves = [(a, b, int(steps), cid, line) for kind, a, b, steps, cid, line in rows if kind == 1]
    rank = {label: i for i, label in enumerate(order)}
    seen = {a for a, _, _ in cells} | {b for _, b, _ in cells}
    labels = list(order) + sorted(str(x) for x in seen if x is not None and x not in rank)
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    up = down = same = unranked = entered = 0
    for a, b, n in cells:
        if b is None:  # graded before, not now (or no longer visible): not on this dashboard
            continue
        if a is None:
            entered += n
            continue
        matrix[index[a]][index[b]] += n
        if a == b:
            same += n
        elif a not in rank or b not in rank:
            unranked += n
        elif rank[a] > rank[b]:
            up += n
        else:
            down += n
    listed = _described(user=user, run_id=run_id, dimension=dimension, moves=moves, rank=rank)
    return Migration(
        previous_id=previous[0],
        previous_as_of=previous[1],
        labels=labels,
        matrix=matrix,
        upgrades=up,
        downgrades=down,
        unchanged=same,
        unranked=unranked,
        entered=entered,
        biggest_upgrades=[m for m in listed if m.to_rank < m.from_rank],
        biggest_downgrades=[m for m in listed if m.to_rank > m.from_rank],
    )


def _described(
    *,
    user: Any,
    run_id: int,
    dimension: str,
    moves: list[tuple[str, str, int, int, int | None]],
    rank: dict[str, int],
) -> list[Move]:
    """Names, lines and the new explanations of the listed moves (one query, at most
    2 x :data:`MOVERS` rows), biggest move first, then by customer id."""
    if not moves:
        return []
    rows = rows_of_customers(
        RunResult.objects.all(),
        user=user,
        run_id=run_id,
        customer_ids=sorted({m[3] for m in moves}),
        dimension=dimension,
    ).values_list(
        "customer_id",
        "business_line_id",
        "customer__external_id",
        "customer__name",
        "business_line__code",
        "why",
        "source",
    )
    about = {(r[0], r[1]): r[2:] for r in rows}
    out: list[Move] = []
    for before, after, steps, cid, line in moves:
        if (cid, line) not in about:
            continue
        external_id, name, code, why, source = about[(cid, line)]
        out.append(
            Move(
                external_id=external_id,
                name=name,
                business_line=code,
                from_label=before,
                from_rank=rank[before],
                to_label=after,
                to_rank=rank[after],
                steps=abs(steps),
                why=why,
                source=source,
            )
        )
    out.sort(key=lambda m: (-m.steps, m.external_id, m.business_line or ""))
    return out
