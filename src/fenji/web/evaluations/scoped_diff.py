"""A run's diff as one user may see it: counts and movers over their own customers only.

:func:`fenji.web.evaluations.selectors.run_diff` compares whole runs (in DuckDB, fast on the
full company). A manager or rep must not learn how many of *other* people's customers went up
or down, so for them the same figures are computed over the customers
:func:`~fenji.web.accounts.access.scope` leaves them, one of two ways:

- a user who sees a large share of the customers a run graded (:data:`BULK_SHARE`) gets the
  bulk diff (:func:`~fenji.web.evaluations.diff.compute_diff`) restricted to the ids of their
  customers: both runs are read whole, as for an administrator, and the rows of other
  customers are dropped before anything is counted;
- anyone else's rows are read through their customers: two queries of (customer, line,
  dimension, label), joined here.

Either way only the movers shown get their explanations read (one query; a page of the API,
the first movers of the run page), and the counting is :mod:`fenji.web.evaluations.diff`'s, so
both paths agree by construction (tests compare them). The run page and the REST API both use
this one.
"""

from __future__ import annotations

from typing import Any

from fenji.policy.models import Policy as PolicyModel
from fenji.web.accounts.access import scope
from fenji.web.customers.models import BusinessLine, Customer
from fenji.web.evaluations.diff import (
    Key,
    Move,
    RunDiff,
    compute_diff,
    dimension_diffs,
    explanations_of,
    label_ranks,
)
from fenji.web.evaluations.models import EvaluationRun, RunResult
from fenji.web.evaluations.visible_rows import visible_rows
from fenji.web.policies.selectors import parsed_version

#: The share of a run's customers from which a user's diff reads both runs whole: a manager
#: who sees half of 100,000 customers waited 1.9 s for the rows of their customers, 1.2 s for
#: the whole runs; a rep who sees 8% of them 0.35 s against 1.2 s.
BULK_SHARE = 0.25


def run_policy(run: EvaluationRun) -> PolicyModel:
    """The parsed policy version ``run`` evaluated (cached by its text: stored versions never
    change); no query beyond the run's own ``select_related`` of its version."""
    return parsed_version(run.policy_version)


def _labels(run: EvaluationRun | None, user: Any) -> dict[Key, tuple[str | None, str, str, str]]:
    """(customer, line, dimension) -> (label, source, external id, name) of ``user``'s rows."""
    if run is None:
        return {}
    rows = visible_rows(RunResult.objects.all(), user=user, run_ids=[run.pk]).values_list(
        "customer_id",
        "business_line_id",
        "dimension",
        "label",
        "source",
        "customer__external_id",
        "customer__name",
    )
    return {(c, b, d): (label, src, ext, name) for c, b, d, label, src, ext, name in rows}


def scoped_diff(
    *,
    run: EvaluationRun,
    previous: EvaluationRun | None,
    user: Any,
    lang: str = "zh",
    limit: int | None = None,
    offset: int = 0,
) -> RunDiff:
    """The diff of ``run`` from ``previous`` over the rows ``user`` may see: every count, and
    ``limit`` movers from ``offset`` (all of them when ``limit`` is None), biggest movements
    first; ``movers_total`` counts them all."""
    visible = scope(Customer.objects.order_by(), user=user, path="")
    ids = list(visible.values_list("id", flat=True))
    graded = int((run.counts or {}).get("customers") or 0)
    if ids and len(ids) >= BULK_SHARE * graded:
        return compute_diff(
            run=run,
            previous=previous,
            movers_limit=limit,
            movers_offset=offset,
            lang=lang,
            customers=ids,
        )
    policies = [run_policy(run)]
    if previous is not None:
        policies.append(run_policy(previous))
    ranks_table, order, titles = label_ranks(policies, lang)
    rank = {
        (d, label): r
        for d, label, r in zip(
            ranks_table.column("dimension").to_pylist(),
            ranks_table.column("label").to_pylist(),
            ranks_table.column("rank").to_pylist(),
            strict=True,
        )
    }
    after = _labels(run, user)
    before = _labels(previous, user)
    cells: dict[tuple[str, str | None, str | None, int | None], int] = {}
    changed: list[tuple[Key, int | None]] = []
    for key in after.keys() | before.keys():
        a = before.get(key, (None,))[0]
        b = after.get(key, (None,))[0]
        ra, rb = rank.get((key[2], a)), rank.get((key[2], b))
        steps = ra - rb if ra is not None and rb is not None else None
        cell = (key[2], a, b, steps)
        cells[cell] = cells.get(cell, 0) + 1
        if a is not None and b is not None and a != b:
            changed.append((key, steps))
    dimensions = dimension_diffs([(*cell, n) for cell, n in cells.items()], order, titles)
    names = {line.pk: line.code for line in _lines(changed)}

    def sort_key(item: tuple[Key, int | None]) -> tuple[Any, ...]:
        (customer_id, line_id, dim), steps = item
        line = names.get(line_id) if line_id is not None else None
        return (
            steps is None,
            -abs(steps) if steps is not None else 0,
            steps if steps is not None else 0,
            after[(customer_id, line_id, dim)][2],
            line is not None,
            line or "",
            dim,
        )

    changed.sort(key=sort_key)
    page = changed[offset:] if limit is None else changed[offset : offset + limit]
    whys = explanations_of(run, previous, [k for k, _ in page])
    movers = []
    for key, steps in page:
        label_after, source_after, external_id, name = after[key]
        label_before, source_before, _, _ = before[key]
        movers.append(
            Move(
                customer_id=external_id,
                customer_name=name,
                business_line=names.get(key[1]) if key[1] is not None else None,
                dimension=key[2],
                from_label=str(label_before),
                to_label=str(label_after),
                steps=steps,
                why_before=whys.get((previous.pk if previous else 0, *key), ""),
                why_after=whys.get((run.pk, *key), ""),
                source_before=source_before,
                source_after=source_after,
            )
        )
    return RunDiff.between(
        run, previous, dimensions=dimensions, movers=movers, movers_total=len(changed)
    )


def _lines(changed: list[tuple[Key, int | None]]) -> list[BusinessLine]:
    ids = {key[1] for key, _ in changed if key[1] is not None}
    return list(BusinessLine.objects.filter(pk__in=ids)) if ids else []
