"""The runs pages: who may see and start runs, a run started from the page in a process of its
own and followed until published, one run per policy, and counts and diffs narrowed to the
customers the reader may see."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from fenji.web.accounts.access import visible_owners
from fenji.web.accounts.models import AuditEntry
from fenji.web.customers.models import Customer
from fenji.web.evaluations import scoped_diff as scoped
from fenji.web.evaluations.background import Launch
from fenji.web.evaluations.diff import RunDiff
from fenji.web.evaluations.models import EvaluationRun, RunStatus
from fenji.web.evaluations.run_views import last_month_end
from fenji.web.evaluations.scoped_diff import scoped_diff
from fenji.web.evaluations.selectors import run_diff, running_run
from fenji.web.evaluations.services import evaluation_run_start

from ..runs_support import APR, MAR, POLICY, start_child
from ..ui_world import World

pytestmark = pytest.mark.django_db

RUNS = reverse("evaluations:runs")
START = reverse("evaluations:run_start")


def detail(run_id: int) -> str:
    return reverse("evaluations:run_detail", args=[run_id])


def progress(run_id: int) -> str:
    return reverse("evaluations:run_progress", args=[run_id])


def text(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined]


def label_totals(html: str) -> dict[str, int]:
    """Total per dimension of the label counts tables."""
    found = re.findall(
        r'data-dimension="(\w+)" data-label="(\w*)"><td>.*?</td><td class="num">'
        r"([\d,]+)</td>",
        html,
    )
    totals: dict[str, int] = {}
    for dim, _, n in found:
        totals[dim] = totals.get(dim, 0) + int(n.replace(",", ""))
    return totals


def movers(html: str) -> list[str]:
    section = html.split('data-testid="movers"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr data-customer="([^"]+)"', section)


# --- roles ----------------------------------------------------------------------------------


@pytest.mark.parametrize("login", ["admin", "mgr_east", "rep_a"])
def test_every_role_sees_the_runs_list_and_a_run(
    world: World, client_as: Callable[[str], Client], login: str
) -> None:
    client = client_as(login)
    response = client.get(RUNS)
    assert response.status_code == 200
    page = text(response)
    for run in world.runs:
        assert f'data-run="{run.pk}"' in page
    assert client.get(detail(world.runs[-1].pk)).status_code == 200
    assert client.get(progress(world.runs[-1].pk)).status_code == 200


def test_reps_may_not_start_runs(world: World, client_as: Callable[[str], Client]) -> None:
    rep = client_as("rep_a")
    assert rep.get(START).status_code == 403
    assert rep.post(START, {"policy": POLICY, "as_of": "2026-03-31"}).status_code == 403
    assert 'data-testid="start-run"' not in text(rep.get(RUNS))
    assert EvaluationRun.objects.count() == len(world.runs)
    manager = client_as("mgr_east")
    assert manager.get(START).status_code == 200
    assert 'data-testid="start-run"' in text(manager.get(RUNS))


def test_an_unknown_run_or_a_forged_launch_is_not_found(
    world: World, client_as: Callable[[str], Client]
) -> None:
    admin = client_as("admin")
    assert admin.get(detail(999999)).status_code == 404
    assert admin.get(progress(999999)).status_code == 404
    forged = reverse("evaluations:run_launch", args=["not-a-signed-launch"])
    assert admin.get(forged).status_code == 404
    launch = Launch(token="abc", pid=1, policy=POLICY, as_of=MAR, started=time.time())
    tampered = launch.key().replace(":", ":x", 1)
    assert admin.get(reverse("evaluations:run_launch_status", args=[tampered])).status_code == 404


# --- the list -------------------------------------------------------------------------------


def customers_column(html: str, run_id: int) -> str:
    row = html.split(f'data-run="{run_id}"', 1)[1].split("</tr>", 1)[0]
    return re.findall(r'<td class="num">([^<]*)</td>', row)[-1]


def test_list_counts_only_the_customers_each_user_may_see(
    world: World, client_as: Callable[[str], Client]
) -> None:
    run = world.runs[-1]
    assert customers_column(text(client_as("admin").get(RUNS)), run.pk) == "8"
    assert customers_column(text(client_as("mgr_east").get(RUNS)), run.pk) == "5"
    rep_page = text(client_as("rep_a").get(RUNS))
    assert customers_column(rep_page, run.pk) == "3"
    assert 'data-testid="scope-note"' in rep_page


def test_list_filters_by_policy_and_shows_who_started_a_run(
    world: World, client_as: Callable[[str], Client]
) -> None:
    admin = client_as("admin")
    run = evaluation_run_start(policy=POLICY, as_of=MAR, user=world.users["mgr_east"])
    page = text(admin.get(RUNS, {"policy": POLICY}))
    row = page.split(f'data-run="{run.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "mgr_east" in row
    assert "2026-03-31" in row
    # an unknown policy is no filter at all, not an error
    assert admin.get(RUNS, {"policy": "<nope>"}).status_code == 200


def test_list_paginates(world: World, client_as: Callable[[str], Client]) -> None:
    run = world.runs[-1]
    EvaluationRun.objects.bulk_create(
        [
            EvaluationRun(
                policy=run.policy,
                policy_version=run.policy_version,
                as_of=date(2020, 1, 1) + timedelta(days=i),
                status=RunStatus.FAILED,
                error="test",
            )
            for i in range(30)
        ]
    )
    admin = client_as("admin")
    first = text(admin.get(RUNS))
    assert first.count("<tr data-run=") == 25
    second = text(admin.get(RUNS, {"page": "2"}))
    assert second.count("<tr data-run=") == 32 - 25


# --- a run's page ---------------------------------------------------------------------------


def test_label_counts_are_narrowed_to_the_visible_customers(
    world: World, client_as: Callable[[str], Client]
) -> None:
    run = world.runs[-1]
    admin_page = text(client_as("admin").get(detail(run.pk)))
    assert label_totals(admin_page) == {"value": 8, "steady": 8}
    assert 'data-testid="scope-note"' not in admin_page
    manager_page = text(client_as("mgr_east").get(detail(run.pk)))
    assert label_totals(manager_page) == {"value": 5, "steady": 5}
    rep_page = text(client_as("rep_a").get(detail(run.pk)))
    assert label_totals(rep_page) == {"value": 3, "steady": 3}
    assert 'data-testid="scope-note"' in rep_page
    assert 'data-testid="visible-customers">3<' in rep_page


@pytest.fixture
def april(world: World) -> EvaluationRun:
    """A run at the end of April, after February's: B-2 (rep_b) moves from B to A."""
    return evaluation_run_start(policy=POLICY, as_of=APR, user=world.users["admin"])


