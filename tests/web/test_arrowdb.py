"""Facts read in bulk as Arrow: canonical types, exact money, and the same tables whichever
path reads them (ADBC, or Django's cursor inside a transaction)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pyarrow as pa
import pytest
from django.db import transaction

from fenji.policy.validate import parse_policy
from fenji.web.customers.models import BusinessLine, Customer
from fenji.web.evaluations import arrowdb
from fenji.web.evaluations.facts import expected_columns, read_facts
from fenji.web.facts.models import MonthlyTarget, Order, Receivable, ScoreEvent

POLICY = parse_policy(
    """\
fenji: 1
name: every_source
title: 全部数据
metrics:
  sales: {agg: sum, from: orders, of: amount}
  due: {agg: sum, from: receivables, of: amount}
  target: {agg: sum, from: targets, of: target_amount}
  points: {agg: sum, from: score_events, of: points}
  segment: {attribute: segment}
dimensions:
  d:
    method: bands
    metric: sales
    bands: [{label: A, min: 1}, {label: B}]
"""
)

AMOUNTS = [
    Decimal("0.0001"),
    Decimal("1234.5678"),
    Decimal("-0.5"),
    Decimal("12345678901.2345"),
    Decimal("0"),
]


def make_facts() -> None:
    dairy = BusinessLine.objects.create(code="乳品")
    a = Customer.objects.create(
        external_id="C,1",
        name='甲 "公司"',
        first_deal_date=date(1970, 1, 1),
        attributes={"segment": "大客户"},
    )
    b = Customer.objects.create(external_id="C2", name="", influence="行业龙头")
    for i, amount in enumerate(AMOUNTS):
        Order.objects.create(
            external_id=f"O{i}\n'x'",
            customer=a if i % 2 else b,
            business_line=dairy if i % 2 else None,
            order_date=date(2000, 2, 29) if i else date(2099, 12, 31),
            amount=amount,
            quantity=None if i % 2 else Decimal("2.5"),
            channel="" if i % 2 else "direct",
        )
    Receivable.objects.create(
        external_id="I1", customer=a, due_date=date(2024, 3, 1), amount=Decimal("10.01")
    )
    Receivable.objects.create(
        external_id="I2",
        customer=b,
        due_date=date(2024, 3, 1),
        amount=Decimal("5"),
        paid_date=date(2024, 2, 28),
    )
    MonthlyTarget.objects.create(
        customer=a, business_line=dairy, month=date(2024, 3, 1), target_amount=Decimal("99.99")
    )
    ScoreEvent.objects.create(
        external_id="E1", customer=b, event_date=date(2024, 3, 5), item="投诉", points=-3
    )
    ScoreEvent.objects.create(
        external_id="E2",
        customer=a,
        event_date=date(2024, 3, 6),
        item="红线",
        points=0,
        red_line=True,
    )


def sorted_tables(tables: dict[str, pa.Table]) -> dict[str, list[dict[str, object]]]:
    def key(row: dict[str, object]) -> str:
        return repr(sorted(row.items(), key=lambda kv: kv[0]))

    return {name: sorted(t.to_pylist(), key=key) for name, t in tables.items()}


@pytest.mark.django_db(transaction=True)
def test_bulk_read_and_cursor_read_give_the_same_canonical_tables() -> None:
    make_facts()

    direct = read_facts(policy=POLICY)
    assert arrowdb.direct_access()
    with transaction.atomic():
        assert not arrowdb.direct_access()
        cursor = read_facts(policy=POLICY)

    assert sorted_tables(direct.tables) == sorted_tables(cursor.tables)
    for name, table in direct.tables.items():
        assert table.schema == cursor.tables[name].schema, name
    assert {n: set(t.column_names) for n, t in direct.tables.items()} == expected_columns(
        policy=POLICY
    )


@pytest.mark.django_db
def test_canonical_types_and_exact_values() -> None:
    make_facts()

    facts = read_facts(policy=POLICY)

    orders = facts.tables["orders"]
    assert orders.schema.field("amount").type == pa.decimal128(18, 4)
    assert orders.schema.field("order_date").type == pa.date32()
    assert sorted(orders.column("amount").to_pylist()) == sorted(AMOUNTS)
    assert set(orders.column("order_date").to_pylist()) == {date(2000, 2, 29), date(2099, 12, 31)}
    assert set(orders.column("channel").to_pylist()) == {"direct", None}  # blank is no value
    assert set(orders.column("business_line").to_pylist()) == {"乳品", None}
    assert "O1\n'x'" in orders.column("order_id").to_pylist()
    customers = facts.tables["customers"].to_pylist()
    by_id = {c["customer_id"]: c for c in customers}
    assert by_id["C,1"]["name"] == '甲 "公司"'
    assert by_id["C,1"]["segment"] == "大客户"
    assert by_id["C,1"]["first_deal_date"] == date(1970, 1, 1)
    assert by_id["C2"]["name"] is None
    assert by_id["C2"]["segment"] is None
    receivables = facts.tables["receivables"]
    assert set(receivables.column("paid_date").to_pylist()) == {None, date(2024, 2, 28)}
    events = facts.tables["score_events"]
    assert events.schema.field("red_line").type == pa.bool_()
    assert sorted(events.column("points").to_pylist()) == [Decimal(-3), Decimal(0)]
    assert facts.tables["targets"].column("month").to_pylist() == [date(2024, 3, 1)]


@pytest.mark.django_db
def test_facts_dated_after_upto_are_left_out() -> None:
    make_facts()

    facts = read_facts(policy=POLICY, upto=date(2024, 3, 5))

    assert facts.tables["orders"].num_rows == 4  # not the one of 2099
    assert facts.tables["score_events"].num_rows == 1


def test_money_beyond_decimal_18_4_is_refused() -> None:
    with pytest.raises(ValueError, match=r"beyond decimal\(18, 4\)"):
        arrowdb.money_from_units(pa.array([10**18], pa.int64()))


@pytest.mark.django_db(transaction=True)
def test_a_writer_reads_first_in_one_snapshot_then_writes() -> None:
    # given the facts in a database a second connection can read (on SQLite, the writer is a
    # process of its own that reads too)
    make_facts()
    assert arrowdb.direct_access()
    queries = {
        "lines": 'SELECT "code" FROM "customers_businessline"',
        "orders": 'SELECT "external_id", "amount" FROM "facts_order"',
    }
    expected = arrowdb.fetch_all(queries)

    with arrowdb.RowWriter() as writer:
        # when it reads before anything is sent, writes, and reads again
        before = writer.fetch_all(queries)
        writer.send(BusinessLine._meta.db_table, pa.table({"code": ["新业务"], "name": ["新"]}))
        writer.finish()
        after = writer.fetch_all(queries)

    # then the first read is what arrowdb.fetch_all gives, and the second sees the new row
    assert sorted_tables(before) == sorted_tables(expected)
    assert before["lines"].column(0).to_pylist() == ["乳品"]
    assert sorted(after["lines"].column(0).to_pylist()) == ["乳品", "新业务"]
