"""Time windows resolved to concrete date bounds for one as-of date.

The as-of date is a constant of an evaluation, so windows become plain date literals in SQL:
``order_date > DATE '2025-10-31' AND order_date <= DATE '2026-10-31'``. That keeps the SQL
dialect-neutral (no interval arithmetic to translate) and lets engines prune by date.
Months are calendar months; subtracting months clamps to the month's last day (2024-02-29 minus
12 months is 2023-02-28), as the acceptance semantics and DuckDB's interval arithmetic do.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from fenji.policy.models import Window


def add_months(day: date, months: int) -> date:
    """``day`` shifted by ``months`` calendar months, clamped to the end of the target month."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def shift(day: date, n: int, unit: str) -> date:
    """``day`` minus ``n`` days, months or years (calendar arithmetic)."""
    if unit == "day":
        return day - timedelta(days=n)
    if unit == "month":
        return add_months(day, -n)
    if unit == "year":
        return add_months(day, -12 * n)
    raise ValueError(f"unknown unit {unit!r}")


@dataclass(frozen=True)
class Bounds:
    """Rows count when ``lower < date`` (or ``lower <= date`` if ``lower_inclusive``) and
    ``date <= upper``; ``lower`` None means no lower bound."""

    lower: date | None
    lower_inclusive: bool
    upper: date


def resolve(window: Window | None, as_of: date) -> Bounds:
    """Concrete bounds of ``window`` at ``as_of``; no window means every row up to the as-of."""
    if window is None or window.kind == "all":
        return Bounds(None, False, as_of)
    if window.kind == "calendar_months":
        first = date(as_of.year, as_of.month, 1)
        return Bounds(add_months(first, -(window.n - 1)), True, as_of)
    upper = shift(as_of, window.offset_n, window.offset_unit) if window.offset_n else as_of
    return Bounds(shift(upper, window.n, window.unit), False, upper)


def month_start(day: date) -> date:
    return date(day.year, day.month, 1)
