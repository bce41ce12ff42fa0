"""Rows of some runs (results or customer rows) that a user may see, read from the smaller side.

A run holds a row per customer; a sales rep sees a few hundred customers of a hundred thousand.
Left to itself, SQLite (which keeps no statistics unless ``ANALYZE`` has run) reads such a
query from the run's index — every row of the run, each joined to its customer to check the
owner — and a rep's dashboard took as long as the whole company's: 1.5 s for a year of
history, against 0.09 s when the rows are found from the rep's customers through the
(customer, ...) indexes. On SQLite, for a user who sees only some customers, the run is
therefore matched as ``run_id + 0``, which no index serves, so the database starts from the
visible customers; for a user who sees every customer, the run's index is the right start and
is left alone. PostgreSQL plans from its statistics and needs no such hint (hiding the index
from it made a rep's page slower, 0.35 s to 0.85 s), hence the table of engines below.

The narrowing itself is :func:`~fenji.web.accounts.access.scope`, as everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import connection
from django.db.models import F, Model, QuerySet

from fenji.web.accounts.access import scope, visible_owners

M = TypeVar("M", bound=Model)

#: Engines whose planner is told to start from the user's customers (see above).
STEER_FROM_CUSTOMERS: dict[str, bool] = {"sqlite": True}


def _of_runs(queryset: QuerySet[M], run_ids: list[int], *, steer: bool) -> QuerySet[M]:
    field = "run_id"
    if steer:
        queryset = queryset.alias(of_run=F("run_id") + 0)
        field = "of_run"
    if len(run_ids) == 1:
        return queryset.filter(**{field: run_ids[0]})
    return queryset.filter(**{f"{field}__in": run_ids})


def visible_rows(queryset: QuerySet[M], *, user: Any, run_ids: Sequence[int]) -> QuerySet[M]:
    """``queryset`` (of a model with ``run`` and ``customer``) narrowed to the runs
    ``run_ids`` and to the customers ``user`` may see."""
    some = visible_owners(user) is not None  # None: every customer, nothing to start from
    steer = some and STEER_FROM_CUSTOMERS.get(connection.vendor, False)
    return scope(_of_runs(queryset, list(run_ids), steer=steer), user=user)


def rows_of_customers(
    queryset: QuerySet[M], *, user: Any, run_id: int, customer_ids: Sequence[int]
) -> QuerySet[M]:
    """The rows of a few known customers in one run, as ``user`` may see them: found through
    the customers on every engine (the run's index would read the whole run)."""
    rows = _of_runs(queryset.filter(customer_id__in=list(customer_ids)), [run_id], steer=True)
    return scope(rows, user=user)
