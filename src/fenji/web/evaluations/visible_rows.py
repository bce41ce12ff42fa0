"""Rows of some runs (results or customer rows) that a user may see, read from the smaller side.

A run holds a row per customer; a sales rep sees a few hundred customers of a hundred thousand.
Left to itself, SQLite (which keeps no statistics unless ``ANALYZE`` has run) reads such a
query from the run's ``(run, dimension, label)`` index — every row of the run, each joined to
its customer to check the owner — and a rep's dashboard took as long as the whole company's.
On SQLite, for a user who sees only some customers, the query therefore names the visible
customers as a list (``customer_id IN (SELECT id FROM customers WHERE <visible>)``) and hides
the dimension from that index (``+dimension``), so the database seeks each visible customer in
each run through the ``(run, customer)`` index instead: a rep with 5,000 of 100,000 customers,
12 runs of history, 1.16 s to 0.26 s. For a user who sees every customer, the run's index is
the right start and is left alone. PostgreSQL plans from its statistics and needs no such hint
(hiding an index from it made a rep's page slower, 0.35 s to 0.85 s), hence the table of
engines below.

The narrowing itself is :func:`~fenji.web.accounts.access.scope`, as everywhere. The
dashboard, the run pages, the API's run counts and diffs, and the policy simulation read the
rows of runs through here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import connection
from django.db.models import F, Func, Model, QuerySet

from fenji.web.accounts.access import scope, visible_owners
from fenji.web.customers.models import Customer

M = TypeVar("M", bound=Model)

#: Engines whose planner is told to start from the user's customers (see above).
STEER_FROM_CUSTOMERS: dict[str, bool] = {"sqlite": True}


def _of_runs(
    queryset: QuerySet[M], run_ids: list[int], *, dimension: str | None, steer: bool
) -> QuerySet[M]:
    if dimension is not None:
        if steer:  # not from the (run, dimension, label) index: see the module's docstring
            queryset = queryset.alias(
                of_dimension=Func(F("dimension"), template="+%(expressions)s")
            ).filter(of_dimension=dimension)
        else:
            queryset = queryset.filter(dimension=dimension)
    if len(run_ids) == 1:
        return queryset.filter(run_id=run_ids[0])
    return queryset.filter(run_id__in=run_ids)


def _steered(queryset: QuerySet[M], user: Any) -> QuerySet[M]:
    """The rows of the customers ``user`` may see, named as a list of customer ids."""
    visible = scope(Customer.objects.all(), user=user, path="").values("id")
    return queryset.filter(customer_id__in=visible)


def steers(user: Any) -> bool:
    """Whether the rows ``user`` may see are read from their customers (see the docstring)."""
    return visible_owners(user) is not None and STEER_FROM_CUSTOMERS.get(connection.vendor, False)


def grouped_values(rows: QuerySet[M], *, user: Any, fields: Sequence[str]) -> QuerySet[M]:
    """``rows.values(...)`` of ``fields`` for a GROUP BY, each value named ``g_<field>``. Where
    the rows are read from their customers, the fields are grouped as expressions
    (``+field``): grouped by the plain columns, SQLite reads the run's ``(run, dimension,
    label)`` index whole because it gives that order, whatever the customers."""
    if steers(user):
        return rows.values(**{f"g_{f}": Func(F(f), template="+%(expressions)s") for f in fields})
    return rows.values(**{f"g_{f}": F(f) for f in fields})


def visible_rows(
    queryset: QuerySet[M], *, user: Any, run_ids: Sequence[int], dimension: str | None = None
) -> QuerySet[M]:
    """``queryset`` (of a model with ``run`` and ``customer``) narrowed to the runs
    ``run_ids``, to ``dimension`` when given, and to the customers ``user`` may see."""
    steer = steers(user)  # not for a user who sees every customer: nothing to start from
    rows = _of_runs(queryset, list(run_ids), dimension=dimension, steer=steer)
    return _steered(rows, user) if steer else scope(rows, user=user)


def rows_of_customers(
    queryset: QuerySet[M],
    *,
    user: Any,
    run_id: int,
    customer_ids: Sequence[int],
    dimension: str | None = None,
) -> QuerySet[M]:
    """The rows of a few known customers in one run, as ``user`` may see them: found through
    the ``(run, customer)`` index (the run's label index would read the whole run)."""
    rows = _of_runs(
        queryset.filter(customer_id__in=list(customer_ids)),
        [run_id],
        dimension=dimension,
        steer=STEER_FROM_CUSTOMERS.get(connection.vendor, False),
    )
    return scope(rows, user=user)
