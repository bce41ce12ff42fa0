"""What the API reads beyond the other apps' selectors: tokens, a customer's labels and
history, policies, and run counts over the caller's customers.

Every customer query starts from :func:`~fenji.web.accounts.access.visible_customers` or is
narrowed with :func:`~fenji.web.accounts.access.scope` (the customer list itself is
:func:`fenji.web.customers.selectors.customer_list`, shared with the list page and its export).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, OuterRef, QuerySet, Subquery

from fenji.engine.labels import label_order
from fenji.web.accounts.access import visible_customers
from fenji.web.api.models import ApiToken
from fenji.web.customers.models import Customer
from fenji.web.evaluations.models import EvaluationRun, Publication, RunResult
from fenji.web.evaluations.scoped_diff import run_policy
from fenji.web.evaluations.selectors import HistoryEntry, label_history
from fenji.web.evaluations.visible_rows import grouped_values, visible_rows
from fenji.web.policies.models import Policy, PolicyVersion


def token_list(*, user: Any) -> QuerySet[ApiToken]:
    """``user``'s own tokens, newest first (revoked and expired ones included, marked so)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def customer_get(*, user: Any, external_id: str) -> Customer | None:
    """The customer with this id if ``user`` may see it (else None: the caller answers 404)."""
    return visible_customers(user=user).filter(external_id=external_id).first()


def customer_labels(*, customer: Customer) -> list[RunResult]:
    """The customer's labels in the published run of every policy, with explanations."""
    current = Publication.objects.values("run_id")
    return list(
        RunResult.objects.filter(run_id__in=current, customer=customer)
        .select_related("run__policy", "business_line")
        .order_by("run__policy__name", "business_line__code", "dimension")
    )


def customer_history(
    *, customer: Customer, policy: str | None = None, dimension: str | None = None
) -> list[tuple[str, HistoryEntry]]:
    """(policy, entry) of the customer's labels over time; every published policy unless
    ``policy`` names one. One query per policy (policies are few)."""
    names = (
        [policy]
        if policy
        else list(
            Publication.objects.order_by("policy__name").values_list("policy__name", flat=True)
        )
    )
    out: list[tuple[str, HistoryEntry]] = []
    for name in names:
        entries = label_history(policy=name, customer=customer.external_id, dimension=dimension)
        out.extend((name, e) for e in entries)
    return out


def policy_list() -> QuerySet[Policy]:
    """Policies by name, with the published version number and the published run."""
    published = PolicyVersion.objects.filter(policy=OuterRef("pk"), is_published=True)
    return (
        Policy.objects.select_related("publication__run")
        .annotate(published_version=Subquery(published.values("version")[:1]))
        .order_by("name")
    )


@dataclass(frozen=True)
class ScopedRunCounts:
    customers: int
    results: int
    held: int
    overridden: int
    #: (dimension, title, [(label, count)]) in the policy's order of dimensions and labels.
    summary: list[tuple[str, str, list[tuple[str | None, int]]]]


def run_counts(*, run: EvaluationRun, user: Any, lang: str = "zh") -> ScopedRunCounts:
    """Label counts of ``run`` over the customers ``user`` may see (two queries): a rep's
    numbers never include anybody else's customers."""
    rows = visible_rows(RunResult.objects.all(), user=user, run_ids=[run.pk])
    grouped = grouped_values(rows, user=user, fields=["dimension", "label", "source"])
    cells = [
        (r["g_dimension"], r["g_label"], r["g_source"], r["n"])
        for r in grouped.annotate(n=Count("id")).order_by()
    ]
    customers = rows.values("customer_id").distinct().count()
    parsed = run_policy(run)
    counted: dict[str, dict[str | None, int]] = {}
    held = overridden = total = 0
    for dim, label, source, n in cells:
        per = counted.setdefault(dim, {})
        per[label] = per.get(label, 0) + n
        total += n
        held += n if source == "held" else 0
        overridden += n if source == "override" else 0
    summary: list[tuple[str, str, list[tuple[str | None, int]]]] = []
    for dim, spec in parsed.dimensions.items():
        per = counted.pop(dim, {})
        order: list[str | None] = [*label_order(spec)]
        extra = sorted((x for x in per if x not in order), key=lambda x: (x is None, x or ""))
        title = spec.title.get(lang) if spec.title else dim
        summary.append((dim, title, [(lbl, per.get(lbl, 0)) for lbl in [*order, *extra]]))
    for dim, per in sorted(counted.items()):  # dimensions the policy no longer has
        summary.append((dim, dim, sorted(per.items(), key=lambda x: (x[0] is None, x[0] or ""))))
    return ScopedRunCounts(
        customers=customers, results=total, held=held, overridden=overridden, summary=summary
    )