def test_diff_movers_are_narrowed_to_the_visible_customers(
    world: World, april: EvaluationRun, client_as: Callable[[str], Client]
) -> None:
    admin_page = text(client_as("admin").get(detail(april.pk)))
    assert "B-2" in movers(admin_page)
    rep_page = text(client_as("rep_a").get(detail(april.pk)))
    assert movers(rep_page)
    assert all(c.startswith("A-") for c in movers(rep_page))
    assert "B-" not in rep_page.split('id="diff"', 1)[1]
    manager_page = text(client_as("mgr_east").get(detail(april.pk)))
    assert {c.split("-")[0] for c in movers(manager_page)} <= {"A", "A2"}
    assert not any(c.startswith("B-") for c in movers(manager_page))
    rep_b_page = text(client_as("rep_b").get(detail(april.pk)))
    assert movers(rep_b_page) == ["B-2", "B-2"]


def test_a_reps_migration_matrix_counts_only_their_customers(
    world: World, april: EvaluationRun, client_as: Callable[[str], Client]
) -> None:
    rep_page = text(client_as("rep_a").get(detail(april.pk)))
    for dim in ("value", "steady"):
        table = rep_page.split(f'data-testid="matrix" data-dimension="{dim}"', 1)[1]
        table = table.split("</table>", 1)[0]
        cells = re.findall(r'data-to="\w+">(\d+)</td>', table)
        assert sum(int(n) for n in cells) == 3


