"""The catalogue of canonical sources: which tables fenji knows, their columns and types.

A source is a table of customers (attributes, one row per customer) or of facts (rows with a
date column, many per customer). Readers (``fenji.io``) coerce files to these types, and the
engine relies on them: money and quantities are exact decimals so that a band boundary can never
flip through binary rounding, and dates are dates.

A policy may declare further fact tables with their own columns (``sources:`` in the YAML); the
built-in ones below need no declaration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal["string", "date", "decimal", "integer", "boolean", "month"]

#: Exact decimal used for money, quantities and points: 18 digits, 4 after the point.
DECIMAL_PRECISION = 18
DECIMAL_SCALE = 4


@dataclass(frozen=True)
class Column:
    """One column of a source: its canonical name, type, and whether a value is required."""

    name: str
    type: ColumnType
    required: bool = True
    zh: str = ""
    en: str = ""


@dataclass(frozen=True)
class Source:
    """A canonical table: name, columns, the key that identifies a row, and its date column."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    date_column: str | None = None
    zh: str = ""
    en: str = ""
    optional_columns: tuple[str, ...] = field(default=())

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


CUSTOMERS = Source(
    name="customers",
    zh="客户",
    en="customers",
    key=("customer_id",),
    columns=(
        Column("customer_id", "string", zh="客户编号", en="customer id"),
        Column("name", "string", required=False, zh="客户名称", en="name"),
        Column("industry", "string", required=False, zh="行业", en="industry"),
        Column("region", "string", required=False, zh="地区", en="region"),
        Column("scale", "string", required=False, zh="规模", en="scale"),
        Column("owner", "string", required=False, zh="客户经理", en="owner"),
        Column("first_deal_date", "date", required=False, zh="首次合作日期", en="first deal date"),
        Column("influence", "string", required=False, zh="行业影响力", en="influence"),
    ),
)

ORDERS = Source(
    name="orders",
    zh="订单",
    en="orders",
    key=("order_id",),
    date_column="order_date",
    columns=(
        Column("order_id", "string", zh="订单编号", en="order id"),
        Column("customer_id", "string", zh="客户编号", en="customer id"),
        Column("business_line", "string", required=False, zh="业务线", en="business line"),
        Column("order_date", "date", zh="订单日期", en="order date"),
        Column("amount", "decimal", zh="金额", en="amount"),
        Column("quantity", "decimal", required=False, zh="数量", en="quantity"),
        Column("channel", "string", required=False, zh="渠道", en="channel"),
        # Optional: a status column; cancelled orders never count (see docs/METRICS.md).
        Column("status", "string", required=False, zh="状态", en="status"),
    ),
    optional_columns=("status",),
)

RECEIVABLES = Source(
    name="receivables",
    zh="应收账款",
    en="receivables",
    key=("invoice_id",),
    date_column="due_date",
    columns=(
        Column("invoice_id", "string", zh="发票编号", en="invoice id"),
        Column("customer_id", "string", zh="客户编号", en="customer id"),
        Column("business_line", "string", required=False, zh="业务线", en="business line"),
        Column("due_date", "date", zh="到期日", en="due date"),
        Column("amount", "decimal", zh="金额", en="amount"),
        Column("paid_date", "date", required=False, zh="回款日期", en="paid date"),
    ),
)

TARGETS = Source(
    name="targets",
    zh="月度目标",
    en="monthly targets",
    key=("customer_id", "business_line", "month"),
    date_column="month",
    columns=(
        Column("customer_id", "string", zh="客户编号", en="customer id"),
        Column("business_line", "string", required=False, zh="业务线", en="business line"),
        # Stored as the first day of the month (a DATE); written YYYY-MM in files.
        Column("month", "month", zh="月份", en="month"),
        Column("target_amount", "decimal", zh="目标金额", en="target amount"),
    ),
)

SCORE_EVENTS = Source(
    name="score_events",
    zh="加减分事件",
    en="score events",
    key=("event_id",),
    date_column="event_date",
    columns=(
        Column("event_id", "string", zh="事件编号", en="event id"),
        Column("customer_id", "string", zh="客户编号", en="customer id"),
        Column("business_line", "string", required=False, zh="业务线", en="business line"),
        Column("event_date", "date", zh="事件日期", en="event date"),
        Column("item", "string", zh="事项", en="item"),
        Column("points", "decimal", zh="分值", en="points"),
        Column("red_line", "boolean", required=False, zh="红线", en="red line"),
    ),
)

BUILTIN_SOURCES: dict[str, Source] = {
    s.name: s for s in (CUSTOMERS, ORDERS, RECEIVABLES, TARGETS, SCORE_EVENTS)
}
