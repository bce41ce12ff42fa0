"""The REST API and the API tokens page: what each role's token can read and change, and that
nothing of another rep's customers leaks through ids, filters, searches, counts or diffs."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from fenji.web.accounts.models import AuditEntry
from fenji.web.api.models import ApiToken
from fenji.web.api.services import key_hash, token_create
from fenji.web.customers.models import Customer
from fenji.web.evaluations.models import EvaluationRun, Override
from fenji.web.evaluations.scoped_diff import scoped_diff
from fenji.web.evaluations.selectors import run_diff

from ..ui_world import World

pytestmark = pytest.mark.django_db

ApiClient = Callable[[str], Client]


@pytest.fixture
def api_as(world: World) -> ApiClient:
    """``api_as("rep_a")``: a client sending a fresh API token of that user."""

    def make(login: str) -> Client:
        key = token_create(user=world.users[login], name=f"{login} script").key
        return Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    return make


def body(response: Any) -> Any:
    return json.loads(response.content)


def ids(response: Any) -> set[str]:
    data = body(response)
    assert response.status_code == 200, data
    return {c["external_id"] for c in data["items"]}


# --- reading customers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("login", "owners"),
    [
        ("admin", ("rep_a", "rep_a2", "rep_b")),
        ("mgr_east", ("rep_a", "rep_a2")),
        ("rep_a", ("rep_a",)),
        ("rep_b", ("rep_b",)),
    ],
)
def test_each_role_lists_exactly_its_customers(
    world: World, api_as: ApiClient, login: str, owners: tuple[str, ...]
) -> None:
    response = api_as(login).get("/api/customers")
    expected = {cid for owner in owners for cid in world.ids_of(owner)}
    assert ids(response) == expected
    assert body(response)["count"] == len(expected)


@pytest.mark.parametrize(
    "query",
    [
        {"owner": "rep_b"},
        {"q": "B-"},
        {"q": "B-1"},
        {"q": "北京医药"},  # part of rep_b's customers' names
        {"industry": "医药"},
        {"region": "北京"},
        {"owner": "rep_b", "tag": "重点"},
    ],
)
def test_rep_a_finds_nothing_of_rep_b_by_filter_or_search(
    world: World, api_as: ApiClient, query: dict[str, str]
) -> None:
    response = api_as("rep_a").get("/api/customers", query)
    assert ids(response) == set()
    assert body(response)["count"] == 0


def test_business_line_filter_stays_within_own_customers(world: World, api_as: ApiClient) -> None:
    # every customer has orders in one of the two lines (dairy for even numbers)
    assert ids(api_as("admin").get("/api/customers", {"line": "dairy"})) == {"A-2", "A2-2", "B-2"}
    assert ids(api_as("rep_a").get("/api/customers", {"line": "dairy"})) == {"A-2"}
    assert ids(api_as("rep_a").get("/api/customers", {"line": "drinks", "q": "B"})) == set()


def test_label_filter_keeps_only_own_customers_with_that_label(
    world: World, api_as: ApiClient
) -> None:
    # given B-1 has value A in the published run, and none of rep_a's customers has
    query = {"policy": "runs_test", "dimension": "value", "label": "A"}
    assert ids(api_as("admin").get("/api/customers", query)) == {"B-1"}
    # then rep_a finds nobody, and B counts of the label reach rep_a nowhere
    assert ids(api_as("rep_a").get("/api/customers", query)) == set()
    query["label"] = "B"
    assert ids(api_as("rep_a").get("/api/customers", query)) == {"A-1", "A-2"}
    assert ids(api_as("mgr_east").get("/api/customers", query)) == {"A-1", "A-2", "A2-1"}


def test_search_tag_and_paging(world: World, api_as: ApiClient) -> None:
    client = api_as("admin")
    assert ids(client.get("/api/customers", {"tag": "重点"})) == {"A-1", "A2-1", "B-1"}
    assert ids(client.get("/api/customers", {"q": "杭州零售"})) == {"A2-1", "A2-2"}
    everyone = [c["external_id"] for c in body(client.get("/api/customers"))["items"]]
    page = body(client.get("/api/customers", {"limit": 3, "offset": 3}))
    assert page["count"] == 8
    assert [c["external_id"] for c in page["items"]] == everyone[3:6]


@pytest.mark.parametrize(
    "query",
    [
        {"limit": 0},
        {"limit": 501},
        {"offset": -1},
        {"limit": "many"},
        {"label": "A"},  # a label needs its policy and dimension
        {"policy": "runs_test", "label": "A"},
        {"policy": "nope", "dimension": "value", "label": "A"},
        {"policy": "runs_test", "dimension": "nope", "label": "A"},
        {"policy": "runs_test", "dimension": "value", "label": "Z"},
    ],
)
def test_bad_list_parameters_answer_invalid(api_as: ApiClient, query: dict[str, Any]) -> None:
    response = api_as("admin").get("/api/customers", query)
    assert response.status_code == 422
    assert body(response)["code"] == "invalid"
    assert body(response)["message"]


def test_customer_detail_has_every_current_label_with_its_explanation(
    world: World, api_as: ApiClient
) -> None:
    data = body(api_as("rep_a").get("/api/customers/A-1"))
    assert data["external_id"] == "A-1"
    assert data["owner"] == "rep_a"
    labels = {item["dimension"]: item for item in data["labels"]}
    assert set(labels) == {"value", "steady"}
    # February: 600 in the month gives B; the steady grade holds A for one more run
    assert labels["value"]["label"] == "B"
    assert labels["value"]["source"] == "computed"
    assert labels["value"]["next_label"] == "A"
    assert labels["value"]["why"]
    assert labels["value"]["gap"]
    assert labels["steady"]["label"] == "A"
    assert labels["steady"]["computed_label"] == "B"
    assert labels["steady"]["source"] == "held"
    assert {item["run_id"] for item in data["labels"]} == {world.runs[-1].pk}


def test_customer_history_lists_each_month(api_as: ApiClient) -> None:
    data = body(api_as("mgr_east").get("/api/customers/A2-2/history", {"dimension": "value"}))
    assert [(e["as_of"], e["label"]) for e in data] == [("2026-01-31", "D"), ("2026-02-28", "C")]


@pytest.mark.parametrize("login", ["rep_a", "mgr_east"])
@pytest.mark.parametrize("path", ["/api/customers/B-1", "/api/customers/B-1/history"])
def test_someone_elses_customer_answers_404_like_a_missing_one(
    api_as: ApiClient, login: str, path: str
) -> None:
    client = api_as(login)
    hidden = client.get(path)
    missing = client.get(path.replace("B-1", "NO-SUCH-ID"))
    assert hidden.status_code == missing.status_code == 404
    assert body(hidden)["code"] == "not_found"
    assert "B-1" not in json.dumps(body(missing))
    assert body(hidden)["message"].replace("B-1", "X") == body(missing)["message"].replace(
        "NO-SUCH-ID", "X"
    )


def test_manager_reads_the_customers_of_the_team(api_as: ApiClient) -> None:
    client = api_as("mgr_east")
    assert client.get("/api/customers/A-1").status_code == 200
    assert client.get("/api/customers/A2-1").status_code == 200


# --- policies and runs ----------------------------------------------------------------------


def test_policies_and_their_published_text(world: World, api_as: ApiClient) -> None:
    client = api_as("rep_b")
    listed = body(client.get("/api/policies"))
    assert [(p["name"], p["published_version"], p["published_run_id"]) for p in listed] == [
        ("runs_test", 1, world.runs[-1].pk)
    ]
    detail = body(client.get("/api/policies/runs_test"))
    assert "name: runs_test" in detail["yaml"]
    assert [v["version"] for v in detail["versions"]] == [1]
    missing = client.get("/api/policies/nope")
    assert missing.status_code == 404
    assert body(missing)["code"] == "not_found"


def test_runs_list_and_unknown_run(world: World, api_as: ApiClient) -> None:
    client = api_as("rep_a")
    data = body(client.get("/api/runs", {"policy": "runs_test"}))
    assert [r["id"] for r in data["items"]] == [r.pk for r in reversed(world.runs)]
    assert data["items"][0]["status"] == "published"
    assert body(client.get("/api/runs", {"policy": "other"}))["count"] == 0
    assert body(client.get("/api/runs", {"status": "failed"}))["count"] == 0
    response = client.get("/api/runs/999999")
    assert response.status_code == 404
    assert body(response)["code"] == "not_found"


def _summary(data: dict[str, Any]) -> dict[str, dict[str | None, int]]:
    return {d["dimension"]: {x["label"]: x["count"] for x in d["labels"]} for d in data["summary"]}


def test_run_counts_are_narrowed_to_the_callers_customers(world: World, api_as: ApiClient) -> None:
    run = world.runs[-1]
    rep_a = body(api_as("rep_a").get(f"/api/runs/{run.pk}"))
    # February: A-1 600 (B), A-2 600 (B), A-3 300 (C); B-1's A never shows
    assert rep_a["counts"]["customers"] == 3
    assert rep_a["counts"]["results"] == 6
    assert _summary(rep_a)["value"] == {"A": 0, "B": 2, "C": 1, "D": 0}
    manager = body(api_as("mgr_east").get(f"/api/runs/{run.pk}"))
    assert manager["counts"]["customers"] == 5
    assert _summary(manager)["value"] == {"A": 0, "B": 3, "C": 2, "D": 0}
    rep_b = body(api_as("rep_b").get(f"/api/runs/{run.pk}"))
    assert _summary(rep_b)["value"] == {"A": 1, "B": 1, "C": 0, "D": 1}


def test_admin_run_counts_match_the_runs_own_summary(world: World, api_as: ApiClient) -> None:
    run = world.runs[-1]
    data = body(api_as("admin").get(f"/api/runs/{run.pk}"))
    stored = {
        d["dimension"]: {x["label"]: x["count"] for x in d["labels"]}
        for d in run.summary["dimensions"]
    }
    assert _summary(data) == stored
    assert data["counts"]["customers"] == len(world.customers)


def test_run_diff_movers_and_counts_are_narrowed_to_the_callers_customers(
    world: World, api_as: ApiClient
) -> None:
    run = world.runs[-1]
    rep_a = body(api_as("rep_a").get(f"/api/runs/{run.pk}/diff"))
    assert {(m["customer_id"], m["dimension"]) for m in rep_a["movers"]} == {("A-1", "value")}
    value = next(d for d in rep_a["dimensions"] if d["dimension"] == "value")
    assert (value["upgrades"], value["downgrades"], value["unchanged"]) == (0, 1, 2)
    assert sum(sum(row.values()) for row in value["matrix"].values()) == 3
    mover = rep_a["movers"][0]
    assert (mover["from_label"], mover["to_label"], mover["steps"]) == ("A", "B", -1)
    assert mover["why_before"]
    assert mover["why_after"]

    manager = body(api_as("mgr_east").get(f"/api/runs/{run.pk}/diff"))
    moved = {(m["customer_id"], m["from_label"], m["to_label"]) for m in manager["movers"]}
    assert moved == {("A-1", "A", "B"), ("A2-1", "A", "B"), ("A2-2", "D", "C")}

    rep_b = body(api_as("rep_b").get(f"/api/runs/{run.pk}/diff"))
    assert rep_b["movers"] == []
    assert rep_b["movers_total"] == 0
    value_b = next(d for d in rep_b["dimensions"] if d["dimension"] == "value")
    assert (value_b["upgrades"], value_b["downgrades"], value_b["unchanged"]) == (0, 0, 3)


def test_scoped_diff_of_an_administrator_equals_the_full_diff(world: World) -> None:
    """The two ways of computing a diff (DuckDB over whole runs; ORM over a user's rows)."""
    run = world.runs[-1]
    full = run_diff(run=run)
    scoped = scoped_diff(
        run=run, previous=world.runs[0], user=world.users["admin"], limit=1000, offset=0
    )
    assert scoped.dimensions == full.dimensions
    assert scoped.movers == full.movers
    assert scoped.movers_total == full.movers_total


def test_diff_pages_through_movers(world: World, api_as: ApiClient) -> None:
    run = world.runs[-1]
    client = api_as("mgr_east")
    everything = body(client.get(f"/api/runs/{run.pk}/diff"))["movers"]
    first = body(client.get(f"/api/runs/{run.pk}/diff", {"limit": 2}))
    second = body(client.get(f"/api/runs/{run.pk}/diff", {"limit": 2, "offset": 2}))
    assert first["movers"] + second["movers"] == everything
    assert first["movers_total"] == len(everything)


# --- overrides ------------------------------------------------------------------------------


def _override(customer: str = "A-1", label: str = "A", **extra: Any) -> dict[str, Any]:
    return {
        "policy": "runs_test",
        "customer": customer,
        "dimension": "value",
        "label": label,
        "reason": "战略客户",
        **extra,
    }


def _post(client: Client, payload: dict[str, Any]) -> Any:
    return client.post("/api/overrides", json.dumps(payload), content_type="application/json")


def test_manager_sets_and_revokes_an_override(world: World, api_as: ApiClient) -> None:
    client = api_as("mgr_east")
    response = _post(client, _override("A2-1", expires_on="2099-12-31"))
    assert response.status_code == 201, body(response)
    created = body(response)
    assert (created["customer"], created["label"], created["author"]) == ("A2-1", "A", "mgr_east")
    assert AuditEntry.objects.filter(
        action="override.created", actor="mgr_east", object_id=str(created["id"])
    ).exists()
    listed = body(client.get("/api/overrides", {"customer": "A2-1", "active": "true"}))
    assert [o["id"] for o in listed["items"]] == [created["id"]]

    revoked = client.delete(f"/api/overrides/{created['id']}?reason=ended")
    assert revoked.status_code == 200
    assert body(revoked)["revoked_at"] is not None
    again = client.delete(f"/api/overrides/{created['id']}")
    assert again.status_code == 409
    assert body(again)["code"] == "conflict"


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        (_override(label="Z"), "override.unknown_label"),
        ({**_override(), "dimension": "nope"}, "override.unknown_dimension"),
        (_override(reason=" "), "override.reason_required"),
        ({**_override(), "policy": "nope"}, "run.no_published_policy"),
    ],
)
def test_an_override_is_checked_against_the_dimension(
    api_as: ApiClient, payload: dict[str, Any], detail: str
) -> None:
    response = _post(api_as("admin"), payload)
    assert response.status_code == 400
    assert body(response)["code"] == "invalid"
    assert body(response)["detail"] == detail
    assert not Override.objects.exists()


