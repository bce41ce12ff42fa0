"""Reading runs and their results.

Every read of "the current grades" goes through :class:`Publication` in the same SQL statement
as the results (a subquery), so a reader sees the previous run or the new one whole, never a
mixture, even while a run is being published.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TypeVar

from django.db.models import Model, OuterRef, Q, QuerySet, Subquery

from fenji.web.customers.models import Customer
from fenji.web.evaluations.diff import RunDiff, compute_diff
from fenji.web.evaluations.models import (
    EvaluationRun,
    Override,
    Publication,
    RunCustomer,
    RunResult,
    RunStatus,
)


def published_run(*, policy: str) -> EvaluationRun | None:
    """The published run of ``policy`` (None before its first run)."""
    publication = (
        Publication.objects.select_related("run", "run__policy_version")
        .filter(policy__name=policy)
        .first()
    )
    return publication.run if publication is not None else None


def published_results(
    *,
    policy: str,
    dimension: str | None = None,
    label: str | None = None,
    customer: str | None = None,
) -> QuerySet[RunResult]:
    """Results of the published run of ``policy`` — one statement, following the publication."""
    current = Publication.objects.filter(policy__name=policy).values("run_id")[:1]
    rows = RunResult.objects.filter(run_id=Subquery(current))
    if dimension is not None:
        rows = rows.filter(dimension=dimension)
    if label is not None:
        rows = rows.filter(label=label)
    if customer is not None:
        rows = rows.filter(customer__external_id=customer)
    return rows.select_related("customer", "business_line").order_by(
        "customer__external_id", "business_line__code", "dimension"
    )


def run_get(*, run_id: int) -> EvaluationRun:
    """One run by id; raises EvaluationRun.DoesNotExist."""
    return EvaluationRun.objects.select_related("policy", "policy_version").get(pk=run_id)


def run_list(*, policy: str | None = None) -> QuerySet[EvaluationRun]:
    """Runs, newest as-of date first."""
    runs = EvaluationRun.objects.select_related("policy", "policy_version")
    if policy is not None:
        runs = runs.filter(policy__name=policy)
    return runs.order_by("-as_of", "-id")


def running_run(*, policy: str) -> EvaluationRun | None:
    """The run of ``policy`` in progress, if any (a run of a dead process shows here until the
    next start, or :func:`~fenji.web.evaluations.services.evaluation_runs_reap`, marks it)."""
    return run_list(policy=policy).filter(status=RunStatus.RUNNING).first()


def run_results(*, run: EvaluationRun) -> QuerySet[RunResult]:
    """All results of one run (published or not), in a stable order."""
    return (
        RunResult.objects.filter(run=run)
        .select_related("customer", "business_line")
        .order_by("customer__external_id", "business_line__code", "dimension")
    )


def run_diff(
    *,
    run: EvaluationRun,
    previous: EvaluationRun | None = None,
    movers_limit: int | None = None,
    lang: str = "zh",
) -> RunDiff:
    """What changed from ``previous`` to ``run`` — by default the run ``run`` replaced when it
    was published (for a series: the month before)."""
    if previous is None and run.previous_id is not None:
        previous = run_get(run_id=run.previous_id)
    return compute_diff(run=run, previous=previous, movers_limit=movers_limit, lang=lang)


@dataclass(frozen=True)
class HistoryEntry:
    """One label of a customer at one as-of date, with its explanation."""

    as_of: date
    run_id: int
    dimension: str
    business_line: str | None
    label: str | None
    computed_label: str | None
    source: str
    why: str


M = TypeVar("M", bound=Model)


def _latest_of_each_date(rows: QuerySet[M], policy: str) -> QuerySet[M]:
    """``rows`` (of a model with ``run``) of the successful runs of ``policy``, and of those
    only the last run of each as-of date: re-running a month-end replaces it in a history."""
    latest_of_date = (
        EvaluationRun.objects.filter(
            policy=OuterRef("run__policy"),
            as_of=OuterRef("run__as_of"),
            status__in=[RunStatus.PUBLISHED, RunStatus.SUPERSEDED],
        )
        .order_by("-id")
        .values("id")[:1]
    )
    return rows.filter(
        run__policy__name=policy,
        run__status__in=[RunStatus.PUBLISHED, RunStatus.SUPERSEDED],
        run_id=Subquery(latest_of_date),
    )


def label_history(
    *, policy: str, customer: str, dimension: str | None = None
) -> list[HistoryEntry]:
    """A customer's labels over time: per as-of date, the last successful run of that date.

    Consecutive entries answer "why did this customer drop from A to B in March": each keeps the
    ``why`` of its own run."""
    rows = _latest_of_each_date(RunResult.objects.filter(customer__external_id=customer), policy)
    if dimension is not None:
        rows = rows.filter(dimension=dimension)
    rows = rows.select_related("run", "business_line").order_by(
        "run__as_of", "dimension", "business_line__code"
    )
    return [
        HistoryEntry(
            as_of=r.run.as_of,
            run_id=r.run_id,
            dimension=r.dimension,
            business_line=r.business_line.code if r.business_line is not None else None,
            label=r.label,
            computed_label=r.computed_label,
            source=r.source,
            why=r.why,
        )
        for r in rows
    ]


def override_list(
    *, policy: str, customer: str | None = None, active_on: date | None = None
) -> QuerySet[Override]:
    """Overrides of ``policy``, newest first; ``active_on`` keeps those in force that day."""
    rows = Override.objects.filter(policy__name=policy).select_related(
        "customer", "business_line", "author"
    )
    if customer is not None:
        rows = rows.filter(customer__external_id=customer)
    if active_on is not None:
        rows = rows.filter(revoked_at__isnull=True).filter(
            Q(expires_on__isnull=True) | Q(expires_on__gte=active_on)
        )
    return rows.order_by("-created_at", "-id")


# --- customer rows: revenue and metric values once per customer (and line) ------------------------


def run_customer_rows(*, run: EvaluationRun) -> QuerySet[RunCustomer]:
    """The customer rows of one run (published or not): revenue and metric values per
    customer and line, in a stable order. Narrow it to what a user may see with
    :func:`fenji.web.accounts.access.scope`."""
    return (
        RunCustomer.objects.filter(run=run)
        .select_related("customer", "business_line")
        .order_by("customer__external_id", "business_line__code")
    )


def published_customer_rows(*, policy: str) -> QuerySet[RunCustomer]:
    """The customer rows of the published run of ``policy`` — one statement, following the
    publication like :func:`published_results`, so a reader never mixes two runs."""
    current = Publication.objects.filter(policy__name=policy).values("run_id")[:1]
    return (
        RunCustomer.objects.filter(run_id=Subquery(current))
        .select_related("customer", "business_line")
        .order_by("customer__external_id", "business_line__code")
    )


@dataclass(frozen=True)
class CustomerMetrics:
    """The revenue and metric values of one customer (and line) in one run. ``metrics`` maps
    metric names to exact values as text (``"600.1234"``; dates ISO); a metric without a value
    is absent."""

    run_id: int
    as_of: date
    business_line: str | None
    revenue: Decimal | None
    metrics: dict[str, str]


def _customer_metrics(rows: QuerySet[RunCustomer]) -> list[CustomerMetrics]:
    return [
        CustomerMetrics(
            run_id=r.run.pk,
            as_of=r.run.as_of,
            business_line=r.business_line.code if r.business_line is not None else None,
            revenue=r.revenue,
            metrics=dict(r.metrics or {}),
        )
        for r in rows.select_related("run", "business_line")
    ]


def customer_metrics(*, run: EvaluationRun, customer: Customer | int) -> list[CustomerMetrics]:
    """A customer's revenue and metric values in ``run``: one entry, or one per business line
    for a policy graded per line (ordered by line); none when the run did not grade the
    customer. The caller checks that the user may see the customer."""
    rows = RunCustomer.objects.filter(run=run, customer=customer)
    return _customer_metrics(rows.order_by("business_line__code"))


def customer_metrics_history(*, policy: str, customer: Customer | int) -> list[CustomerMetrics]:
    """A customer's revenue and metric values over time: per as-of date, those of the last
    successful run of that date (the rule of :func:`label_history`), oldest first."""
    rows = _latest_of_each_date(RunCustomer.objects.filter(customer=customer), policy)
    return _customer_metrics(rows.order_by("run__as_of", "business_line__code"))
