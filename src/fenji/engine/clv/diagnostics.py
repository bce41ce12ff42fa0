"""How well a fitted BG/NBD describes the data: the figures of Fader, Hardie & Lee (2005).

- **Calibration histogram** (their Figure 1): how many customers made 0, 1, ..., 7+ repeat
  purchases in the calibration period, actual versus expected by the model, with a chi-square
  statistic. Each customer's expected distribution uses her own T, so the expected counts are
  sums of P(X(T_i) = k) over customers (computed once per distinct T).
- **Holdout by calibration frequency** (their Figure 4, the conditional expectations): for the
  customers with x = 0, 1, ..., 7+ repeat purchases in calibration, the mean number of purchases
  in the holdout period, actual versus E[Y(t) | x, t_x, T]; and the totals.
- **Tracking** (their Figures 2 and 3): cumulative repeat purchases of the cohort week by week,
  actual versus the sum over customers of E[X(t - first purchase)].

All are plain data (:meth:`as_dict`) so that a web page can plot them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
from scipy import stats

from fenji.engine.clv import bgnbd
from fenji.engine.clv.bgnbd import BgNbd
from fenji.engine.clv.errors import ModelError
from fenji.engine.clv.summary import CustomerSummary

EPOCH = date(1970, 1, 1)

#: Histogram and holdout rows: 0 .. BINS-1 repeat purchases, then "BINS+".
BINS = 7


def _labels(bins: int) -> list[str]:
    return [str(k) for k in range(bins)] + [f"{bins}+"]


@dataclass(frozen=True)
class Histogram:
    """Customers by calibration repeat purchases, actual and expected."""

    labels: list[str]
    actual: list[int]
    expected: list[float]
    chi_square: float
    degrees_of_freedom: int
    p_value: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "labels": self.labels,
            "actual": self.actual,
            "expected": self.expected,
            "chi_square": self.chi_square,
            "degrees_of_freedom": self.degrees_of_freedom,
            "p_value": self.p_value,
        }


def calibration_histogram(params: BgNbd, summary: CustomerSummary, bins: int = BINS) -> Histogram:
    """Actual and expected numbers of customers with 0 .. bins-1 and bins+ repeat purchases."""
    times, counts = np.unique(summary.T_days, return_counts=True)
    t = times / summary.unit_days
    expected = [float(counts @ bgnbd.count_pmf(params, t, k)) for k in range(bins)]
    expected.append(float(len(summary)) - sum(expected))
    actual = np.bincount(np.minimum(summary.x, bins), minlength=bins + 1)
    exp_arr = np.asarray(expected)
    chi = float((((actual - exp_arr) ** 2) / np.where(exp_arr > 0, exp_arr, np.inf)).sum())
    dof = bins + 1 - 1 - len(bgnbd.NAMES)
    p_value = float(stats.chi2.sf(chi, dof)) if dof > 0 else None
    return Histogram(_labels(bins), [int(a) for a in actual], expected, chi, dof, p_value)


@dataclass(frozen=True)
class HoldoutRow:
    label: str
    customers: int
    actual_mean: float
    expected_mean: float
    actual_total: int
    expected_total: float


@dataclass(frozen=True)
class Holdout:
    """Holdout purchases by calibration frequency, actual and conditional expectation."""

    calibration_end: str
    holdout_end: str
    length: float
    time_unit: str
    rows: list[HoldoutRow]
    actual_total: int
    expected_total: float
    mean_absolute_error: float = field(default=0.0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "calibration_end": self.calibration_end,
            "holdout_end": self.holdout_end,
            "length": self.length,
            "time_unit": self.time_unit,
            "rows": [vars(r) for r in self.rows],
            "actual_total": self.actual_total,
            "expected_total": self.expected_total,
            "customer_mean_absolute_error": self.mean_absolute_error,
        }


def holdout(params: BgNbd, summary: CustomerSummary, bins: int = BINS) -> Holdout:
    """Compare E[Y(t) | x, t_x, T] with the purchases in the holdout period of a summary made
    with ``holdout_end``; t is the holdout's length in the summary's time unit."""
    if summary.holdout_x is None or summary.holdout_end is None:
        raise ModelError(
            "clv.bad_argument",
            "the summary has no holdout period: summarise with holdout_end set",
        )
    length = (summary.holdout_end - summary.as_of).days / summary.unit_days
    g = summary.grouped()
    predicted = bgnbd.conditional_expected(params, length, g.x, g.t_x, g.T)[g.inverse]
    actual = summary.holdout_x
    group = np.minimum(summary.x, bins)
    rows: list[HoldoutRow] = []
    for k, label in enumerate(_labels(bins)):
        sel = group == k
        n = int(sel.sum())
        rows.append(
            HoldoutRow(
                label=label,
                customers=n,
                actual_mean=float(actual[sel].mean()) if n else 0.0,
                expected_mean=float(predicted[sel].mean()) if n else 0.0,
                actual_total=int(actual[sel].sum()),
                expected_total=float(predicted[sel].sum()),
            )
        )
    return Holdout(
        calibration_end=summary.as_of.isoformat(),
        holdout_end=summary.holdout_end.isoformat(),
        length=length,
        time_unit=summary.time_unit,
        rows=rows,
        actual_total=int(actual.sum()),
        expected_total=float(predicted.sum()),
        mean_absolute_error=float(np.abs(predicted - actual).mean()) if len(summary) else 0.0,
    )


@dataclass(frozen=True)
class Tracking:
    """Cumulative repeat purchases of the cohort, week by week, actual and expected."""

    start: str
    calibration_end: str
    dates: list[str]
    actual: list[int]
    expected: list[float]

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "calibration_end": self.calibration_end,
            "week_ending": self.dates,
            "actual_cumulative": self.actual,
            "expected_cumulative": self.expected,
        }


def tracking(
    params: BgNbd,
    summary: CustomerSummary,
    repeats_by_day: dict[date, int],
    end: date,
    *,
    step_days: int = 7,
) -> Tracking:
    """Weekly cumulative repeat purchases from the cohort's first purchase day to ``end``.

    ``repeats_by_day`` is the result of :func:`fenji.engine.clv.summary.repeat_days_query`;
    expected values use each customer's own first purchase day (computed once per distinct
    first day)."""
    firsts, counts = np.unique(summary.first_day.astype(np.int64), return_counts=True)
    if firsts.size == 0:
        raise ModelError("clv.no_customers", "the summary has no customers to track")
    start = EPOCH + timedelta(days=int(firsts[0]))
    days = np.array([(d - EPOCH).days for d in sorted(repeats_by_day)], dtype=np.int64)
    per_day = np.array([repeats_by_day[d] for d in sorted(repeats_by_day)], dtype=np.int64)
    cumulative = np.cumsum(per_day)
    dates: list[str] = []
    actual: list[int] = []
    expected: list[float] = []
    point = start + timedelta(days=step_days - 1)
    while True:
        at = (point - EPOCH).days
        seen = int(np.searchsorted(days, at, side="right"))
        actual.append(int(cumulative[seen - 1]) if seen else 0)
        elapsed = at - firsts
        alive = elapsed > 0
        t = elapsed[alive] / summary.unit_days
        expected.append(float(counts[alive] @ bgnbd.expected(params, t)) if t.size else 0.0)
        dates.append(point.isoformat())
        if point >= end:
            break
        point = min(point + timedelta(days=step_days), end)
    return Tracking(start.isoformat(), summary.as_of.isoformat(), dates, actual, expected)


__all__ = [
    "BINS",
    "Histogram",
    "Holdout",
    "HoldoutRow",
    "Tracking",
    "calibration_histogram",
    "holdout",
    "tracking",
]
