"""The demo generator writes realistic canonical data, deterministically and in chunks."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fenji.demo.generate import TABLES, generate, main, parse_count
from fenji.policy.sources import BUILTIN_SOURCES

AS_OF = date(2026, 10, 31)
PERIOD_START = date(2024, 5, 1)  # 30 months ending at AS_OF
MONEY = pa.decimal128(18, 4)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data ``fenji demo`` would produce: 2,000 customers, default everything."""
    out = tmp_path_factory.mktemp("demo")
    generate(out)
    return out


def query(data: Path, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect()
    for name in TABLES:
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{data}/{name}.parquet')")
    return con.execute(sql).fetchall()


def test_same_arguments_give_byte_identical_csv(tmp_path: Path) -> None:
    # given two runs with the same arguments
    generate(tmp_path / "a", customers=600, orders=20_000, fmt="csv", seed=7)
    generate(tmp_path / "b", customers=600, orders=20_000, fmt="csv", seed=7)
    # then every file is the same, byte for byte
    for name in TABLES:
        first = (tmp_path / "a" / f"{name}.csv").read_bytes()
        assert first == (tmp_path / "b" / f"{name}.csv").read_bytes(), name


def test_another_seed_gives_other_data(tmp_path: Path) -> None:
    generate(tmp_path / "a", customers=300, orders=5_000, fmt="csv", seed=1)
    generate(tmp_path / "b", customers=300, orders=5_000, fmt="csv", seed=2)
    assert (tmp_path / "a" / "orders.csv").read_bytes() != (
        tmp_path / "b" / "orders.csv"
    ).read_bytes()


def test_chunk_rows_changes_how_data_is_written_not_the_data(tmp_path: Path) -> None:
    # given 2,500 customers (three shards) written in slices of 777 rows and in one go
    args = {"customers": 2500, "orders": 15_000, "fmt": "csv", "seed": 3}
    generate(tmp_path / "small", chunk_rows=777, **args)
    generate(tmp_path / "whole", **args)
    # then the CSV files are identical
    for name in TABLES:
        small = (tmp_path / "small" / f"{name}.csv").read_bytes()
        assert small == (tmp_path / "whole" / f"{name}.csv").read_bytes(), name


def test_chunked_parquet_run_writes_every_row_in_row_groups_of_chunk_rows(tmp_path: Path) -> None:
    result = generate(tmp_path, customers=2500, orders=30_000, chunk_rows=4_000)
    orders = pq.ParquetFile(tmp_path / "orders.parquet")
    assert orders.metadata.num_rows == 30_000 == result.rows["orders"]
    assert orders.metadata.num_row_groups == 8  # ceil(30,000 / 4,000)
    sizes = [orders.metadata.row_group(i).num_rows for i in range(8)]
    assert sizes == [4_000] * 7 + [2_000]
    ids = pq.read_table(tmp_path / "orders.parquet", columns=["order_id"]).column(0)
    assert len(set(ids.to_pylist())) == 30_000


def test_order_count_is_exactly_what_was_asked(demo: Path) -> None:
    # 2,000 customers x 30 months x 2 orders a month by default
    assert query(demo, "SELECT count(*) FROM orders") == [(120_000,)]
    assert query(demo, "SELECT count(*) FROM customers") == [(2_000,)]


def test_parquet_columns_follow_the_catalogue_in_order_and_type(demo: Path) -> None:
    expected_types = {
        "string": pa.string(),
        "date": pa.date32(),
        "month": pa.date32(),
        "decimal": MONEY,
        "boolean": pa.bool_(),
    }
    for name in TABLES:
        schema = pq.read_schema(demo / f"{name}.parquet")
        source = BUILTIN_SOURCES[name]
        columns = [c for c in source.columns if c.name not in source.optional_columns]
        assert schema.names == [c.name for c in columns], name
        assert [schema.field(c.name).type for c in columns] == [
            expected_types[c.type] for c in columns
        ], name


def test_csv_has_the_import_format_headers_iso_dates_and_yyyy_mm_months(tmp_path: Path) -> None:
    generate(tmp_path, customers=200, orders=3_000, fmt="csv")
    headers = {
        "customers": "customer_id,name,industry,region,scale,owner,first_deal_date,influence",
        "orders": "order_id,customer_id,business_line,order_date,amount,quantity,channel",
        "receivables": "invoice_id,customer_id,business_line,due_date,amount,paid_date",
        "targets": "customer_id,business_line,month,target_amount",
        "score_events": "event_id,customer_id,business_line,event_date,item,points,red_line",
    }
    for name, header in headers.items():
        lines = (tmp_path / f"{name}.csv").read_text(encoding="utf-8").splitlines()
        assert lines[0] == header
    order = (tmp_path / "orders.csv").read_text(encoding="utf-8").splitlines()[1].split(",")
    date.fromisoformat(order[3])
    assert len(order[4].split(".")[1]) == 2  # amounts in yuan and fen
    month = (tmp_path / "targets.csv").read_text(encoding="utf-8").splitlines()[1].split(",")[2]
    assert len(month) == 7
    assert month[4] == "-"


def test_csv_and_parquet_hold_the_same_values(tmp_path: Path) -> None:
    generate(tmp_path / "p", customers=300, orders=6_000)
    generate(tmp_path / "c", customers=300, orders=6_000, fmt="csv")
    con = duckdb.connect()
    from_parquet = con.execute(
        f"SELECT sum(amount), sum(quantity), count(*) FROM '{tmp_path}/p/orders.parquet'"
    ).fetchone()
    from_csv = con.execute(
        "SELECT sum(amount::DECIMAL(18,4)), sum(quantity::DECIMAL(18,4)), count(*) "
        f"FROM read_csv('{tmp_path}/c/orders.csv', all_varchar=true)"
    ).fetchone()
    assert from_parquet == from_csv


def test_every_fact_belongs_to_a_known_customer(demo: Path) -> None:
    for name in ("orders", "receivables", "targets", "score_events"):
        orphans = query(
            demo,
            f"SELECT count(*) FROM {name} f "
            "WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.customer_id = f.customer_id)",
        )
        assert orphans == [(0,)], name
    assert query(demo, "SELECT count(DISTINCT customer_id) = count(*) FROM customers") == [(True,)]


def test_dates_lie_in_the_period_and_never_after_the_as_of_date(demo: Path) -> None:
    [(first, last)] = query(demo, "SELECT min(order_date), max(order_date) FROM orders")
    assert PERIOD_START <= first <= last <= AS_OF
    [(first, last)] = query(demo, "SELECT min(event_date), max(event_date) FROM score_events")
    assert PERIOD_START <= first <= last <= AS_OF
    [(deal_min, deal_max)] = query(
        demo, "SELECT min(first_deal_date), max(first_deal_date) FROM customers"
    )
    assert AS_OF - timedelta(days=3653) <= deal_min <= deal_max <= AS_OF
    # Invoices may fall due after the as-of date, but nobody has paid in the future.
    [(paid_max, due_min, due_max)] = query(
        demo, "SELECT max(paid_date), min(due_date), max(due_date) FROM receivables"
    )
    assert paid_max <= AS_OF
    assert PERIOD_START + timedelta(days=30) <= due_min <= due_max <= AS_OF + timedelta(days=60)
    months = query(demo, "SELECT DISTINCT month FROM targets ORDER BY 1")
    assert [m for (m,) in months] == [date(2026, m, 1) for m in range(5, 11)]


def test_no_order_precedes_the_customers_first_deal(demo: Path) -> None:
    early = query(
        demo,
        "SELECT count(*) FROM orders o JOIN customers c USING (customer_id) "
        "WHERE c.first_deal_date IS NULL OR o.order_date < c.first_deal_date",
    )
    assert early == [(0,)]


def test_top_fifth_of_customers_makes_most_of_twelve_month_revenue(demo: Path) -> None:
    [(share,)] = query(
        demo,
        """
        WITH revenue AS (
            SELECT customer_id, sum(amount) AS r FROM orders
            WHERE order_date > DATE '2025-10-31' GROUP BY 1 HAVING sum(amount) > 0),
        ranked AS (SELECT r, row_number() OVER (ORDER BY r DESC) AS n, count(*) OVER () AS k
                   FROM revenue)
        SELECT sum(r) FILTER (WHERE n <= k * 0.2) / sum(r) FROM ranked
        """,
    )
    assert 0.6 <= share <= 0.9


def test_returns_are_rare_and_negative_in_amount_and_quantity(demo: Path) -> None:
    [(returns, total, mismatched)] = query(
        demo,
        "SELECT count(*) FILTER (WHERE amount < 0), count(*), "
        "count(*) FILTER (WHERE sign(amount) <> sign(quantity)) FROM orders",
    )
    assert 0.005 * total < returns < 0.03 * total
    assert mismatched == 0


def test_data_covers_what_the_standards_grade(demo: Path) -> None:
    # every S1 band occurs, both lines and channels, late and unpaid invoices, red lines
    [(a, b, c, d)] = query(
        demo,
        """
        SELECT count(*) FILTER (WHERE s >= 1000000),
               count(*) FILTER (WHERE s >= 500000 AND s < 1000000),
               count(*) FILTER (WHERE s >= 200000 AND s < 500000),
               count(*) FILTER (WHERE s < 200000)
        FROM (SELECT c.customer_id, coalesce(sum(o.amount), 0) AS s FROM customers c
              LEFT JOIN orders o ON o.customer_id = c.customer_id
                               AND o.order_date > DATE '2025-10-31'
              GROUP BY 1)
        """,
    )
    assert min(a, b, c, d) > 100
    assert query(
        demo, "SELECT count(DISTINCT business_line), count(DISTINCT channel) FROM orders"
    ) == [(2, 2)]
    [(late, overdue)] = query(
        demo,
        "SELECT count(*) FILTER (WHERE paid_date > due_date), "
        "count(*) FILTER (WHERE paid_date IS NULL AND due_date < DATE '2026-10-31' - 90) "
        "FROM receivables",
    )
    assert late > 0
    assert overdue > 0
    influences = {v for (v,) in query(demo, "SELECT DISTINCT influence FROM customers")}
    assert influences == {"行业龙头", "知名品牌", "有一定影响力", "中小型企业", "新进入企业", None}


def test_score_events_carry_the_points_of_their_item(demo: Path) -> None:
    rows = query(
        demo,
        "SELECT item, min(points), max(points), bool_and(red_line), bool_or(red_line) "
        "FROM score_events GROUP BY item ORDER BY item",
    )
    by_item = {item: rest for item, *rest in rows}
    assert by_item["market_suggestion"][:2] == [1, 5]
    assert by_item["anti_counterfeit_report"][0] >= 1
    assert by_item["late_delivery_complaint"][:2] == [-3, -1]
    assert by_item["refused_inventory_audit"] == [0, 0, True, True]
    assert not any(by_item[i][3] for i in by_item if i != "refused_inventory_audit")


def test_other_format_files_of_the_same_tables_are_removed(tmp_path: Path) -> None:
    generate(tmp_path, customers=100, orders=1_000, fmt="csv")
    generate(tmp_path, customers=100, orders=1_000, fmt="parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{t}.parquet" for t in TABLES)


def test_command_line_writes_the_requested_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--customers", "150", "--orders", "2k", "--out", str(tmp_path), "--format", "csv"])
    assert code == 0
    assert (tmp_path / "orders.csv").read_text(encoding="utf-8").count("\n") == 2_001
    assert "orders.csv" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "count"),
    [("2000", 2000), ("250k", 250_000), ("5M", 5_000_000), ("1.5m", 1_500_000), ("10_000", 10_000)],
)
def test_counts_are_read_as_people_write_them(text: str, count: int) -> None:
    assert parse_count(text) == count


def test_bad_arguments_are_refused_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fmt must be"):
        generate(tmp_path, fmt="xlsx")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="customers must be at least 1"):
        generate(tmp_path, customers=0)
    with pytest.raises(ValueError, match="chunk_rows"):
        generate(tmp_path, customers=10, chunk_rows=0)
