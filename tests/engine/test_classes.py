"""S5 classes (examples/policies/classes.yaml) at their exact boundaries, on tiny tables.

The shipped policy runs as the engine runs it (compile, locked DuckDB connection, one query);
each test places a customer exactly on a boundary of the acceptance semantics: days since an
order of 90/91/365/366, a first order exactly 90 days ago, tied revenue in the terciles, and
growth of exactly 20%.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from fenji.engine.compiler import compile_policy
from fenji.engine.runner import locked_connection, run_sql
from fenji.policy.models import Policy
from fenji.policy.validate import load_policy

from ..conftest import POLICIES

AS_OF = date(2026, 10, 31)
MONEY = pa.decimal128(18, 4)

Row = dict[str, Any]


@pytest.fixture(scope="module")
def classes() -> Policy:
    return load_policy(POLICIES / "classes.yaml")


def days_ago(n: int) -> date:
    return AS_OF - timedelta(days=n)


def tables(customer_ids: Sequence[str], orders: Sequence[Row]) -> dict[str, pa.Table]:
    """Customers (attributes left empty, as an import adds absent optional columns) and orders
    in canonical types; an order defaults to the as-of date."""
    empty = pa.array([None] * len(customer_ids), pa.string())
    return {
        "customers": pa.table(
            {
                "customer_id": pa.array(list(customer_ids), pa.string()),
                "industry": empty,
                "region": empty,
                "scale": empty,
            }
        ),
        "orders": pa.table(
            {
                "order_id": pa.array([f"O{i}" for i in range(len(orders))], pa.string()),
                "customer_id": pa.array([o["customer_id"] for o in orders], pa.string()),
                "order_date": pa.array([o.get("order_date", AS_OF) for o in orders], pa.date32()),
                "amount": pa.array([Decimal(str(o.get("amount", 100))) for o in orders], MONEY),
            }
        ),
    }


def classify(policy: Policy, data: dict[str, pa.Table]) -> dict[str, Row]:
    columns = {name: set(t.column_names) for name, t in data.items()}
    compiled = compile_policy(policy, AS_OF, columns, explain=True)
    result = run_sql(locked_connection(data), compiled.sql())
    return {r["customer_id"]: r for r in result.to_pylist()}


def test_behaviour_boundaries_are_90_and_365_days(classes: Policy) -> None:
    # given customers whose last order was 90, 91, 365 and 366 days before the as-of date
    ages = {"D90": 90, "D91": 91, "D365": 365, "D366": 366}
    data = tables(
        list(ages), [{"customer_id": c, "order_date": days_ago(n)} for c, n in ages.items()]
    )
    # when classified
    rows = classify(classes, data)
    # then 90 is still active, 91 to 365 dormant, and only more than 365 days lost
    assert {c: rows[c]["behaviour"] for c in ages} == {
        "D90": "active",
        "D91": "dormant",
        "D365": "dormant",
        "D366": "lost",
    }


def test_behaviour_looks_at_the_last_order_not_the_first(classes: Policy) -> None:
    data = tables(
        ["C1"],
        [
            {"customer_id": "C1", "order_date": days_ago(800)},
            {"customer_id": "C1", "order_date": days_ago(10)},
        ],
    )
    assert classify(classes, data)["C1"]["behaviour"] == "active"


def test_first_order_exactly_90_days_ago_is_new_and_91_is_old(classes: Policy) -> None:
    data = tables(
        ["N90", "N91"],
        [
            {"customer_id": "N90", "order_date": days_ago(90)},
            {"customer_id": "N90", "order_date": days_ago(3)},  # a repeat order: still new
            {"customer_id": "N91", "order_date": days_ago(91)},
        ],
    )
    rows = classify(classes, data)
    assert rows["N90"]["habit"] == "new"
    assert rows["N91"]["habit"] == "old"


def test_customer_without_orders_is_potential_in_development_with_no_purchasing_power(
    classes: Policy,
) -> None:
    # given a customer with no order, and one whose only order is after the as-of date
    data = tables(
        ["NONE", "LATER"],
        [{"customer_id": "LATER", "order_date": AS_OF + timedelta(days=1)}],
    )
    rows = classify(classes, data)
    for customer in ("NONE", "LATER"):
        row = rows[customer]
        assert (row["purchasing_power"], row["habit"], row["stage"], row["behaviour"]) == (
            "none",
            "potential",
            "development",
            "potential",
        )


def test_terciles_break_ties_by_customer_id(classes: Policy) -> None:
    # given three customers with the same revenue, listed out of order
    data = tables(
        ["C3", "C1", "C2"],
        [{"customer_id": c, "amount": 5000} for c in ("C3", "C2", "C1")],
    )
    rows = classify(classes, data)
    # then NTILE(3) over revenue descending puts them in customer_id order
    assert [rows[c]["purchasing_power"] for c in ("C1", "C2", "C3")] == ["high", "middle", "low"]


def test_terciles_rank_revenue_descending_among_customers_who_bought(classes: Policy) -> None:
    # given four buyers, a customer with only a return, and one without orders
    data = tables(
        ["A", "B", "C", "D", "RETURN", "NONE"],
        [
            {"customer_id": "A", "amount": 100},
            {"customer_id": "B", "amount": 400},
            {"customer_id": "C", "amount": 300},
            {"customer_id": "D", "amount": 200},
            {"customer_id": "RETURN", "amount": -50},
        ],
    )
    rows = classify(classes, data)
    # then NTILE(3) of four gives tiles of 2, 1 and 1; revenue <= 0 takes no tile
    assert {c: rows[c]["purchasing_power"] for c in rows} == {
        "B": "high",
        "C": "high",
        "D": "middle",
        "A": "low",
        "RETURN": "none",
        "NONE": "none",
    }


def test_growth_of_exactly_20_percent_is_upgrade(classes: Policy) -> None:
    # given revenue in the 12 months before (2024-11-01 to 2025-10-31) and in the last 12
    before, recent = date(2025, 6, 1), date(2026, 6, 1)
    orders: list[Row] = []
    for customer, previous, current in (
        ("G20", "10000", "12000"),  # exactly +20%
        ("G19", "10000", "11999.99"),  # just below
        ("NEWLY", "0", "50000"),  # nothing the year before: no growth to measure
    ):
        orders += [
            {"customer_id": customer, "amount": previous, "order_date": before},
            {"customer_id": customer, "amount": current, "order_date": recent},
        ]
    # an order on the last day of the year before still counts in it
    orders.append({"customer_id": "EDGE", "amount": 10000, "order_date": date(2025, 10, 31)})
    orders.append({"customer_id": "EDGE", "amount": 12000, "order_date": date(2025, 11, 1)})
    rows = classify(classes, tables(["G20", "G19", "NEWLY", "EDGE"], orders))
    assert {c: rows[c]["stage"] for c in rows} == {
        "G20": "upgrade",
        "G19": "maintenance",
        "NEWLY": "maintenance",
        "EDGE": "upgrade",
    }


def test_lost_customer_stays_in_maintenance(classes: Policy) -> None:
    # a customer who bought long ago is co-operating (not development) and bought nothing lately
    data = tables(["OLD"], [{"customer_id": "OLD", "order_date": days_ago(700)}])
    row = classify(classes, data)["OLD"]
    assert (row["purchasing_power"], row["habit"], row["stage"], row["behaviour"]) == (
        "none",
        "old",
        "maintenance",
        "lost",
    )


def test_every_label_has_a_chinese_and_an_english_title(classes: Policy) -> None:
    for name, dimension in classes.dimensions.items():
        assert dimension.labels, name
        for label, info in dimension.labels.items():
            assert info.title is not None, (name, label)
            assert info.title.zh, (name, label)
            assert info.title.en, (name, label)
