"""Customer lifetime value over a horizon: expected purchases per period, times expected spend,
discounted per period.

CLV here is the present value of the revenue (or margin, with ``margin`` < 1) a customer is
expected to bring over the next ``horizon`` — residual value, not counting past purchases:

    CLV = margin * E[spend] * sum_k (E[Y(t_k)] - E[Y(t_(k-1))]) / (1 + d) ^ (t_k / L)

where Y(t) is the number of purchases in (T, T + t] expected by BG/NBD given the customer's
history, t_k = min(k L, horizon) are the ends of the discounting periods of length L, and d is
the discount rate **per period**. The default period is a month (the mean Gregorian month,
30.44 days, i.e. 4.35 weeks), so ``discount_rate=0.01`` means 1% a month (about 12.7% a year);
purchases are discounted from the end of the period they fall in, and a last, partial period is
discounted by its fractional length. With ``discount_rate=0`` CLV is expected purchases times
expected spend.
"""

from __future__ import annotations

import math
import re

import numpy as np

from fenji.engine.clv.bgnbd import BgNbd, conditional_expected
from fenji.engine.clv.errors import ModelError
from fenji.engine.clv.fitting import FloatArray
from fenji.engine.clv.summary import UNIT_DAYS, TimeUnit

#: Days in a month and a year (Gregorian means), for horizons and discounting periods.
MONTH_DAYS = 365.2425 / 12
YEAR_DAYS = 365.2425
_DAYS = {"day": 1.0, "week": 7.0, "month": MONTH_DAYS, "year": YEAR_DAYS}
_HORIZON = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:(day|week|month|year)s?)?\s*$")


def parse_horizon(text: str | float | int, time_unit: TimeUnit) -> float:
    """A horizon in the summary's time unit from ``39``, ``"39 weeks"``, ``"12 months"``,
    ``"90 days"`` or ``"1 year"``; a bare number is in the time unit itself."""
    unit: str = time_unit
    if isinstance(text, int | float):
        value = float(text)
    else:
        m = _HORIZON.match(text.lower())
        if m is None:
            raise ModelError(
                "clv.bad_argument",
                f"horizon '{text}' is not understood; write a number of {time_unit}s or a "
                "length such as '12 months', '39 weeks', '90 days', '1 year'",
            )
        value, unit = float(m.group(1)), m.group(2) or time_unit
    if not value > 0 or not math.isfinite(value):
        raise ModelError("clv.bad_argument", f"horizon {text!r} must be a positive length")
    return value * _DAYS[unit] / UNIT_DAYS[time_unit]


def month_in(time_unit: TimeUnit) -> float:
    """One month in ``time_unit`` (30.44 days, 4.348 weeks): the default discounting period."""
    return MONTH_DAYS / UNIT_DAYS[time_unit]


def discounted_purchases(
    params: BgNbd,
    horizon: float,
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,
    *,
    discount_rate: float = 0.0,
    period: float,
) -> FloatArray:
    """sum_k (E[Y(t_k)] - E[Y(t_(k-1))]) / (1 + d)^(t_k / period): expected purchases over the
    horizon, each discounted from the end of its period (see the module docstring)."""
    if not discount_rate > -1 or not math.isfinite(discount_rate):
        raise ModelError(
            "clv.bad_argument",
            f"discount rate {discount_rate} must be above -1 (0.01 means 1% per period)",
        )
    if not period > 0:
        raise ModelError("clv.bad_argument", f"discounting period {period} must be positive")
    steps = max(1, math.ceil(horizon / period - 1e-9))
    total = np.zeros(np.broadcast(x, t_x, T).shape)
    before = np.zeros_like(total)
    for k in range(1, steps + 1):
        end = min(k * period, horizon)
        now = conditional_expected(params, end, x, t_x, T)
        total += (now - before) / (1 + discount_rate) ** (end / period)
        before = now
    return total


__all__ = [
    "MONTH_DAYS",
    "YEAR_DAYS",
    "discounted_purchases",
    "month_in",
    "parse_horizon",
]
