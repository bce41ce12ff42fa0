"""The customer rows of a run: revenue and metric values once per customer (and line).

Every run writes them with its labels, under its own id, before it is published; they are
checked here against what the engine computed from the same facts (exact decimals as text,
dates ISO, missing values left out), and for the same atomicity as the labels: readers see
them with the publication, a failed or abandoned run leaves none, a re-run gives the same.

The data (``runs_support``): five customers with one order a month; policy ``runs_test`` grades
them by sales in the month and names that metric as revenue.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from fenji.engine.evaluate import evaluate_tables
from fenji.policy.validate import parse_policy
from fenji.web.customers.models import BusinessLine, Customer
from fenji.web.evaluations import arrowdb, services
from fenji.web.evaluations.customer_rows import customer_rows
from fenji.web.evaluations.facts import read_facts
from fenji.web.evaluations.models import EvaluationRun, RunCustomer, RunResult, RunStatus
from fenji.web.evaluations.selectors import (
    customer_metrics,
    customer_metrics_history,
    published_customer_rows,
    run_customer_rows,
)
from fenji.web.evaluations.services import (
    evaluation_run_series,
    evaluation_run_start,
    evaluation_runs_reap,
)
from fenji.web.facts.models import Order
from fenji.web.policies.selectors import published_version
from fenji.web.policies.services import parsed_policy
from tests.web.runs_support import FEB, JAN, MAR, POLICY, publish_policy, setup_data

pytestmark = pytest.mark.django_db

#: Metrics of every kind of value: a decimal sum (the revenue), a count, a date, an average,
#: a text attribute and a tenure in years (a float; none for customers without a first deal).
METRICS_POLICY = """\
fenji: 1
name: metrics_test
title: 指标测试
metrics:
  sales_m: {agg: sum, from: orders, of: amount, window: month, unit: yuan}
  orders_all: {agg: count, from: orders, window: all}
  last_order: {agg: max, from: orders, of: order_date, window: all}
  avg_all: {agg: avg, from: orders, of: amount, window: all}
  influence_text: {attribute: influence}
  tenure_years: {tenure: first_deal_date, unit: year}
dimensions:
  value:
    method: bands
    metric: sales_m
    bands:
      - {label: A, min: 1000}
      - {label: B}
summary:
  revenue: sales_m
"""

NO_REVENUE_POLICY = """\
fenji: 1
name: no_revenue
title: 无收入指标
metrics:
  sales_m: {agg: sum, from: orders, of: amount, window: month}
dimensions:
  value:
    method: bands
    metric: sales_m
    bands:
      - {label: A, min: 1000}
      - {label: B}
"""

LINE_POLICY = """\
fenji: 1
name: line_metrics
title: 按业务线
grain: customer_line
metrics:
  sales_m: {agg: sum, from: orders, of: amount, window: month}
dimensions:
  line_value:
    method: bands
    metric: sales_m
    bands:
      - {label: A, min: 1000}
      - {label: B}
summary:
  revenue: sales_m
"""


@pytest.fixture
def data() -> None:
    setup_data()


def rows_of(run: EvaluationRun | int) -> list[tuple[Any, ...]]:
    """Everything a customer row says, in a stable order, without ids of its own."""
    run_id = run if isinstance(run, int) else run.pk
    return [
        (
            r.customer.external_id,
            r.business_line.code if r.business_line else None,
            r.revenue,
            r.metrics,
        )
        for r in RunCustomer.objects.filter(run_id=run_id)
        .select_related("customer", "business_line")
        .order_by("customer__external_id", "business_line__code")
    ]


def revenue_by_customer(rows: Any) -> dict[str, Decimal | None]:
    return {r.customer.external_id: r.revenue for r in rows}


def engine_result(policy_name: str, as_of: date) -> pa.Table:
    """What the engine computes for ``policy_name`` from the database's facts."""
    parsed = parsed_policy(published_version(name=policy_name))
    facts = read_facts(policy=parsed, upto=as_of)
    evaluation = evaluate_tables(parsed, facts.tables, as_of, explain=True)
    try:
        return evaluation.table
    finally:
        evaluation.close()


