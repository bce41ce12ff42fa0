"""The canonical source tables of an evaluation, read from the system of record as Arrow.

Each canonical source (``fenji.policy.sources``) is one query over its Django table, mapped to
the canonical column names and types: ``customer_id`` is the customer's external id,
``business_line`` the line's code, ``order_id`` the order's external id, money is
``decimal128(18, 4)`` and dates are ``date32``. Foreign keys are read as integers and turned into
external ids in Arrow (a hash lookup over 50,000 customers), which is cheaper than a join in
the database and keeps every nullable column an integer (see :mod:`arrowdb`).

The ids are kept beside the tables (:class:`FactTables`) so that results can be written back
against the same customers without another lookup.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
from django.db import models

from fenji.policy.models import Policy as PolicyModel
from fenji.policy.sources import BUILTIN_SOURCES, CUSTOMERS
from fenji.web.customers.models import BusinessLine, Customer
from fenji.web.evaluations import arrowdb
from fenji.web.evaluations.arrowdb import Dialect, Kind, quote
from fenji.web.evaluations.errors import RunError
from fenji.web.facts.models import MonthlyTarget, Order, Receivable, ScoreEvent


@dataclass(frozen=True)
class Field:
    """One canonical column: its name, the model field it comes from, and how it is read."""

    name: str
    field: str
    kind: Kind
    blank_is_null: bool = True


@dataclass(frozen=True)
class SourceMap:
    """How one canonical source is read from one model."""

    model: type[models.Model]
    fields: tuple[Field, ...]
    date_field: str | None = None


def _fact(model: type[models.Model], date_field: str, *fields: Field) -> SourceMap:
    keys = (
        Field("customer_id", "customer", "id"),
        Field("business_line", "business_line", "id"),
    )
    return SourceMap(model, keys + fields, date_field)


#: Canonical source -> model, column by column. Order follows ``fenji.policy.sources``.
SOURCE_MAPS: dict[str, SourceMap] = {
    "orders": _fact(
        Order,
        "order_date",
        Field("order_id", "external_id", "text", blank_is_null=False),
        Field("order_date", "order_date", "date"),
        Field("amount", "amount", "money"),
        Field("quantity", "quantity", "money"),
        Field("channel", "channel", "text"),
        Field("status", "status", "text"),
    ),
    "receivables": _fact(
        Receivable,
        "due_date",
        Field("invoice_id", "external_id", "text", blank_is_null=False),
        Field("due_date", "due_date", "date"),
        Field("amount", "amount", "money"),
        Field("paid_date", "paid_date", "date"),
    ),
    "targets": _fact(
        MonthlyTarget,
        "month",
        Field("month", "month", "date"),
        Field("target_amount", "target_amount", "money"),
    ),
    "score_events": _fact(
        ScoreEvent,
        "event_date",
        Field("event_id", "external_id", "text", blank_is_null=False),
        Field("event_date", "event_date", "date"),
        Field("item", "item", "text"),
        Field("points", "points", "money"),
        Field("red_line", "red_line", "flag"),
    ),
}

#: Customer attributes: canonical columns of ``customers`` stored as model fields.
CUSTOMER_FIELDS: tuple[Field, ...] = (
    Field("__id", "id", "id"),
    Field("customer_id", "external_id", "text", blank_is_null=False),
    Field("name", "name", "text"),
    Field("industry", "industry", "text"),
    Field("region", "region", "text"),
    Field("scale", "scale", "text"),
    Field("owner", "owner", "text"),
    Field("first_deal_date", "first_deal_date", "date"),
    Field("influence", "influence", "text"),
)


@dataclass(frozen=True)
class FactTables:
    """Canonical Arrow tables by source name, and the database ids behind the external ids."""

    tables: dict[str, pa.Table]
    #: ``customer_id`` (external id) and ``id`` (Customer primary key), one row per customer.
    customer_ids: pa.Table
    #: ``business_line`` (code) and ``id`` (BusinessLine primary key).
    line_ids: pa.Table

    @property
    def rows(self) -> dict[str, int]:
        return {name: t.num_rows for name, t in self.tables.items()}


def _column(model: type[models.Model], field: str) -> str:
    """The quoted database column of a model field (``id``: the primary key)."""
    target = model._meta.pk if field == "id" else model._meta.get_field(field)
    column = getattr(target, "column", None)
    assert isinstance(column, str), f"{model.__name__}.{field} has no column"
    return quote(column)


def _select(d: Dialect, model: type[models.Model], fields: Sequence[Field], where: str) -> str:
    parts = [d.select(f.kind, _column(model, f.field)) for f in fields]
    return f"SELECT {', '.join(parts)} FROM {quote(model._meta.db_table)}{where}"


def json_attributes(policy: PolicyModel) -> list[str]:
    """Attributes a policy reads that are not customer columns: custom attributes, kept in
    ``Customer.attributes`` (JSON) and read as text."""
    known = set(CUSTOMERS.column_names)
    wanted = {m.attribute for m in policy.metrics.values() if m.attribute is not None}
    return sorted(a for a in wanted if a not in known)


def unsupported_sources(policy: PolicyModel) -> list[str]:
    """Sources a policy reads that the system of record does not store."""
    return [s for s in policy.sources_read() if s != "customers" and s not in SOURCE_MAPS]


def _keys_to_ids(
    table: pa.Table, ids: pa.Table, name: str, column: str, source: str
) -> pa.ChunkedArray:
    """The external ids of the integer keys in ``table[column]`` (nulls stay null)."""
    keys = table.column(column)
    positions = pc.index_in(keys, value_set=ids.column("id"))
    missing = pc.sum(pc.and_(pc.is_valid(keys), pc.is_null(positions))).as_py() or 0
    if missing:
        raise RunError(
            "run.dangling_reference",
            f"{missing} {source} row(s) refer to a {column.removesuffix('_id')} that is not in "
            f"the database; fix the data (the foreign keys should have prevented this)",
        )
    return pc.take(ids.column(name), positions)


def _names(policy: PolicyModel, extra_sources: Iterable[str]) -> list[str]:
    return sorted({s for s in policy.sources_read() if s != "customers"} | set(extra_sources))


def expected_columns(
    *, policy: PolicyModel, extra_sources: Iterable[str] = ()
) -> dict[str, set[str]]:
    """The column names :func:`read_facts` gives per table, known before reading: the
    policy can be compiled while its data is read."""
    customers = {f.name for f in CUSTOMER_FIELDS if f.name != "__id"}
    out = {"customers": customers | set(json_attributes(policy))}
    for name in _names(policy, extra_sources):
        if name in SOURCE_MAPS:
            mapped = {f.name for f in SOURCE_MAPS[name].fields}
            out[name] = {c for c in BUILTIN_SOURCES[name].column_names if c in mapped}
    return out


def read_facts(
    *,
    policy: PolicyModel,
    upto: date | None = None,
    extra_sources: Iterable[str] = (),
    fetch: arrowdb.FetchAll = arrowdb.fetch_all,
) -> FactTables:
    """Read the customers and every fact table ``policy`` needs, in one snapshot.

    ``upto`` leaves out fact rows dated after it: they never count for an as-of date up to it
    (a series reads once, up to its last date). ``extra_sources`` reads further canonical
    sources (a benchmark reads all of them). ``fetch`` runs the queries in one snapshot
    (a run passes its writer's, :meth:`arrowdb.RowWriter.fetch_all`)."""
    missing = unsupported_sources(policy)
    if missing:
        stored = ", ".join(["customers", *SOURCE_MAPS])
        raise RunError(
            "run.unsupported_source",
            f"policy '{policy.name}' reads {', '.join(missing)}, which the system of record "
            f"does not store (it stores {stored}); evaluate it over files with 'fenji evaluate'",
        )
    names = _names(policy, extra_sources)
    d = arrowdb.dialect()
    attributes = json_attributes(policy)
    line_fields = (Field("id", "id", "id"), Field("business_line", "code", "text"))
    queries = {
        "customers": _customers_sql(d, attributes),
        "lines": _select(d, BusinessLine, line_fields, ""),
    }
    for name in names:
        queries[name] = _fact_sql(d, name, upto)
    raw = fetch(queries)
    customer_kinds: list[tuple[str, Kind, bool]] = [
        (f.name, f.kind, f.blank_is_null) for f in CUSTOMER_FIELDS
    ]
    customer_kinds += [(a, "text", True) for a in attributes]
    customers = arrowdb.finish(raw["customers"], customer_kinds)
    lines = arrowdb.finish(raw["lines"], [("id", "id", False), ("business_line", "text", False)])
    tables: dict[str, pa.Table] = {}
    for name in names:
        tables[name] = _fact_table(name, raw[name], customers, lines)
    customer_ids = pa.table(
        {"customer_id": customers.column("customer_id"), "id": customers.column("__id")}
    )
    tables["customers"] = customers.drop_columns(["__id"])
    return FactTables(tables=tables, customer_ids=customer_ids, line_ids=lines)


def _customers_sql(d: Dialect, attributes: list[str]) -> str:
    sql = _select(d, Customer, CUSTOMER_FIELDS, "")
    if attributes:
        json_col = _column(Customer, "attributes")
        extra = ", ".join(d.json_attribute(json_col, a) for a in attributes)
        sql = sql.replace(" FROM ", f", {extra} FROM ", 1)
    return sql


def _fact_sql(d: Dialect, name: str, upto: date | None) -> str:
    source = SOURCE_MAPS[name]
    where = ""
    if upto is not None and source.date_field is not None:
        # A literal, not a parameter: the value is a date, and both drivers take it as text.
        column = d.unindexed.format(c=_column(source.model, source.date_field))
        where = f" WHERE {column} <= '{upto.isoformat()}'"
    return _select(d, source.model, source.fields, where)


def _fact_table(name: str, raw: pa.Table, customers: pa.Table, lines: pa.Table) -> pa.Table:
    source = SOURCE_MAPS[name]
    kinds = [(f.name, f.kind, f.blank_is_null) for f in source.fields]
    table = arrowdb.finish(raw, kinds)
    customer_ids = customers.select(["__id", "customer_id"]).rename_columns(["id", "customer_id"])
    table = table.set_column(
        0, "customer_id", _keys_to_ids(table, customer_ids, "customer_id", "customer_id", name)
    )
    table = table.set_column(
        1, "business_line", _keys_to_ids(table, lines, "business_line", "business_line", name)
    )
    canonical = BUILTIN_SOURCES[name].column_names
    return table.select([c for c in canonical if c in table.column_names])
