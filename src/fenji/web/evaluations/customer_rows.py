"""One row per customer (and line) of a run: its revenue and the values of the policy's metrics.

The engine's wide result has one column per metric next to the labels. A run keeps them once
per customer (:class:`~fenji.web.evaluations.models.RunCustomer`) rather than once per label,
so that the dashboard's revenue shares and Pareto curve, and a customer's metrics and their
history, are read from the database without evaluating anything again.

The rows are made set-based in DuckDB from the same Arrow result the labels come from — no
Python loop over customers:

- ``revenue`` is the metric the policy's ``summary.revenue`` names, as ``DECIMAL(24, 6)`` like a
  result's score (NULL when the policy names none);
- ``metrics`` is a JSON object of every metric of the policy present in the result, each value
  as text so that decimals stay exact (``"600.1234"``, not a binary float) and dates are ISO;
  a metric without a value for the customer is left out of the object.

The object is assembled as text (``concat_ws`` skips the NULL members) rather than by a JSON
function, because DuckDB's ``json_object`` keeps NULL members and its structs would need a
type per policy; keys are escaped once when the query is built, text values by ``to_json``.
"""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa

from fenji.policy.models import Policy as PolicyModel

#: The columns written to ``evaluations_runcustomer``, in this order, with their Arrow types
#: whatever the policy's metrics are.
CUSTOMER_SCHEMA = pa.schema(
    [
        ("run_id", pa.int64()),
        ("customer_id", pa.int64()),
        ("business_line_id", pa.int64()),
        ("revenue", pa.decimal128(24, 6)),
        ("metrics", pa.string()),
    ]
)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _member(name: str, kind: pa.DataType) -> str:
    """Metric ``name`` as one ``"name":"value"`` member of the JSON object, NULL when it has no
    value: the exact text of the value — decimals with their scale, dates ISO, floats as the
    shortest text that reads back to the same double. Only text can hold characters that JSON
    escapes; numbers and dates are quoted as they are (escaping them all cost more than the
    rest of the query)."""
    ref = f"r.{_q(name)}"
    key = json.dumps(name, ensure_ascii=False) + ":"
    if pa.types.is_timestamp(kind):
        text = f"strftime({ref}, '%Y-%m-%dT%H:%M:%S')"
    elif (
        pa.types.is_decimal(kind)
        or pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_date(kind)
        or pa.types.is_boolean(kind)
    ):
        text = f"CAST({ref} AS VARCHAR)"
    else:  # text, and anything else, escaped
        return f"{_lit(key)} || CAST(to_json(CAST({ref} AS VARCHAR)) AS VARCHAR)"
    return f"{_lit(key + chr(34))} || {text} || {_lit(chr(34))}"


def _revenue(policy: PolicyModel, schema: pa.Schema) -> str:
    name = policy.summary.revenue
    if not name or name not in schema.names:
        return "CAST(NULL AS DECIMAL(24, 6))"
    kind = schema.field(name).type
    ref = f"r.{_q(name)}"
    if pa.types.is_floating(kind):  # NaN and infinities have no decimal: no revenue
        return f"CASE WHEN isfinite({ref}) THEN CAST(round({ref}, 6) AS DECIMAL(24, 6)) END"
    if pa.types.is_decimal(kind) or pa.types.is_integer(kind):
        return f"CAST({ref} AS DECIMAL(24, 6))"
    return "CAST(NULL AS DECIMAL(24, 6))"  # not a number: there is no revenue to add up


def _metrics_json(policy: PolicyModel, schema: pa.Schema) -> str:
    members = [
        _member(name, schema.field(name).type) for name in policy.metrics if name in schema.names
    ]
    if not members:
        return "'{}'"
    return "'{' || concat_ws(',', " + ", ".join(members) + ") || '}'"


def customer_rows_sql(policy: PolicyModel, schema: pa.Schema, run_id: int) -> str:
    """The query over ``result`` (the engine's wide table), ``customer_ids`` and ``line_ids``
    (external ids to database ids) that gives the run's customer rows in index order."""
    per_line = "business_line" in policy.key_columns and "business_line" in schema.names
    line = "l.id" if per_line else "CAST(NULL AS BIGINT)"
    join_line = "LEFT JOIN line_ids l ON l.business_line = r.business_line" if per_line else ""
    return (
        f"SELECT CAST({int(run_id)} AS BIGINT) AS run_id, k.id AS customer_id, "
        f"{line} AS business_line_id, {_revenue(policy, schema)} AS revenue, "
        f"{_metrics_json(policy, schema)} AS metrics "
        f"FROM result r JOIN customer_ids k ON k.customer_id = r.customer_id {join_line} "
        f"ORDER BY customer_id, business_line_id NULLS FIRST"
    )


def customer_rows(
    *,
    policy: PolicyModel,
    result: pa.Table,
    customer_ids: pa.Table,
    line_ids: pa.Table,
    run_id: int,
) -> pa.Table:
    """The :class:`RunCustomer` rows of run ``run_id`` from the engine's ``result`` table (and
    the tables of database ids of customers and lines, as the facts were read)."""
    con = duckdb.connect(":memory:")
    try:
        con.register("result", result)
        con.register("customer_ids", customer_ids)
        con.register("line_ids", line_ids)
        con.execute("SET enable_external_access = false")
        rows = con.sql(customer_rows_sql(policy, result.schema, run_id)).to_arrow_table()
    finally:
        con.close()
    return rows.cast(CUSTOMER_SCHEMA)
