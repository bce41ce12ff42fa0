"""The dashboard: per policy and dimension, every number counted over the customers the user
may see, in a fixed number of queries.

The numbers expected here are worked out by hand from the company of ``ui_world`` (sales in
the month of each as-of date):

=======  =====  ==========  ==========
customer owner  January     February
=======  =====  ==========  ==========
A-1      rep_a  1200 A      600 B (steady: A held)
A-2      rep_a  600 B       600 B
A-3      rep_a  300 C       300 C
A2-1     rep_a2 1500 A      700 B (steady: A held)
A2-2     rep_a2 50 D        150 C
B-1      rep_b  5000 A      4000 A
B-2      rep_b  900 B       950 B
B-3      rep_b  20 D        10 D
=======  =====  ==========  ==========
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from html import unescape
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fenji.web.accounts.models import Membership, Role, Team
from fenji.web.customers.models import BusinessLine, Customer
from fenji.web.evaluations.dashboard import Dashboard, dashboard_build, dashboard_selection
from fenji.web.evaluations.models import (
    EvaluationRun,
    Publication,
    RunCustomer,
    RunResult,
    RunStatus,
)
from fenji.web.policies.models import PolicyVersion
from fenji.web.policies.services import policy_publish_text

from ..runs_support import POLICY_YAML
from ..ui_world import PORTFOLIOS, World

pytestmark = pytest.mark.django_db

URL = "/dashboard/"
#: Sales of each customer in the month of each run of the world (January, February).
SALES: dict[str, tuple[int, int]] = {
    f"{prefix}{n}": (sales[0], sales[1])
    for prefix, _, _, portfolio in PORTFOLIOS.values()
    for n, sales in enumerate(portfolio, start=1)
}
#: Most queries a dashboard page may make: session, user, role, team members, published
#: policies, publication, revenue totals, label distribution, runs, Pareto curve, migration,
#: the movers' names, history.
MAX_QUERIES = 13


def board_for(world: World, login: str, dimension: str = "value") -> Dashboard:
    selection = dashboard_selection(policy=world.policy, dimension=dimension, lang="zh")
    board = dashboard_build(user=world.users[login], selection=selection)
    assert board is not None
    return board


def counts(board: Dashboard) -> dict[str | None, int]:
    return {row.label: row.count for row in board.labels}


def chart(page: str, element_id: str) -> dict[str, Any]:
    """The ECharts option of a chart of the page (escaped text in a hidden element)."""
    found = re.search(rf'<div id="{element_id}" hidden>(.*?)</div>', page)
    assert found is not None, element_id
    return json.loads(unescape(found.group(1)))


# --- who may see it ---------------------------------------------------------------------------


@pytest.mark.parametrize("login", ["admin", "mgr_east", "rep_a", "rep_a2", "rep_b"])
def test_every_role_opens_the_dashboard(client_as: Callable[[str], Client], login: str) -> None:
    response = client_as(login).get(URL)
    assert response.status_code == 200
    assert 'data-testid="kpis"' in response.content.decode()


def test_a_user_without_a_role_is_refused(world: World) -> None:
    nobody = get_user_model().objects.create_user(username="nobody", password="nobody-pass")
    client = Client()
    client.force_login(nobody)
    assert client.get(URL).status_code == 403


def test_anonymous_users_are_sent_to_log_in(world: World) -> None:
    response = Client().get(URL)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login/")


def test_the_site_root_leads_to_the_dashboard(client_as: Callable[[str], Client]) -> None:
    assert reverse("evaluations:dashboard") == URL
    response = client_as("rep_a").get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == URL


# --- the numbers, per role --------------------------------------------------------------------


def test_label_counts_are_those_of_the_visible_customers_in_tier_order(world: World) -> None:
    assert counts(board_for(world, "admin")) == {"A": 1, "B": 4, "C": 2, "D": 1}
    assert counts(board_for(world, "mgr_east")) == {"A": 0, "B": 3, "C": 2, "D": 0}
    assert counts(board_for(world, "rep_a")) == {"A": 0, "B": 2, "C": 1, "D": 0}
    assert counts(board_for(world, "rep_b")) == {"A": 1, "B": 1, "C": 0, "D": 1}
    assert [row.label for row in board_for(world, "rep_a").labels] == ["A", "B", "C", "D"]
    assert [row.rank for row in board_for(world, "rep_a").labels] == [0, 1, 2, 3]


def test_customers_graded_and_shares(world: World) -> None:
    admin, rep_a = board_for(world, "admin"), board_for(world, "rep_a")
    assert (admin.customers, rep_a.customers) == (8, 3)
    assert {r.label: r.share for r in rep_a.labels} == pytest.approx(
        {"A": 0.0, "B": 2 / 3, "C": 1 / 3, "D": 0.0}
    )


def test_the_other_dimension_counts_held_labels(world: World) -> None:
    # A-1 and A2-1 computed B in February but keep A (a downgrade needs two runs)
    assert counts(board_for(world, "mgr_east", "steady")) == {"A": 2, "B": 1, "C": 2, "D": 0}
    migration = board_for(world, "mgr_east", "steady").migration
    assert migration is not None
    assert (migration.upgrades, migration.downgrades) == (1, 0)


def test_upgrades_and_downgrades_since_the_previous_run(world: World) -> None:
    expected = {"admin": (1, 2), "mgr_east": (1, 2), "rep_a": (0, 1), "rep_a2": (1, 1)}
    expected["rep_b"] = (0, 0)
    for login, (up, down) in expected.items():
        migration = board_for(world, login).migration
        assert migration is not None
        assert (migration.upgrades, migration.downgrades) == (up, down), login
        assert migration.previous_as_of == date(2026, 1, 31)


def test_the_biggest_movers_name_both_labels_and_the_new_why(world: World) -> None:
    migration = board_for(world, "mgr_east").migration
    assert migration is not None
    [up] = migration.biggest_upgrades
    assert (up.external_id, up.from_label, up.to_label, up.steps) == ("A2-2", "D", "C", 1)
    assert "150" in up.why
    downs = [(m.external_id, m.from_label, m.to_label) for m in migration.biggest_downgrades]
    assert downs == [("A-1", "A", "B"), ("A2-1", "A", "B")]


def test_the_migration_matrix_counts_by_both_labels(world: World) -> None:
    migration = board_for(world, "admin").migration
    assert migration is not None
    assert migration.labels == ["A", "B", "C", "D"]
    assert migration.matrix == [
        [1, 2, 0, 0],  # was A: B-1 stays, A-1 and A2-1 drop to B
        [0, 2, 0, 0],  # was B: A-2, B-2
        [0, 0, 1, 0],  # was C: A-3
        [0, 0, 1, 1],  # was D: A2-2 up to C, B-3 stays
    ]
    assert migration.unchanged == 5


def test_the_history_counts_each_run_of_the_visible_customers(world: World) -> None:
    history = board_for(world, "rep_a").history
    assert history.dates == [date(2026, 1, 31), date(2026, 2, 28)]
    assert history.labels == ["A", "B", "C"]
    assert history.counts == {"A": [1, 0], "B": [1, 2], "C": [1, 1]}
    admin = board_for(world, "admin").history
    assert admin.counts == {"A": [3, 1], "B": [2, 4], "C": [1, 2], "D": [2, 1]}


def test_a_re_run_of_a_date_is_not_counted_twice_in_the_history(world: World) -> None:
    # given a second, superseded run of January with other labels
    jan = world.runs[0]
    again = EvaluationRun.objects.create(
        policy=jan.policy,
        policy_version=jan.policy_version,
        as_of=jan.as_of,
        status=RunStatus.SUPERSEDED,
    )
    RunResult.objects.bulk_create(
        RunResult(run=again, customer=c, dimension="value", label="D")
        for c in world.customers.values()
    )
    # then the history and the migration use the last run of that date
    board = board_for(world, "admin")
    assert len(board.history.dates) == 2
    assert board.history.counts["D"] == [8, 1]
    assert board.migration is not None
    assert board.migration.upgrades == 7


def test_the_runs_record_the_revenue_the_dashboard_sums(world: World) -> None:
    for month, run in enumerate(world.runs):
        recorded = dict(
            RunCustomer.objects.filter(run=run).values_list("customer__external_id", "revenue")
        )
        assert recorded == {cid: Decimal(sales[month]) for cid, sales in SALES.items()}


def test_revenue_sums_and_shares_per_role(world: World) -> None:
    rep_a = board_for(world, "rep_a")
    assert rep_a.revenue == Decimal(1500)
    assert {r.label: r.revenue for r in rep_a.labels} == {
        "A": Decimal(0),
        "B": Decimal(1200),
        "C": Decimal(300),
        "D": Decimal(0),
    }
    assert {r.label: r.revenue_share for r in rep_a.labels} == pytest.approx(
        {"A": 0.0, "B": 0.8, "C": 0.2, "D": 0.0}
    )
    assert board_for(world, "mgr_east").revenue == Decimal(2350)
    assert board_for(world, "rep_b").revenue == Decimal(4960)
    assert board_for(world, "admin").revenue == Decimal(7310)


def test_the_pareto_figure_is_that_of_the_visible_customers(world: World) -> None:
    admin = board_for(world, "admin").pareto
    assert admin is not None
    # the top 20% of 8 customers are 2: B-1 4000 and B-2 950 of 7310
    assert admin.top_share == pytest.approx(4950 / 7310)
    assert admin.top_share == pytest.approx(world.runs[1].summary["pareto"]["top20_share"])
    assert admin.points[0] == (0.0, 0.0)
    assert admin.points[-1] == (1.0, 1.0)
    assert (admin.top_at, admin.points[2]) == (0.25, (0.25, round(4950 / 7310, 4)))
    manager = board_for(world, "mgr_east").pareto
    assert manager is not None
    assert (manager.customers, manager.top_share) == (5, pytest.approx(700 / 2350))
    rep_a = board_for(world, "rep_a").pareto
    assert rep_a is not None
    assert rep_a.top_share == pytest.approx(600 / 1500)


def test_the_pareto_curve_is_thinned_for_many_customers(world: World) -> None:
    run = world.runs[1]
    RunCustomer.objects.filter(run=run).delete()
    customers = Customer.objects.bulk_create(
        Customer(external_id=f"A-X{i}", name=f"x{i}", owner="rep_a") for i in range(1000)
    )
    RunCustomer.objects.bulk_create(
        RunCustomer(run=run, customer=c, revenue=Decimal(i + 1)) for i, c in enumerate(customers)
    )
    pareto = board_for(world, "rep_a").pareto
    assert pareto is not None
    assert pareto.customers == 1000
    assert 150 <= len(pareto.points) <= 210
    xs = [x for x, _ in pareto.points]
    assert xs == sorted(xs)
    # top 200 customers: 801..1000
    assert pareto.top_share == pytest.approx(sum(range(801, 1001)) / sum(range(1, 1001)))
    assert (0.2, round(pareto.top_share, 4)) in pareto.points


def test_customers_graded_per_line_count_once_and_revenue_follows_the_line(world: World) -> None:
    # given a policy graded per customer and business line, with one hand-made run
    text = POLICY_YAML.replace("name: runs_test", "name: per_line_test").replace(
        "title: {zh: 运行测试", "grain: customer_line\ntitle: {zh: 分线测试"
    )
    version = policy_publish_text(yaml_text=text)
    run = EvaluationRun.objects.create(
        policy=version.policy,
        policy_version=version,
        as_of=date(2026, 2, 28),
        status=RunStatus.PUBLISHED,
    )
    Publication.objects.create(policy=version.policy, run=run)
    dairy, drinks = BusinessLine.objects.order_by("code")
    a1, a2, b1 = (world.customers[x] for x in ("A-1", "A-2", "B-1"))
    rows = [(a1, dairy, "A", 1000), (a1, drinks, "C", 100), (a2, dairy, "C", 200)]
    rows.append((b1, dairy, "A", 9000))
    RunResult.objects.bulk_create(
        RunResult(run=run, customer=c, business_line=line, dimension="value", label=label)
        for c, line, label, _ in rows
    )
    RunCustomer.objects.bulk_create(
        RunCustomer(run=run, customer=c, business_line=line, revenue=Decimal(v))
        for c, line, _, v in rows
    )
    # when rep_a looks at it
    selection = dashboard_selection(policy="per_line_test", dimension=None, lang="zh")
    board = dashboard_build(user=world.users["rep_a"], selection=selection)
    # then two customers, three lines, revenue by the label of each line
    assert board is not None
    assert board.customers == 2
    assert counts(board) == {"A": 1, "B": 0, "C": 2, "D": 0}
    assert {r.label: r.revenue for r in board.labels if r.count} == {
        "A": Decimal(1000),
        "C": Decimal(300),
    }
    assert board.revenue == Decimal(1300)
    assert board.pareto is not None
    assert (board.pareto.customers, board.pareto.top_share) == (2, pytest.approx(1100 / 1300))
    assert board.migration is None


# --- no leaks ---------------------------------------------------------------------------------


def test_rep_a_sees_nothing_of_rep_b_whatever_the_address(
    world: World, client_as: Callable[[str], Client]
) -> None:
    client = client_as("rep_a")
    for query in (
        "",
        "?policy=runs_test&dimension=value",
        "?policy=runs_test&dimension=steady",
        "?policy=runs_test&dimension=value&customer=B-1&owner=rep_b",
    ):
        html = client.get(URL + query).content.decode()
        # (the language switch sends the user back to the address they typed)
        html = re.sub(r'name="next" value="[^"]*"', "", html)
        for cid in world.ids_of("rep_b"):
            assert cid not in html, (query, cid)
        assert "北京医药" not in html
        # rep_b's revenue (4,960) and the company's (7,310) appear nowhere
        for figure in ("4,960", "4960", "7,310", "7310"):
            assert figure not in html, (query, figure)
        assert "1,500元" in html


def test_the_charts_of_a_rep_hold_only_their_numbers(
    world: World, client_as: Callable[[str], Client]
) -> None:
    html = client_as("rep_a").get(URL).content.decode()
    distribution = chart(html, "chart-distribution")
    assert [d["value"] for d in distribution["series"][0]["data"]] == [0, 2, 1, 0]
    history = chart(html, "chart-history")
    assert {s["name"]: s["data"] for s in history["series"]} == {
        "A": [1, 0],
        "B": [1, 2],
        "C": [1, 1],
    }
    revenue = chart(html, "chart-revenue")
    assert sum(d["value"] for d in revenue["series"][0]["data"]) == 1500
    migration = chart(html, "chart-migration")
    assert sum(n for _, _, n in migration["series"][0]["data"]) == 3


def test_the_manager_sees_the_team_but_not_the_other_team(
    world: World, client_as: Callable[[str], Client]
) -> None:
    html = client_as("mgr_east").get(URL).content.decode()
    for cid in ("A-1", "A2-1", "A2-2"):  # the movers of the team
        assert f'data-customer="{cid}"' in html
    for cid in world.ids_of("rep_b"):
        assert cid not in html
    assert "2,350元" in html
    assert "4,960" not in html


# --- queries ----------------------------------------------------------------------------------


def add_customers(world: World, owner: str, prefix: str, n: int) -> None:
    """``n`` more customers of ``owner``, graded in both runs, with revenue."""
    customers = Customer.objects.bulk_create(
        Customer(external_id=f"{prefix}{i}", name=f"客户{prefix}{i}", owner=owner) for i in range(n)
    )
    results, revenue = [], []
    for run, labels in zip(world.runs, ("ABCD", "BCDA"), strict=True):
        for i, c in enumerate(customers):
            for dim in ("value", "steady"):
                results.append(RunResult(run=run, customer=c, dimension=dim, label=labels[i % 4]))
            revenue.append(RunCustomer(run=run, customer=c, revenue=Decimal(i * 10 + 1)))
    RunResult.objects.bulk_create(results)
    RunCustomer.objects.bulk_create(revenue)


@pytest.mark.parametrize("login", ["admin", "mgr_east", "rep_a"])
def test_the_number_of_queries_does_not_grow_with_the_customers(
    world: World,
    client_as: Callable[[str], Client],
    django_assert_max_num_queries: Any,
    login: str,
) -> None:
    client = client_as(login)
    with django_assert_max_num_queries(MAX_QUERIES):
        assert client.get(URL).status_code == 200
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    # given 300 more customers with labels and revenue in both runs
    add_customers(world, "rep_a", "A-N", 300)
    with CaptureQueriesContext(connection) as many:
        html = client.get(URL).content.decode()
    assert len(many) == len(few)
    assert "A-N" in html  # the new customers are counted (and move, so they are listed)


def test_the_htmx_fragment_is_the_body_only(client_as: Callable[[str], Client]) -> None:
    client = client_as("rep_a")
    response = client.get(URL + "?dimension=steady", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert 'name="dimension"' in html
    assert '<option value="steady" selected>' in html
    assert 'data-testid="distribution"' in html
    # HTMX drops the <script> elements of a fragment: the charts travel without them
    assert "<script" not in html
    assert chart(html, "chart-distribution")["series"][0]["type"] == "bar"
    assert "HX-Request" in response.headers["Vary"]
    # a history restore asks for the whole page
    restore = client.get(URL, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restore.content.decode()


# --- choosing what to show --------------------------------------------------------------------


def test_the_first_published_policy_by_name_is_shown_by_default(
    world: World, client_as: Callable[[str], Client]
) -> None:
    policy_publish_text(
        yaml_text=POLICY_YAML.replace("name: runs_test", "name: aaa_first").replace(
            "{zh: 运行测试, en: run test}", "{zh: 首个策略, en: first policy}"
        )
    )
    client = client_as("rep_a")
    html = client.get(URL).content.decode()
    assert '<option value="aaa_first" selected>首个策略</option>' in html
    assert 'data-testid="empty-no-run"' in html
    chosen = client.get(URL + "?policy=runs_test").content.decode()
    assert '<option value="runs_test" selected>' in chosen
    assert 'data-testid="kpis"' in chosen


def test_unknown_names_in_the_address_show_the_default_with_a_message(
    client_as: Callable[[str], Client],
) -> None:
    client = client_as("rep_a")
    response = client.get(URL + "?policy=<b>nope</b>&dimension=nothing")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="unknown-policy"' in html
    assert "&lt;b&gt;nope&lt;/b&gt;" in html
    assert '<option value="value" selected>' in html
    long = client.get(URL + "?policy=" + "x" * 5000 + "&dimension=" + "y" * 5000)
    assert long.status_code == 200
    assert '<option value="value" selected>' in long.content.decode()


def test_no_published_policy_says_what_to_do(
    world: World, client_as: Callable[[str], Client]
) -> None:
    PolicyVersion.objects.update(is_published=False)
    admin = client_as("admin").get(URL).content.decode()
    assert 'data-testid="empty-no-policy"' in admin
    assert f'href="{reverse("evaluations:runs")}"' in admin
    assert f'href="{reverse("policies:list")}"' in admin
    # a manager may start runs but not publish: no button that leads nowhere
    manager = client_as("mgr_east").get(URL).content.decode()
    assert 'data-testid="empty-no-policy"' in manager
    assert "btn-primary" not in manager
    rep = client_as("rep_a").get(URL).content.decode()
    assert 'data-testid="empty-no-policy"' in rep
    assert "btn-primary" not in rep


def test_a_policy_text_that_no_longer_validates_is_reported_not_a_crash(
    world: World, client_as: Callable[[str], Client]
) -> None:
    PolicyVersion.objects.filter(policy__name=world.policy).update(
        yaml="fenji: 1\nname: runs_test\ntitle: broken\ndimensions: {}\n"
    )
    response = client_as("rep_a").get(URL)
    assert response.status_code == 200
    assert 'data-testid="unreadable-policy"' in response.content.decode()


def test_no_run_yet_says_so(world: World, client_as: Callable[[str], Client]) -> None:
    Publication.objects.all().delete()
    html = client_as("mgr_east").get(URL).content.decode()
    assert 'data-testid="empty-no-run"' in html
    assert 'data-testid="kpis"' not in html


def test_one_run_only_shows_no_migration(world: World, client_as: Callable[[str], Client]) -> None:
    EvaluationRun.objects.filter(pk=world.runs[0].pk).update(status=RunStatus.FAILED)
    board = board_for(world, "admin")
    assert board.migration is None
    assert board.history.dates == [date(2026, 2, 28)]
    html = client_as("admin").get(URL).content.decode()
    assert 'data-testid="empty-one-run"' in html
    assert 'data-testid="upgrades"' not in html


def test_without_revenue_rows_the_revenue_charts_say_why(
    world: World, client_as: Callable[[str], Client]
) -> None:
    RunCustomer.objects.all().delete()
    board = board_for(world, "admin")
    assert (board.revenue, board.pareto) == (None, None)
    html = client_as("admin").get(URL).content.decode()
    assert html.count('data-testid="empty-no-revenue"') == 2
    assert "chart-pareto" not in html


def test_a_rep_without_graded_customers_is_told(world: World) -> None:
    user = get_user_model().objects.create_user(username="rep_new", password="rep_new-pass")
    Membership.objects.create(user=user, role=Role.REP, team=Team.objects.get(name="华东"))
    client = Client()
    client.force_login(user)
    html = client.get(URL).content.decode()
    assert 'data-testid="empty-no-customers"' in html
    assert "A-1" not in html


# --- language ---------------------------------------------------------------------------------


def test_chinese_by_default_and_english_on_request(client_as: Callable[[str], Client]) -> None:
    client = client_as("rep_a")
    chinese = client.get(URL).content.decode()
    assert "按标签的客户分布" in chinese
    assert "价值等级" in chinese
    client.cookies["fenji_language"] = "en"
    english = client.get(URL).content.decode()
    assert "Customers by label" in english
    assert "Biggest downgrades" in english
    assert "value grade" in english  # the policy's own English title