def test_override_body_must_be_complete(api_as: ApiClient) -> None:
    response = _post(api_as("admin"), {"policy": "runs_test"})
    assert response.status_code == 422
    assert body(response)["code"] == "invalid"
    assert {tuple(e["loc"])[-1] for e in body(response)["errors"]} >= {"customer", "label"}


def test_reps_may_not_set_overrides(api_as: ApiClient) -> None:
    response = _post(api_as("rep_a"), _override("A-1"))
    assert response.status_code == 403
    assert body(response)["code"] == "forbidden"
    assert not Override.objects.exists()


def test_manager_cannot_touch_overrides_of_another_team(world: World, api_as: ApiClient) -> None:
    # given an override on rep_b's customer, set by the administrator
    made = body(_post(api_as("admin"), _override("B-1", label="B")))
    client = api_as("mgr_east")
    # then the manager can neither set one there, nor see, nor revoke that one
    response = _post(client, _override("B-1"))
    assert response.status_code == 404
    assert body(response)["code"] == "not_found"
    assert body(client.get("/api/overrides"))["count"] == 0
    assert body(client.get("/api/overrides", {"customer": "B-1"}))["items"] == []
    assert client.delete(f"/api/overrides/{made['id']}").status_code == 404
    assert Override.objects.get(pk=made["id"]).revoked_at is None


