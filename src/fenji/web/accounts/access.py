"""Who may see which customers, and who may do what: the one place that decides.

Every page, search, count, chart, export and API call narrows its query with
:func:`visible_customers` (customers) or :func:`scope` (anything that belongs to a customer:
orders, run results, overrides, follow-ups). Both rest on :func:`visible_owners`, so the rule is
written once:

- an administrator sees every customer;
- a manager sees the customers owned by the members of their team (themselves included);
- a sales rep sees only the customers they own (``Customer.owner`` is the rep's login);
- a user with no role yet, or an inactive one, sees nothing.

Actions are granted by role in :data:`PERMISSIONS`; :func:`can` answers for templates and views
and :func:`require` raises ``PermissionDenied`` (HTTP 403) for views and the API.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet

from fenji.web.accounts.models import Membership, Role
from fenji.web.customers.models import Customer

M = TypeVar("M", bound=Model)

Permission = Literal[
    "dashboard.view",
    "customers.view",
    "customers.export",
    "followup.add",
    "override.manage",
    "policy.view",
    "policy.edit",
    "policy.publish",
    "run.view",
    "run.start",
    "import.run",
    "audit.view",
    "api.token",
]

_EVERYONE: frozenset[str] = frozenset(
    {
        "dashboard.view",
        "customers.view",
        "customers.export",
        "followup.add",
        "policy.view",
        "run.view",
        "api.token",
    }
)
PERMISSIONS: dict[str, frozenset[str]] = {
    Role.ADMIN: _EVERYONE
    | {
        "override.manage",
        "policy.edit",
        "policy.publish",
        "run.start",
        "import.run",
        "audit.view",
    },
    Role.MANAGER: _EVERYONE | {"override.manage", "policy.edit", "run.start"},
    Role.REP: _EVERYONE,
}


def role_of(user: Any) -> str | None:
    """The user's role: ``admin``, ``manager``, ``rep``, or ``None`` (no access)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    cached = getattr(user, "_fenji_membership", False)
    if cached is False:
        cached = Membership.objects.filter(user=user).select_related("team").first()
        user._fenji_membership = cached
    return cached.role if cached is not None else None


def visible_owners(user: Any) -> list[str] | None:
    """The owner logins whose customers ``user`` may see; ``None`` means all of them."""
    role = role_of(user)
    if role == Role.ADMIN:
        return None
    if role == Role.MANAGER:
        membership = user._fenji_membership
        if membership.team_id is None:
            return [user.get_username()]
        cached: list[str] | None = getattr(user, "_fenji_team_logins", None)
        if cached is None:
            logins = Membership.objects.filter(team_id=membership.team_id).values_list(
                "user__username", flat=True
            )
            cached = sorted({*logins, user.get_username()})
            user._fenji_team_logins = cached
        return cached
    if role == Role.REP:
        return [user.get_username()]
    return []


def _owner_q(owners: list[str], prefix: str) -> Q:
    field = f"{prefix}owner"
    return Q(**{field: owners[0]}) if len(owners) == 1 else Q(**{f"{field}__in": owners})


def visible_customers(*, user: Any) -> QuerySet[Customer]:
    """The customers ``user`` may see (all rows of every other query start from this rule)."""
    return scope(Customer.objects.all(), user=user, path="")


def scope(queryset: QuerySet[M], *, user: Any, path: str = "customer") -> QuerySet[M]:
    """``queryset`` narrowed to rows whose customer ``user`` may see; ``path`` leads from the
    model to its customer (``"customer"`` for orders and results, ``""`` for customers)."""
    owners = visible_owners(user)
    if owners is None:
        return queryset
    if not owners:
        return queryset.none()
    prefix = f"{path}__" if path else ""
    return queryset.filter(_owner_q(owners, prefix))


def can_see_customer(*, user: Any, customer: Customer) -> bool:
    owners = visible_owners(user)
    return owners is None or customer.owner in owners


def can(user: Any, permission: Permission) -> bool:
    role = role_of(user)
    return role is not None and permission in PERMISSIONS.get(role, frozenset())


def require(user: Any, permission: Permission) -> None:
    """Raise ``PermissionDenied`` unless ``user`` has ``permission``."""
    if not can(user, permission):
        raise PermissionDenied(permission)
