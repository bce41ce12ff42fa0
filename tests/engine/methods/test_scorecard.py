"""Scorecard: weighted items, a bonus and a red line, against a plain-Python reference.

Random small customer bases are graded by a scorecard whose items take points from two other
dimensions' labels (weighted), from a value with a division (rounded to 9 decimals, as the
engine does), a bonus when a condition holds, and a red line that forces D whatever the score.
The reference computes the same with exact fractions; labels and scores must agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.engine.helpers import AS_OF, customers, orders, policy, run

SCORECARD = policy(
    """
fenji: 1
name: t
title: t
metrics:
  sales_12m: {agg: sum, from: orders, of: amount, window: 12 months, unit: yuan}
  orders_12m: {agg: count, from: orders, window: 12 months, unit: count}
dimensions:
  size:
    method: bands
    metric: sales_12m
    bands:
      - {label: A, min: 1000}
      - {label: B, min: 300}
      - {label: C}
  activity:
    method: rules
    rules:
      - {label: H, when: "orders_12m >= 3"}
    default: L
  overall:
    method: scorecard
    items:
      - {name: size, dimension: size, weight: 0.4, points: {A: 10, B: 6, C: 2}}
      - {name: activity, dimension: activity, weight: 0.3, points: {H: 10, L: 3}}
      - {name: ticket, value: "safe_div(sales_12m, orders_12m) / 300", weight: 0.3}
    bonus:
      - {name: frequent, when: "orders_12m >= 5", points: 1.5}
    red_lines:
      - {name: net_returns, when: "sales_12m < 0", label: D}
    grades:
      - {label: A, min: 8}
      - {label: B, min: 6}
      - {label: C, above: 4}
      - {label: D}
"""
)


def round9(x: Fraction) -> Fraction:
    """Round to 9 decimals, half away from zero (SQL ROUND)."""
    d = Decimal(x.numerator) / Decimal(x.denominator)
    return Fraction(d.quantize(Decimal("1e-9"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Customer:
    orders: tuple[tuple[int, int], ...]  # (days before the as-of date, amount)


def reference(c: Customer) -> tuple[str, Fraction]:
    """Label and score (before it is shown to 2 decimals), written out with exact fractions."""
    inside = [a for days, a in c.orders if days < 365]  # 2025-11-01 .. 2026-10-31
    sales = Fraction(sum(inside))
    count = sum(1 for a in inside if a >= 0)
    size = "A" if sales >= 1000 else "B" if sales >= 300 else "C"
    activity = "H" if count >= 3 else "L"
    # A value with a division is rounded to 9 decimals; no orders gives no value: 0 points.
    ticket = round9(sales / count / 300) if count else Fraction(0)
    score = (
        Fraction(4, 10) * {"A": 10, "B": 6, "C": 2}[size]
        + Fraction(3, 10) * {"H": 10, "L": 3}[activity]
        + Fraction(3, 10) * ticket
        + (Fraction(3, 2) if count >= 5 else 0)
    )
    score = round9(score)
    if sales < 0:
        return "D", score
    if score >= 8:
        return "A", score
    if score >= 6:
        return "B", score
    if score > 4:
        return "C", score
    return "D", score


NINE = Fraction(1, 10**9)

customer_st = st.builds(
    Customer,
    orders=st.lists(st.tuples(st.integers(0, 500), st.integers(-400, 1500)), max_size=6).map(tuple),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.lists(customer_st, min_size=1, max_size=12))
def test_scorecard_matches_the_python_reference(base: list[Customer]) -> None:
    # given
    ids = [f"C{i:03d}" for i in range(len(base))]
    tables = {
        "customers": customers([{"customer_id": i} for i in ids]),
        "orders": orders(
            [
                {"customer_id": i, "amount": Decimal(a), "order_date": AS_OF - timedelta(days=d)}
                for i, c in zip(ids, base, strict=True)
                for d, a in c.orders
            ]
        ),
    }
    # when
    result = run(SCORECARD, tables, explain=True, lang="en")
    # then
    for i, c in zip(ids, base, strict=True):
        label, score = reference(c)
        assert result[i]["overall"] == label, (i, c, score)
        # the score is shown to 2 decimals
        assert abs(Fraction(result[i]["overall.score"]) - score) <= Fraction(1, 200) + NINE
        why = result[i]["overall.why"]
        inside = [a for days, a in c.orders if days < 365]
        if sum(inside) < 0:
            assert why.startswith("D: red line")
        else:
            # an item without a value scores 0 and the explanation says so
            assert ("(no value, 0 points" in why) == (not any(a >= 0 for a in inside))


def test_red_line_wins_over_the_score() -> None:
    # Five orders earn the bonus and a C on points, but net returns trip the red line.
    rows = [(1, 100)] * 5 + [(2, -600)]
    label, score = reference(Customer(tuple(rows)))
    assert label == "D"
    assert score > 4
    tables = {
        "customers": customers([{"customer_id": "R"}]),
        "orders": orders(
            [
                {"customer_id": "R", "amount": Decimal(a), "order_date": AS_OF - timedelta(days=d)}
                for d, a in rows
            ]
        ),
    }
    result = run(SCORECARD, tables, explain=True, lang="en")["R"]
    assert result["overall"] == "D"
    assert result["overall.why"].startswith("D: red line “net_returns” applies whatever the score")
