"""``/api/customers``: the customers the caller may see, their current labels and history.

A customer the caller may not see answers 404, exactly like one that does not exist, so that
ids cannot be probed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from fenji.web.accounts.access import require
from fenji.web.api.errors import ApiError, ErrorOut, not_found
from fenji.web.api.schemas import CustomerDetail, CustomerPage, HistoryOut
from fenji.web.api.selectors import customer_get, customer_history, customer_labels
from fenji.web.customers.models import Customer
from fenji.web.customers.selectors import (
    MAX_SEARCH,
    CustomerFilters,
    customer_list,
    published_gradings,
)
from fenji.web.evaluations.models import RunResult

router = Router(tags=["customers"])

MAX_LIMIT = 500


def _customer(c: Customer) -> dict[str, Any]:
    return {
        "external_id": c.external_id,
        "name": c.name,
        "industry": c.industry,
        "region": c.region,
        "scale": c.scale,
        "owner": c.owner,
        "first_deal_date": c.first_deal_date,
        "influence": c.influence,
        "tags": [str(t) for t in (c.tags or [])],
    }


def _label(r: RunResult) -> dict[str, Any]:
    return {
        "policy": r.run.policy.name,
        "run_id": r.run_id,
        "as_of": r.run.as_of,
        "dimension": r.dimension,
        "business_line": r.business_line.code if r.business_line is not None else None,
        "label": r.label,
        "computed_label": r.computed_label,
        "source": r.source,
        "score": float(r.score) if r.score is not None else None,
        "why": r.why,
        "next_label": r.next_label,
        "gap": r.gap,
    }


def _visible(request: HttpRequest, external_id: str) -> Customer:
    require(request.auth, "customers.view")
    customer = customer_get(user=request.auth, external_id=external_id)
    if customer is None:
        raise not_found(f"customer '{external_id}'")
    return customer


def _label_filter(filters: CustomerFilters, policy: str, dimension: str, label: str) -> Any:
    """``filters`` narrowed to customers with ``label`` in ``dimension`` of the published run of
    ``policy``; names that do not exist answer 422 with the names that do."""
    if not (policy and dimension and label):
        raise ApiError(
            422, "invalid", "filtering by label needs all three of policy, dimension and label"
        )
    gradings = published_gradings()
    grading = next((g for g in gradings if g.policy == policy), None)
    if grading is None:
        known = ", ".join(g.policy for g in gradings) or "none yet"
        raise ApiError(
            422, "invalid", f"policy '{policy}' has no published run; published: {known}"
        )
    dim = grading.dimension(dimension)
    if dim is None:
        known = ", ".join(d.name for d in grading.dimensions)
        raise ApiError(
            422, "invalid", f"policy '{policy}' has no dimension '{dimension}'; it has {known}"
        )
    if label not in dim.labels:
        raise ApiError(
            422,
            "invalid",
            f"dimension '{dimension}' cannot give label '{label}'; "
            f"its labels are {', '.join(dim.labels)}",
        )
    return replace(filters, grading=grading, dimension=dim.name, label=label)


@router.get("/customers", response={200: CustomerPage, 403: ErrorOut, 422: ErrorOut})
def list_customers(
    request: HttpRequest,
    q: str = "",
    owner: str = "",
    industry: str = "",
    region: str = "",
    tag: str = "",
    line: str = "",
    policy: str = "",
    dimension: str = "",
    label: str = "",
    limit: int = Query(50, ge=1, le=MAX_LIMIT),  # type: ignore[type-arg]
    offset: int = Query(0, ge=0),  # type: ignore[type-arg]
) -> dict[str, Any]:
    """Customers the caller may see, by external id (the same filters as the customer list).
    ``q`` searches ids and names; ``line`` keeps customers with orders in that business line;
    ``policy`` + ``dimension`` + ``label`` keep those with that label in the published run."""
    require(request.auth, "customers.view")
    filters = CustomerFilters(
        q=" ".join(q.split())[:MAX_SEARCH],
        owner=owner.strip(),
        industry=industry.strip(),
        region=region.strip(),
        tag=tag.strip(),
        business_line=line.strip(),
    )
    if policy or dimension or label:
        filters = _label_filter(filters, policy.strip(), dimension.strip(), label.strip())
    rows = customer_list(user=request.auth, filters=filters)
    return {
        "count": rows.count(),
        "limit": limit,
        "offset": offset,
        "items": [_customer(c) for c in rows[offset : offset + limit]],
    }


@router.get("/customers/{external_id}", response={200: CustomerDetail, 404: ErrorOut})
def get_customer(request: HttpRequest, external_id: str) -> dict[str, Any]:
    """A customer's profile and current labels in every published policy, each with its
    explanation (``why``), the next label and the gap to it."""
    customer = _visible(request, external_id)
    labels = [_label(r) for r in customer_labels(customer=customer)]
    return {**_customer(customer), "attributes": customer.attributes or {}, "labels": labels}


@router.get("/customers/{external_id}/history", response={200: list[HistoryOut], 404: ErrorOut})
def get_customer_history(
    request: HttpRequest, external_id: str, policy: str = "", dimension: str = ""
) -> list[dict[str, Any]]:
    """The customer's labels at each as-of date (the last run of each date), oldest first;
    every published policy unless ``policy`` names one."""
    customer = _visible(request, external_id)
    entries = customer_history(
        customer=customer, policy=policy or None, dimension=dimension or None
    )
    return [
        {
            "policy": name,
            "as_of": e.as_of,
            "run_id": e.run_id,
            "dimension": e.dimension,
            "business_line": e.business_line,
            "label": e.label,
            "computed_label": e.computed_label,
            "source": e.source,
            "why": e.why,
        }
        for name, e in entries
    ]
