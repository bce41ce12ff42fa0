"""Reading a data folder: every source by name, customers checked across files, all or nothing."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from fenji.io import DataError, read_dataset, write_table
from fenji.policy.sources import BUILTIN_SOURCES, Column, Source

from ..conftest import acceptance_dir

WriteCsv = Callable[..., Path]
SEED = acceptance_dir() / "data"
CUSTOMERS = [
    ["customer_id", "name", "industry", "region", "scale", "owner", "first_deal_date", "influence"],
    ["C1", "甲", "制造业", "河南", "中型", "liu", "2021-10-31", "行业龙头"],
    ["C2", "乙", "零售业", "江苏", "小型", "chen", "2023-01-01", ""],
]
ORDERS = [
    ["order_id", "customer_id", "business_line", "order_date", "amount", "quantity", "channel"],
    ["O1", "C1", "乳品", "2026-09-23", "100", "1", "direct"],
    ["O2", "C2", "乳品", "2026-09-24", "200", "1", "direct"],
]


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    if not SEED.is_dir():
        pytest.skip("the acceptance data is not available")
    folder = tmp_path / "seed"
    shutil.copytree(SEED, folder)
    for file in folder.iterdir():
        file.chmod(0o644)
    return folder


def test_seed_data_reads_every_source(seed: Path) -> None:
    tables = read_dataset(seed)
    assert list(tables) == list(BUILTIN_SOURCES)
    assert tables["orders"].num_rows == 600
    assert tables["customers"].num_rows == 60


def test_absent_sources_are_not_in_the_result(write_csv: WriteCsv, tmp_path: Path) -> None:
    write_csv("customers.csv", CUSTOMERS)
    assert list(read_dataset(tmp_path)) == ["customers"]


def test_names_choose_the_sources(write_csv: WriteCsv, tmp_path: Path) -> None:
    write_csv("customers.csv", CUSTOMERS)
    write_csv("orders.csv", ORDERS)
    assert list(read_dataset(tmp_path, names=["orders"])) == ["orders"]


def test_unknown_name_is_a_programming_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown sources"):
        read_dataset(tmp_path, names=["order"])


def test_sources_may_come_in_different_formats(write_csv: WriteCsv, tmp_path: Path) -> None:
    write_csv("customers.csv", CUSTOMERS, encoding="gbk")
    orders = tmp_path / "orders.csv"
    write_csv("orders.csv", ORDERS)
    write_table(read_dataset(tmp_path, names=["orders"])["orders"], tmp_path / "Orders.XLSX")
    orders.unlink()
    tables = read_dataset(tmp_path)
    assert tables["orders"]["customer_id"].to_pylist() == ["C1", "C2"]
    assert tables["customers"]["name"].to_pylist() == ["甲", "乙"]


def test_two_files_for_one_source_are_an_issue(write_csv: WriteCsv, tmp_path: Path) -> None:
    write_csv("orders.csv", ORDERS)
    write_table(pa.table({"order_id": ["O1"]}), tmp_path / "orders.parquet")
    with pytest.raises(DataError) as caught:
        read_dataset(tmp_path)
    [issue] = caught.value.issues
    assert issue.code == "io.duplicate_file"
    assert "orders.csv, orders.parquet" in issue.message


def test_unknown_customer_names_file_row_and_value(write_csv: WriteCsv, tmp_path: Path) -> None:
    write_csv("customers.csv", CUSTOMERS)
    write_csv("orders.csv", [*ORDERS, ["O3", "C9", "乳品", "2026-09-25", "1", "1", "direct"]])
    with pytest.raises(DataError) as caught:
        read_dataset(tmp_path)
    [issue] = caught.value.issues
    assert (issue.code, Path(issue.file).name, issue.row, issue.column, issue.value) == (
        "io.unknown_customer",
        "orders.csv",
        4,
        "customer_id",
        "C9",
    )


def test_unknown_customer_row_counts_dropped_blank_rows(
    write_csv: WriteCsv, tmp_path: Path
) -> None:
    write_csv("customers.csv", CUSTOMERS)
    rows = [
        *ORDERS,
        ["", "", "", "", "", "", ""],
        ["O3", "C9", "乳品", "2026-09-25", "1", "1", "direct"],
    ]
    write_csv("orders.csv", rows)
    with pytest.raises(DataError) as caught:
        read_dataset(tmp_path)
    assert [i.row for i in caught.value.issues] == [5]


def test_facts_without_customers_file_are_not_checked(write_csv: WriteCsv, tmp_path: Path) -> None:
    write_csv("orders.csv", [*ORDERS, ["O3", "C9", "乳品", "2026-09-25", "1", "1", "direct"]])
    assert read_dataset(tmp_path)["orders"].num_rows == 3


def test_issues_of_all_files_come_in_one_error_and_nothing_is_returned(
    write_csv: WriteCsv, tmp_path: Path
) -> None:
    write_csv("customers.csv", [*CUSTOMERS, ["C1", "重复", "", "", "", "", "", ""]])
    write_csv("orders.csv", [*ORDERS, ["O3", "C9", "乳品", "2026-13-01", "1", "1", "direct"]])
    write_csv("targets.csv", [["customer_id", "month"], ["C1", "2026-10"]])
    with pytest.raises(DataError) as caught:
        read_dataset(tmp_path)
    found = sorted((Path(i.file).name, i.code, i.row, i.column) for i in caught.value.issues)
    assert found == [
        ("customers.csv", "io.duplicate_key", 4, "customer_id"),
        ("orders.csv", "io.bad_date", 4, "order_date"),
        ("orders.csv", "io.unknown_customer", 4, "customer_id"),
        ("targets.csv", "io.missing_column", None, "business_line"),
        ("targets.csv", "io.missing_column", None, "target_amount"),
    ]


def test_missing_folder_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(DataError) as caught:
        read_dataset(tmp_path / "nowhere")
    assert caught.value.issues[0].code == "io.file_not_found"


def test_header_mapping_per_source(write_csv: WriteCsv, tmp_path: Path) -> None:
    write_csv("orders.csv", [["单据号", *ORDERS[0][1:]], *ORDERS[1:]])
    tables = read_dataset(tmp_path, headers={"orders": {"单据号": "order_id"}})
    assert tables["orders"]["order_id"].to_pylist() == ["O1", "O2"]


def test_custom_sources_are_read_and_checked_against_customers(
    write_csv: WriteCsv, tmp_path: Path
) -> None:
    visits = Source(
        name="visits",
        key=("visit_id",),
        date_column="visit_date",
        columns=(
            Column("visit_id", "string"),
            Column("customer_id", "string"),
            Column("visit_date", "date"),
        ),
    )
    write_csv("customers.csv", CUSTOMERS)
    write_csv("visits.csv", [["visit_id", "客户编号", "visit_date"], ["V1", "C7", "2026/10/1"]])
    with pytest.raises(DataError) as caught:
        read_dataset(tmp_path, sources={**BUILTIN_SOURCES, "visits": visits})
    assert [(i.code, i.value) for i in caught.value.issues] == [("io.unknown_customer", "C7")]
