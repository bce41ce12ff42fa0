"""``/api/overrides``: manual labels (人工调整) on the caller's customers.

Setting and revoking need the ``override.manage`` permission and a customer the caller may
see; the label is checked against the dimension by the override service, which also audits.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router
from ninja.responses import Status

from fenji.web.accounts.access import require, scope
from fenji.web.api.errors import ErrorOut, not_found
from fenji.web.api.schemas import OverrideIn, OverrideOut, Paged
from fenji.web.api.selectors import customer_get
from fenji.web.evaluations.models import Override
from fenji.web.evaluations.services import override_create, override_revoke

router = Router(tags=["overrides"])

MAX_LIMIT = 500
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class OverridePage(Paged):
    items: list[OverrideOut]


def _override(o: Override) -> dict[str, Any]:
    return {
        "id": o.pk,
        "policy": o.policy.name,
        "customer": o.customer.external_id,
        "business_line": o.business_line.code if o.business_line is not None else None,
        "dimension": o.dimension,
        "label": o.label,
        "reason": o.reason,
        "expires_on": o.expires_on,
        "author": o.author.get_username() if o.author is not None else None,
        "created_at": o.created_at,
        "revoked_at": o.revoked_at,
    }


def _visible_overrides(request: HttpRequest) -> Any:
    return scope(
        Override.objects.select_related("policy", "customer", "business_line", "author"),
        user=request.auth,
    )


@router.get("/overrides", response={200: OverridePage, 403: ErrorOut, 422: ErrorOut})
def list_overrides(
    request: HttpRequest,
    policy: str = "",
    customer: str = "",
    active: bool = False,
    limit: int = Query(50, ge=1, le=MAX_LIMIT),  # type: ignore[type-arg]
    offset: int = Query(0, ge=0),  # type: ignore[type-arg]
) -> dict[str, Any]:
    """Overrides of the caller's customers, newest first; ``active`` keeps those not revoked."""
    require(request.auth, "customers.view")
    rows = _visible_overrides(request)
    if policy:
        rows = rows.filter(policy__name=policy)
    if customer:
        rows = rows.filter(customer__external_id=customer)
    if active:
        rows = rows.filter(revoked_at__isnull=True)
    rows = rows.order_by("-created_at", "-id")
    return {
        "count": rows.count(),
        "limit": limit,
        "offset": offset,
        "items": [_override(o) for o in rows[offset : offset + limit]],
    }


@router.post("/overrides", response={201: OverrideOut, **ERRORS})
def create_override(request: HttpRequest, payload: OverrideIn) -> Status:
    """Set a label by hand, with a reason and an optional expiry; applies from the next run."""
    require(request.auth, "override.manage")
    customer = customer_get(user=request.auth, external_id=payload.customer)
    if customer is None:
        raise not_found(f"customer '{payload.customer}'")
    override = override_create(
        policy=payload.policy,
        customer=customer,
        dimension=payload.dimension,
        label=payload.label,
        reason=payload.reason,
        expires_on=payload.expires_on,
        user=request.auth,
        business_line=payload.business_line or None,
    )
    override = _visible_overrides(request).get(pk=override.pk)
    return Status(201, _override(override))


@router.delete("/overrides/{int:override_id}", response={200: OverrideOut, **ERRORS})
def revoke_override(request: HttpRequest, override_id: int, reason: str = "") -> dict[str, Any]:
    """End an override now (it stays on record); the next run computes the label again."""
    require(request.auth, "override.manage")
    override = _visible_overrides(request).filter(pk=override_id).first()
    if override is None:
        raise not_found(f"override #{override_id}")
    override_revoke(override=override, user=request.auth, reason=reason.strip())
    return _override(override)