def same_value(text: str, value: Any) -> bool:
    """Whether a stored text is exactly the engine's value (Decimal by its digits, a date as
    ISO, a float read back to the same double)."""
    if isinstance(value, Decimal):
        return text == str(value) and Decimal(text) == value
    if isinstance(value, date):
        return text == value.isoformat()
    if isinstance(value, float):
        return float(text) == value
    if isinstance(value, int):
        return text == str(value)
    return text == value


# --- what a row holds ----------------------------------------------------------------------------


def test_revenue_and_metrics_are_the_engines_values_exactly(data: None) -> None:
    # given a policy with metrics of every kind, and customers with and without a first deal
    Customer.objects.filter(external_id="C1").update(
        influence="行业龙头", first_deal_date=date(2019, 3, 1)
    )
    publish_policy(METRICS_POLICY)

    # when it runs at February's month-end
    run = evaluation_run_start(policy="metrics_test", as_of=FEB)

    # then each customer's row holds the revenue metric and every metric as the engine had it
    expected = engine_result("metrics_test", FEB)
    metric_names = ["sales_m", "orders_all", "last_order", "avg_all", "influence_text"]
    metric_names.append("tenure_years")
    stored = {r.customer.external_id: r for r in run_customer_rows(run=run)}
    assert set(stored) == set(expected.column("customer_id").to_pylist())
    assert run.counts["customer_rows"] == 5
    for row in expected.to_pylist():
        mine = stored[row["customer_id"]]
        assert mine.revenue == row["sales_m"]
        assert mine.business_line is None
        present = {m for m in metric_names if row[m] is not None}
        assert set(mine.metrics) == present, row["customer_id"]
        for name in present:
            assert same_value(mine.metrics[name], row[name]), (row["customer_id"], name)
    # exact decimals (orders are whole amounts plus 0.1234), ISO dates, missing values left out
    c2 = stored["C2"]
    assert c2.revenue == Decimal("600.1234")
    assert c2.metrics["sales_m"] == "600.1234"
    assert c2.metrics["orders_all"] == "2"
    assert c2.metrics["last_order"] == "2026-02-10"
    assert "tenure_years" not in c2.metrics
    assert "influence_text" not in c2.metrics  # blank influence reads as none
    assert stored["C1"].metrics["influence_text"] == "行业龙头"
    assert 6.9 < float(stored["C1"].metrics["tenure_years"]) < 7.0


def test_revenue_is_empty_when_the_policy_names_no_revenue_metric(data: None) -> None:
    publish_policy(NO_REVENUE_POLICY)

    run = evaluation_run_start(policy="no_revenue", as_of=JAN)

    rows = list(run_customer_rows(run=run))
    assert len(rows) == 5
    assert all(r.revenue is None for r in rows)
    assert {r.customer.external_id: r.metrics["sales_m"] for r in rows}["C4"] == "50.1234"


def test_a_policy_graded_per_line_has_a_row_per_customer_and_line(data: None) -> None:
    # given C1 also buys tea in January
    tea = BusinessLine.objects.create(code="tea", name="茶饮")
    c1 = Customer.objects.get(external_id="C1")
    Order.objects.create(
        external_id="T1", customer=c1, business_line=tea, order_date=JAN, amount=Decimal("2000.5")
    )
    publish_policy(LINE_POLICY)

    run = evaluation_run_start(policy="line_metrics", as_of=JAN)

    by_line = {e.business_line: e for e in customer_metrics(run=run, customer=c1)}
    assert set(by_line) == {"dairy", "tea"}
    assert by_line["dairy"].revenue == Decimal("1200.1234")
    assert by_line["tea"].revenue == Decimal("2000.5000")
    assert by_line["tea"].metrics == {"sales_m": "2000.5000"}
    assert RunCustomer.objects.filter(run=run).count() == 6  # five customers in dairy, C1 in tea