@pytest.mark.parametrize("login", ["admin", "mgr_east", "rep_a"])
def test_the_scoped_diff_is_the_same_read_whole_or_through_the_customers(
    world: World, april: EvaluationRun, login: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = EvaluationRun.objects.select_related("previous", "policy_version").get(pk=april.pk)
    user = world.users[login]

    def diff(share: float, **page: int) -> RunDiff:
        monkeypatch.setattr(scoped, "BULK_SHARE", share)
        return scoped_diff(run=run, previous=run.previous, user=user, lang="zh", **page)

    # both runs read whole and cut to the user's customers, or their rows read through them
    whole, through = diff(0.0), diff(2.0)
    assert whole == through
    assert whole.movers_total == len(whole.movers) > 0
    assert diff(0.0, limit=2, offset=1) == diff(2.0, limit=2, offset=1)
    assert diff(0.0, limit=2, offset=1).movers == whole.movers[1:3]
    if login == "admin":
        assert whole == run_diff(run=run, lang="zh")
    else:  # their own customers' rows only
        owners = set(
            Customer.objects.filter(owner__in=visible_owners(user)).values_list(
                "external_id", flat=True
            )
        )
        assert {m.customer_id for m in whole.movers} <= owners
        total = sum(d.upgrades + d.downgrades + d.unchanged for d in whole.dimensions)
        assert total < sum(
            d.upgrades + d.downgrades + d.unchanged for d in run_diff(run=run).dimensions
        )


def test_a_failed_run_shows_its_error(world: World, client_as: Callable[[str], Client]) -> None:
    run = world.runs[-1]
    failed = EvaluationRun.objects.create(
        policy=run.policy,
        policy_version=run.policy_version,
        as_of=MAR,
        status=RunStatus.FAILED,
        error="RunError: orders table is empty",
        finished_at=timezone.now(),
    )
    page = text(client_as("rep_a").get(detail(failed.pk)))
    assert 'data-testid="run-error"' in page
    assert "orders table is empty" in page
    assert 'hx-trigger="every 1s"' not in page


# --- progress -------------------------------------------------------------------------------


def test_progress_polls_while_running_and_stops_when_done(
    world: World, client_as: Callable[[str], Client]
) -> None:
    run = world.runs[-1]
    running = EvaluationRun.objects.create(
        policy=run.policy,
        policy_version=run.policy_version,
        as_of=MAR,
        status=RunStatus.RUNNING,
        stage="writing",
        progress=0.75,
    )
    client = client_as("mgr_east")
    fragment = text(client.get(progress(running.pk)))
    assert 'hx-trigger="every 1s"' in fragment
    assert '<progress value="0.750" max="1"' in fragment
    assert "75%" in fragment
    assert 'hx-trigger="every 1s"' in text(client.get(detail(running.pk)))

    EvaluationRun.objects.filter(pk=running.pk).update(status=RunStatus.FAILED, error="stopped")
    done = client.get(progress(running.pk))
    assert 'hx-trigger="every 1s"' not in text(done)
    assert "HX-Refresh" not in done.headers
    # on the run's own page the finished fragment reloads the page in full
    assert client.get(progress(running.pk), {"reload": "1"}).headers["HX-Refresh"] == "true"

    published = text(client.get(progress(run.pk)))
    assert 'hx-trigger="every 1s"' not in published
    assert 'data-testid="diff-link"' in published
    assert label_totals(published) == {"value": 5, "steady": 5}


# --- the start form -------------------------------------------------------------------------


def test_start_form_suggests_the_last_month_end_and_explains_bad_dates(
    world: World, client_as: Callable[[str], Client]
) -> None:
    admin = client_as("admin")
    form = text(admin.get(START))
    assert f'value="{last_month_end().isoformat()}"' in form
    assert f'<option value="{POLICY}"' in form
    bad = admin.post(START, {"policy": POLICY, "as_of": "31.03.2026", "lang": "zh"})
    assert bad.status_code == 200
    assert "不是日期" in text(bad)
    future = (timezone.localdate() + timedelta(days=40)).isoformat()
    later = admin.post(START, {"policy": POLICY, "as_of": future, "lang": "zh"})
    assert 'data-testid="field-error"' in text(later)
    unknown = admin.post(START, {"policy": "nope", "as_of": "2026-03-31", "lang": "zh"})
    assert 'data-testid="field-error"' in text(unknown)
    assert EvaluationRun.objects.count() == len(world.runs)


def test_last_month_end() -> None:
    assert last_month_end(date(2026, 3, 15)) == date(2026, 2, 28)
    assert last_month_end(date(2026, 1, 1)) == date(2025, 12, 31)


def test_a_start_is_refused_while_a_run_of_the_policy_is_in_progress(
    world: World, client_as: Callable[[str], Client]
) -> None:
    run = world.runs[-1]
    running = EvaluationRun.objects.create(
        policy=run.policy,
        policy_version=run.policy_version,
        as_of=MAR,
        status=RunStatus.RUNNING,
        stage="evaluating",
        pid=os.getpid(),
    )
    # this process holds the policy's lock, as the process of a running run does
    from fenji.web.evaluations.locks import run_lock

    lock = run_lock(POLICY)
    assert lock.try_acquire()
    try:
        response = client_as("admin").post(START, {"policy": POLICY, "as_of": "2026-03-31"})
    finally:
        lock.release()
    assert response.status_code == 200
    page = text(response)
    assert 'data-testid="run-refused"' in page
    assert f"#{running.pk}" in page
    assert EvaluationRun.objects.count() == len(world.runs) + 1


# --- queries --------------------------------------------------------------------------------


@pytest.mark.parametrize("login", ["admin", "mgr_east", "rep_a"])
def test_queries_of_the_list_and_detail_do_not_grow_with_runs(
    world: World,
    april: EvaluationRun,
    client_as: Callable[[str], Client],
    login: str,
    django_assert_max_num_queries: Callable[[int], object],
) -> None:
    # a full page of runs, started by different users, some of them complete
    users = list(world.users.values())
    EvaluationRun.objects.bulk_create(
        [
            EvaluationRun(
                policy=april.policy,
                policy_version=april.policy_version,
                as_of=date(2020, 1, 1) + timedelta(days=i),
                status=RunStatus.SUPERSEDED if i % 2 else RunStatus.FAILED,
                created_by=users[i % len(users)],
                counts={"customers": 8},
            )
            for i in range(30)
        ]
    )
    client = client_as(login)
    with django_assert_max_num_queries(8):  # type: ignore[attr-defined]
        page = client.get(RUNS)
    assert text(page).count("<tr data-run=") == 25
    # a manager's diff here reads both runs, the customers' names and the lines whole: four
    # queries on Django's connection inside the test's transaction (on a second one outside)
    with django_assert_max_num_queries(13):  # type: ignore[attr-defined]
        assert movers(text(client.get(detail(april.pk))))
    with django_assert_max_num_queries(7):  # type: ignore[attr-defined]
        assert client.get(progress(april.pk)).status_code == 200


# --- a run in the background ----------------------------------------------------------------


def poll(client: Client, url: str, *, until: str, timeout: float = 120.0) -> str:
    """GET ``url`` (an HTMX fragment) about every half second until it contains ``until``."""
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        response = client.get(url, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        seen = text(response)
        if until in seen:
            return seen
        time.sleep(0.5)
    raise AssertionError(f"never saw {until!r}; last fragment:\n{seen}")


def launch_of(response: object) -> str:
    location = response.headers["Location"]  # type: ignore[attr-defined]
    key = location.rstrip("/").rsplit("/", 1)[-1]
    return reverse("evaluations:run_launch_status", args=[key])


@pytest.fixture
def no_stray_children() -> Iterator[list[int]]:
    """Process ids of runs a test paused; killed at the end whatever happens."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_run_started_from_the_page_runs_in_the_background_until_published(
    world: World, client_as: Callable[[str], Client]
) -> None:
    admin = client_as("admin")
    started = time.monotonic()
    response = admin.post(START, {"policy": POLICY, "as_of": "2026年3月31日", "lang": "zh"})
    assert response.status_code == 302
    assert time.monotonic() - started < 5  # the request does not wait for the run
    status_url = launch_of(response)
    page = admin.get(response.headers["Location"])
    assert page.status_code == 200
    assert 'hx-trigger="every 1s"' in text(page)

    done = poll(admin, status_url, until='data-status="published"')
    assert 'hx-trigger="every 1s"' not in done  # polling stops
    assert 'data-testid="diff-link"' in done
    run = EvaluationRun.objects.get(as_of=MAR, status=RunStatus.PUBLISHED)
    assert run.created_by == world.users["admin"]
    assert run.previous_id == world.runs[-1].pk
    assert detail(run.pk) + "#diff" in done
    assert AuditEntry.objects.filter(action="run.published", user=world.users["admin"]).exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_second_start_is_refused_while_the_first_runs(
    world: World,
    client_as: Callable[[str], Client],
    monkeypatch: pytest.MonkeyPatch,
    no_stray_children: list[int],
) -> None:
    monkeypatch.setenv("FENJI_TEST_RUN_PAUSE", "read")  # the first run waits after reading
    manager = client_as("mgr_east")
    first = manager.post(START, {"policy": POLICY, "as_of": "2026-03-31", "lang": "zh"})
    assert first.status_code == 302
    status_url = launch_of(first)
    fragment = poll(manager, status_url, until='data-status="running"')
    assert 'hx-trigger="every 1s"' in fragment
    running = running_run(policy=POLICY)
    assert running is not None
    assert running.pid is not None
    no_stray_children.append(running.pid)
    assert running.created_by == world.users["mgr_east"]

    second = client_as("admin").post(START, {"policy": POLICY, "as_of": "2026-04-30"})
    assert second.status_code == 200
    assert 'data-testid="run-refused"' in text(second)
    assert f"#{running.pk}" in text(second)
    assert EvaluationRun.objects.filter(policy__name=POLICY).count() == len(world.runs) + 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_start_that_loses_the_race_for_the_lock_says_so(
    world: World, client_as: Callable[[str], Client], no_stray_children: list[int]
) -> None:
    """Another process holds the lock but has not created its run yet: the page's own check
    cannot see it, the child's lock refuses, and the launch page says why."""
    holder = start_child(MAR, pause="locked")
    no_stray_children.append(holder.proc.pid)
    holder.wait_for_pause("locked")
    admin = client_as("admin")
    response = admin.post(START, {"policy": POLICY, "as_of": "2026-04-30", "lang": "zh"})
    assert response.status_code == 302
    refused = poll(admin, launch_of(response), until='data-testid="run-refused"')
    assert 'hx-trigger="every 1s"' not in refused
    assert "只能" in refused or "only one run" in refused
    entry = AuditEntry.objects.get(action="run.start_failed")
    assert entry.details["code"] == "run.already_running"
    assert entry.user == world.users["admin"]
    holder.proc.kill()
    holder.proc.wait()
