"""The as-of date as users type it.

``2026-10-31``, ``2026/10/31``, ``2026年10月31日``, ``20261031``, or a month
(``2026-10``, ``2026年10月``) meaning its last day: month-end is when grades are made.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime

_FULL_WIDTH = str.maketrans("０１２３４５６７８９／－．", "0123456789/-.")
_DAY = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")


def parse_as_of(value: date | datetime | str) -> date:
    """Parse an as-of date; a month alone means its last day. Raises ValueError with a hint."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip().translate(_FULL_WIDTH)
    try:
        if m := _DAY.match(text) or _COMPACT.match(text):
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if m := _MONTH.match(text):
            year, month = int(m.group(1)), int(m.group(2))
            return date(year, month, calendar.monthrange(year, month)[1])
    except ValueError as err:
        raise ValueError(f"'{value}' is not a valid date: {err}") from None
    raise ValueError(
        f"'{value}' is not a date; write 2026-10-31, 2026/10/31, 2026年10月31日 or 2026-10"
    )


def month_ends(start: date, end: date) -> list[date]:
    """Every month-end from ``start`` to ``end``, both included, oldest first: the as-of dates
    of a series of monthly evaluation runs."""
    out: list[date] = []
    year, month = start.year, start.month
    while True:
        last = date(year, month, calendar.monthrange(year, month)[1])
        if last > end:
            return out
        if last >= start:
            out.append(last)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
