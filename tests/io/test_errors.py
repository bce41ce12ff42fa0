"""How issues read: where, the value, what is wrong and what to do, in English and Chinese."""

from __future__ import annotations

from fenji.io import DataError, DataIssue
from fenji.io.errors import Reason

NOT_A_NUMBER = Reason(
    "not a number", "不是数字", "write it as 1234.56, 1,234.56 or 1.2万", "请写成 1234.56"
)


def _issue(row: int | None = 17, value: str | None = "12,3a4") -> DataIssue:
    return DataIssue.of(
        "io.bad_number",
        NOT_A_NUMBER,
        file="/data/in/orders.csv",
        row=row,
        column="amount",
        value=value,
    )


def test_issue_reads_file_row_column_value_reason_and_fix() -> None:
    assert str(_issue()) == (
        "orders.csv row 17, column amount, value '12,3a4': not a number; "
        "write it as 1234.56, 1,234.56 or 1.2万"
    )


def test_issue_reads_in_chinese() -> None:
    assert _issue().format("zh") == (
        "orders.csv，第 17 行，列 amount，值 '12,3a4'：不是数字；请写成 1234.56"
    )


def test_file_level_issue_has_no_row() -> None:
    assert str(_issue(row=None, value=None)) == (
        "orders.csv, column amount: not a number; write it as 1234.56, 1,234.56 or 1.2万"
    )


def test_long_values_are_shortened() -> None:
    assert "…" in str(_issue(value="x" * 500))


def test_error_lists_twenty_issues_and_counts_the_rest() -> None:
    error = DataError([_issue(row=n) for n in range(2, 27)])
    lines = str(error).splitlines()
    assert lines[0] == "25 problems in the data:"
    assert len(lines) == 1 + 20 + 1
    assert lines[-1].strip() == "... and 5 more"
    assert "row 21," in lines[20]


def test_error_keeps_every_issue() -> None:
    issues = [_issue(row=n) for n in range(2, 100)]
    assert DataError(issues).issues == issues


def test_error_issues_become_a_table_for_download() -> None:
    table = DataError([_issue(), _issue(row=None)]).to_table()
    assert table.column_names[:5] == ["code", "file", "row", "column", "value"]
    assert table["row"].to_pylist() == [17, None]
