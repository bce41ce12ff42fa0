"""Small builders for engine tests: canonical Arrow tables from plain rows, and a runner."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pyarrow as pa

from fenji.engine.evaluate import evaluate_tables
from fenji.policy.models import Policy
from fenji.policy.validate import parse_policy

AS_OF = date(2026, 10, 31)
MONEY = pa.decimal128(18, 4)


def customers(rows: list[dict[str, Any]]) -> pa.Table:
    cols = [
        "customer_id",
        "name",
        "industry",
        "region",
        "scale",
        "owner",
        "first_deal_date",
        "influence",
    ]
    types = {"first_deal_date": pa.date32()}
    return pa.table(
        {c: pa.array([r.get(c) for r in rows], type=types.get(c, pa.string())) for c in cols}
    )


def orders(rows: list[dict[str, Any]]) -> pa.Table:
    def money(v: Any) -> Decimal | None:
        return None if v is None else Decimal(str(v))

    return pa.table(
        {
            "order_id": pa.array(
                [r.get("order_id", f"O{i}") for i, r in enumerate(rows)], pa.string()
            ),
            "customer_id": pa.array([r["customer_id"] for r in rows], pa.string()),
            "business_line": pa.array([r.get("business_line", "乳品") for r in rows], pa.string()),
            "order_date": pa.array([r.get("order_date", AS_OF) for r in rows], pa.date32()),
            "amount": pa.array([money(r.get("amount", 0)) for r in rows], MONEY),
            "quantity": pa.array([money(r.get("quantity", 0)) for r in rows], MONEY),
            "channel": pa.array([r.get("channel", "direct") for r in rows], pa.string()),
            "status": pa.array([r.get("status") for r in rows], pa.string()),
        }
    )


def policy(text: str) -> Policy:
    return parse_policy(text, file="<test>")


def run(
    p: Policy, tables: dict[str, pa.Table], as_of: date = AS_OF, **kw: Any
) -> dict[str, dict[str, Any]]:
    """Labels by customer id (or "customer|line")."""
    result = evaluate_tables(p, tables, as_of, **kw)
    out: dict[str, dict[str, Any]] = {}
    for row in result.table.to_pylist():
        key = row["customer_id"] + (f"|{row['business_line']}" if "business_line" in row else "")
        out[key] = row
    return out
