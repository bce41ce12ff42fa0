"""The pages that read the rows of runs never scan a run table whole on SQLite.

A run table holds every customer's rows of every run kept (millions after a year). SQLite
keeps no statistics, so its planner chooses by the shape of a query alone, and a query shaped
the wrong way reads all of it: a rep's dashboard once took 2.9 s at 100,000 customers, the
customer page 0.35 s (``bench/RESULTS.md``). Plans without statistics do not depend on how many
rows the tables hold, so the small company of the tests shows the plans a large one gets: every
query of these pages that reads ``evaluations_runresult`` or ``evaluations_runcustomer`` is
asked for its plan here, and none may scan either table from end to end.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fenji.web.evaluations import scoped_diff

from ..ui_world import World

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "sqlite", reason="PostgreSQL plans from its own statistics"
    ),
]

RUN_TABLES = ("evaluations_runresult", "evaluations_runcustomer")


def pages(world: World) -> dict[str, bool]:
    """The pages, each with whether it may read a whole run of the rows a user may see (an
    administrator's dashboard and run pages count every customer of a run; the customer list
    filters a run's labels)."""
    run = world.runs[-1]
    customer = world.ids_of("rep_a")[0]
    return {
        "/dashboard/?policy=runs_test&dimension=value": True,
        "/dashboard/?policy=runs_test&dimension=steady": True,
        f"/customers/{customer}/": False,
        "/customers/?policy=runs_test&label=value:A": True,
        "/customers/?policy=runs_test&sort=-revenue": True,
        reverse("evaluations:runs"): True,
        reverse("evaluations:run_detail", args=[run.pk]): True,
    }


#: A plan step that reads a run table from end to end, or a whole run of it (an index
#: searched by the run, and by the dimension or label at most).
WHOLE_TABLE = re.compile(rf"^SCAN ({'|'.join(RUN_TABLES)})\b")
WHOLE_RUN = re.compile(
    rf"^SEARCH ({'|'.join(RUN_TABLES)}) USING (COVERING )?INDEX \S+ "
    r"\(run_id=\?( AND dimension=\?)?( AND label=\?)?\)$"
)


def plan(sql: str) -> list[str]:
    with connection.cursor() as cur:
        cur.execute("EXPLAIN QUERY PLAN " + sql)
        return [str(row[-1]) for row in cur.fetchall()]


@pytest.mark.parametrize("share", [0.0, 2.0], ids=["diff-of-whole-runs", "diff-of-their-rows"])
@pytest.mark.parametrize("login", ["admin", "mgr_east", "rep_a"])
def test_no_page_scans_a_run_table_and_only_some_read_a_whole_run(
    world: World,
    client_as: Callable[[str], Client],
    login: str,
    share: float,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a user who sees at least BULK_SHARE of the customers gets the diff of whole runs (cut to
    # their customers); below it, their rows are read through their customers
    monkeypatch.setattr(scoped_diff, "BULK_SHARE", share)
    diff_of_whole_runs = reverse("evaluations:run_detail", args=[world.runs[-1].pk])
    client = client_as(login)
    sees_everyone = login == "admin"
    checked = 0
    for url, may_read_a_run in pages(world).items():
        whole = sees_everyone or "/customers/?" in url or (url == diff_of_whole_runs and not share)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, url
        for query in queries.captured_queries:
            sql = query["sql"]  # captured with its parameters in place: planned as it ran
            if not any(t in sql for t in RUN_TABLES):
                continue
            checked += 1
            steps = plan(sql)
            assert not [s for s in steps if WHOLE_TABLE.match(s)], (url, steps, sql)
            if not may_read_a_run or not whole:
                assert not [s for s in steps if WHOLE_RUN.match(s)], (url, steps, sql)
    assert checked >= 10
