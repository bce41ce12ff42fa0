"""The customer list page and its exports.

The page is one form: the filters and, inside it, the results. Changing a filter asks the same
URL with HTMX and swaps only the results (the view answers an HTMX request with the results
fragment), and the address bar gets the URL of the filtered list, so it can be shared; sort
links and pages do the same. Without JavaScript every link and the form work as plain pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext_lazy as _

from fenji.web.accounts.access import can, require
from fenji.web.customers.export import FORMATS, export_response
from fenji.web.customers.selectors import (
    CustomerFilters,
    customer_count,
    customer_list,
    customer_rows,
    customers_by_ids,
    filter_choices,
    parse_filters,
    published_gradings,
)
from fenji.web.ui.paging import paginate


@dataclass(frozen=True)
class Column:
    """A column header: its title and, when it sorts, the query that sorts by it and whether
    the list is sorted by it now."""

    title: str
    sortable: bool = False
    query: str = ""
    state: str = ""  # "", "asc" or "desc"
    numeric: bool = False


def _columns(filters: CustomerFilters) -> list[Column]:
    """Headers in table order. A click on the sorted column turns the order around; another
    column starts A→Z for text, best tier first for labels, and largest first for revenue."""
    current = filters.sort_key.lstrip("-")

    def sortable(key: str, title: str, numeric: bool = False) -> Column:
        params = filters.params()
        if key == current:
            state = "desc" if filters.descending else "asc"
            params["sort"] = key if filters.descending else f"-{key}"
        else:
            state = ""
            params["sort"] = f"-{key}" if key == "revenue" else key
        if params["sort"] == "id":
            del params["sort"]
        return Column(
            title=title, sortable=True, query=urlencode(params), state=state, numeric=numeric
        )

    columns = [
        sortable("id", str(_("Customer ID"))),
        sortable("name", str(_("Name"))),
        sortable("owner", str(_("Owner"))),
        sortable("industry", str(_("Industry"))),
        sortable("region", str(_("Region"))),
        Column(title=str(_("Tags"))),
    ]
    if filters.grading is not None:
        columns += [sortable(f"label:{d.name}", d.title) for d in filters.grading.dimensions]
        columns.append(sortable("revenue", str(_("Revenue (10k yuan)")), numeric=True))
    columns.append(Column(title=str(_("Last follow-up"))))
    return columns


def _wants_fragment(request: HttpRequest) -> bool:
    # A history restore asks for the whole page even though it comes from HTMX.
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


@login_required
def customer_list_view(request: HttpRequest) -> HttpResponse:
    require(request.user, "customers.view")
    gradings = published_gradings()
    filters, errors = parse_filters(params=request.GET, gradings=gradings)
    page = paginate(
        customer_list(user=request.user, filters=filters).values_list("pk", flat=True),
        request,
        count=customer_count(user=request.user, filters=filters),
    )
    customers = customers_by_ids(user=request.user, ids=page.items)
    rows = customer_rows(user=request.user, customers=customers, filters=filters)
    params = filters.params()
    context = {
        "filters": filters,
        "errors": errors,
        "gradings": gradings,
        "page": page,
        "rows": rows,
        "columns": _columns(filters),
        "detail_base": reverse("customers:list"),
        "export_query": urlencode(params),
        "can_export": can(request.user, "customers.export"),
        "formats": FORMATS,
    }
    if _wants_fragment(request):
        response = render(request, "customers/list_results.html", {**context, "oob": True})
    else:
        choices = filter_choices(user=request.user)
        context["choices"] = choices
        context["line_known"] = filters.business_line in {code for code, _n in choices.lines}
        response = render(request, "customers/list.html", context)
    # The same URL answers with a fragment or a page: caches must keep them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
def customer_export_view(request: HttpRequest, fmt: str) -> HttpResponseBase:
    require(request.user, "customers.export")
    if fmt not in FORMATS:
        raise Http404(f"unknown export format '{fmt}'")
    filters, _errors = parse_filters(params=request.GET, gradings=published_gradings())
    return export_response(user=request.user, filters=filters, fmt=fmt)