def test_text_is_escaped_and_values_without_a_decimal_have_no_revenue() -> None:
    # given an engine result whose revenue metric is a float (NaN for one customer) and whose
    # text metric holds quotes, a backslash and a line break
    policy = parse_policy(
        """\
fenji: 1
name: escape_test
title: 转义测试
metrics:
  share: {expr: "1"}
  note: {attribute: influence}
dimensions:
  value:
    method: rules
    rules: [{label: A, when: "share > 0"}]
    default: B
summary:
  revenue: share
"""
    )
    result = pa.table(
        {
            "customer_id": ["K1", "K2"],
            "value": ["A", "B"],
            "share": pa.array([0.125, float("nan")], pa.float64()),
            "note": ['说"好"\\\n', None],
        }
    )
    ids = pa.table({"customer_id": ["K1", "K2"], "id": pa.array([7, 3], pa.int64())})
    lines = pa.table({"business_line": pa.array([], pa.string()), "id": pa.array([], pa.int64())})

    # when the customer rows are made
    rows = customer_rows(
        policy=policy, result=result, customer_ids=ids, line_ids=lines, run_id=9
    ).to_pylist()

    # then they are in id order, the JSON reads back to the exact texts, NaN has no revenue
    assert [r["customer_id"] for r in rows] == [3, 7]
    k2, k1 = rows
    assert k1["revenue"] == Decimal("0.125")
    assert json.loads(k1["metrics"]) == {"share": "0.125", "note": '说"好"\\\n'}
    assert k2["revenue"] is None
    assert json.loads(k2["metrics"]) == {"share": "nan"}
    assert {r["run_id"] for r in rows} == {9}
    assert {r["business_line_id"] for r in rows} == {None}


# --- atomicity -----------------------------------------------------------------------------------