# --- authentication -------------------------------------------------------------------------


def test_token_use_is_recorded_and_unsafe_session_requests_need_a_token(
    world: World, client_as: Callable[[str], Client]
) -> None:
    new = token_create(user=world.users["admin"], name="sync")
    assert new.token.last_used_at is None
    assert Client(HTTP_AUTHORIZATION=f"Bearer {new.key}").get("/api/policies").status_code == 200
    assert ApiToken.objects.get(pk=new.token.pk).last_used_at is not None

    # a logged-in browser may read...
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.users["admin"])
    assert browser.get("/api/customers").status_code == 200
    # ...but a cross-site post is stopped by the CSRF check, and a same-site one needs a token
    response = _post(browser, _override())
    assert response.status_code == 403
    assert body(response)["code"] == "csrf_failed"
    browser.get("/tokens/")  # sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    response = browser.post(
        "/api/overrides",
        json.dumps(_override()),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 401
    assert body(response)["code"] == "token_required"
    assert not Override.objects.exists()


def test_the_key_is_stored_only_as_a_hash(world: World) -> None:
    new = token_create(user=world.users["rep_a"], name="x")
    stored = ApiToken.objects.get(pk=new.token.pk)
    assert stored.key_hash == key_hash(new.key)
    assert new.key not in json.dumps(list(ApiToken.objects.values()), default=str)
    assert new.key not in json.dumps(list(AuditEntry.objects.values("details")), default=str)
    assert stored.prefix == new.key[:8]


