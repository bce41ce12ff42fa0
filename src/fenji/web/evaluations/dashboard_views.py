"""The dashboard page: the published run of one policy, per dimension, as the user may see it.

The view picks the policy and dimension, asks :mod:`~fenji.web.evaluations.dashboard` for the
figures and :mod:`~fenji.web.evaluations.charts` for the charts. A request from HTMX (the
selects) gets the dashboard's body only, which replaces the old one in place; any other request
(a bookmark, the back button, a browser without scripts) gets the whole page.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.cache import patch_vary_headers

from fenji.web.accounts.access import can, require
from fenji.web.evaluations import charts
from fenji.web.evaluations.dashboard import (
    Dashboard,
    Migration,
    Move,
    dashboard_build,
    dashboard_selection,
)
from fenji.web.ui.language import active_lang


def _url(name: str, **kwargs: str) -> str:
    """The address of a page of another area, or "" while that page is not wired."""
    try:
        return reverse(name, kwargs=kwargs or None)
    except NoReverseMatch:
        return ""


def _customer_url(external_id: str) -> str:
    return _url("customers:detail", external_id=external_id) or (
        f"/customers/{quote(external_id, safe='')}/"
    )


def _linked(moves: list[Move]) -> list[Move]:
    return [replace(m, url=_customer_url(m.external_id)) for m in moves]


def _charts(board: Dashboard) -> dict[str, str]:
    """The ECharts options of the page, as JSON text (drawn by the ``chart`` template tag)."""
    ranks = {label: i for i, label in enumerate(board.selection.order)}
    out: dict[str, Any] = {
        "distribution": charts.distribution_chart(board.labels),
        "history": charts.history_chart(board.history, ranks),
    }
    if board.revenue is not None:
        out["revenue"] = charts.revenue_chart(board.labels)
    if board.pareto is not None:
        out["pareto"] = charts.pareto_chart(board.pareto)
    if board.migration is not None:
        out["migration"] = charts.migration_chart(board.migration)
    return {name: json.dumps(option, ensure_ascii=False) for name, option in out.items()}


def _with_links(migration: Migration | None) -> Migration | None:
    if migration is None:
        return None
    return replace(
        migration,
        biggest_upgrades=_linked(migration.biggest_upgrades),
        biggest_downgrades=_linked(migration.biggest_downgrades),
    )


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    require(request.user, "dashboard.view")
    lang = active_lang()
    selection = dashboard_selection(
        policy=request.GET.get("policy"), dimension=request.GET.get("dimension"), lang=lang
    )
    board = dashboard_build(user=request.user, selection=selection)
    if board is not None:
        board = replace(board, migration=_with_links(board.migration))
    context = {
        "selection": selection,
        "board": board,
        "charts": _charts(board) if board is not None else {},
        "ranks": {label: i for i, label in enumerate(selection.order)},
        "policies_url": _url("policies:list") if can(request.user, "policy.publish") else "",
        "runs_url": _url("evaluations:runs") if can(request.user, "run.start") else "",
    }
    partial = request.headers.get("HX-Request") == "true" and not request.headers.get(
        "HX-History-Restore-Request"
    )
    template = "evaluations/dashboard_body.html" if partial else "evaluations/dashboard.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response
