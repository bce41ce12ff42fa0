"""The audit log page (administrators): who did what, filtered, paged, exported as CSV.

The export is itself audited (``audit.export``) with the filters used, so a copy of the log that
leaves the system leaves a trace in it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from fenji.web.accounts.access import require
from fenji.web.accounts.audit_log import (
    action_title,
    audit_choices,
    audit_entries,
    audit_filters,
    csv_rows,
    detail_items,
)
from fenji.web.accounts.services import audit as record
from fenji.web.ui.paging import paginate


class _Echo:
    """A file-like object whose ``write`` returns the line, for streaming ``csv.writer``."""

    def write(self, value: str) -> str:
        return value


@login_required
@require_GET
def audit(request: HttpRequest) -> HttpResponse:
    require(request.user, "audit.view")
    filters = audit_filters(request.GET)
    page = paginate(audit_entries(filters=filters), request, per_page=50)
    actions, object_types = audit_choices()
    rows: list[dict[str, Any]] = [
        {"entry": e, "title": action_title(e.action), "details": detail_items(e.details)}
        for e in page.items
    ]
    export_query = request.GET.copy()
    export_query.pop("page", None)
    return render(
        request,
        "accounts/audit.html",
        {
            "filters": filters,
            "page": page,
            "rows": rows,
            "actions": actions,
            "object_types": object_types,
            "export_query": export_query.urlencode(),
            "filtered": bool(filters.as_details()),
        },
    )


@login_required
@require_GET
def audit_export(request: HttpRequest) -> HttpResponse:
    require(request.user, "audit.view")
    filters = audit_filters(request.GET)
    entries = audit_entries(filters=filters)
    record(
        action="audit.export",
        user=request.user,
        object_type="audit",
        details={"filters": filters.as_details()},
    )
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff"  # lets spreadsheet programs read the file as UTF-8 (Chinese names)
        for row in csv_rows(entries):
            yield writer.writerow(row)

    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="fenji-audit-{stamp}.csv"'
    return response
