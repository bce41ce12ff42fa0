"""S4 monthly dealer scorecard (examples/policies/dealer_monthly.yaml) on tiny hand-made tables.

Each test builds the few fact rows that decide one rule of the standard and runs the shipped
policy as the engine does (compile, locked DuckDB connection, one query), so the policy and the
engine are checked together: boundaries hit exactly, defaults for missing facts, line grain.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
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
IN_M = date(2026, 10, 15)
LINE = "乳品"

Row = dict[str, Any]
Key = tuple[str, str]


@pytest.fixture(scope="module")
def dealer() -> Policy:
    return load_policy(POLICIES / "dealer_monthly.yaml")


def _money(rows: Sequence[Row], name: str) -> pa.Array:
    return pa.array([None if r.get(name) is None else Decimal(str(r[name])) for r in rows], MONEY)


def _text(rows: Sequence[Row], name: str, default: str | None = None) -> pa.Array:
    return pa.array([r.get(name, default) for r in rows], pa.string())


def _dates(rows: Sequence[Row], name: str, default: date | None = None) -> pa.Array:
    return pa.array([r.get(name, default) for r in rows], pa.date32())


def facts(
    *,
    orders: Sequence[Row] = (),
    targets: Sequence[Row] = (),
    receivables: Sequence[Row] = (),
    events: Sequence[Row] = (),
) -> dict[str, pa.Table]:
    """The four fact tables in canonical types; omitted fields take test-friendly defaults
    (line 乳品, a date inside the as-of month, distributor channel so no direct bonus)."""
    o, t, r, e = orders, targets, receivables, events
    return {
        "orders": pa.table(
            {
                "order_id": pa.array([f"O{i}" for i in range(len(o))], pa.string()),
                "customer_id": _text(o, "customer_id"),
                "business_line": _text(o, "business_line", LINE),
                "order_date": _dates(o, "order_date", IN_M),
                "amount": _money(o, "amount"),
                "quantity": _money(o, "quantity"),
                "channel": _text(o, "channel", "distributor"),
            }
        ),
        "targets": pa.table(
            {
                "customer_id": _text(t, "customer_id"),
                "business_line": _text(t, "business_line", LINE),
                "month": _dates(t, "month", date(2026, 10, 1)),
                "target_amount": _money(t, "target_amount"),
            }
        ),
        "receivables": pa.table(
            {
                "invoice_id": pa.array([f"I{i}" for i in range(len(r))], pa.string()),
                "customer_id": _text(r, "customer_id"),
                "business_line": _text(r, "business_line", LINE),
                "due_date": _dates(r, "due_date", IN_M),
                "amount": _money(r, "amount"),
                "paid_date": _dates(r, "paid_date"),
            }
        ),
        "score_events": pa.table(
            {
                "event_id": pa.array([f"E{i}" for i in range(len(e))], pa.string()),
                "customer_id": _text(e, "customer_id"),
                "business_line": _text(e, "business_line", LINE),
                "event_date": _dates(e, "event_date", IN_M),
                "item": _text(e, "item", "market_suggestion"),
                "points": _money(e, "points"),
                "red_line": pa.array([bool(x.get("red_line", False)) for x in e], pa.bool_()),
            }
        ),
    }


def grade(policy: Policy, tables: dict[str, pa.Table], *, lang: str = "zh") -> dict[Key, Row]:
    """Rows of the evaluation keyed by (customer, business line), with explanations."""
    columns = {name: set(t.column_names) for name, t in tables.items()}
    compiled = compile_policy(policy, AS_OF, columns, lang=lang, explain=True)
    result = run_sql(locked_connection(tables), compiled.sql())
    return {(r["customer_id"], r["business_line"]): r for r in result.to_pylist()}


def three_months_of_orders(customer: str, october_amount: object, **extra: Any) -> list[Row]:
    """Orders in August, September and October: full order regularity (20 points)."""
    return [
        {"customer_id": customer, "amount": 1, "order_date": date(2026, 8, 5), **extra},
        {"customer_id": customer, "amount": 1, "order_date": date(2026, 9, 5), **extra},
        {"customer_id": customer, "amount": october_amount, **extra},
    ]


def test_score_of_exactly_90_is_a(dealer: Policy) -> None:
    # given sales 7000 of a target 8400 (60 x 7000 / 8400 = 50), payment in full and orders in
    # each of the three months
    tables = facts(
        orders=three_months_of_orders("C1", 7000),
        targets=[{"customer_id": "C1", "target_amount": 8400}],
        receivables=[{"customer_id": "C1", "amount": 3000, "paid_date": IN_M}],
    )
    # when the month is graded
    row = grade(dealer, tables)[("C1", LINE)]
    # then 50 + 20 + 20 is exactly 90, an A
    assert row["dealer.score"] == pytest.approx(90)
    assert row["dealer"] == "A"


def test_score_of_exactly_75_through_a_division_is_b(dealer: Policy) -> None:
    # 60 x 7000 / 12000 = 35 exactly, although 7000 / 12000 has no exact binary value
    tables = facts(
        orders=three_months_of_orders("C1", 7000),
        targets=[{"customer_id": "C1", "target_amount": 12000}],
    )
    row = grade(dealer, tables)[("C1", LINE)]
    assert row["dealer.score"] == pytest.approx(75)
    assert row["dealer"] == "B"


def test_sales_above_target_give_at_most_60_points(dealer: Policy) -> None:
    tables = facts(
        orders=three_months_of_orders("C1", 30000),
        targets=[{"customer_id": "C1", "target_amount": 12000}],
    )
    assert grade(dealer, tables)[("C1", LINE)]["dealer.score"] == pytest.approx(100)


def test_no_target_gives_0_points_and_the_explanation_says_so(dealer: Policy) -> None:
    # given orders in all three months but no target for the month
    tables = facts(orders=three_months_of_orders("C1", 5000))
    # when graded in Chinese and in English
    zh = grade(dealer, tables)[("C1", LINE)]
    en = grade(dealer, tables, lang="en")[("C1", LINE)]
    # then the sales item scores 0 (0 + 20 + 20) and the explanation names the missing target
    assert zh["dealer.score"] == pytest.approx(40)
    assert "销售目标达成 0/60（无数据，计0分" in zh["dealer.why"]
    assert "当月销售目标 = 0元" in zh["dealer.why"]
    assert "sales vs target 0/60 (no value, 0 points" in en["dealer.why"]


def test_nothing_due_in_the_month_gives_the_full_20(dealer: Policy) -> None:
    # given an invoice due last month (not in M) and nothing due in M
    tables = facts(
        orders=[{"customer_id": "C1", "amount": 100}],
        receivables=[{"customer_id": "C1", "amount": 500, "due_date": date(2026, 9, 30)}],
    )
    row = grade(dealer, tables)[("C1", LINE)]
    # then payment gives 20 and regularity 20 x 1 / 3 (the score is shown to 2 decimals)
    assert row["dealer.score"] == pytest.approx(26.67)
    assert "按期回款 20/20" in row["dealer.why"]


def test_only_amounts_paid_by_their_due_date_count_as_on_time(dealer: Policy) -> None:
    # given 4000 due in M: 1000 paid on the due date, 1000 a day late, 2000 unpaid
    due = date(2026, 10, 10)
    tables = facts(
        orders=three_months_of_orders("C1", 0),
        receivables=[
            {"customer_id": "C1", "amount": 1000, "due_date": due, "paid_date": due},
            {"customer_id": "C1", "amount": 1000, "due_date": due, "paid_date": date(2026, 10, 11)},
            {"customer_id": "C1", "amount": 2000, "due_date": due},
        ],
    )
    row = grade(dealer, tables)[("C1", LINE)]
    # then payment gives 20 x 1000 / 4000 = 5; no target 0; regularity 20
    assert row["dealer.score"] == pytest.approx(25)


def test_red_line_forces_d_whatever_the_score(dealer: Policy) -> None:
    # given a perfect month (60 + 20 + 20 + direct bonus 1) and a refused inventory audit
    tables = facts(
        orders=three_months_of_orders("C1", 20000, channel="direct"),
        targets=[{"customer_id": "C1", "target_amount": 10000}],
        events=[
            {"customer_id": "C1", "item": "refused_inventory_audit", "points": 0, "red_line": True}
        ],
    )
    row = grade(dealer, tables)[("C1", LINE)]
    # then the grade is D, and the score is still shown
    assert row["dealer"] == "D"
    assert row["dealer.score"] == pytest.approx(101)
    assert "触及红线" in row["dealer.why"]


def test_pair_with_only_a_score_event_in_the_month_is_rated(dealer: Policy) -> None:
    # given a pair whose only fact is a bonus event in M
    tables = facts(events=[{"customer_id": "C1", "points": 3}])
    rows = grade(dealer, tables)
    # then it is rated: 0 sales + 20 (nothing due) + 0 regularity + 3 bonus
    assert rows[("C1", LINE)]["dealer.score"] == pytest.approx(23)
    assert rows[("C1", LINE)]["dealer"] == "D"


def test_score_events_of_other_months_do_not_count(dealer: Policy) -> None:
    # given a bonus and a red line in September, and a pair whose only fact is such an event
    tables = facts(
        orders=three_months_of_orders("C1", 7000),
        targets=[{"customer_id": "C1", "target_amount": 12000}],
        events=[
            {"customer_id": "C1", "points": 5, "event_date": date(2026, 9, 30)},
            {"customer_id": "C1", "points": 0, "red_line": True, "event_date": date(2026, 9, 28)},
            {"customer_id": "C2", "points": 5, "event_date": date(2026, 9, 30)},
            {"customer_id": "C1", "points": 5, "event_date": date(2026, 11, 1)},  # after as-of
        ],
    )
    rows = grade(dealer, tables)
    # then C1 keeps its 75 and its B, and C2 is not rated at all
    assert rows[("C1", LINE)]["dealer.score"] == pytest.approx(75)
    assert rows[("C1", LINE)]["dealer"] == "B"
    assert ("C2", LINE) not in rows


def test_deduction_events_lower_the_score(dealer: Policy) -> None:
    tables = facts(
        orders=three_months_of_orders("C1", 7000),
        targets=[{"customer_id": "C1", "target_amount": 12000}],
        events=[{"customer_id": "C1", "item": "late_delivery_complaint", "points": -1}],
    )
    row = grade(dealer, tables)[("C1", LINE)]
    assert row["dealer.score"] == pytest.approx(74)
    assert row["dealer"] == "C"


def test_direct_delivery_share_of_exactly_half_gives_the_bonus_point(dealer: Policy) -> None:
    # given October orders: 500 direct, 500 through a distributor
    tables = facts(
        orders=[
            {"customer_id": "C1", "amount": 500, "channel": "direct"},
            {"customer_id": "C1", "amount": 500, "channel": "distributor"},
            {"customer_id": "C2", "amount": 499, "channel": "direct"},
            {"customer_id": "C2", "amount": 501, "channel": "distributor"},
        ],
    )
    rows = grade(dealer, tables)
    # then C1 (50%) gets +1 over C2 (49.9%)
    # (both: 0 sales, no target; 20 nothing due; 20 x 1 / 3 regularity)
    assert rows[("C1", LINE)]["dealer.score"] == pytest.approx(27.67)
    assert rows[("C2", LINE)]["dealer.score"] == pytest.approx(26.67)


def test_each_business_line_of_a_dealer_is_rated_on_its_own_facts(dealer: Policy) -> None:
    # given one dealer with a met target in 乳品 and no target in 休闲
    tables = facts(
        orders=[
            *three_months_of_orders("C1", 12000),
            *three_months_of_orders("C1", 12000, business_line="休闲"),
        ],
        targets=[{"customer_id": "C1", "target_amount": 12000}],
        receivables=[{"customer_id": "C1", "business_line": "休闲", "amount": 100}],
    )
    rows = grade(dealer, tables)
    # then 乳品 scores 100, and 休闲 0 (no target) + 0 (unpaid) + 20
    assert rows[("C1", LINE)]["dealer.score"] == pytest.approx(100)
    assert rows[("C1", "休闲")]["dealer.score"] == pytest.approx(20)


def test_pair_with_facts_only_before_the_three_months_is_not_rated(dealer: Policy) -> None:
    tables = facts(
        orders=[{"customer_id": "C1", "amount": 100, "order_date": date(2026, 7, 31)}],
        targets=[{"customer_id": "C1", "target_amount": 100, "month": date(2026, 9, 1)}],
    )
    assert grade(dealer, tables) == {}