@override_settings(FENJI_API_AUTH_ATTEMPTS=3)
def test_failed_token_checks_are_throttled_per_address(world: World, api_as: ApiClient) -> None:
    bad = Client(HTTP_AUTHORIZATION="Bearer fjk_not-a-real-key")
    statuses = [bad.get("/api/customers").status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    assert AuditEntry.objects.filter(action="api.token_failed").count() == 3
    assert body(bad.get("/api/customers"))["code"] == "throttled"


def test_an_inactive_users_token_stops_working(world: World) -> None:
    user = world.users["rep_a2"]
    key = token_create(user=user, name="x").key
    user.is_active = False
    user.save(update_fields=["is_active"])
    response = Client(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/customers")
    assert response.status_code == 401


def test_a_user_without_a_role_is_forbidden(world: World) -> None:
    from django.contrib.auth import get_user_model

    nobody = get_user_model().objects.create_user(username="nobody", password="x-pass-123")
    key = token_create(user=nobody, name="x").key
    response = Client(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/customers")
    assert response.status_code == 403
    assert body(response)["code"] == "forbidden"


# --- documentation --------------------------------------------------------------------------


def test_openapi_document_describes_the_api(world: World) -> None:
    data = body(Client().get("/api/openapi.json"))
    assert data["info"]["title"] == "fenji API"
    assert data["info"]["version"] == "1"
    assert {"/api/customers", "/api/customers/{external_id}", "/api/runs/{run_id}/diff"} <= set(
        data["paths"]
    )
    schemes = data["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())


def test_docs_page_is_served_from_this_site_under_the_strict_csp(world: World) -> None:
    response = Client().get("/api/docs")
    assert response.status_code == 200
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    html = response.content.decode()
    assert "cdn" not in html.lower()
    assert "https://" not in html
    import re

    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert any(s.endswith("swagger-ui-bundle.js") for s in sources)
    for source in sources:
        assert source.startswith("/static/"), source
        assert Client().get(source).status_code == 200, source
    # scripts all come from files; the only inline block is JSON data, which is not run
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    assert inline
    assert all('type="application/json"' in attrs for attrs in inline)


# --- queries --------------------------------------------------------------------------------


@pytest.mark.parametrize("login", ["admin", "mgr_east", "rep_a"])
def test_queries_per_call_do_not_grow_with_rows(
    world: World, api_as: ApiClient, login: str, django_assert_max_num_queries: Any
) -> None:
    # given more customers than the page shows, with tags
    Customer.objects.bulk_create(
        Customer(external_id=f"A-9{n:02d}", name=f"批量{n}", owner="rep_a", tags=["重点"])
        for n in range(60)
    )
    client = api_as(login)
    client.get("/api/policies")  # the token's first use is recorded once
    run = world.runs[-1].pk
    calls = {
        "/api/customers": 5,
        "/api/customers?policy=runs_test&dimension=value&label=B&tag=重点": 6,
        "/api/customers?tag=重点&limit=500": 5,
        "/api/customers/A-1": 5,
        "/api/customers/A-1/history": 6,
        "/api/policies": 3,
        "/api/policies/runs_test": 4,
        "/api/runs": 4,
        f"/api/runs/{run}": 6,
        f"/api/runs/{run}/diff": 11,  # the movers' explanations are a query of their own
        "/api/overrides": 5,
    }
    for url, most in calls.items():
        with django_assert_max_num_queries(most):
            assert client.get(url).status_code == 200, url


# --- the API tokens page --------------------------------------------------------------------


@pytest.mark.parametrize("login", ["admin", "mgr_east", "rep_a"])
def test_every_role_creates_a_token_shown_once(
    world: World, client_as: Callable[[str], Client], login: str
) -> None:
    client = client_as(login)
    assert client.get("/tokens/").status_code == 200
    response = client.post("/tokens/", {"name": "月度同步", "lifetime": "30"})
    assert response.status_code == 200
    key = response.context["new"].key
    assert key in response.content.decode()
    token = ApiToken.objects.get(user=world.users[login])
    assert token.name == "月度同步"
    assert token.expires_at is not None
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    assert AuditEntry.objects.filter(
        action="token.created", actor=login, object_id=str(token.pk)
    ).exists()
    # the key works, and the page never shows it again
    assert Client(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/customers").status_code == 200
    again = client.get("/tokens/").content.decode()
    assert key not in again
    assert token.prefix in again


def test_token_page_lists_only_own_tokens(world: World, client_as: Callable[[str], Client]) -> None:
    token_create(user=world.users["rep_b"], name="rep_b secret job")
    token_create(user=world.users["rep_a"], name="rep_a job")
    page = client_as("rep_a").get("/tokens/").content.decode()
    assert "rep_a job" in page
    assert "rep_b secret job" not in page


def test_token_needs_a_name_and_a_known_lifetime(
    world: World, client_as: Callable[[str], Client]
) -> None:
    client = client_as("rep_a")
    response = client.post("/tokens/", {"name": "  ", "lifetime": "30"})
    assert response.status_code == 400
    assert response.context["error"]
    response = client.post("/tokens/", {"name": "x", "lifetime": "9999"})
    assert response.status_code == 400
    response = client.post("/tokens/", {"name": "x" * 101, "lifetime": "30"})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_revoking_a_token_stops_it_and_is_audited(
    world: World, client_as: Callable[[str], Client]
) -> None:
    new = token_create(user=world.users["rep_a"], name="job")
    response = client_as("rep_a").post(f"/tokens/{new.token.pk}/revoke/")
    assert response.status_code == 302
    assert ApiToken.objects.get(pk=new.token.pk).revoked_at is not None
    assert AuditEntry.objects.filter(action="token.revoked", object_id=str(new.token.pk)).exists()
    api = Client(HTTP_AUTHORIZATION=f"Bearer {new.key}")
    assert api.get("/api/customers").status_code == 401


def test_nobody_revokes_someone_elses_token(
    world: World, client_as: Callable[[str], Client]
) -> None:
    new = token_create(user=world.users["rep_b"], name="job")
    for login in ("rep_a", "admin"):
        assert client_as(login).post(f"/tokens/{new.token.pk}/revoke/").status_code == 404
    assert ApiToken.objects.get(pk=new.token.pk).revoked_at is None


def test_token_page_queries_are_pinned(
    world: World, client_as: Callable[[str], Client], django_assert_max_num_queries: Any
) -> None:
    client = client_as("rep_a")
    for n in range(12):
        token_create(user=world.users["rep_a"], name=f"job {n}")
    with django_assert_max_num_queries(6):
        assert client.get("/tokens/").status_code == 200


def test_unknown_api_paths_answer_json_404(world: World, api_as: ApiClient) -> None:
    response = api_as("rep_a").get("/api/no/such/thing")
    assert response.status_code == 404
    assert body(response)["code"] == "not_found"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


def test_why_a_run_failed_is_told_to_those_who_see_every_customer(
    world: World, api_as: ApiClient
) -> None:
    run = world.runs[0]
    EvaluationRun.objects.filter(pk=run.pk).update(error="customer B-1: amount 'x' is not a number")
    assert "B-1" in body(api_as("admin").get(f"/api/runs/{run.pk}"))["error"]
    for login in ("mgr_east", "rep_a"):
        data = body(api_as(login).get(f"/api/runs/{run.pk}"))
        assert data["error"]
        assert "B-1" not in data["error"]
