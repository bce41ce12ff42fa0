"""What every page's layout needs: the user's role, what they may do, and the navigation."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from fenji.web.accounts.access import can, role_of

#: (url name, label, permission, view-name prefix that marks it current) of the navigation.
NAVIGATION: tuple[tuple[str, Any, str, str], ...] = (
    ("evaluations:dashboard", _("Dashboard"), "dashboard.view", "evaluations:dashboard"),
    ("customers:list", _("Customers"), "customers.view", "customers:"),
    ("policies:list", _("Policies"), "policy.view", "policies:"),
    ("evaluations:runs", _("Runs"), "run.view", "evaluations:run"),
    ("facts:imports", _("Imports"), "import.run", "facts:"),
    ("accounts:audit", _("Audit log"), "audit.view", "accounts:audit"),
    ("accounts:tokens", _("API tokens"), "api.token", "accounts:token"),
)


def fenji(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"fenji_role": None, "fenji_nav": []}
    nav = []
    current = request.resolver_match.view_name if request.resolver_match else ""
    for name, label, permission, prefix in NAVIGATION:
        if not can(user, permission):  # type: ignore[arg-type]
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:  # a page not wired yet is left out of the menu
            continue
        nav.append({"url": url, "label": label, "active": current.startswith(prefix)})
    return {"fenji_role": role_of(user), "fenji_nav": nav}