def test_rows_appear_with_the_publication_and_not_before(
    data: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    jan = evaluation_run_start(policy=POLICY, as_of=JAN)
    jan_view = revenue_by_customer(published_customer_rows(policy=POLICY))
    seen: dict[str, Any] = {}
    publish = services._Runner._publish

    def looking(self: services._Runner, run: EvaluationRun, timings: dict[str, float]) -> None:
        # the new run's rows are written, and readers still see January's
        seen["written"] = RunCustomer.objects.filter(run=run).count()
        seen["view"] = revenue_by_customer(published_customer_rows(policy=POLICY))
        publish(self, run, timings)

    monkeypatch.setattr(services._Runner, "_publish", looking)
    feb = evaluation_run_start(policy=POLICY, as_of=FEB)

    assert seen["written"] == 5
    assert seen["view"] == jan_view
    assert jan_view["C1"] == Decimal("1200.1234")
    feb_view = revenue_by_customer(published_customer_rows(policy=POLICY))
    assert feb_view["C1"] == Decimal("600.1234")
    assert {r.run_id for r in published_customer_rows(policy=POLICY)} == {feb.pk}
    assert RunCustomer.objects.filter(run=jan).count() == 5  # history stays


def test_a_run_failing_after_its_rows_were_written_leaves_none(
    data: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    jan = evaluation_run_start(policy=POLICY, as_of=JAN)
    before = rows_of(jan)

    def broken(self: services._Runner, run: EvaluationRun, timings: dict[str, float]) -> None:
        assert RunCustomer.objects.filter(run=run).exists()  # written, not published
        raise OSError("connection lost")

    monkeypatch.setattr(services._Runner, "_publish", broken)
    with pytest.raises(OSError, match="connection lost"):
        evaluation_run_start(policy=POLICY, as_of=FEB)

    failed = EvaluationRun.objects.get(as_of=FEB)
    assert failed.status == RunStatus.FAILED
    assert not RunCustomer.objects.filter(run=failed).exists()
    assert not RunResult.objects.filter(run=failed).exists()
    assert rows_of(jan) == before
    assert {r.run_id for r in published_customer_rows(policy=POLICY)} == {jan.pk}


def test_a_failed_write_leaves_no_rows_in_either_table(
    data: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the customer rows fail to be written after the labels were
    evaluation_run_start(policy=POLICY, as_of=JAN)
    insert, copy = arrowdb._insert_django, arrowdb._copy_postgres
    tables: list[str] = []

    def failing(real: Any) -> Any:
        def write(table: str, data: pa.Table, on_batch: Any) -> None:
            tables.append(table)
            if table == RunCustomer._meta.db_table:
                raise OSError("disk full")
            real(table, data, on_batch)

        return write

    monkeypatch.setattr(arrowdb, "_insert_django", failing(insert))
    monkeypatch.setattr(arrowdb, "_copy_postgres", failing(copy))

    with pytest.raises(OSError, match="disk full"):
        evaluation_run_start(policy=POLICY, as_of=FEB)

    failed = EvaluationRun.objects.get(as_of=FEB)
    assert tables == [RunResult._meta.db_table, RunCustomer._meta.db_table]
    assert not RunResult.objects.filter(run=failed).exists()
    assert not RunCustomer.objects.filter(run=failed).exists()


def test_the_reaper_removes_customer_rows_of_abandoned_runs(data: None) -> None:
    # given a run left "running" by a process that died after writing its customer rows
    jan = evaluation_run_start(policy=POLICY, as_of=JAN)
    dead = EvaluationRun.objects.create(
        policy=jan.policy, policy_version=jan.policy_version, as_of=FEB, pid=0
    )
    RunCustomer.objects.bulk_create(
        [
            RunCustomer(run=dead, customer=c, revenue=Decimal(1), metrics={"sales_m": "1"})
            for c in Customer.objects.all()
        ]
    )

    # when the runs of dead processes are reaped
    assert evaluation_runs_reap(policy=POLICY) == [dead.pk]

    # then its rows are gone and January's stay
    assert not RunCustomer.objects.filter(run=dead).exists()
    assert RunCustomer.objects.filter(run=jan).count() == 5


def test_rerunning_a_date_gives_identical_rows(data: None) -> None:
    evaluation_run_start(policy=POLICY, as_of=JAN)
    feb = evaluation_run_start(policy=POLICY, as_of=FEB)
    again = evaluation_run_start(policy=POLICY, as_of=FEB)

    assert rows_of(again) == rows_of(feb)
    assert len(rows_of(feb)) == 5


def test_history_gives_the_metrics_of_the_last_run_of_each_date(data: None) -> None:
    evaluation_run_series(policy=POLICY, start=JAN, end=MAR)
    evaluation_run_start(policy=POLICY, as_of=FEB)  # a re-run of February counts once
    c4 = Customer.objects.get(external_id="C4")

    history = customer_metrics_history(policy=POLICY, customer=c4)

    assert [(h.as_of, h.revenue) for h in history] == [
        (JAN, Decimal("50.1234")),
        (FEB, Decimal("150.1234")),
        (MAR, Decimal("550.1234")),
    ]
    assert [h.metrics for h in history][2] == {"sales_m": "550.1234"}
    latest_feb = EvaluationRun.objects.filter(as_of=FEB).order_by("-id").first()
    assert latest_feb is not None
    assert history[1].run_id == latest_feb.pk


# --- the bulk paths: a writer process on SQLite, parallel COPY on PostgreSQL ----------------------


@pytest.mark.django_db(transaction=True)
def test_bulk_paths_write_the_same_rows_as_in_transaction_paths() -> None:
    setup_data()
    assert arrowdb.direct_access()

    runs = evaluation_run_series(policy=POLICY, start=JAN, end=FEB)

    assert [len(rows_of(r)) for r in runs] == [5, 5]
    feb = {c: (rev, m) for c, _line, rev, m in rows_of(runs[1])}
    assert feb["C3"] == (Decimal("700.1234"), {"sales_m": "700.1234"})
    assert runs[1].counts["customer_rows"] == 5
    assert {r.run_id for r in published_customer_rows(policy=POLICY)} == {runs[1].pk}
