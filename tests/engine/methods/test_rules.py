"""Rules: ordered first-match conditions, against a plain-Python reference.

Random small customer bases (orders inside and outside the 12-month window, returns, missing
attributes) are graded by a rules dimension of three ordered conditions and a default; every
label must be the one the reference gives, and the explanation must name the matched rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.engine.helpers import AS_OF, customers, orders, policy, run

RULES = policy(
    """
fenji: 1
name: t
title: t
metrics:
  sales_12m: {agg: sum, from: orders, of: amount, window: 12 months, unit: yuan}
  orders_12m: {agg: count, from: orders, window: 12 months, unit: count}
  industry_influence: {attribute: influence}
dimensions:
  tier:
    method: rules
    rules:
      - {label: A, when: "industry_influence IN ('行业龙头', '知名品牌') AND sales_12m >= 1000"}
      - {label: B, when: "sales_12m >= 500 OR orders_12m >= 3"}
      - {label: C, when: "orders_12m > 0"}
    default: D
"""
)

#: First day inside the 12-month window ending at the as-of date.
WINDOW_START = date(2025, 11, 1)


@dataclass(frozen=True)
class Customer:
    influence: str | None
    orders: tuple[tuple[int, int], ...]  # (days before the as-of date, amount)


def reference(c: Customer) -> str:
    """The rules written out in Python: returns net, are not orders; NULL matches nothing."""
    inside = [a for days, a in c.orders if AS_OF - timedelta(days=days) >= WINDOW_START]
    sales = sum(inside)
    count = sum(1 for a in inside if a >= 0)
    if c.influence in ("行业龙头", "知名品牌") and sales >= 1000:
        return "A"
    if sales >= 500 or count >= 3:
        return "B"
    if count > 0:
        return "C"
    return "D"


customer_st = st.builds(
    Customer,
    influence=st.sampled_from([None, "行业龙头", "知名品牌", "一般"]),
    orders=st.lists(st.tuples(st.integers(0, 500), st.integers(-300, 1200)), max_size=5).map(tuple),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.lists(customer_st, min_size=1, max_size=12))
def test_rules_match_the_python_reference(base: list[Customer]) -> None:
    # given
    ids = [f"C{i:03d}" for i in range(len(base))]
    tables = {
        "customers": customers(
            [{"customer_id": i, "influence": c.influence} for i, c in zip(ids, base, strict=True)]
        ),
        "orders": orders(
            [
                {"customer_id": i, "amount": Decimal(a), "order_date": AS_OF - timedelta(days=d)}
                for i, c in zip(ids, base, strict=True)
                for d, a in c.orders
            ]
        ),
    }
    # when
    result = run(RULES, tables, explain=True, lang="en")
    # then
    for i, c in zip(ids, base, strict=True):
        expected = reference(c)
        assert result[i]["tier"] == expected, (i, c)
        why = result[i]["tier.why"]
        assert why.startswith(f"{expected}: ")
        assert ("meets none of the rules" in why) == (expected == "D")
