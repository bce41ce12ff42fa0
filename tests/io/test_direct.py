"""Parquet of canonical types is scanned in place by DuckDB, checked in SQL, with the same
results and the same kinds of errors as the general readers."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fenji.api import evaluate, open_engine, policy_sources
from fenji.io import read_dataset
from fenji.io.direct import open_direct
from fenji.io.errors import DataError
from fenji.policy.validate import load_policy

from ..conftest import POLICIES, acceptance_dir

SCENARIO = acceptance_dir()
AS_OF = date(2026, 10, 31)
pytestmark = pytest.mark.skipif(not SCENARIO.is_dir(), reason="acceptance scenario not found")


@pytest.fixture
def canonical(tmp_path: Path) -> Path:
    """The acceptance data as Parquet with canonical types (as fenji itself would write it)."""
    folder = tmp_path / "canonical"
    folder.mkdir()
    for name, table in read_dataset(SCENARIO / "data").items():
        pq.write_table(table, folder / f"{name}.parquet")
    return folder


def test_canonical_parquet_is_scanned_in_place(canonical: Path) -> None:
    policy = load_policy(POLICIES / "tob_abcd.yaml")
    direct = open_direct(canonical, policy.sources_read(), policy_sources(policy))
    assert direct is not None
    direct.verified()
    assert set(direct.files) == {"customers", "orders"}


def test_parquet_with_text_columns_goes_through_the_readers(canonical: Path) -> None:
    table = pq.read_table(canonical / "orders.parquet")
    table = table.set_column(4, "amount", table.column("amount").cast(pa.string()))
    pq.write_table(table, canonical / "orders.parquet")
    policy = load_policy(POLICIES / "tob_abcd.yaml")
    assert open_direct(canonical, policy.sources_read(), policy_sources(policy)) is None


@pytest.mark.parametrize("name", ["tob_abcd", "dealer_monthly", "value_abcd", "rfm8"])
def test_direct_scan_gives_the_same_labels_as_the_readers(canonical: Path, name: str) -> None:
    path = POLICIES / f"{name}.yaml"
    direct = evaluate(path, canonical, AS_OF).table
    via_readers = evaluate(path, read_dataset(SCENARIO / "data"), AS_OF).table
    assert direct.equals(via_readers)


def _write_orders(folder: Path, rows: pa.Table) -> None:
    pq.write_table(rows, folder / "orders.parquet")


def test_duplicate_order_in_the_window_is_an_error_with_its_rows(canonical: Path) -> None:
    orders = pq.read_table(canonical / "orders.parquet")
    _write_orders(canonical, pa.concat_tables([orders, orders.slice(0, 1)]))
    policy = load_policy(POLICIES / "tob_abcd.yaml")
    with pytest.raises(DataError) as info:
        evaluate(policy, canonical, AS_OF).table  # noqa: B018
    issue = info.value.issues[0]
    assert issue.code == "io.duplicate_key"
    assert issue.file == "orders.parquet"
    assert {i.row for i in info.value.issues} == {2, orders.num_rows + 2}


def test_passed_checks_are_remembered_per_version_of_the_file(
    canonical: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("FENJI_CACHE_DIR", str(cache))
    policy = load_policy(POLICIES / "tob_abcd.yaml")
    evaluate(policy, canonical, AS_OF).close()
    remembered = sorted(p.name.split("-")[0] for p in cache.iterdir())
    assert remembered == ["customers", "keys", "keys"]
    # given a changed file, when evaluated again, then it is checked again and fails
    orders = pq.read_table(canonical / "orders.parquet")
    _write_orders(canonical, pa.concat_tables([orders, orders.slice(0, 1)]))
    with pytest.raises(DataError):
        evaluate(policy, canonical, AS_OF).close()


def test_cache_can_be_switched_off(canonical: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FENJI_CACHE_DIR", "off")
    evaluate(POLICIES / "tob_abcd.yaml", canonical, AS_OF).close()


def test_unknown_customer_and_missing_value_are_reported_with_rows(canonical: Path) -> None:
    orders = pq.read_table(canonical / "orders.parquet")
    ids = orders.column("customer_id").to_pylist()
    ids[3] = "NOBODY"
    amounts = orders.column("amount").to_pylist()
    amounts[7] = None
    orders = orders.set_column(1, "customer_id", pa.array(ids, pa.string()))
    orders = orders.set_column(4, "amount", pa.array(amounts, orders.schema.field("amount").type))
    _write_orders(canonical, orders)
    with pytest.raises(DataError) as info:
        evaluate(POLICIES / "tob_abcd.yaml", canonical, AS_OF).table  # noqa: B018
    found = {(i.code, i.row, i.column, i.value) for i in info.value.issues}
    assert ("io.unknown_customer", 5, "customer_id", "NOBODY") in found
    assert ("io.missing_value", 9, "amount", None) in found


def test_the_engine_cannot_read_other_files(canonical: Path) -> None:
    policy = load_policy(POLICIES / "tob_abcd.yaml")
    con, _, verify = open_engine(policy, canonical, as_of=AS_OF)
    with pytest.raises(Exception, match=r"Permission|disabled"):
        con.execute("SELECT * FROM read_csv('/etc/passwd')").fetchall()
    with pytest.raises(Exception, match=r"Permission|disabled"):
        con.execute(f"SELECT * FROM read_parquet('{canonical}/receivables.parquet')").fetchall()
    assert verify is not None
    verify()
    con.close()
