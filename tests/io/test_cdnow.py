"""The CDNOW text format: both layouts, the optional header, every bad line reported."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fenji.io.cdnow import looks_like_cdnow, read_cdnow
from fenji.io.errors import DataError
from fenji.io.orders import open_orders
from fenji.policy.sources import ORDERS

SAMPLE = (
    " 00004 0001 19970101  2   29.33\n"
    " 00004 0001 19970118  2   29.73\n"
    " 00021 0002 19970101  3   63.34\n"
)
MASTER = (
    " customer_id  date number_of_cds  dollar_value\n"
    " 00001 19970101  1   11.77\n"
    " 00002 19970112  5   77.00\n"
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="ascii")
    return path


def test_the_sample_layout_reads_as_canonical_orders(tmp_path: Path) -> None:
    table = read_cdnow(write(tmp_path, "CDNOW_sample.txt", SAMPLE))
    assert table.column_names == list(ORDERS.column_names)
    assert table.column("customer_id").to_pylist() == ["00004", "00004", "00021"]
    assert table.column("order_date").to_pylist()[1] == date(1997, 1, 18)
    assert table.column("amount").to_pylist() == [
        Decimal("29.33"),
        Decimal("29.73"),
        Decimal("63.34"),
    ]
    assert table.column("quantity").to_pylist()[2] == Decimal(3)
    assert table.column("order_id").to_pylist() == ["00004-1", "00004-2", "00021-3"]


def test_the_master_layout_skips_its_header(tmp_path: Path) -> None:
    table = read_cdnow(write(tmp_path, "CDNOW_master.txt", MASTER))
    assert table.num_rows == 2
    assert table.column("order_id").to_pylist() == ["00001-2", "00002-3"]
    assert table.column("amount").type == pa.decimal128(18, 4)


def test_every_bad_line_is_reported_with_its_line_and_column(tmp_path: Path) -> None:
    text = (
        SAMPLE + " 00030 0003 19971341  1   9.99\n 00031 0004 19970105  x   9.99\n 00032 0005 1\n"
    )
    with pytest.raises(DataError) as err:
        read_cdnow(write(tmp_path, "bad.txt", text))
    found = {(i.code, i.row, i.column) for i in err.value.issues}
    assert ("io.bad_row", 6, None) in found
    with pytest.raises(DataError) as err:
        read_cdnow(write(tmp_path, "bad2.txt", SAMPLE + " 00030 0003 19971341  1   9.99\n"))
    assert [(i.code, i.row, i.column, i.value) for i in err.value.issues] == [
        ("io.bad_date", 4, "order_date", "19971341")
    ]
    with pytest.raises(DataError) as err:
        read_cdnow(write(tmp_path, "bad3.txt", SAMPLE + " 00031 0004 19970105  x   9.99\n"))
    assert [(i.code, i.row, i.column) for i in err.value.issues] == [
        ("io.bad_number", 4, "quantity")
    ]


def test_cdnow_files_are_recognised_by_their_content(tmp_path: Path) -> None:
    assert looks_like_cdnow(write(tmp_path, "a.txt", SAMPLE))
    assert looks_like_cdnow(write(tmp_path, "b.txt", MASTER))
    assert not looks_like_cdnow(write(tmp_path, "c.txt", "order_id,customer_id\n1,2\n"))
    assert not looks_like_cdnow(write(tmp_path, "d.csv", SAMPLE))


def test_an_orders_file_opens_in_any_format(tmp_path: Path) -> None:
    cdnow = open_orders(write(tmp_path, "CDNOW_sample.txt", SAMPLE))
    assert cdnow.format == "cdnow"
    table = cdnow.con.table("orders").to_arrow_table()
    cdnow.close()
    pq.write_table(table, tmp_path / "orders.parquet")
    direct = open_orders(tmp_path / "orders.parquet")
    assert direct.format == "parquet"
    count = direct.con.execute("SELECT COUNT(*), SUM(amount) FROM orders").fetchone()
    assert count == (3, Decimal("122.4000"))
    direct.close()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        open_orders(tmp_path / "missing.parquet")
