"""Exporting the filtered customer list to CSV and Excel.

An export has the rows of the list as filtered and sorted, all of them rather than one page,
read in chunks of ids so that memory stays flat at 100,000 customers. Every export is audited
with its filters and row count before the first byte leaves.

Spreadsheets run text that looks like a formula (CSV injection): a customer named
``=HYPERLINK(...)`` would become a live link in the exported file. :func:`neutralise` puts an
apostrophe before text that a spreadsheet would read as a formula; numbers (revenue) are written
as numbers and stay numbers.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterator, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.http import FileResponse, HttpResponseBase, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from fenji.web.accounts.services import audit
from fenji.web.customers.selectors import (
    CustomerFilters,
    LabelCell,
    customer_list,
    customer_rows,
    customers_by_ids,
)

FORMATS: tuple[str, ...] = ("csv", "xlsx")
CHUNK = 1000
#: The customer fields an export writes (JSON attributes and timestamps are not even read).
EXPORTED = ("external_id", "name", "owner", "industry", "region", "tags")

#: What a spreadsheet reads as the start of a formula (OWASP's list for CSV injection).
FORMULA_START: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")

Value = str | Decimal | date | None


def neutralise(text: str) -> str:
    """``text`` as a spreadsheet shows it and never runs it: an apostrophe goes before text
    that starts like a formula (``=``, ``+``, ``-``, ``@``, tab, carriage return). Only for
    text cells — numbers are written as numbers, so ``-5`` revenue stays a number."""
    return f"'{text}" if text.startswith(FORMULA_START) else text


def _labels(cells: list[LabelCell]) -> str:
    """One dimension's label; ``line: label`` pairs for policies graded per line."""
    if len(cells) == 1 and not cells[0].line:
        return cells[0].label or ""
    return "; ".join(f"{c.line}: {c.label or '—'}" if c.line else (c.label or "") for c in cells)


def header(filters: CustomerFilters) -> list[str]:
    """Column titles, in the language of the request."""
    titles = [
        _("Customer ID"),
        _("Name"),
        _("Owner"),
        _("Industry"),
        _("Region"),
        _("Tags"),
    ]
    if filters.grading is not None:
        titles += [d.title for d in filters.grading.dimensions]
        titles.append(_("Revenue (yuan)"))
    titles.append(_("Last follow-up"))
    return titles


def records(*, user: Any, filters: CustomerFilters, ids: Sequence[int]) -> Iterator[list[Value]]:
    """The rows of the export in list order; text is neutralised, numbers and dates are not."""
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        customers = customers_by_ids(user=user, ids=list(chunk), fields=EXPORTED)
        for row in customer_rows(user=user, customers=customers, filters=filters):
            c = row.customer
            values: list[Value] = [
                neutralise(c.external_id),
                neutralise(c.name),
                neutralise(c.owner),
                neutralise(c.industry),
                neutralise(c.region),
                neutralise("、".join(str(t) for t in c.tags or [])),
            ]
            if filters.grading is not None:
                values += [neutralise(_labels(cells)) for cells in row.labels]
                values.append(row.revenue)
            values.append(row.last_follow_up)
            yield values


def _filename(fmt: str) -> str:
    return f"customers-{timezone.localdate():%Y%m%d}.{fmt}"


class _Echo:
    """A file whose ``write`` returns what it was given: ``csv.writer`` then formats one row
    at a time for the streaming response."""

    def write(self, value: str) -> str:
        return value


def _csv_cell(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if isinstance(value, date):
        return value.isoformat()
    return value


def _csv_lines(title: list[str], rows: Iterator[list[Value]]) -> Iterator[str]:
    # The byte order mark makes Excel (as set up in China) read the file as UTF-8, not GBK.
    yield "\ufeff"
    writer = csv.writer(_Echo())
    yield writer.writerow([neutralise(t) for t in title])
    for row in rows:
        yield writer.writerow([_csv_cell(v) for v in row])


def _xlsx_file(title: list[str], rows: Iterator[list[Value]]) -> Any:
    """The workbook in a temporary file (write-only mode keeps memory flat; a zip file cannot
    be streamed before it is complete)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Customers"))
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    head = []
    for text in title:
        cell = WriteOnlyCell(sheet, value=neutralise(text))
        cell.font = bold
        head.append(cell)
    sheet.append(head)
    for row in rows:
        out: list[Any] = []
        for value in row:
            if isinstance(value, Decimal):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "#,##0.00"
                out.append(cell)
            elif isinstance(value, date):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "yyyy-mm-dd"
                out.append(cell)
            elif isinstance(value, str):
                # Control characters are not allowed in the file format; they cannot be shown.
                out.append(ILLEGAL_CHARACTERS_RE.sub("", value))
            else:
                out.append(value)
        sheet.append(out)
    # Closed (and so deleted) by the response once it has been sent.
    handle = tempfile.TemporaryFile()  # noqa: SIM115
    book.save(handle)
    handle.seek(0)
    return handle


def export_response(*, user: Any, filters: CustomerFilters, fmt: str) -> HttpResponseBase:
    """The export of the list as ``fmt`` (``csv`` streamed, ``xlsx`` as a file), audited."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format '{fmt}'; use one of {', '.join(FORMATS)}")
    ids = list(customer_list(user=user, filters=filters).values_list("pk", flat=True))
    audit(
        action="customers.export",
        user=user,
        object_type="customer",
        details={"format": fmt, "filters": filters.params(), "rows": len(ids)},
    )
    title = header(filters)
    rows = records(user=user, filters=filters, ids=ids)
    if fmt == "csv":
        response = StreamingHttpResponse(
            _csv_lines(title, rows), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{_filename(fmt)}"'
        return response
    return FileResponse(
        _xlsx_file(title, rows),
        as_attachment=True,
        filename=_filename(fmt),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
