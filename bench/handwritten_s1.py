"""The yardstick: S1 (the to-B four-level standard) as one hand-written DuckDB query.

This is what a competent engineer would write for S1 without fenji: one SQL statement over the
canonical Parquet files, nothing else. The benchmark (``bench/run.py``) runs it and
``fenji evaluate --policy examples/policies/tob_abcd.yaml`` as separate processes on the same
data, checks that they agree label for label, and compares time and memory.

Usage::

    python bench/handwritten_s1.py --data DIR --as-of 2026-10-31 --out OUT.parquet

Only duckdb is needed. Orders with a ``status`` of ``cancelled`` are left out when the column
exists (the canonical data has none).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

import duckdb

# Bounds are inclusive lower bounds ("(含)以上"); a grade's points are A=4 .. D=1, and
# ['D','C','B','A'][points] turns points back into a letter (DuckDB lists start at 1).
# The weighted sum is exact DECIMAL arithmetic: in binary floating point 2.5 can come out as
# 2.4999999999999996 and fall into the wrong band.
S1_QUERY = """
WITH orders_12m AS (
    SELECT customer_id,
           SUM(amount)   AS sales_12m,
           SUM(quantity) AS tonnes_12m
    FROM read_parquet($orders)
    WHERE order_date >  CAST($as_of::DATE - INTERVAL 12 MONTH AS DATE)
      AND order_date <= $as_of::DATE
      {status_filter}
    GROUP BY customer_id
),
points AS (
    SELECT c.customer_id,
           CASE WHEN coalesce(o.sales_12m, 0) >= 1000000 THEN 4
                WHEN coalesce(o.sales_12m, 0) >=  500000 THEN 3
                WHEN coalesce(o.sales_12m, 0) >=  200000 THEN 2
                ELSE 1 END AS sales,
           CASE WHEN coalesce(o.tonnes_12m, 0) >= 100 THEN 4
                WHEN coalesce(o.tonnes_12m, 0) >=  50 THEN 3
                WHEN coalesce(o.tonnes_12m, 0) >=  20 THEN 2
                ELSE 1 END AS volume,
           CASE WHEN trim(c.influence) IN ('行业龙头', '知名品牌') THEN 4
                WHEN trim(c.influence) IN ('有一定影响力', '有一定市场影响力') THEN 3
                WHEN trim(c.influence) = '中小型企业' THEN 2
                ELSE 1 END AS influence,  -- 新进入企业, 行业新进入企业 and unknown are D
           CASE WHEN c.first_deal_date <  CAST($as_of::DATE - INTERVAL 5 YEAR AS DATE) THEN 4
                WHEN c.first_deal_date <= CAST($as_of::DATE - INTERVAL 3 YEAR AS DATE) THEN 3
                WHEN c.first_deal_date <= CAST($as_of::DATE - INTERVAL 1 YEAR AS DATE) THEN 2
                ELSE 1 END AS tenure      -- exactly 5 or 3 years is B, exactly 1 year C
    FROM read_parquet($customers) AS c
    LEFT JOIN orders_12m AS o USING (customer_id)
),
weighted AS (
    SELECT *,
           0.40::DECIMAL(3, 2) * sales + 0.30::DECIMAL(3, 2) * volume
         + 0.15::DECIMAL(3, 2) * influence + 0.15::DECIMAL(3, 2) * tenure AS score
    FROM points
)
SELECT customer_id,
       ['D', 'C', 'B', 'A'][sales]     AS sales,
       ['D', 'C', 'B', 'A'][volume]    AS volume,
       ['D', 'C', 'B', 'A'][influence] AS influence,
       ['D', 'C', 'B', 'A'][tenure]    AS tenure,
       CASE WHEN score >= 3.5 THEN 'A'
            WHEN score >= 2.5 THEN 'B'
            WHEN score >= 1.5 THEN 'C'
            ELSE 'D' END                AS overall
FROM weighted
ORDER BY customer_id
"""


def s1_sql(con: duckdb.DuckDBPyConnection, orders: Path) -> str:
    """The query, with the cancelled-order filter only when orders carry a status."""
    columns = {
        row[0]
        for row in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(orders)]).fetchall()
    }
    status_filter = (
        "AND coalesce(lower(trim(status)), '') <> 'cancelled'" if "status" in columns else ""
    )
    return S1_QUERY.format(status_filter=status_filter)


def run(data: Path, as_of: date, out: Path) -> int:
    """Grade every customer of ``data`` and write the labels to ``out``; returns the rows."""
    con = duckdb.connect()
    orders = data / "orders.parquet"
    customers = data / "customers.parquet"
    for path in (orders, customers):
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: the yardstick reads canonical Parquet")
    sql = s1_sql(con, orders)
    options = "FORMAT parquet" if out.suffix.lower() != ".csv" else "FORMAT csv, HEADER"
    params = {"orders": str(orders), "customers": str(customers), "as_of": as_of.isoformat()}
    rows = con.execute(f"COPY ({sql}) TO '{out}' ({options})", params).fetchone()
    return int(rows[0]) if rows else 0


def main() -> int:
    parser = argparse.ArgumentParser(description="S1 grades with one hand-written DuckDB query")
    parser.add_argument("--data", type=Path, required=True, help="folder with canonical Parquet")
    parser.add_argument("--as-of", type=date.fromisoformat, required=True)
    parser.add_argument("--out", type=Path, required=True, help=".parquet (default) or .csv")
    args = parser.parse_args()
    started = time.perf_counter()
    rows = run(args.data, args.as_of, args.out)
    print(f"{rows} customers graded in {time.perf_counter() - started:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
