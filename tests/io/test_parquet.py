"""Parquet: typed columns are cast to canonical types; text columns are parsed like CSV."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fenji.io import DataError, coerce_table, read_source, write_table
from fenji.io.values import DECIMAL_TYPE
from fenji.policy.sources import ORDERS, SCORE_EVENTS, TARGETS


def _orders(**overrides: pa.Array) -> pa.Table:
    columns: dict[str, pa.Array] = {
        "order_id": pa.array(["O1", "O2"]),
        "customer_id": pa.array(["C1", "C2"]),
        "business_line": pa.array(["乳品", None]),
        "order_date": pa.array([dt.date(2026, 9, 23), dt.date(2026, 9, 24)]),
        "amount": pa.array([Decimal("87382.30"), Decimal("-5")], pa.decimal128(18, 4)),
        "quantity": pa.array([Decimal("1.4"), None], pa.decimal128(18, 4)),
        "channel": pa.array(["direct", "distributor"]),
    }
    columns.update(overrides)
    return pa.table(columns)


def _read(tmp_path: Path, table: pa.Table, source: object = ORDERS) -> pa.Table:
    path = tmp_path / "data.parquet"
    pq.write_table(table, path)
    return read_source(path, source)  # type: ignore[arg-type]


def test_parquet_round_trip_keeps_every_value(tmp_path: Path) -> None:
    original = read_source(_write(tmp_path, _orders()), ORDERS)
    write_table(original, tmp_path / "again.parquet")
    assert read_source(tmp_path / "again.parquet", ORDERS).equals(original)
    assert original["amount"].to_pylist() == [Decimal("87382.3"), Decimal(-5)]


def _write(tmp_path: Path, table: pa.Table) -> Path:
    path = tmp_path / "orders.parquet"
    pq.write_table(table, path)
    return path


def test_float_money_is_rounded_to_four_places(tmp_path: Path) -> None:
    table = _read(tmp_path, _orders(amount=pa.array([1234.5600000000002, 0.123456])))
    assert table.schema.field("amount").type == DECIMAL_TYPE
    assert table["amount"].to_pylist() == [Decimal("1234.56"), Decimal("0.1235")]


def test_nan_is_a_blank_cell(tmp_path: Path) -> None:
    table = _read(tmp_path, _orders(quantity=pa.array([1.5, float("nan")])))
    assert table["quantity"].to_pylist() == [Decimal("1.5"), None]


def test_infinite_money_is_a_bad_number(tmp_path: Path) -> None:
    with pytest.raises(DataError) as caught:
        _read(tmp_path, _orders(amount=pa.array([1.0, float("inf")])))
    [issue] = caught.value.issues
    assert (issue.code, issue.row, issue.column, issue.value) == (
        "io.bad_number",
        3,
        "amount",
        "inf",
    )


def test_nan_amount_is_a_missing_value(tmp_path: Path) -> None:
    with pytest.raises(DataError) as caught:
        _read(tmp_path, _orders(amount=pa.array([1.0, float("nan")])))
    [issue] = caught.value.issues
    assert (issue.code, issue.row, issue.column) == ("io.missing_value", 3, "amount")


def test_money_too_large_for_the_decimal_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(DataError) as caught:
        _read(tmp_path, _orders(amount=pa.array([1, 10**14], pa.int64())))
    [issue] = caught.value.issues
    assert issue.message.startswith("too large")


def test_decimals_with_more_than_four_places_are_rejected_unless_zeros(tmp_path: Path) -> None:
    wide = pa.decimal128(38, 10)
    ok = _read(tmp_path, _orders(amount=pa.array([Decimal("1.5"), Decimal("2")], wide)))
    assert ok["amount"].to_pylist() == [Decimal("1.5"), Decimal(2)]
    with pytest.raises(DataError) as caught:
        _read(tmp_path, _orders(amount=pa.array([Decimal("1.5"), Decimal("2.00001")], wide)))
    [issue] = caught.value.issues
    assert issue.code == "io.bad_number"
    assert issue.message.startswith("has 5 decimal places")


def test_integer_ids_become_text_and_timestamps_become_dates(tmp_path: Path) -> None:
    table = _read(
        tmp_path,
        _orders(
            order_id=pa.array([1001, 1002]),
            order_date=pa.array([dt.datetime(2026, 9, 23, 15, 30), dt.datetime(2026, 9, 24)]),
            quantity=pa.array([3, None], pa.int32()),
        ),
    )
    assert table["order_id"].to_pylist() == ["1001", "1002"]
    assert table["order_date"].to_pylist() == [dt.date(2026, 9, 23), dt.date(2026, 9, 24)]
    assert table["quantity"].to_pylist() == [Decimal(3), None]


def test_text_columns_are_parsed_like_csv(tmp_path: Path) -> None:
    table = _read(
        tmp_path,
        _orders(
            order_date=pa.array(["2026/9/23", "2026年9月24日"]),
            amount=pa.array(["1,234.5", "1.5万"]),
            channel=pa.array([" direct ", ""]),
        ),
    )
    assert table["order_date"].to_pylist() == [dt.date(2026, 9, 23), dt.date(2026, 9, 24)]
    assert table["amount"].to_pylist() == [Decimal("1234.5"), Decimal(15000)]
    assert table["channel"].to_pylist() == ["direct", None]


def test_dictionary_encoded_text_is_text(tmp_path: Path) -> None:
    table = _read(tmp_path, _orders(business_line=pa.array(["乳品", "休闲"]).dictionary_encode()))
    assert table.schema.field("business_line").type == pa.string()
    assert table["business_line"].to_pylist() == ["乳品", "休闲"]


def test_month_dates_are_the_first_of_the_month(tmp_path: Path) -> None:
    targets = pa.table(
        {
            "customer_id": ["C1"],
            "business_line": ["乳品"],
            "month": pa.array([dt.date(2026, 10, 17)]),
            "target_amount": pa.array([97000]),
        }
    )
    table = _read(tmp_path, targets, TARGETS)
    assert table["month"].to_pylist() == [dt.date(2026, 10, 1)]


def test_boolean_from_integers(tmp_path: Path) -> None:
    events = pa.table(
        {
            "event_id": ["E1", "E2"],
            "customer_id": ["C1", "C1"],
            "business_line": ["乳品", "乳品"],
            "event_date": pa.array([dt.date(2026, 10, 1)] * 2),
            "item": ["a", "b"],
            "points": pa.array([4.0, -2.5]),
            "red_line": pa.array([0, 1], pa.int8()),
        }
    )
    table = _read(tmp_path, events, SCORE_EVENTS)
    assert table["red_line"].to_pylist() == [False, True]
    assert table["points"].to_pylist() == [Decimal(4), Decimal("-2.5")]


def test_a_column_of_lists_is_a_bad_type(tmp_path: Path) -> None:
    with pytest.raises(DataError) as caught:
        _read(tmp_path, _orders(amount=pa.array([[1], [2]])))
    [issue] = caught.value.issues
    assert (issue.code, issue.column) == ("io.bad_type", "amount")


def test_damaged_parquet_is_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "orders.parquet"
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(DataError) as caught:
        read_source(path, ORDERS)
    assert caught.value.issues[0].code == "io.bad_file"


def test_in_memory_tables_are_coerced_like_files() -> None:
    frame = pd.DataFrame(
        {
            "order_id": ["O1", "O2"],
            "customer_id": ["C1", "C2"],
            "business_line": ["乳品", None],
            "order_date": pd.to_datetime(["2026-09-23", "2026-09-24"]),
            "amount": [87382.3, 1234.56],
            "quantity": [1.5, float("nan")],
            "channel": ["direct", "distributor"],
        }
    )
    table = coerce_table(pa.Table.from_pandas(frame, preserve_index=False), ORDERS)
    assert table["amount"].to_pylist() == [Decimal("87382.3"), Decimal("1234.56")]
    assert table["order_date"].to_pylist() == [dt.date(2026, 9, 23), dt.date(2026, 9, 24)]
    assert table["quantity"].to_pylist() == [Decimal("1.5"), None]


def test_in_memory_table_issues_name_the_table() -> None:
    table = _orders(amount=pa.array(["1", "x"]))
    with pytest.raises(DataError) as caught:
        coerce_table(table, ORDERS, file="<orders>")
    assert str(caught.value.issues[0]).startswith("<orders> row 3, column amount, value 'x'")
