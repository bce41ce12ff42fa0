"""Evaluation runs across processes: one at a time per policy, atomic publication, and SIGKILL
at any point leaving the previous run published, no visible debris, and a next run that works.

Each test starts real runs in child processes (``run_child.py``) against this test's database
(a file on SQLite, the test database on PostgreSQL). ``FENJI_TEST_RUN_PAUSE`` stops a child at
a named point; the test waits for it to say so on stderr and then kills it with SIGKILL or
lets it go on.
"""

from __future__ import annotations

import random
import signal
import time
from datetime import date

import pytest

from fenji.web.evaluations.errors import RunRefused
from fenji.web.evaluations.locks import run_lock
from fenji.web.evaluations.models import EvaluationRun, RunCustomer, RunResult, RunStatus
from fenji.web.evaluations.selectors import (
    published_customer_rows,
    published_results,
    running_run,
)
from fenji.web.evaluations.services import evaluation_run_start, evaluation_runs_reap
from tests.web.runs_support import (
    FEB,
    JAN,
    MAR,
    POLICY,
    published_run_id,
    result_rows,
    setup_data,
    start_child,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

#: Every pause point of a run, in the order a run reaches them.
POINTS = ("locked", "created", "read", "evaluated", "written_batch", "written", "publishing")


def published_view() -> list[tuple[str, str, str | None, str]]:
    """What a reader sees now, through the publication."""
    return [
        (r.customer.external_id, r.dimension, r.label, r.why)
        for r in published_results(policy=POLICY)
    ]


def published_customers() -> list[tuple[int, str, object, object]]:
    """The customer rows a reader sees now, through the publication."""
    return [
        (r.run_id, r.customer.external_id, r.revenue, r.metrics)
        for r in published_customer_rows(policy=POLICY)
    ]


@pytest.fixture
def published_jan() -> int:
    setup_data()
    run = evaluation_run_start(policy=POLICY, as_of=JAN)
    return run.pk


def lock_frees_within(*, seconds: float) -> bool:
    """Whether the run lock can be taken within ``seconds`` (a killed run's writer process dies
    with it; the kernel needs a moment to reap it)."""
    deadline = time.monotonic() + seconds
    while True:
        lock = run_lock(POLICY)
        if lock.try_acquire():
            lock.release()
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def assert_january_intact(jan: int, before: list[tuple[object, ...]]) -> None:
    assert published_run_id() == jan
    assert result_rows(jan) == before
    assert {r.run_id for r in published_results(policy=POLICY)} == {jan}
    customers = published_customers()
    assert {c[0] for c in customers} == {jan}
    assert len(customers) == 5


def test_sigkill_at_every_point_leaves_the_previous_run_published(published_jan: int) -> None:
    jan = published_jan
    before = result_rows(jan)
    view = published_view()

    for point in POINTS:
        # given a run of February stopped at this point
        child = start_child(FEB, pause=point)
        child.wait_for_pause(point)
        assert published_view() == view, f"a reader saw a change at {point}"
        # when it is killed
        child.proc.send_signal(signal.SIGKILL)
        child.proc.wait(timeout=30)
        # then January is still published, whole, and the reader sees it; the lock is free
        assert_january_intact(jan, before)
        assert published_view() == view
        assert lock_frees_within(seconds=5.0), f"the lock stayed held after a kill at {point}"

    # the next run succeeds; the killed runs are marked abandoned and leave no rows
    feb = evaluation_run_start(policy=POLICY, as_of=FEB)
    assert published_run_id() == feb.pk
    killed = EvaluationRun.objects.exclude(pk__in=[jan, feb.pk])
    assert killed.count() == len(POINTS) - 1  # killed at "locked": no run row yet
    assert {r.status for r in killed} == {RunStatus.ABANDONED}
    assert all("stopped at stage" in r.error for r in killed)
    assert set(RunResult.objects.values_list("run_id", flat=True).distinct()) == {jan, feb.pk}
    assert set(RunCustomer.objects.values_list("run_id", flat=True).distinct()) == {jan, feb.pk}
    assert running_run(policy=POLICY) is None


def test_sigkill_at_random_moments(published_jan: int) -> None:
    jan = published_jan
    before = result_rows(jan)
    rng = random.Random(20261126)
    for _ in range(3):
        child = start_child(FEB)
        time.sleep(rng.uniform(0.2, 3.0))
        child.proc.send_signal(signal.SIGKILL)
        child.proc.wait(timeout=30)
        current = published_run_id()
        if current == jan:
            assert_january_intact(jan, before)
        else:  # it finished before the signal: published whole
            assert EvaluationRun.objects.get(pk=current).status == RunStatus.PUBLISHED
            assert len(result_rows(current)) == len(before)
    assert start_when_free(MAR).status == RunStatus.PUBLISHED


def start_when_free(as_of: date, seconds: float = 60) -> EvaluationRun:
    """Start a run, waiting while a killed run's lock is still being released: PostgreSQL
    frees an advisory lock when the server notices the client is gone, which can take a
    moment if the killed client was in the middle of a statement."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return evaluation_run_start(policy=POLICY, as_of=as_of)
        except RunRefused:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_a_second_run_is_refused_while_one_runs(published_jan: int) -> None:
    # given a run of February paused half-way in another process
    child = start_child(FEB, pause="read")
    child.wait_for_pause("read")
    running = running_run(policy=POLICY)
    assert running is not None

    # when another process starts one, and this process too
    other = start_child(MAR)
    code, out, _ = other.finish()
    with pytest.raises(RunRefused) as refused:
        evaluation_run_start(policy=POLICY, as_of=MAR)

    # then both are refused, naming the run in progress; the reaper leaves it alone
    assert code == 3
    assert f"evaluation run #{running.pk}" in out
    assert refused.value.running_run_id == running.pk
    assert "is still running" in refused.value.message
    assert evaluation_runs_reap(policy=POLICY) == []
    child.proc.send_signal(signal.SIGKILL)
    child.proc.wait(timeout=30)
    assert evaluation_runs_reap(policy=POLICY) == [running.pk]
    assert evaluation_run_start(policy=POLICY, as_of=MAR).status == RunStatus.PUBLISHED


def test_readers_see_one_run_or_the_other_while_a_run_publishes(published_jan: int) -> None:
    jan = published_jan
    jan_view = published_view()
    jan_customers = published_customers()
    # given a run of February holding the publishing transaction open for a moment
    child = start_child(FEB, pause="publishing", pause_seconds=1.5)
    child.wait_for_pause("publishing")

    # when readers read over and over until it has published
    views: list[list[tuple[str, str, str | None, str]]] = []
    customer_views: list[list[tuple[int, str, object, object]]] = []
    while child.proc.poll() is None:
        views.append(published_view())
        customer_views.append(published_customers())
        time.sleep(0.02)
    code, _out, err = child.finish()
    assert code == 0, err[-2000:]
    feb_view = published_view()
    feb_customers = published_customers()

    # then every read was all of January or all of February
    assert published_run_id() not in (None, jan)
    assert feb_view != jan_view
    assert views
    assert all(v in (jan_view, feb_view) for v in views)
    assert views[0] == jan_view
    # and so were the customer rows (revenue and metrics)
    assert feb_customers != jan_customers
    assert all(v in (jan_customers, feb_customers) for v in customer_views)
    assert customer_views[0] == jan_customers
