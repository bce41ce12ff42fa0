"""What the run pages read: runs with who started them, label counts and diffs narrowed to the
customers the reader may see.

A run grades every customer, but a sales rep may only see their own: counts, shares, the
migration matrix and the customers who moved are all computed over the rows that
:func:`~fenji.web.accounts.access.scope` leaves. An administrator sees every row, so their
diff is the bulk one of :mod:`fenji.web.evaluations.diff` (Arrow and DuckDB); everyone else's
is :func:`~fenji.web.evaluations.scoped_diff.scoped_diff` of their own rows, with the same
rules and ordering.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, QuerySet

from fenji.web.accounts.access import visible_owners
from fenji.web.evaluations.diff import RunDiff, label_orders
from fenji.web.evaluations.models import EvaluationRun, RunResult, RunStatus
from fenji.web.evaluations.scoped_diff import scoped_diff
from fenji.web.evaluations.selectors import run_diff, run_list
from fenji.web.evaluations.visible_rows import grouped_values, visible_rows
from fenji.web.policies.models import Policy
from fenji.web.policies.selectors import parsed_version

#: Statuses of a run that has finished, one way or another: its progress no longer changes.
FINISHED = frozenset(
    {RunStatus.PUBLISHED, RunStatus.SUPERSEDED, RunStatus.FAILED, RunStatus.ABANDONED}
)
#: Statuses of a run whose results are complete and may be read.
COMPLETE = frozenset({RunStatus.PUBLISHED, RunStatus.SUPERSEDED})


def sees_everything(*, user: Any) -> bool:
    """Whether ``user`` sees every customer (then counts need no narrowing)."""
    return visible_owners(user) is None


def runs_for_list(*, policy: str | None = None) -> QuerySet[EvaluationRun]:
    """Runs newest first, with their policy and the user who started them in the same query."""
    return run_list(policy=policy or None).select_related("created_by")


def policy_names() -> list[str]:
    """Names of the policies that have runs or could have them, for the filter."""
    return list(Policy.objects.order_by("name").values_list("name", flat=True))


def published_policy_choices() -> list[tuple[str, str]]:
    """(name, "name — title") of the policies with a published version: those a run can use."""
    rows = (
        Policy.objects.filter(versions__is_published=True)
        .order_by("name")
        .values_list("name", "title")
        .distinct()
    )
    return [(name, f"{name} — {title}" if title else name) for name, title in rows]


def run_for_page(*, run_id: int) -> EvaluationRun:
    """One run with everything its page shows; raises ``EvaluationRun.DoesNotExist``."""
    return EvaluationRun.objects.select_related(
        "policy",
        "policy_version__policy",
        "created_by",
        "previous__policy",
        "previous__policy_version__policy",
    ).get(pk=run_id)


def visible_customer_counts(*, runs: list[EvaluationRun], user: Any) -> dict[int, int]:
    """Customers of each complete run that ``user`` may see, in one query (none for users who
    see everything: the run's own count is theirs)."""
    ids = [r.pk for r in runs if r.status in COMPLETE]
    if not ids or sees_everything(user=user):
        return {}
    rows = (
        visible_rows(RunResult.objects.all(), user=user, run_ids=ids)
        .values("run_id")
        .annotate(n=Count("customer_id", distinct=True))
        .order_by()
    )
    return {row["run_id"]: row["n"] for row in rows}


@dataclass(frozen=True)
class LabelCount:
    label: str | None
    #: Position in the dimension's order, best first (None for a label the policy does not list).
    rank: int | None
    count: int
    share: float


@dataclass(frozen=True)
class DimensionCounts:
    dimension: str
    title: str
    total: int
    labels: list[LabelCount]


def label_counts(*, run: EvaluationRun, user: Any, lang: str) -> list[DimensionCounts]:
    """Results of ``run`` per dimension and label among the customers ``user`` may see, in the
    policy's order (best label first), in one grouped query."""
    rows = grouped_values(
        visible_rows(RunResult.objects.all(), user=user, run_ids=[run.pk]),
        user=user,
        fields=["dimension", "label"],
    )
    counted: dict[str, dict[str | None, int]] = {}
    for row in rows.annotate(n=Count("id")).order_by():
        counted.setdefault(row["g_dimension"], {})[row["g_label"]] = row["n"]
    order, titles = label_orders([parsed_version(run.policy_version)], lang)
    out: list[DimensionCounts] = []
    for dim in [*order, *sorted(set(counted) - set(order))]:
        found = counted.get(dim, {})
        total = sum(found.values())
        names = list(order.get(dim, []))
        names += sorted((x for x in found if x is not None and x not in names), key=str)
        ranks = {name: i for i, name in enumerate(order.get(dim, []))}
        labels = [
            LabelCount(name, ranks.get(name), found.get(name, 0), _share(found.get(name, 0), total))
            for name in names
        ]
        if None in found:
            labels.append(LabelCount(None, None, found[None], _share(found[None], total)))
        out.append(DimensionCounts(dim, titles.get(dim, dim), total, labels))
    return out


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def run_changes(
    *, run: EvaluationRun, user: Any, lang: str, movers_limit: int = 100
) -> RunDiff | None:
    """What changed since the run ``run`` replaced, among the customers ``user`` may see;
    None before a run's results are complete."""
    if run.status not in COMPLETE:
        return None
    if sees_everything(user=user):
        return run_diff(run=run, previous=run.previous, movers_limit=movers_limit, lang=lang)
    return scoped_diff(run=run, previous=run.previous, user=user, lang=lang, limit=movers_limit)
