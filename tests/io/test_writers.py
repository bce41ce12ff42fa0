"""Writing tables: CSV that Excel and the readers take back, XLSX with real types, Parquet."""

from __future__ import annotations

import codecs
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from openpyxl import load_workbook

from fenji.io import read_source, write_table
from fenji.io.values import DECIMAL_TYPE
from fenji.policy.sources import ORDERS

TABLE = pa.table(
    {
        "order_id": ["O1", "O2, 加急"],
        "customer_id": ["C1", "C2"],
        "business_line": ["乳品", None],
        "order_date": pa.array([dt.date(2026, 9, 23), dt.date(2026, 3, 5)]),
        "amount": pa.array([Decimal("101.00"), Decimal("87382.3")], DECIMAL_TYPE),
        "quantity": pa.array([Decimal("0.0001"), None], DECIMAL_TYPE),
        "channel": ["direct", "distributor"],
        "status": pa.array([None, None], pa.string()),
    }
)


def test_csv_is_utf8_without_bom_with_iso_dates_and_plain_decimals(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    write_table(TABLE, path)
    data = path.read_bytes()
    assert not data.startswith(codecs.BOM_UTF8)
    lines = data.decode("utf-8").splitlines()
    assert (
        lines[0] == "order_id,customer_id,business_line,order_date,amount,quantity,channel,status"
    )
    assert lines[1] == '"O1","C1","乳品",2026-09-23,"101","0.0001","direct",'
    assert lines[2] == '"O2, 加急","C2",,2026-03-05,"87382.3",,"distributor",'


def test_csv_without_commas_in_text_has_no_quotes(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    write_table(TABLE.slice(0, 1), path)
    assert path.read_text(encoding="utf-8").splitlines()[1] == (
        "O1,C1,乳品,2026-09-23,101,0.0001,direct,"
    )


def test_csv_bom_on_request(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    write_table(TABLE, path, bom=True)
    assert path.read_bytes().startswith(codecs.BOM_UTF8)


@pytest.mark.parametrize("name", ["orders.csv", "orders.xlsx", "orders.parquet"])
def test_written_files_read_back_unchanged(tmp_path: Path, name: str) -> None:
    write_table(TABLE, tmp_path / name)
    assert read_source(tmp_path / name, ORDERS).equals(TABLE)


def test_xlsx_has_numbers_dates_and_a_bold_header(tmp_path: Path) -> None:
    path = tmp_path / "orders.xlsx"
    write_table(TABLE, path)
    sheet = load_workbook(path).worksheets[0]
    assert sheet["A1"].value == "order_id"
    assert sheet["A1"].font.bold
    assert sheet["D2"].value == dt.datetime(2026, 9, 23)
    assert sheet["D2"].number_format == "yyyy-mm-dd"
    assert sheet["E3"].value == pytest.approx(87382.3)
    assert sheet["E3"].data_type == "n"


def test_unknown_extension_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.csv, \.xlsx or \.parquet"):
        write_table(TABLE, tmp_path / "orders.json")


def test_failed_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("fenji.io.writers.XLSX_MAX_ROWS", 1)
    with pytest.raises(ValueError, match="at most 1"):
        write_table(TABLE, tmp_path / "orders.xlsx")
    assert list(tmp_path.iterdir()) == []
