"""A run's diff as one user may see it: movers and counts over their own customers only.

:func:`fenji.web.evaluations.selectors.run_diff` compares whole runs (in DuckDB, fast on the
full company). A manager or rep must not learn how many of *other* people's customers went up
or down, so for them the same figures are computed from their scoped rows: two queries of
(customer, line, dimension, label), joined here, then the explanations of one page of movers.
The counting itself is :mod:`fenji.web.evaluations.diff`'s, so both paths agree by construction
(a test compares them for an administrator).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fenji.web.accounts.access import scope, visible_owners
from fenji.web.api.selectors import run_policy
from fenji.web.customers.models import BusinessLine
from fenji.web.evaluations.diff import (  # the diff's own counting, shared with the full path
    DimensionDiff,
    Move,
    dimension_diffs,
    label_ranks,
)
from fenji.web.evaluations.models import EvaluationRun, RunResult
from fenji.web.evaluations.selectors import run_diff, run_get

Key = tuple[int, int | None, str]


@dataclass(frozen=True)
class DiffPage:
    run: EvaluationRun
    previous: EvaluationRun | None
    dimensions: list[DimensionDiff]
    movers: list[Move]
    movers_total: int


def _previous(run: EvaluationRun) -> EvaluationRun | None:
    return run_get(run_id=run.previous_id) if run.previous_id is not None else None


def run_diff_page(
    *, run: EvaluationRun, user: Any, limit: int, offset: int, lang: str = "zh"
) -> DiffPage:
    """The diff of ``run`` from the run it replaced, as ``user`` may see it; ``limit`` movers
    from ``offset``, biggest movements first."""
    previous = _previous(run)
    if visible_owners(user) is None:
        full = run_diff(run=run, previous=previous, movers_limit=offset + limit, lang=lang)
        return DiffPage(
            run=run,
            previous=previous,
            dimensions=full.dimensions,
            movers=full.movers[offset:],
            movers_total=full.movers_total,
        )
    return scoped_diff(run=run, previous=previous, user=user, limit=limit, offset=offset, lang=lang)


def _labels(run: EvaluationRun | None, user: Any) -> dict[Key, tuple[str | None, str, str, str]]:
    """(customer, line, dimension) -> (label, source, external id, name) of ``user``'s rows."""
    if run is None:
        return {}
    rows = scope(RunResult.objects.filter(run=run), user=user).values_list(
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
    limit: int,
    offset: int,
    lang: str = "zh",
) -> DiffPage:
    """The diff over the rows ``user`` may see (see the module's docstring)."""
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
    page = changed[offset : offset + limit]
    whys = _whys(run, previous, [k for k, _ in page])
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
    return DiffPage(
        run=run,
        previous=previous,
        dimensions=dimensions,
        movers=movers,
        movers_total=len(changed),
    )


def _lines(changed: list[tuple[Key, int | None]]) -> list[BusinessLine]:
    ids = {key[1] for key, _ in changed if key[1] is not None}
    return list(BusinessLine.objects.filter(pk__in=ids)) if ids else []


def _whys(
    run: EvaluationRun, previous: EvaluationRun | None, keys: list[Key]
) -> dict[tuple[int, int, int | None, str], str]:
    """The explanations of one page of movers, from both runs (one query)."""
    if not keys:
        return {}
    runs = [run.pk] + ([previous.pk] if previous is not None else [])
    rows = RunResult.objects.filter(
        run_id__in=runs, customer_id__in={k[0] for k in keys}
    ).values_list("run_id", "customer_id", "business_line_id", "dimension", "why")
    wanted = set(keys)
    return {(r, c, b, d): why for r, c, b, d, why in rows if (c, b, d) in wanted}
