"""Reading XLSX: real Excel dates and serials, numbers as numbers, rows numbered as in Excel."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook

from fenji.io import DataError, read_source
from fenji.policy.sources import ORDERS, TARGETS

HEADER: list[object] = ["订单编号", "客户编号", "业务线", "订单日期", "金额", "数量", "渠道"]


def _workbook(
    path: Path, rows: list[list[object]], *, title: str = "订单", first_row: int = 1
) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title
    for offset, row in enumerate(rows):
        for col, value in enumerate(row, start=1):
            sheet.cell(row=first_row + offset, column=col, value=value)
    book.save(path)
    return path


def test_real_excel_dates_and_numbers_are_read(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        HEADER,
        ["O1", "C1", "乳品", dt.datetime(2026, 9, 23), 87382.3, 37, "direct"],
        ["O2", "C1", "乳品", dt.date(2026, 9, 24), 1234.56, 1.4, "distributor"],
    ]
    table = read_source(_workbook(tmp_path / "orders.xlsx", rows), ORDERS)
    assert table["order_date"].to_pylist() == [dt.date(2026, 9, 23), dt.date(2026, 9, 24)]
    assert table["amount"].to_pylist() == [Decimal("87382.3"), Decimal("1234.56")]
    assert table["quantity"].to_pylist() == [Decimal(37), Decimal("1.4")]


def test_serial_numbers_in_a_date_column_are_excel_dates(tmp_path: Path) -> None:
    rows: list[list[object]] = [HEADER, ["O1", "C1", "乳品", 45356, 1, 1, "direct"]]
    table = read_source(_workbook(tmp_path / "orders.xlsx", rows), ORDERS)
    assert table["order_date"].to_pylist() == [dt.date(2024, 3, 5)]


def test_text_dates_in_a_sheet_are_parsed_like_csv(tmp_path: Path) -> None:
    rows: list[list[object]] = [HEADER, ["O1", "C1", "乳品", "2024年3月5日", "1.5万", "", "direct"]]
    table = read_source(_workbook(tmp_path / "orders.xlsx", rows), ORDERS)
    assert table["order_date"].to_pylist() == [dt.date(2024, 3, 5)]
    assert table["amount"].to_pylist() == [Decimal(15000)]


def test_float_noise_is_shown_as_excel_shows_it(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        HEADER,
        ["O1", "C1", "乳品", dt.date(2026, 1, 1), 0.1 + 0.2, 1, "direct"],
    ]
    table = read_source(_workbook(tmp_path / "orders.xlsx", rows), ORDERS)
    assert table["amount"].to_pylist() == [Decimal("0.3")]


def test_numeric_ids_lose_their_float_suffix(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        HEADER,
        [10001, 20002.0, "乳品", dt.date(2026, 1, 1), 5, 1, "direct"],
    ]
    table = read_source(_workbook(tmp_path / "orders.xlsx", rows), ORDERS)
    assert table["order_id"].to_pylist() == ["10001"]
    assert table["customer_id"].to_pylist() == ["20002"]


def test_months_from_real_dates_and_text(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        ["客户编号", "业务线", "月份", "目标"],
        ["C1", "乳品", dt.datetime(2026, 10, 1), 97000],
        ["C1", "休闲", "2026-10", 77600],
        ["C2", "休闲", 46296, 1],  # serial of 2026-10-01
    ]
    table = read_source(_workbook(tmp_path / "targets.xlsx", rows), TARGETS)
    assert table["month"].to_pylist() == [dt.date(2026, 10, 1)] * 3


def test_header_below_a_title_row_is_found_and_rows_keep_excel_numbers(tmp_path: Path) -> None:
    # ERP exports put a title and an empty row above the header.
    rows: list[list[object]] = [
        ["2026年订单明细"],
        [],
        HEADER,
        ["O1", "C1", "乳品", dt.date(2026, 1, 1), 5, 1, "direct"],
        [None] * 7,
        ["O2", "C1", "乳品", "明天", 5, 1, "direct"],
    ]
    with pytest.raises(DataError) as caught:
        read_source(_workbook(tmp_path / "orders.xlsx", rows, first_row=2), ORDERS)
    [issue] = caught.value.issues
    assert (issue.code, issue.row, issue.column, issue.value) == (
        "io.bad_date",
        7,
        "order_date",
        "明天",
    )


def test_sheet_without_a_known_header_reports_missing_columns(tmp_path: Path) -> None:
    rows: list[list[object]] = [["编号", "日期"], ["O1", dt.date(2026, 1, 1)]]
    with pytest.raises(DataError) as caught:
        read_source(_workbook(tmp_path / "orders.xlsx", rows), ORDERS)
    assert {i.code for i in caught.value.issues} == {"io.missing_column"}


def test_sheet_can_be_chosen_by_name_or_position(tmp_path: Path) -> None:
    path = tmp_path / "orders.xlsx"
    book = Workbook()
    first = book.active
    assert first is not None
    first.append(["说明"])
    second = book.create_sheet("数据")
    second.append(HEADER)
    second.append(["O1", "C1", "乳品", dt.date(2026, 1, 1), 5, 1, "direct"])
    book.save(path)
    assert read_source(path, ORDERS, sheet="数据").num_rows == 1
    assert read_source(path, ORDERS, sheet=1).num_rows == 1
    with pytest.raises(DataError) as caught:
        read_source(path, ORDERS, sheet="订单")
    assert caught.value.issues[0].code == "io.bad_file"
    assert "数据" in caught.value.issues[0].message


def test_not_a_workbook_is_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "orders.xlsx"
    path.write_text("order_id\n")
    with pytest.raises(DataError) as caught:
        read_source(path, ORDERS)
    assert caught.value.issues[0].code == "io.bad_file"


def test_cells_right_of_the_header_are_kept(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        HEADER,
        ["O1", "C1", "乳品", dt.date(2026, 1, 1), 5, 1, "direct", "备注"],
    ]
    table = read_source(_workbook(tmp_path / "orders.xlsx", rows), ORDERS)
    assert table["column_8"].to_pylist() == ["备注"]
