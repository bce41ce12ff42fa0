"""Reading one CSV source: headers, canonical types, and issues with exact row numbers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from fenji.io import DataError, DataIssue, read_source
from fenji.io.values import DECIMAL_TYPE
from fenji.policy.sources import CUSTOMERS, ORDERS, TARGETS, Column, Source

WriteCsv = Callable[..., Path]

HEADER = ["order_id", "customer_id", "business_line", "order_date", "amount", "quantity", "channel"]


def _order(n: int, amount: str = "100.50", date: str = "2026-09-23") -> list[str]:
    return [f"O{n:04d}", "C00001", "乳品", date, amount, "2", "direct"]


def _issues(path: Path, source: Source = ORDERS, **kwargs: object) -> list[DataIssue]:
    with pytest.raises(DataError) as caught:
        read_source(path, source, **kwargs)  # type: ignore[arg-type]
    return caught.value.issues


def test_orders_are_read_with_canonical_types_in_catalogue_order(write_csv: WriteCsv) -> None:
    path = write_csv("orders.csv", [HEADER, _order(1), _order(2, "1,234.5", "2026/9/1")])
    table = read_source(path, ORDERS)
    assert table.schema.names == [c.name for c in ORDERS.columns]
    assert table.schema.field("order_date").type == pa.date32()
    assert table.schema.field("amount").type == DECIMAL_TYPE
    assert table["amount"].to_pylist() == [Decimal("100.5"), Decimal("1234.5")]
    assert table["order_date"].to_pylist() == [dt.date(2026, 9, 23), dt.date(2026, 9, 1)]


def test_absent_optional_column_is_added_as_nulls_of_its_type(write_csv: WriteCsv) -> None:
    table = read_source(write_csv("orders.csv", [HEADER, _order(1)]), ORDERS)
    assert table.schema.field("status").type == pa.string()
    assert table["status"].to_pylist() == [None]


def test_extra_columns_are_kept_as_strings_after_the_catalogue_columns(
    write_csv: WriteCsv,
) -> None:
    path = write_csv("orders.csv", [[*HEADER, "备注", "折扣"], [*_order(1), "加急", "0.95"]])
    table = read_source(path, ORDERS)
    assert table.column_names[-2:] == ["备注", "折扣"]
    assert table.schema.field("折扣").type == pa.string()
    assert table["折扣"].to_pylist() == ["0.95"]


def test_chinese_headers_are_recognised(write_csv: WriteCsv) -> None:
    header = ["订单号", "客户ID", "产品线", "下单日期", "金额（元）", "采购量(吨)", "渠道"]
    table = read_source(write_csv("orders.csv", [header, _order(1)]), ORDERS)
    assert table.column_names[:7] == HEADER
    assert table["amount"].to_pylist() == [Decimal("100.5")]


def test_headers_ignore_case_spaces_and_stars(write_csv: WriteCsv) -> None:
    header = [
        " Order ID ",
        "CUSTOMER_ID*",
        "Business Line",
        "order date",
        "Amount",
        "QUANTITY",
        "channel",
    ]
    table = read_source(write_csv("orders.csv", [header, _order(1)]), ORDERS)
    assert table.column_names[:7] == HEADER


def test_explicit_header_mapping_wins(write_csv: WriteCsv) -> None:
    header = ["单据号", "客户代码", "business_line", "日期", "价税合计", "quantity", "channel"]
    mapping = {"单据号": "order_id", "日期": "order_date", "价税合计": "amount"}
    table = read_source(write_csv("orders.csv", [header, _order(1)]), ORDERS, headers=mapping)
    assert table.column_names[:7] == HEADER


def test_missing_required_column_is_one_file_level_issue(write_csv: WriteCsv) -> None:
    header = [h for h in HEADER if h != "amount"]
    row = [c for h, c in zip(HEADER, _order(1), strict=True) if h != "amount"]
    [issue] = _issues(write_csv("orders.csv", [header, row]))
    assert (issue.code, issue.column, issue.row) == ("io.missing_column", "amount", None)
    assert "金额" in issue.hint


def test_two_columns_meaning_the_same_are_an_issue(write_csv: WriteCsv) -> None:
    path = write_csv("orders.csv", [[*HEADER, "金额"], [*_order(1), "5"]])
    [issue] = _issues(path)
    assert (issue.code, issue.column) == ("io.duplicate_column", "amount")


def test_bad_date_reports_file_row_column_value(write_csv: WriteCsv) -> None:
    rows = [HEADER, *(_order(n) for n in range(1, 16)), _order(16, date="2026-02-30")]
    [issue] = _issues(write_csv("orders.csv", rows))
    assert issue.code == "io.bad_date"
    assert (Path(issue.file).name, issue.row, issue.column, issue.value) == (
        "orders.csv",
        17,
        "order_date",
        "2026-02-30",
    )
    assert str(issue).startswith("orders.csv row 17, column order_date, value '2026-02-30'")


def test_bad_number_reports_file_row_column_value(write_csv: WriteCsv) -> None:
    rows = [HEADER, _order(1), _order(2, amount="12,3a4"), _order(3, amount="1.23456")]
    issues = _issues(write_csv("orders.csv", rows))
    assert [(i.code, i.row, i.column, i.value) for i in issues] == [
        ("io.bad_number", 3, "amount", "12,3a4"),
        ("io.bad_number", 4, "amount", "1.23456"),
    ]
    assert str(issues[0]) == (
        "orders.csv row 3, column amount, value '12,3a4': not a number; "
        "write it as 1234.56, 1,234.56 or 1.2万"
    )


def test_all_problems_of_a_file_are_collected(write_csv: WriteCsv) -> None:
    rows = [HEADER, _order(1, amount="x"), _order(2, date="soon"), _order(1)]
    issues = _issues(write_csv("orders.csv", rows))
    assert sorted((i.code, i.row) for i in issues) == [
        ("io.bad_date", 3),
        ("io.bad_number", 2),
        ("io.duplicate_key", 4),
    ]


def test_blank_required_value_is_missing_value(write_csv: WriteCsv) -> None:
    row = _order(2)
    row[1] = "  "
    [issue] = _issues(write_csv("orders.csv", [HEADER, _order(1), row]))
    assert (issue.code, issue.row, issue.column) == ("io.missing_value", 3, "customer_id")


def test_blank_optional_value_is_null(write_csv: WriteCsv) -> None:
    row = _order(1)
    row[5] = ""
    table = read_source(write_csv("orders.csv", [HEADER, row]), ORDERS)
    assert table["quantity"].to_pylist() == [None]


def test_duplicate_key_names_both_rows(write_csv: WriteCsv) -> None:
    rows = [HEADER, _order(1), _order(2), _order(3), _order(2)]
    [issue] = _issues(write_csv("orders.csv", rows))
    assert (issue.code, issue.row, issue.column, issue.value) == (
        "io.duplicate_key",
        5,
        "order_id",
        "O0002",
    )
    assert "row 3" in issue.message
    assert "rows 3 and 5" in issue.hint


def test_duplicate_composite_key_in_targets(write_csv: WriteCsv) -> None:
    rows = [
        ["客户编号", "业务线", "月份", "目标金额"],
        ["C1", "乳品", "2026-10", "100"],
        ["C1", "休闲", "2026-10", "100"],
        ["C1", "乳品", "2026年10月", "5万"],
    ]
    [issue] = _issues(write_csv("targets.csv", rows), TARGETS)
    assert (issue.code, issue.row, issue.value) == ("io.duplicate_key", 4, "C1, 乳品, 2026-10")


def test_null_optional_key_parts_are_compared_too(write_csv: WriteCsv) -> None:
    rows = [
        ["customer_id", "business_line", "month", "target_amount"],
        ["C1", "", "2026-10", "1"],
        ["C1", "", "2026-10", "2"],
    ]
    [issue] = _issues(write_csv("targets.csv", rows), TARGETS)
    assert (issue.code, issue.row) == ("io.duplicate_key", 3)


def test_unsorted_keys_without_repeats_are_fine(write_csv: WriteCsv) -> None:
    rows = [HEADER, _order(3), _order(1), _order(2)]
    assert read_source(write_csv("orders.csv", rows), ORDERS).num_rows == 3


def test_blank_rows_are_dropped_and_later_row_numbers_stay_true(write_csv: WriteCsv) -> None:
    text = (
        ",".join(HEADER)
        + "\n"
        + ",".join(_order(1))
        + "\n\n,,,,,,\n"
        + ",".join(_order(2, amount="bad"))
        + "\n"
    )
    [issue] = _issues(write_csv("orders.csv", text=text))
    assert issue.row == 5


def test_row_with_wrong_cell_count_is_reported_and_later_rows_keep_their_numbers(
    write_csv: WriteCsv,
) -> None:
    text = "\n".join(
        [
            ",".join(HEADER),
            ",".join(_order(1)),
            "O0002,C00001,乳品,2026-09-23,1,234.50,2,direct",  # unquoted grouping comma
            ",".join(_order(3, amount="bad")),
        ]
    )
    issues = _issues(write_csv("orders.csv", text=text + "\n"))
    assert [(i.code, i.row) for i in issues] == [("io.bad_row", 3), ("io.bad_number", 4)]
    assert "has 8 cells but the header has 7" in issues[0].message


def test_quoted_values_may_hold_commas_and_newlines(write_csv: WriteCsv) -> None:
    text = (
        ",".join(HEADER)
        + '\nO1,C1,乳品,2026-09-23,"1,234.50",2,"direct"\n'
        + ('O2,C1,"乳品\n（新）",2026-09-23,5,2,direct\nO3,C1,乳品,2026-09-23,x,2,direct\n')
    )
    path = write_csv("orders.csv", text=text)
    [issue] = _issues(path)
    assert issue.row == 4  # the quoted line break is inside spreadsheet row 3


def test_header_only_file_is_an_empty_table(write_csv: WriteCsv) -> None:
    table = read_source(write_csv("orders.csv", [HEADER]), ORDERS)
    assert table.num_rows == 0
    assert table.schema.field("amount").type == DECIMAL_TYPE


def test_empty_file_is_an_issue(write_csv: WriteCsv) -> None:
    [issue] = _issues(write_csv("orders.csv", text=""))
    assert issue.code == "io.empty_file"


def test_missing_file_is_file_not_found(tmp_path: Path) -> None:
    [issue] = _issues(tmp_path / "orders.csv")
    assert issue.code == "io.file_not_found"


def test_unknown_extension_is_unsupported(write_csv: WriteCsv) -> None:
    [issue] = _issues(write_csv("orders.xls", [HEADER]))
    assert issue.code == "io.unsupported_format"


def test_ids_keep_leading_zeros(write_csv: WriteCsv) -> None:
    header = [
        "customer_id",
        "name",
        "industry",
        "region",
        "scale",
        "owner",
        "first_deal_date",
        "influence",
    ]
    path = write_csv("customers.csv", [header, ["00123", "甲", "", "", "", "", "", ""]])
    assert read_source(path, CUSTOMERS)["customer_id"].to_pylist() == ["00123"]


def test_custom_source_with_integer_and_boolean_columns(write_csv: WriteCsv) -> None:
    visits = Source(
        name="visits",
        key=("visit_id",),
        columns=(
            Column("visit_id", "string", zh="拜访编号"),
            Column("people", "integer", zh="人数"),
            Column("signed", "boolean", required=False, zh="已签约"),
        ),
    )
    path = write_csv(
        "visits.csv", [["拜访编号", "人数", "已签约"], ["V1", "1,200", "是"], ["V2", "3", ""]]
    )
    table = read_source(path, visits)
    assert table.schema.field("people").type == pa.int64()
    assert table.to_pylist() == [
        {"visit_id": "V1", "people": 1200, "signed": True},
        {"visit_id": "V2", "people": 3, "signed": None},
    ]


def test_a_file_repeated_twice_gives_a_bounded_duplicate_list(write_csv: WriteCsv) -> None:
    rows = [HEADER, *(_order(n) for n in range(1500)), *(_order(n) for n in range(1500))]
    issues = _issues(write_csv("orders.csv", rows))
    assert [i.code for i in issues] == ["io.duplicate_key"] * 1000 + ["io.more_issues"]
    assert (issues[0].row, issues[0].value) == (1502, "O0000")
    assert issues[-1].message.startswith("500 more rows repeat the order_id")


def test_a_column_wrong_on_every_row_gives_a_bounded_issue_list(write_csv: WriteCsv) -> None:
    rows = [HEADER, *(_order(n, amount="n/a") for n in range(3000))]
    issues = _issues(write_csv("orders.csv", rows))
    assert len(issues) == 1001
    assert issues[-1].code == "io.more_issues"
    assert issues[-1].message == "2000 more cells cannot be read as decimal values"


def test_windows_line_endings_and_trailing_separators(write_csv: WriteCsv) -> None:
    # Excel on Windows: CRLF, and a trailing comma on every line from an empty last column.
    lines = [",".join([*HEADER, ""]), ",".join([*_order(1), ""]), ",".join([*_order(2, "x"), ""])]
    issues = _issues(write_csv("orders.csv", text="\r\n".join(lines) + "\r\n"))
    assert [(i.code, i.row, i.value) for i in issues] == [("io.bad_number", 3, "x")]


def test_data_under_a_blank_header_is_kept_as_an_extra_column(write_csv: WriteCsv) -> None:
    path = write_csv("orders.csv", [[*HEADER, ""], [*_order(1), "note"]])
    assert read_source(path, ORDERS)["column_8"].to_pylist() == ["note"]


def test_row_numbers_stay_true_after_several_malformed_rows(write_csv: WriteCsv) -> None:
    good = [",".join(_order(n)) for n in (1, 3, 5)]
    bad = ",".join(_order(7, amount="bad"))
    text = "\n".join([",".join(HEADER), good[0], "broken", good[1], "also,broken", good[2], bad])
    issues = _issues(write_csv("orders.csv", text=text + "\n"))
    assert [(i.code, i.row) for i in issues] == [
        ("io.bad_row", 3),
        ("io.bad_row", 5),
        ("io.bad_number", 7),
    ]
