"""A run's diff as one user may see it, a page of movers at a time: the whole-run diff for
those who see every customer, :func:`fenji.web.evaluations.scoped_diff.scoped_diff` for the
others."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fenji.web.accounts.access import visible_owners
from fenji.web.evaluations.diff import DimensionDiff, Move
from fenji.web.evaluations.models import EvaluationRun
from fenji.web.evaluations.scoped_diff import scoped_diff
from fenji.web.evaluations.selectors import run_diff, run_get


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
    mine = scoped_diff(run=run, previous=previous, user=user, limit=limit, offset=offset, lang=lang)
    return DiffPage(
        run=run,
        previous=previous,
        dimensions=mine.dimensions,
        movers=mine.movers,
        movers_total=mine.movers_total,
    )
