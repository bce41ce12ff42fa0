"""Evaluation runs in one process: publication, identical re-runs, the diff, hysteresis,
overrides and series. (Runs across processes — refused, killed — are in
``test_runs_processes.py``.)

The data (``runs_support``): five customers with one order a month whose amounts move them
between bands; policy ``runs_test`` grades them by sales in the month, as computed (``value``)
and with hysteresis (``steady``, a downgrade needs two runs).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pyarrow as pa
import pytest
from django.db import connection
from django.utils import timezone

from fenji.web.accounts.models import AuditEntry
from fenji.web.evaluations import apply, arrowdb
from fenji.web.evaluations.errors import OverrideError, RunError, RunRefused
from fenji.web.evaluations.facts import read_facts
from fenji.web.evaluations.locks import run_lock
from fenji.web.evaluations.models import EvaluationRun, Publication, RunResult, RunStatus
from fenji.web.evaluations.selectors import (
    label_history,
    published_results,
    published_run,
    run_diff,
)
from fenji.web.evaluations.services import (
    evaluation_run_series,
    evaluation_run_start,
    override_create,
    override_revoke,
)
from fenji.web.policies.selectors import published_version
from fenji.web.policies.services import parsed_policy
from tests.web.runs_support import (
    APR,
    FEB,
    JAN,
    MAR,
    POLICY,
    label_of,
    result_rows,
    setup_data,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def data() -> None:
    setup_data()


def labels(run: EvaluationRun, dimension: str) -> dict[str, str | None]:
    rows = RunResult.objects.filter(run=run, dimension=dimension)
    return {r.customer.external_id: r.label for r in rows.select_related("customer")}


# --- a run and its publication -------------------------------------------------------------------


def test_run_publishes_labels_with_explanations(data: None) -> None:
    run = evaluation_run_start(policy=POLICY, as_of=JAN)

    assert run.status == RunStatus.PUBLISHED
    assert published_run(policy=POLICY) == run
    assert labels(run, "value") == {"C1": "A", "C2": "B", "C3": "A", "C4": "D", "C5": "C"}
    c2 = label_of(run.pk, "C2", "value")
    assert c2.computed_label == "B"
    assert c2.source == "computed"
    assert "600.1234" in c2.why or "600" in c2.why
    assert c2.next_label == "A"
    assert Decimal(c2.gap) == Decimal("399.8766")
    assert run.counts["results"] == 10
    assert run.counts["facts"]["orders"] == 5
    assert run.summary["dimensions"][0]["dimension"] == "value"
    assert set(run.timings) >= {"reading", "evaluating", "writing", "publishing"}
    assert AuditEntry.objects.filter(action="run.published", object_id=str(run.pk)).exists()


def test_facts_after_the_as_of_date_are_not_read(data: None) -> None:
    policy = parsed_policy(published_version(name=POLICY))

    facts = read_facts(policy=policy, upto=FEB)

    orders = facts.tables["orders"]
    assert orders.num_rows == 10
    assert orders.schema.field("amount").type == pa.decimal128(18, 4)
    assert orders.schema.field("order_date").type == pa.date32()
    assert set(orders.column("customer_id").to_pylist()) == {"C1", "C2", "C3", "C4", "C5"}
    assert Decimal("1200.1234") in orders.column("amount").to_pylist()
    assert orders.column("status").null_count == orders.num_rows  # blank means none


def test_new_run_supersedes_the_published_one(data: None) -> None:
    first = evaluation_run_start(policy=POLICY, as_of=JAN)
    second = evaluation_run_start(policy=POLICY, as_of=FEB)

    first.refresh_from_db()
    assert first.status == RunStatus.SUPERSEDED
    assert second.previous_id == first.pk
    assert Publication.objects.get(policy__name=POLICY).run_id == second.pk
    assert {r.run_id for r in published_results(policy=POLICY)} == {second.pk}
    # the superseded run's rows are kept: history
    assert RunResult.objects.filter(run=first).count() == 10


def test_rerunning_the_same_date_gives_identical_results(data: None) -> None:
    evaluation_run_start(policy=POLICY, as_of=JAN)
    feb = evaluation_run_start(policy=POLICY, as_of=FEB)
    again = evaluation_run_start(policy=POLICY, as_of=FEB)

    assert result_rows(again.pk) == result_rows(feb.pk)
    assert again.summary == feb.summary


def test_a_failed_run_leaves_the_previous_run_published(
    data: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    jan = evaluation_run_start(policy=POLICY, as_of=JAN)
    before = result_rows(jan.pk)

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(arrowdb, "_insert_django", broken)
    monkeypatch.setattr(arrowdb, "_copy_postgres", broken)
    with pytest.raises(OSError, match="disk full"):
        evaluation_run_start(policy=POLICY, as_of=FEB)

    failed = EvaluationRun.objects.get(as_of=FEB)
    assert failed.status == RunStatus.FAILED
    assert "disk full" in failed.error
    assert published_run(policy=POLICY) == jan
    assert result_rows(jan.pk) == before
    assert not RunResult.objects.filter(run=failed).exists()


def test_a_run_in_progress_refuses_another(data: None) -> None:
    lock = run_lock(POLICY)
    assert lock.try_acquire()
    try:
        with pytest.raises(RunRefused, match="another evaluation run of policy 'runs_test'"):
            evaluation_run_start(policy=POLICY, as_of=JAN)
    finally:
        lock.release()
    assert evaluation_run_start(policy=POLICY, as_of=JAN).status == RunStatus.PUBLISHED


def test_a_policy_never_published_cannot_run(data: None) -> None:
    with pytest.raises(RunError, match="no published version") as err:
        evaluation_run_start(policy="nope", as_of=JAN)
    assert err.value.code == "run.no_published_policy"


# --- diff ----------------------------------------------------------------------------------------


def test_diff_counts_upgrades_downgrades_and_the_migration_matrix(data: None) -> None:
    evaluation_run_start(policy=POLICY, as_of=JAN)
    feb = evaluation_run_start(policy=POLICY, as_of=FEB)

    diff = run_diff(run=feb)

    value = diff.dimension("value")
    # Jan A,B,A,D,C -> Feb B,B,B,C,C: C1 and C3 down A->B, C4 up D->C
    assert (value.upgrades, value.downgrades, value.unchanged) == (1, 2, 2)
    assert value.labels == ["A", "B", "C", "D"]
    assert value.matrix["A"]["B"] == 2
    assert value.matrix["D"]["C"] == 1
    assert value.matrix["B"]["B"] == 1
    assert value.matrix["C"]["C"] == 1
    assert sum(sum(row.values()) for row in value.matrix.values()) == 5
    steady = diff.dimension("steady")  # the A->B downgrades are held: no change yet
    assert (steady.upgrades, steady.downgrades) == (1, 0)


def test_diff_lists_movers_with_both_explanations(data: None) -> None:
    evaluation_run_start(policy=POLICY, as_of=JAN)
    feb = evaluation_run_start(policy=POLICY, as_of=FEB)

    diff = run_diff(run=feb, lang="en")

    c1 = next(m for m in diff.movers if m.customer_id == "C1" and m.dimension == "value")
    assert (c1.from_label, c1.to_label, c1.steps) == ("A", "B", -1)
    assert c1.why_before.startswith("A:")
    assert "1200.12" in c1.why_before
    assert c1.why_after.startswith("B:")
    assert "600.12" in c1.why_after
    assert c1.customer_name == "客户C1"
    assert diff.movers_total == 4  # value: C1, C3 down, C4 up; steady: C4 up (downs are held)
    # biggest movements first; at equal size, downgrades (what needs attention) first
    assert [m.steps for m in diff.movers] == [-1, -1, 1, 1]
    assert diff.to_dict()["movers"][0]["why_after"]


def test_history_answers_why_a_customer_dropped(data: None) -> None:
    evaluation_run_series(policy=POLICY, start=JAN, end=MAR)

    history = label_history(policy=POLICY, customer="C1", dimension="value")

    assert [(h.as_of, h.label) for h in history] == [(JAN, "A"), (FEB, "B"), (MAR, "D")]
    assert history[1].why.startswith("B:")
    assert history[2].why.startswith("D:")


# --- hysteresis ----------------------------------------------------------------------------------


def test_a_downgrade_is_held_until_enough_runs_compute_it(data: None) -> None:
    runs = evaluation_run_series(policy=POLICY, start=JAN, end=APR)
    jan, feb, mar, apr = (r.pk for r in runs)

    # C1: computed A, B, D, A
    feb_c1 = label_of(feb, "C1", "steady")
    assert (feb_c1.computed_label, feb_c1.label, feb_c1.source) == ("B", "A", "held")
    assert feb_c1.held_runs == 1
    mar_c1 = label_of(mar, "C1", "steady")  # second run below A: the downgrade takes effect
    assert (mar_c1.computed_label, mar_c1.label, mar_c1.source) == ("D", "D", "computed")
    assert mar_c1.held_runs == 0
    apr_c1 = label_of(apr, "C1", "steady")  # an upgrade is immediate
    assert (apr_c1.label, apr_c1.source) == ("A", "computed")
    # without hysteresis the same customer follows every computed label
    assert [label_of(r, "C1", "value").label for r in (jan, feb, mar, apr)] == list("ABDA")


def test_a_held_label_recovering_resets_the_count(data: None) -> None:
    runs = evaluation_run_series(policy=POLICY, start=JAN, end=APR)

    # C3: computed A, B, A, B -> held in Feb, back to A in Mar, held again in Apr
    steady = [label_of(r.pk, "C3", "steady") for r in runs]
    assert [s.label for s in steady] == ["A", "A", "A", "A"]
    assert [s.source for s in steady] == ["computed", "held", "computed", "held"]
    assert [s.held_runs for s in steady] == [0, 1, 0, 1]
    assert runs[1].counts["held"] == {"steady": 2}  # C1 and C3


def test_upgrades_are_immediate_under_hysteresis(data: None) -> None:
    runs = evaluation_run_series(policy=POLICY, start=JAN, end=APR)

    assert [label_of(r.pk, "C4", "steady").label for r in runs] == ["D", "C", "B", "A"]


def test_rerunning_a_month_does_not_count_it_twice(data: None) -> None:
    evaluation_run_start(policy=POLICY, as_of=JAN)
    feb = evaluation_run_start(policy=POLICY, as_of=FEB)
    feb_again = evaluation_run_start(policy=POLICY, as_of=FEB)

    assert label_of(feb_again.pk, "C1", "steady").label == "A"  # still held, not downgraded
    assert result_rows(feb_again.pk) == result_rows(feb.pk)


# --- overrides -----------------------------------------------------------------------------------


def test_an_override_applies_on_top_and_keeps_the_computed_label(data: None) -> None:
    override = override_create(
        policy=POLICY, customer="C5", dimension="value", label="A", reason="战略客户"
    )

    run = evaluation_run_start(policy=POLICY, as_of=JAN)

    row = label_of(run.pk, "C5", "value")
    assert (row.label, row.computed_label, row.base_label, row.source) == (
        "A",
        "C",
        "C",
        "override",
    )
    assert row.override_id == override.pk
    assert label_of(run.pk, "C5", "steady").source == "computed"  # other dimensions untouched
    assert run.counts["overridden"] == {"value": 1}
    entry = AuditEntry.objects.get(action="override.created")
    assert entry.details["reason"] == "战略客户"
    assert entry.details["label"] == "A"


def test_an_override_ends_at_its_expiry(data: None) -> None:
    today = timezone.localdate()
    override_create(
        policy=POLICY,
        customer="C5",
        dimension="value",
        label="A",
        reason="促销期",
        expires_on=today,
    )
    within = evaluation_run_start(policy=POLICY, as_of=today)
    after = evaluation_run_start(policy=POLICY, as_of=today + timedelta(days=1))

    assert label_of(within.pk, "C5", "value").source == "override"
    assert label_of(after.pk, "C5", "value").source == "computed"


def test_a_revoked_override_no_longer_applies(data: None) -> None:
    override = override_create(
        policy=POLICY, customer="C5", dimension="value", label="A", reason="试用"
    )
    evaluation_run_start(policy=POLICY, as_of=JAN)

    override_revoke(override=override, reason="结束")
    run = evaluation_run_start(policy=POLICY, as_of=JAN)

    assert label_of(run.pk, "C5", "value").label == "C"
    assert AuditEntry.objects.filter(action="override.revoked").exists()
    with pytest.raises(OverrideError) as err:
        override_revoke(override=override)
    assert err.value.code == "override.already_revoked"


def test_an_override_does_not_reset_the_hysteresis_count(data: None) -> None:
    override_create(policy=POLICY, customer="C1", dimension="steady", label="C", reason="观察")
    runs = evaluation_run_series(policy=POLICY, start=JAN, end=MAR)

    feb = label_of(runs[1].pk, "C1", "steady")
    assert (feb.label, feb.base_label, feb.held_runs) == ("C", "A", 1)
    mar = label_of(runs[2].pk, "C1", "steady")
    assert (mar.label, mar.base_label, mar.computed_label) == ("C", "D", "D")


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"label": "S"}, "override.unknown_label"),
        ({"dimension": "nope"}, "override.unknown_dimension"),
        ({"reason": "  "}, "override.reason_required"),
        ({"customer": "C404"}, "override.unknown_customer"),
        ({"expires_on": date(2000, 1, 1)}, "override.expired"),
    ],
)
def test_an_invalid_override_is_refused(data: None, kwargs: dict[str, object], code: str) -> None:
    args: dict[str, object] = {
        "policy": POLICY,
        "customer": "C1",
        "dimension": "value",
        "label": "A",
        "reason": "r",
    }
    args.update(kwargs)
    with pytest.raises(OverrideError) as err:
        override_create(**args)  # type: ignore[arg-type]
    assert err.value.code == code
    if code == "override.unknown_label":
        assert "choose one of A, B, C, D" in err.value.message


# --- series --------------------------------------------------------------------------------------


def test_a_series_runs_every_month_end_in_order(data: None) -> None:
    seen: list[tuple[int, date]] = []

    runs = evaluation_run_series(
        policy=POLICY,
        start=date(2026, 1, 15),
        end=APR,
        progress=lambda i, n, d, stage, f: seen.append((i, d)),
    )

    assert [r.as_of for r in runs] == [JAN, FEB, MAR, APR]
    assert [r.status for r in EvaluationRun.objects.order_by("id")] == [
        RunStatus.SUPERSEDED,
        RunStatus.SUPERSEDED,
        RunStatus.SUPERSEDED,
        RunStatus.PUBLISHED,
    ]
    assert [r.previous_id for r in runs[1:]] == [r.pk for r in runs[:-1]]
    assert {d for _, d in seen} == {JAN, FEB, MAR, APR}
    assert labels(runs[-1], "value") == {"C1": "A", "C2": "B", "C3": "B", "C4": "A", "C5": "C"}


def test_a_series_without_a_month_end_is_refused(data: None) -> None:
    with pytest.raises(RunError) as err:
        evaluation_run_series(policy=POLICY, start=date(2026, 3, 1), end=date(2026, 3, 30))
    assert err.value.code == "run.empty_series"


# --- the fast path: committed data read and written by a second connection -----------------------


@pytest.mark.django_db(transaction=True)
def test_bulk_paths_give_the_same_results_as_in_transaction_paths() -> None:
    setup_data()
    assert arrowdb.direct_access()

    runs = evaluation_run_series(policy=POLICY, start=JAN, end=APR)
    diff = run_diff(run=runs[1])

    assert labels(runs[-1], "steady") == {"C1": "A", "C2": "A", "C3": "A", "C4": "A", "C5": "C"}
    assert label_of(runs[1].pk, "C1", "steady").source == "held"
    assert diff.dimension("value").downgrades == 2
    policy = parsed_policy(published_version(name=POLICY))
    facts = read_facts(policy=policy, upto=MAR)
    assert facts.tables["orders"].num_rows == 15
    assert facts.tables["orders"].schema.field("amount").type == pa.decimal128(18, 4)


@pytest.mark.django_db(transaction=True)
def test_rows_written_in_parts_are_the_rows_written_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    # given held labels (hysteresis) and an override, so every step of applying has work
    setup_data()
    assert arrowdb.direct_access()
    override_create(policy=POLICY, customer="C3", dimension="value", label="D", reason="观察")
    whole = evaluation_run_series(policy=POLICY, start=JAN, end=MAR)

    # when the same months run again in parts of two rows (a customer's two labels)
    monkeypatch.setattr(apply, "PART_ROWS", 2)
    sent: list[int] = []
    real_send = arrowdb.RowWriter.send

    def send(self: arrowdb.RowWriter, table: str, data: pa.Table) -> None:
        if table == RunResult._meta.db_table:
            sent.append(data.num_rows)
        real_send(self, table, data)

    monkeypatch.setattr(arrowdb.RowWriter, "send", send)
    parts = evaluation_run_series(policy=POLICY, start=JAN, end=MAR)

    # then each month was written in five parts of a customer's two labels, and the rows,
    # their order on disk (one writer on SQLite), the counts and the summaries are those of the
    # runs written whole
    assert sent == [2] * 5 * 3
    for a, b in zip(whole, parts, strict=True):
        assert result_rows(b.pk) == result_rows(a.pk)
        order = list(
            RunResult.objects.filter(run=b).order_by("pk").values_list("customer_id", "dimension")
        )
        if connection.vendor == "sqlite":  # on PostgreSQL two COPY streams take parts at once
            assert order == sorted(order)
        assert (b.counts, b.summary) == (a.counts, a.summary)
    assert label_of(parts[1].pk, "C1", "steady").source == "held"
    assert label_of(parts[1].pk, "C3", "value").source == "override"


def test_the_summary_counts_the_labels_that_apply(data: None) -> None:
    runs = evaluation_run_series(policy=POLICY, start=JAN, end=FEB)

    dims = {d["dimension"]: d for d in runs[1].summary["dimensions"]}
    counts = {d: {s["label"]: s["count"] for s in dims[d]["labels"]} for d in dims}
    assert {k: v for k, v in counts["value"].items() if v} == {"B": 3, "C": 2}
    assert counts["steady"].get("A") == 2  # C1 and C3 held at A
    assert counts["steady"].get("B") == 1


LINE_POLICY = """\
fenji: 1
name: line_test
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
"""


def test_a_policy_graded_per_business_line(data: None) -> None:
    from fenji.web.customers.models import BusinessLine, Customer
    from fenji.web.facts.models import Order
    from tests.web.runs_support import publish_policy

    # given C1 also buys a second line in January, and an order with no line at all
    tea = BusinessLine.objects.create(code="tea", name="茶饮")
    c1 = Customer.objects.get(external_id="C1")
    Order.objects.create(
        external_id="T1", customer=c1, business_line=tea, order_date=JAN, amount=Decimal(2000)
    )
    Order.objects.create(external_id="N1", customer=c1, order_date=JAN, amount=Decimal(5))
    publish_policy(LINE_POLICY)
    override_create(
        policy="line_test",
        customer="C1",
        dimension="line_value",
        label="B",
        reason="茶饮线调整",
        business_line="tea",
    )

    run = evaluation_run_start(policy="line_test", as_of=JAN)

    rows = {
        (r.customer.external_id, r.business_line.code if r.business_line else None): r
        for r in RunResult.objects.filter(run=run).select_related("customer", "business_line")
    }
    assert rows[("C1", "dairy")].label == "A"
    assert (rows[("C1", "tea")].label, rows[("C1", "tea")].computed_label) == ("B", "A")
    assert rows[("C1", "tea")].source == "override"
    assert ("C1", None) not in rows  # per-line grades leave out facts without a line
    assert rows[("C2", "dairy")].label == "B"
