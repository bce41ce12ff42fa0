"""Reading the audit log: filters from a query string, readable details, CSV rows.

The log is read newest first by its indexed timestamp; filters are plain column comparisons, so a
page is one COUNT and one short range scan even with years of entries. The CSV export streams the
filtered rows in chunks and neutralises cells a spreadsheet would run as formulas.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from fenji.web.accounts.models import AuditEntry

#: Readable names of the actions fenji records (others are shown as recorded).
ACTION_TITLES: dict[str, Any] = {
    "login": _("Logged in"),
    "login.failed": _("Failed login"),
    "login.throttled": _("Login refused (too many failures)"),
    "logout": _("Logged out"),
    "token.created": _("API token created"),
    "token.revoked": _("API token revoked"),
    "api.token_failed": _("API call with a bad token"),
    "override.created": _("Override set"),
    "override.revoked": _("Override revoked"),
    "policy.version_created": _("Policy version saved"),
    "policy.published": _("Policy published"),
    "run.published": _("Run published"),
    "run.start_failed": _("Run failed to start"),
    "data.imported": _("Data imported"),
    "customers.export": _("Customers exported"),
    "followup.created": _("Follow-up added"),
    "audit.export": _("Audit log exported"),
}

#: The most rows one CSV export writes (the filters narrow a bigger log).
EXPORT_LIMIT = 200_000


@dataclass(frozen=True)
class AuditFilters:
    action: str = ""
    actor: str = ""
    object_type: str = ""
    object_id: str = ""
    date_from: date | None = None
    date_to: date | None = None
    #: Messages about filter values that could not be used (shown above the list).
    errors: list[str] = field(default_factory=list)

    def as_details(self) -> dict[str, str]:
        """The filters in force, for the audit entry of an export."""
        values = {
            "action": self.action,
            "actor": self.actor,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "",
        }
        return {k: v for k, v in values.items() if v}


def _date(raw: str, label: str, errors: list[str]) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        message = gettext("%(field)s '%(value)s' is not a date (YYYY-MM-DD); it was ignored.")
        errors.append(message % {"field": label, "value": raw[:20]})
        return None


def audit_filters(query: QueryDict) -> AuditFilters:
    """The filters of the audit page's query string; bad dates are reported, not fatal."""
    errors: list[str] = []
    date_from = _date(query.get("from", ""), gettext("From"), errors)
    date_to = _date(query.get("to", ""), gettext("To"), errors)
    if date_from and date_to and date_from > date_to:
        errors.append(gettext("The start date is after the end date; they were swapped."))
        date_from, date_to = date_to, date_from
    return AuditFilters(
        action=query.get("action", "").strip()[:64],
        actor=query.get("actor", "").strip()[:150],
        object_type=query.get("object_type", "").strip()[:64],
        object_id=query.get("object_id", "").strip()[:128],
        date_from=date_from,
        date_to=date_to,
        errors=errors,
    )


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_entries(*, filters: AuditFilters) -> QuerySet[AuditEntry]:
    """Entries matching ``filters``, newest first; dates are whole local days, inclusive."""
    rows = AuditEntry.objects.all()
    if filters.action:
        rows = rows.filter(action=filters.action)
    if filters.actor:
        rows = rows.filter(actor__iexact=filters.actor)
    if filters.object_type:
        rows = rows.filter(object_type=filters.object_type)
    if filters.object_id:
        rows = rows.filter(object_id=filters.object_id)
    if filters.date_from:
        rows = rows.filter(at__gte=_start_of(filters.date_from))
    if filters.date_to:
        rows = rows.filter(at__lt=_start_of(filters.date_to + timedelta(days=1)))
    return rows.order_by("-at", "-id")


def audit_choices() -> tuple[list[tuple[str, str]], list[str]]:
    """(action, title) pairs and object types that occur in the log, for the filter menus."""
    actions = sorted(set(AuditEntry.objects.values_list("action", flat=True).distinct()))
    types = sorted(
        t for t in set(AuditEntry.objects.values_list("object_type", flat=True).distinct()) if t
    )
    return [(a, action_title(a)) for a in actions], types


def action_title(action: str) -> str:
    title = ACTION_TITLES.get(action)
    return str(title) if title is not None else action


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def detail_items(details: Any) -> list[tuple[str, str]]:
    """An entry's details as (name, readable value) pairs; nested values as compact JSON."""
    if not isinstance(details, dict):
        return [("", _text(details))] if details else []
    return [(str(k), _text(v)) for k, v in details.items()]


CSV_HEADER = ("time", "actor", "action", "object_type", "object_id", "details")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    """A spreadsheet shows a cell starting like a formula as text, not as a formula."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_rows(entries: QuerySet[AuditEntry]) -> Iterator[tuple[str, ...]]:
    """The header, then one row per entry (local time, details as JSON), at most
    :data:`EXPORT_LIMIT` rows, read in chunks."""
    yield CSV_HEADER
    for e in entries[:EXPORT_LIMIT].iterator(chunk_size=2000):
        yield tuple(
            _cell(v)
            for v in (
                timezone.localtime(e.at).strftime("%Y-%m-%d %H:%M:%S"),
                e.actor,
                e.action,
                e.object_type,
                e.object_id,
                json.dumps(e.details, ensure_ascii=False, sort_keys=True) if e.details else "",
            )
        )
