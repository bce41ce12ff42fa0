"""Reading a customer's dealings for the customer page: revenue per month and line, orders,
receivables and follow-ups.

Every query narrows its rows with ``scope`` (the visibility rule of
:mod:`fenji.web.accounts.access`), although the page only calls these for a customer it found
through that rule. Sums are the database's (aggregates per month and line), and lists are read
a page at a time, so the number of queries does not depend on how many orders there are.
Orders count for revenue as they count for metrics: cancelled ones never, returns net.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Max, Q, QuerySet, Sum
from django.db.models.functions import Lower, Trim, TruncMonth
from django.utils.translation import gettext as _

from fenji.engine.metrics import CANCELLED
from fenji.engine.windows import add_months
from fenji.web.accounts.access import scope
from fenji.web.customers.models import Customer
from fenji.web.facts.models import Interaction, Order, Receivable

#: Months in the revenue chart.
CHART_MONTHS = 24


def counted_orders(queryset: QuerySet[Order]) -> QuerySet[Order]:
    """Orders that count for revenue: not cancelled, the engine's rule (docs/METRICS.md).
    Returns (negative amounts) stay in and net against sales."""
    return queryset.alias(status_key=Lower(Trim("status"))).exclude(status_key__in=CANCELLED)


def _orders(*, user: Any, customer: Customer) -> QuerySet[Order]:
    return scope(Order.objects.filter(customer=customer), user=user)


@dataclass(frozen=True)
class FactsSummary:
    revenue_12m: Decimal
    orders_12m: int
    latest_order: date | None
    open_amount: Decimal
    open_count: int
    overdue_amount: Decimal
    overdue_count: int


def facts_summary(*, user: Any, customer: Customer, today: date) -> FactsSummary:
    """The figures at the top of the page: twelve months' revenue (the 12 months up to
    today), the latest order, and what is open and overdue of the receivables."""
    year_ago = add_months(today, -12)
    last_year = Q(order_date__gt=year_ago, order_date__lte=today)
    orders = counted_orders(_orders(user=user, customer=customer)).aggregate(
        revenue=Sum("amount", filter=last_year),
        count=Count("id", filter=last_year & Q(amount__gte=0)),
        latest=Max("order_date"),
    )
    open_rows = Q(paid_date__isnull=True)
    overdue = open_rows & Q(due_date__lt=today)
    receivables = scope(Receivable.objects.filter(customer=customer), user=user).aggregate(
        open_amount=Sum("amount", filter=open_rows),
        open_count=Count("id", filter=open_rows),
        overdue_amount=Sum("amount", filter=overdue),
        overdue_count=Count("id", filter=overdue),
    )
    return FactsSummary(
        revenue_12m=orders["revenue"] or Decimal(0),
        orders_12m=orders["count"] or 0,
        latest_order=orders["latest"],
        open_amount=receivables["open_amount"] or Decimal(0),
        open_count=receivables["open_count"] or 0,
        overdue_amount=receivables["overdue_amount"] or Decimal(0),
        overdue_count=receivables["overdue_count"] or 0,
    )


@dataclass(frozen=True)
class RevenueSeries:
    line: str
    values: list[Decimal]


@dataclass(frozen=True)
class MonthlyRevenue:
    """Revenue per calendar month (first days in ``months``), one series per business line."""

    months: list[date]
    series: list[RevenueSeries]
    totals: list[Decimal]
    #: Set when the window ends at the latest order rather than this month (orders dated
    #: after today, or none in the last 24 months).
    ends_at_latest_order: date | None

    @property
    def total(self) -> Decimal:
        return sum(self.totals, Decimal(0))

    @property
    def empty(self) -> bool:
        return not self.series


def _first_of_month(day: date) -> date:
    return day.replace(day=1)


def monthly_revenue(
    *, user: Any, customer: Customer, today: date, latest_order: date | None
) -> MonthlyRevenue:
    """Orders summed per month and business line over the :data:`CHART_MONTHS` months up to
    today; up to the latest order instead when it is later than today, or when the customer
    has no order in those months (so an old customer's history still shows)."""
    end = _first_of_month(today)
    ends_at_latest: date | None = None
    if latest_order is not None:
        latest_month = _first_of_month(latest_order)
        start_today = add_months(end, -(CHART_MONTHS - 1))
        if latest_month > end or latest_month < start_today:
            end, ends_at_latest = latest_month, latest_order
    start = add_months(end, -(CHART_MONTHS - 1))
    months = [add_months(start, i) for i in range(CHART_MONTHS)]
    rows = (
        counted_orders(_orders(user=user, customer=customer))
        .filter(order_date__gte=start, order_date__lt=add_months(end, 1))
        .annotate(month=TruncMonth("order_date"))
        .values("month", "business_line__code", "business_line__name")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    index = {m: i for i, m in enumerate(months)}
    per_line: dict[str, list[Decimal]] = {}
    names: dict[str, str] = {}
    for row in rows:
        month = row["month"]
        key = row["business_line__code"] or ""
        names[key] = row["business_line__name"] or row["business_line__code"] or ""
        values = per_line.setdefault(key, [Decimal(0)] * CHART_MONTHS)
        values[index[_as_date(month)]] += row["total"] or Decimal(0)
    series = [
        RevenueSeries(line=names[key] or _("No business line"), values=per_line[key])
        for key in sorted(per_line, key=lambda k: (k == "", names[k] or k))
    ]
    totals = [sum((s.values[i] for s in series), Decimal(0)) for i in range(CHART_MONTHS)]
    return MonthlyRevenue(
        months=months, series=series, totals=totals, ends_at_latest_order=ends_at_latest
    )


def _as_date(value: Any) -> date:
    """``TruncMonth`` gives a date, or a datetime on some backends and settings."""
    return value.date() if hasattr(value, "date") and callable(value.date) else value


def revenue_chart_option(revenue: MonthlyRevenue) -> dict[str, Any]:
    """The ECharts option of the monthly revenue chart: bars stacked by business line."""
    return {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"top": 0, "type": "scroll"},
        "grid": {"left": 8, "right": 16, "top": 36, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": [f"{m:%Y-%m}" for m in revenue.months]},
        "yAxis": {"type": "value", "axisLabel": {"formatter": "wan"}},
        "series": [
            {
                "name": s.line,
                "type": "bar",
                "stack": "revenue",
                "emphasis": {"focus": "series"},
                "data": [float(round(v, 2)) for v in s.values],
            }
            for s in revenue.series
        ],
    }


def orders_of(*, user: Any, customer: Customer) -> QuerySet[Order]:
    """The customer's orders, latest first (cancelled ones too: they are shown, marked)."""
    return (
        _orders(user=user, customer=customer)
        .select_related("business_line")
        .order_by("-order_date", "-id")
    )


def is_cancelled(status: str) -> bool:
    return (status or "").strip().lower() in CANCELLED


def receivables_of(*, user: Any, customer: Customer) -> QuerySet[Receivable]:
    """The customer's receivables: open ones first (earliest due first), then paid ones,
    latest due first."""
    return (
        scope(Receivable.objects.filter(customer=customer), user=user)
        .select_related("business_line")
        .order_by(F("paid_date").asc(nulls_first=True), "due_date", "-id")
    )


def receivable_state(receivable: Receivable, *, today: date) -> str:
    """``overdue`` (open past its due date), ``open``, ``late`` (paid after it was due) or
    ``paid``."""
    if receivable.paid_date is None:
        return "overdue" if receivable.due_date < today else "open"
    return "late" if receivable.paid_date > receivable.due_date else "paid"


def days_overdue(receivable: Receivable, *, today: date) -> int:
    end = receivable.paid_date or today
    return max((end - receivable.due_date).days, 0)


#: What the follow-ups list shows (not the author's password hash and other account fields).
_FOLLOWUP_FIELDS = (
    "customer_id",
    "kind",
    "happened_on",
    "note",
    "next_due",
    "user__username",
)


def followups_of(*, user: Any, customer: Customer) -> QuerySet[Interaction]:
    """The customer's follow-ups, latest first, with who made them."""
    return (
        scope(Interaction.objects.filter(customer=customer), user=user)
        .select_related("user")
        .only(*_FOLLOWUP_FIELDS)
        .order_by("-happened_on", "-id")
    )


__all__ = [
    "CHART_MONTHS",
    "FactsSummary",
    "MonthlyRevenue",
    "RevenueSeries",
    "counted_orders",
    "days_overdue",
    "facts_summary",
    "followups_of",
    "is_cancelled",
    "monthly_revenue",
    "orders_of",
    "receivable_state",
    "receivables_of",
    "revenue_chart_option",
]
