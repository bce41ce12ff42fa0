"""Cell values as Chinese ERPs and Excel write them, parsed exactly, column at a time."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest

from fenji.io.values import DECIMAL_TYPE, Parsed, explain, parse_text
from fenji.policy.sources import ColumnType


def _parse(kind: ColumnType, *cells: str | None) -> Parsed:
    return parse_text(pa.chunked_array([pa.array(list(cells), pa.string())]), kind)


def _one(kind: ColumnType, cell: str) -> object:
    parsed = _parse(kind, cell)
    assert parsed.bad.to_pylist() == [False], f"{cell!r} was rejected"
    return parsed.values.to_pylist()[0]


def _why(kind: ColumnType, cell: str) -> str:
    parsed = _parse(kind, cell)
    assert parsed.bad.to_pylist() == [True], f"{cell!r} was accepted"
    detail = None if parsed.detail is None else parsed.detail.to_pylist()[0]
    return explain(kind, cell.strip(), detail)[1].message


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("1234.56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("1,234,567.8", "1234567.8"),
        ("￥1,234", "1234"),
        ("¥1,234", "1234"),
        ("RMB 1,234.5", "1234.5"),
        ("1234元", "1234"),
        ("1.5万", "15000"),
        ("1.2亿", "120000000"),
        ("3万元", "30000"),
        ("1.23456万", "12345.6"),
        ("1.23456789万", "12345.6789"),
        ("１２３４．５", "1234.5"),
        ("１，２３４", "1234"),
        ("  12.5 \u3000", "12.5"),
        ("-12.5", "-12.5"),
        ("－12.5", "-12.5"),
        ("\u2212 12.5", "-12.5"),
        ("(1,234.00)", "-1234"),
        ("（1,234.00）", "-1234"),
        ("(¥1,234.00)", "-1234"),
        ("¥-3", "-3"),
        ("+7", "7"),
        ("0.00010", "0.0001"),
        (".5", "0.5"),
        ("007", "7"),
        ("99999999999999.9999", "99999999999999.9999"),
    ],
)
def test_number_forms_are_exact_decimals(cell: str, expected: str) -> None:
    assert _one("decimal", cell) == Decimal(expected)


def test_plain_decimals_take_the_fast_path_and_keep_their_type() -> None:
    parsed = _parse("decimal", "87382.30", "1", "-0.1234")
    assert parsed.values.type == DECIMAL_TYPE
    assert parsed.detail is None  # the fast path has nothing to explain
    assert parsed.values.to_pylist() == [Decimal("87382.3"), Decimal(1), Decimal("-0.1234")]


def test_blank_cells_are_null_and_not_bad() -> None:
    parsed = _parse("decimal", "12", "", "  ", None)
    assert parsed.values.to_pylist() == [Decimal(12), None, None, None]
    assert parsed.bad.to_pylist() == [False] * 4


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("12,3a4", "not a number"),
        ("1,23", "not a number"),  # a decimal comma would silently multiply by 100
        ("12.3.4", "not a number"),
        ("万", "not a number"),
        ("-", "not a number"),
        ("1.2E+11", "not a number"),  # Excel's display rounding, not a value
        ("1.23456", "has 5 decimal places; at most 4 are kept exactly"),
        ("1.234567891万", "has 5 decimal places"),  # 12345.67891
        ("123456789012345", "too large: at most 14 digits before the decimal point"),
        ("2亿亿", "not a number"),
    ],
)
def test_bad_numbers_say_why(cell: str, reason: str) -> None:
    assert _why("decimal", cell).startswith(reason)


def test_a_bad_number_does_not_hide_the_good_ones() -> None:
    parsed = _parse("decimal", "1,000", "x", "2.5万")
    assert parsed.values.to_pylist() == [Decimal(1000), None, Decimal(25000)]
    assert parsed.bad.to_pylist() == [False, True, False]


def test_integers_accept_the_same_forms_but_no_fraction() -> None:
    assert _one("integer", "1,234") == 1234
    assert _one("integer", "3万") == 30000
    assert _one("integer", "12.000") == 12
    assert _why("integer", "12.5") == "not a whole number"


@pytest.mark.parametrize(
    "cell",
    [
        "2024-03-05",
        "2024/3/5",
        "2024/03/05",
        "2024.3.5",
        "2024-3-5",
        "2024年3月5日",
        "2024年3月5号",
        "2024 年 3 月 5 日",
        "20240305",
        "２０２４－０３－０５",
        "2024-03-05 00:00:00",
        "2024/3/5 14:30",
        "2024-03-05T08:00:00",
        " 2024-03-05 ",
    ],
)
def test_date_forms(cell: str) -> None:
    assert _one("date", cell) == dt.date(2024, 3, 5)


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("2024-02-30", "there is no such date (2024-02-30)"),
        ("2023-02-29", "there is no such date (2023-02-29)"),
        ("2024-13-01", "there is no such date (2024-13-01)"),
        ("45356", "not a date; it looks like an Excel serial number"),
        ("05/03/2024", "not a date in an accepted order"),
        ("下周一", "not a date"),
        ("2024-03", "not a date"),
    ],
)
def test_bad_dates_say_why(cell: str, reason: str) -> None:
    assert _why("date", cell).startswith(reason)


def test_leap_day_is_a_date() -> None:
    assert _one("date", "2024-02-29") == dt.date(2024, 2, 29)


def test_iso_dates_with_one_bad_day_report_only_that_cell() -> None:
    parsed = _parse("date", "2024-01-31", "2024-02-30", "")
    assert parsed.values.to_pylist() == [dt.date(2024, 1, 31), None, None]
    assert parsed.bad.to_pylist() == [False, True, False]


@pytest.mark.parametrize(
    "cell",
    [
        "2024-03",
        "2024/3",
        "2024.03",
        "2024年3月",
        "2024年03月",
        "202403",
        "2024-03-05",
        "2024/3/31",
    ],
)
def test_month_forms_are_the_first_day_of_the_month(cell: str) -> None:
    assert _one("month", cell) == dt.date(2024, 3, 1)


def test_bad_month_says_why() -> None:
    assert _why("month", "2024-13") == "there is no such month or date (2024-13-01)"
    assert _why("month", "三月") == "not a month"


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("True", True),
        ("1", True),
        ("yes", True),
        ("Y", True),
        ("是", True),
        ("真", True),
        ("false", False),
        ("FALSE", False),
        ("0", False),
        ("No", False),
        ("n", False),
        ("否", False),
        ("假", False),
    ],
)
def test_boolean_forms(cell: str, expected: bool) -> None:
    assert _one("boolean", cell) is expected


def test_bad_boolean_says_why() -> None:
    assert _why("boolean", "maybe") == "not a yes/no value"


def test_strings_are_trimmed_and_blank_is_null() -> None:
    parsed = _parse("string", " C001 ", "\u3000", "", "0012")
    assert parsed.values.to_pylist() == ["C001", None, None, "0012"]
