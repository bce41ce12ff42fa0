"""The dashboard's numbers: one policy, one dimension, one user.

Everything here is read from the rows of the published run narrowed by
:func:`~fenji.web.accounts.access.scope`, never from ``EvaluationRun.summary`` (which counts
every customer): a sales rep's dashboard counts and sums only their own customers, a manager's
only their team's. Counts and sums are aggregated by the database (``GROUP BY``); the one list
fetched whole is the sorted revenue of the visible customers, which the Pareto curve needs in
order, and it is thinned to :data:`PARETO_POINTS` points before it reaches the page.

A page costs a fixed number of queries whatever the number of customers: the published
policies, the publication, the runs of the policy, then one query per figure.

The history of a policy is one run per as-of date (the last successful run of that date), so
re-running a month-end does not show the month twice; "the previous run" is the last run of
the as-of date before the published one, and upgrades, downgrades and the migration matrix
compare with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import accumulate
from typing import Any

from django.db.models import (
    Count,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Cast
from django.utils.translation import gettext

from fenji.engine.labels import label_order
from fenji.web.evaluations.dashboard_moves import Migration, Move, migration_between
from fenji.web.evaluations.models import (
    EvaluationRun,
    Publication,
    RunCustomer,
    RunResult,
    RunStatus,
)
from fenji.web.evaluations.visible_rows import visible_rows
from fenji.web.policies.models import PolicyVersion
from fenji.web.policies.selectors import parsed_or_none

#: As-of dates shown in the label history.
HISTORY_RUNS = 12
#: Points of the Pareto curve drawn (the curve of 100,000 customers is thinned to these).
PARETO_POINTS = 200
#: Share of customers whose revenue share the Pareto check quotes (the top 20%).
TOP_SHARE = 0.2
#: Longest policy or dimension name accepted from the address (names are short identifiers).
MAX_NAME = 63

_SUCCESSFUL = (RunStatus.PUBLISHED, RunStatus.SUPERSEDED)


@dataclass(frozen=True)
class Choice:
    """One option of a select: its value and what the user reads."""

    value: str
    title: str


@dataclass(frozen=True)
class Selection:
    """The policy and dimension the dashboard shows, and what the selects offer.

    ``policy`` is None when no policy is published; ``run`` is None before the first run.
    ``unknown_policy`` keeps a requested name that is not a published policy, so the page can
    say that it shows another one instead."""

    policies: list[Choice]
    policy: str | None = None
    policy_title: str = ""
    dimensions: list[Choice] = field(default_factory=list)
    dimension: str | None = None
    dimension_title: str = ""
    run: EvaluationRun | None = None
    #: Labels of the dimension, best first, and what each is called.
    order: list[str] = field(default_factory=list)
    label_titles: dict[str, str] = field(default_factory=dict)
    per_line: bool = False
    unknown_policy: str = ""
    #: The policy text of the run no longer validates: nothing can be shown for it.
    unreadable: bool = False


@dataclass(frozen=True)
class LabelRow:
    """One label of the distribution: customers, and their revenue when the run has it."""

    label: str | None
    title: str
    rank: int | None
    count: int
    share: float
    revenue: Decimal | None = None
    revenue_share: float | None = None


@dataclass(frozen=True)
class Pareto:
    """Cumulative revenue share against cumulative customer share, customers by revenue
    descending, over the visible customers with positive revenue (as the run's Pareto check).

    ``top_share`` is the revenue share of the first ``ceil(20% of them)`` customers, and
    ``top_at`` their share of the customers (0.2, or a little more when 20% is not whole)."""

    customers: int
    top_share: float
    top_at: float
    points: list[tuple[float, float]]


@dataclass(frozen=True)
class History:
    """Label counts per as-of date, oldest first: ``counts[label][i]`` is at ``dates[i]``."""

    dates: list[date]
    labels: list[str]
    counts: dict[str, list[int]]


@dataclass(frozen=True)
class Dashboard:
    selection: Selection
    run: EvaluationRun
    #: Customers graded in this dimension (a customer graded per line counts once).
    customers: int
    labels: list[LabelRow]
    #: Revenue of the visible customers in this run; None when the run recorded none.
    revenue: Decimal | None
    pareto: Pareto | None
    #: None when the published run is the policy's first.
    migration: Migration | None
    history: History


# --- the selection ----------------------------------------------------------------------------


def _lang_title(text: Any, lang: str, fallback: str) -> str:
    return text.get(lang) if text is not None else fallback


def _policy_title(version: PolicyVersion, lang: str, name: str) -> str:
    parsed = parsed_or_none(version)
    return _lang_title(parsed.title, lang, name) if parsed is not None else name


def _clean(name: str | None) -> str | None:
    name = (name or "").strip()
    return name if name and len(name) <= MAX_NAME else None


def dashboard_selection(*, policy: str | None, dimension: str | None, lang: str) -> Selection:
    """Which policy and dimension to show: the requested ones when they exist, else the first
    published policy by name and its first dimension. Two queries: the published versions,
    and the publication of the chosen policy with its run."""
    versions = {
        v.policy.name: v
        for v in PolicyVersion.objects.filter(is_published=True)
        .select_related("policy")
        .order_by("policy__name")
    }
    policies = [Choice(name, _policy_title(v, lang, name)) for name, v in versions.items()]
    if not policies:
        return Selection(policies=[])
    wanted = _clean(policy)
    unknown = wanted if wanted is not None and wanted not in versions else ""
    chosen = wanted if wanted is not None and wanted in versions else policies[0].value
    publication = (
        Publication.objects.select_related("run", "run__policy_version", "run__policy")
        .filter(policy__name=chosen)
        .first()
    )
    run = publication.run if publication is not None else None
    # The dimensions and labels the run was graded with (a newer version may not have run yet).
    parsed = parsed_or_none(run.policy_version if run is not None else versions[chosen])
    if parsed is None:
        return Selection(
            policies=policies,
            policy=chosen,
            policy_title=chosen,
            unknown_policy=unknown,
            unreadable=True,
        )
    dimensions = [
        Choice(name, _lang_title(spec.title, lang, name))
        for name, spec in parsed.dimensions.items()
    ]
    wanted_dim = _clean(dimension)
    dim = wanted_dim if wanted_dim in parsed.dimensions else dimensions[0].value
    spec = parsed.dimensions[dim]
    order = label_order(spec)
    titles = {label: _lang_title(info.title, lang, label) for label, info in spec.labels.items()}
    return Selection(
        policies=policies,
        policy=chosen,
        policy_title=_lang_title(parsed.title, lang, chosen),
        dimensions=dimensions,
        dimension=dim,
        dimension_title=_lang_title(spec.title, lang, dim),
        run=run,
        order=order,
        label_titles={label: titles.get(label, label) for label in order},
        per_line=parsed.grain == "customer_line",
        unknown_policy=unknown,
    )


# --- the figures ------------------------------------------------------------------------------


def _same_row(per_line: bool) -> Q:
    """Rows of another table about the same customer (and line) as the outer result row."""
    if per_line:
        return Q(customer_id=OuterRef("customer_id"), business_line_id=OuterRef("business_line_id"))
    return Q(customer_id=OuterRef("customer_id"), business_line__isnull=True)


def _history_runs(*, run: EvaluationRun) -> list[tuple[int, date]]:
    """(run id, as-of date) of the last :data:`HISTORY_RUNS` as-of dates up to the published
    run's, newest first; per date the last successful run, the published one for its own."""
    rows = (
        EvaluationRun.objects.filter(
            policy=run.policy, status__in=_SUCCESSFUL, as_of__lte=run.as_of
        )
        .order_by("-as_of", "-id")
        .values_list("id", "as_of")[: HISTORY_RUNS * 8]
    )
    picked: dict[date, int] = {run.as_of: run.pk}
    for run_id, as_of in rows:
        if len(picked) >= HISTORY_RUNS:
            break
        picked.setdefault(as_of, run_id)
    return sorted(((i, d) for d, i in picked.items()), key=lambda x: x[1], reverse=True)


def _distribution(
    *, results: QuerySet[RunResult], selection: Selection, run: EvaluationRun, revenue: bool
) -> list[LabelRow]:
    """Customers (and revenue) per label, best label first, in one GROUP BY."""
    aggregates: dict[str, Any] = {"n": Count("pk")}
    if revenue:
        of_row = (
            RunCustomer.objects.filter(_same_row(selection.per_line), run_id=run.pk)
            .order_by()
            .values("revenue")[:1]
        )
        aggregates["revenue"] = Sum(Subquery(of_row))
    rows = list(results.order_by().values("label").annotate(**aggregates))
    # Every grade of the scale is listed, so that two users' dashboards line up.
    present = {r["label"] for r in rows}
    rows += [{"label": x, "n": 0, "revenue": None} for x in selection.order if x not in present]
    rank = {label: i for i, label in enumerate(selection.order)}
    rows.sort(key=lambda r: (r["label"] is None, rank.get(r["label"], len(rank)), str(r["label"])))
    total = sum(r["n"] for r in rows)
    total_revenue = sum((r["revenue"] or Decimal(0) for r in rows), Decimal(0)) if revenue else None
    out: list[LabelRow] = []
    for r in rows:
        label_revenue = (r["revenue"] or Decimal(0)) if revenue else None
        out.append(
            LabelRow(
                label=r["label"],
                title=(
                    selection.label_titles.get(r["label"], r["label"])
                    if r["label"] is not None
                    else gettext("no label")
                ),
                rank=rank.get(r["label"]),
                count=r["n"],
                share=r["n"] / total if total else 0.0,
                revenue=label_revenue,
                revenue_share=(
                    float(label_revenue / total_revenue)
                    if label_revenue is not None and total_revenue
                    else None
                ),
            )
        )
    return out


def _pareto(*, revenues: QuerySet[RunCustomer], per_line: bool) -> Pareto | None:
    """The Pareto curve of the visible customers: one sorted list of revenues (as floats: the
    curve is a picture, the exact total comes from the database), thinned to
    :data:`PARETO_POINTS` points plus the top-20% point."""
    if per_line:
        values = (
            revenues.order_by()
            .values("customer_id")
            .annotate(v=Cast(Sum("revenue"), FloatField()))
            .filter(v__gt=0)
            .order_by("-v")
            .values_list("v", flat=True)
        )
    else:
        values = (
            revenues.filter(revenue__gt=0)
            .annotate(v=Cast("revenue", FloatField()))
            .order_by("-v")
            .values_list("v", flat=True)
        )
    cumulative = list(accumulate(values))
    n = len(cumulative)
    if n == 0 or cumulative[-1] <= 0:
        return None
    total = cumulative[-1]
    top = math.ceil(n * TOP_SHARE - 1e-9)
    step = max(n / PARETO_POINTS, 1.0)
    picks = {min(n, round(j * step)) for j in range(1, int(n / step) + 1)} | {n, top}
    points = [(0.0, 0.0)] + [
        (round(k / n, 4), round(cumulative[k - 1] / total, 4)) for k in sorted(picks) if k > 0
    ]
    return Pareto(
        customers=n,
        top_share=cumulative[top - 1] / total,
        top_at=top / n,
        points=points,
    )


def _history(*, user: Any, runs: list[tuple[int, date]], selection: Selection) -> History:
    """Label counts of the visible customers per as-of date, in one GROUP BY over the runs."""
    rows = (
        visible_rows(
            RunResult.objects.all(),
            user=user,
            run_ids=[i for i, _ in runs],
            dimension=selection.dimension,
        )
        .order_by()
        .values("run_id", "label")
        .annotate(n=Count("pk"))
    )
    oldest_first = list(reversed(runs))
    column = {run_id: i for i, (run_id, _) in enumerate(oldest_first)}
    counts: dict[str, list[int]] = {}
    for r in rows:
        key = r["label"] if r["label"] is not None else "—"
        counts.setdefault(key, [0] * len(oldest_first))[column[r["run_id"]]] += r["n"]
    rank = {label: i for i, label in enumerate(selection.order)}
    labels = sorted(counts, key=lambda x: (x not in rank, rank.get(x, 0), x))
    return History(dates=[d for _, d in oldest_first], labels=labels, counts=counts)


def dashboard_build(*, user: Any, selection: Selection) -> Dashboard | None:
    """The figures of the selected policy's published run and dimension, as ``user`` may see
    them (None before the policy's first run)."""
    run = selection.run
    if run is None or selection.dimension is None:
        return None
    results = visible_rows(
        RunResult.objects.all(), user=user, run_ids=[run.pk], dimension=selection.dimension
    )
    revenues = visible_rows(
        RunCustomer.objects.filter(revenue__isnull=False), user=user, run_ids=[run.pk]
    )
    totals = revenues.order_by().aggregate(rows=Count("pk"), revenue=Sum("revenue"))
    has_revenue = bool(totals["rows"])
    labels = _distribution(results=results, selection=selection, run=run, revenue=has_revenue)
    if selection.per_line:
        customers = results.order_by().aggregate(n=Count("customer_id", distinct=True))["n"]
    else:
        customers = sum(row.count for row in labels)
    runs = _history_runs(run=run)
    previous = runs[1] if len(runs) > 1 else None
    return Dashboard(
        selection=selection,
        run=run,
        customers=customers,
        labels=labels,
        revenue=totals["revenue"] if has_revenue else None,
        pareto=_pareto(revenues=revenues, per_line=selection.per_line) if has_revenue else None,
        migration=(
            migration_between(
                user=user,
                run_id=run.pk,
                previous=previous,
                dimension=selection.dimension,
                order=selection.order,
            )
            if previous is not None
            else None
        ),
        history=_history(user=user, runs=runs, selection=selection),
    )


__all__ = [
    "Choice",
    "Dashboard",
    "History",
    "LabelRow",
    "Migration",
    "Move",
    "Pareto",
    "Selection",
    "dashboard_build",
    "dashboard_selection",
]
