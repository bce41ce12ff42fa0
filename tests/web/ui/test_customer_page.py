"""The customer page: who may open it, what it shows (labels and why from the published run,
history, metrics, monthly revenue, orders, receivables, follow-ups), and the two things it
writes (follow-ups, overrides) — audited, validated, and never for a customer one may not see."""

from __future__ import annotations

import html
import re
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fenji.web.accounts.models import AuditEntry
from fenji.web.customers.models import Customer
from fenji.web.customers.profile import format_value
from fenji.web.evaluations.models import Override, RunCustomer, RunResult
from fenji.web.evaluations.selectors import published_run
from fenji.web.evaluations.services import evaluation_run_start, override_create
from fenji.web.facts.models import Interaction, Order, Receivable
from fenji.web.policies.services import policy_publish_text

from ..runs_support import MAR, POLICY_YAML
from ..ui_world import World
from .customer_page_support import HTMX, ClientAs, body, post_followup, url

pytestmark = pytest.mark.django_db


def label_rows(text: str) -> dict[tuple[str, str], dict[str, str]]:
    """The label rows of a page: (dimension, line) -> label, source, why and next tier."""
    rows: dict[tuple[str, str], dict[str, str]] = {}
    pattern = re.compile(
        r'data-testid="label-row" data-dimension="([^"]*)" data-line="([^"]*)" '
        r'data-label="([^"]*)" data-source="([^"]*)">(.*?)</tr>',
        re.S,
    )
    for dim, line, label, source, cells in pattern.findall(text):
        why = re.search(r'data-testid="label-why">(.*?)</div>', cells, re.S)
        gap = re.search(r'data-testid="label-gap">(.*?)</div>', cells, re.S)
        nxt = re.search(
            r'data-testid="label-next">\s*(?:<div[^>]*data-testid="label-next-from">[^<]*</div>'
            r'\s*)?<span class="badge[^"]*">([^<]*)<',
            cells,
        )
        rows[(dim, line)] = {
            "label": label,
            "source": source,
            "why": html.unescape(why.group(1)) if why else "",
            "gap": html.unescape(gap.group(1)) if gap else "",
            "next": nxt.group(1) if nxt else "",
            "cells": cells,
        }
    return rows


def post_override(client: Client, cid: str, **fields: str) -> object:
    data = {"target": "runs_test|value|", "label": "A", "reason": "战略客户，总部要求保级"}
    data.update(fields)
    return client.post(url(cid, "overrides/add/"), data, **HTMX)


# --- who may open what ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("login", "visible", "hidden"),
    [
        ("admin", ["A-1", "A2-1", "B-1"], []),
        ("mgr_east", ["A-1", "A2-1"], ["B-1"]),
        ("rep_a", ["A-1"], ["A2-1", "B-1"]),
        ("rep_b", ["B-1"], ["A-1", "A2-1"]),
    ],
)
def test_each_role_opens_exactly_the_customers_it_may_see(
    world: World, client_as: ClientAs, login: str, visible: list[str], hidden: list[str]
) -> None:
    client = client_as(login)
    for cid in visible:
        response = client.get(url(cid))
        assert response.status_code == 200, cid
        assert world.customers[cid].name in body(response)
    for cid in hidden:
        assert client.get(url(cid)).status_code == 404, cid


def test_unknown_customer_is_404_and_anonymous_users_are_sent_to_login(
    world: World, client_as: ClientAs
) -> None:
    assert client_as("admin").get(url("NO-SUCH")).status_code == 404
    response = Client().get(url("A-1"))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login/")


def test_a_user_without_a_role_is_refused(world: World) -> None:
    nobody = get_user_model().objects.create_user(username="nobody", password="x-pass-123")
    client = Client()
    client.force_login(nobody)
    assert client.get(url("A-1")).status_code == 403


def test_rep_a_reaches_nothing_of_rep_b_customer_through_any_address(
    world: World, client_as: ClientAs
) -> None:
    # given an override of B-1 made by the administrator
    override = override_create(
        policy=world.policy,
        customer="B-1",
        dimension="value",
        label="D",
        reason="信用风险",
        user=world.users["admin"],
    )
    interactions, overrides, audits = (
        Interaction.objects.count(),
        Override.objects.count(),
        AuditEntry.objects.count(),
    )
    client = client_as("rep_a")
    # when rep_a tries every page and form of B-1
    for part in ("", "orders/", "receivables/", "followups/", "overrides/form/"):
        assert client.get(url("B-1", part)).status_code == 404, part
    assert post_followup(client, "B-1").status_code == 404
    assert post_override(client, "B-1").status_code == 404
    revoke = client.post(url("B-1", f"overrides/{override.pk}/revoke/"), **HTMX)
    assert revoke.status_code == 404
    # then nothing was written
    assert Interaction.objects.count() == interactions
    assert Override.objects.count() == overrides
    assert AuditEntry.objects.count() == audits
    override.refresh_from_db()
    assert override.revoked_at is None


def test_an_override_of_another_customer_cannot_be_revoked_through_an_own_one(
    world: World, client_as: ClientAs
) -> None:
    other = override_create(
        policy=world.policy, customer="B-1", dimension="value", label="D", reason="风险"
    )
    response = client_as("mgr_east").post(url("A-1", f"overrides/{other.pk}/revoke/"), **HTMX)
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.revoked_at is None


def test_the_page_shows_nothing_of_other_customers(world: World, client_as: ClientAs) -> None:
    client = client_as("rep_a")
    text = body(client.get(url("A-1")))
    for cid in world.ids_of("rep_b") + world.ids_of("rep_a2") + ["A-2", "A-3"]:
        assert re.search(rf"\b{re.escape(cid)}\b", text) is None, cid
    assert "rep_b" not in text
    orders = body(client.get(url("A-1", "orders/") + "?page=1"))
    assert set(re.findall(r'data-order="([^"]+)"', orders)) == {
        o.external_id for o in Order.objects.filter(customer__external_id="A-1")
    }


def test_manager_sees_the_team_customers_and_may_override_them_but_not_others(
    world: World, client_as: ClientAs
) -> None:
    client = client_as("mgr_east")
    assert 'data-testid="override-form"' in body(client.get(url("A2-1")))
    assert post_override(client, "A2-1").status_code == 200
    assert Override.objects.filter(customer__external_id="A2-1").count() == 1
    assert post_override(client, "B-1").status_code == 404
    assert not Override.objects.filter(customer__external_id="B-1").exists()


# --- labels, history, metrics --------------------------------------------------------------


def test_labels_why_and_gap_are_those_of_the_published_run(
    world: World, client_as: ClientAs
) -> None:
    run = published_run(policy=world.policy)
    assert run is not None
    client = client_as("admin")
    for cid in world.customers:
        rows = label_rows(body(client.get(url(cid))))
        results = RunResult.objects.filter(run=run, customer__external_id=cid)
        assert {(r.dimension, "") for r in results} == set(rows), cid
        for result in results:
            shown = rows[(result.dimension, "")]
            assert shown["label"] == (result.label or "")
            assert shown["source"] == result.source
            assert shown["why"] == result.why
            assert shown["next"] == result.next_label
            if result.next_label and result.gap:
                # the gap of a bands dimension in its metric's unit (yuan here)
                assert format_value(result.gap, "yuan") in shown["gap"]
            else:
                assert shown["gap"] == ""


def test_a_held_label_shows_what_was_computed_and_how_long_it_is_held(
    world: World, client_as: ClientAs
) -> None:
    held = RunResult.objects.filter(
        run=published_run(policy=world.policy), source="held"
    ).select_related("customer")
    assert held, "the world has a label held by hysteresis"
    result = held[0]
    client = client_as("admin")
    client.cookies["fenji_language"] = "en"
    rows = label_rows(body(client.get(url(result.customer.external_id))))
    cells = rows[(result.dimension, "")]["cells"]
    assert 'data-testid="label-held"' in cells
    assert f">{result.computed_label}<" in cells
    assert f"The policy computed {result.computed_label}; {result.label} is held" in cells
    assert f"({result.held_runs} so far)" in cells
    # and the next tier is said to be the computed label's, not the held one's
    assert f"from the computed {result.computed_label}" in cells
    assert rows[(result.dimension, "")]["next"] == result.next_label
    computed = RunResult.objects.filter(run=result.run, source="computed").first()
    assert computed is not None
    shown = label_rows(body(client.get(url(computed.customer.external_id))))
    assert "label-next-from" not in shown[(computed.dimension, "")]["cells"]


def test_history_lists_each_change_with_its_why(world: World, client_as: ClientAs) -> None:
    text = body(client_as("admin").get(url("A-1")))
    changes = re.findall(
        r'data-testid="history-change" data-as-of="([^"]+)" data-label="([^"]*)" '
        r'data-previous="([^"]*)">.*?<div class="why small">(.*?)</div>',
        text,
        re.S,
    )
    # expected: per dimension, the runs where the label differs from the run before
    expected: set[tuple[str, str, str, str]] = set()
    by_dim: dict[str, list[RunResult]] = defaultdict(list)
    for r in (
        RunResult.objects.filter(customer__external_id="A-1")
        .select_related("run")
        .order_by("run__as_of")
    ):
        by_dim[r.dimension].append(r)
    for results in by_dim.values():
        previous = None
        for r in results:
            if r.label != previous:
                expected.add((r.run.as_of.isoformat(), r.label or "", previous or "", r.why))
            previous = r.label
    assert {(a, b, c, html.unescape(d)) for a, b, c, d in changes} == expected
    assert len(changes) > len(by_dim), "A-1 changed label at least once"


def test_metrics_of_the_published_run_are_titled_from_the_policy(
    world: World, client_as: ClientAs
) -> None:
    run = published_run(policy=world.policy)
    a1 = world.customers["A-1"]
    RunCustomer.objects.filter(run=run, customer=a1).delete()
    client = client_as("rep_a")
    # absent: an empty state that says when they come
    assert 'data-testid="metrics-empty"' in body(client.get(url("A-1")))
    # present: the title of the policy's metric and the value in its unit
    RunCustomer.objects.create(
        run=run, customer=a1, revenue=Decimal("600"), metrics={"sales_m": "612345.5000"}
    )
    text = body(client.get(url("A-1")))
    row = re.search(r'data-metric="sales_m">(.*?)</tr>', text, re.S)
    assert row is not None
    assert "当月销售额" in row.group(1)
    assert "61.23万元" in row.group(1)
    english = client_as("rep_a")
    english.cookies["fenji_language"] = "en"
    assert "sales in the month" in body(english.get(url("A-1")))


def test_metrics_written_by_runs_show_on_the_page(world: World, client_as: ClientAs) -> None:
    # given the metric values the published run recorded for A-1
    row = RunCustomer.objects.get(
        run=published_run(policy=world.policy), customer=world.customers["A-1"]
    )
    assert row.metrics
    # then each shows, titled and in its unit
    text = body(client_as("rep_a").get(url("A-1")))
    for name, value in row.metrics.items():
        shown = re.search(rf'data-metric="{name}">(.*?)</tr>', text, re.S)
        assert shown is not None, name
        assert format_value(value, "yuan") in shown.group(1)


def test_a_policy_published_but_not_run_yet_says_so(world: World, client_as: ClientAs) -> None:
    policy_publish_text(yaml_text=POLICY_YAML.replace("name: runs_test", "name: runs_later"))
    text = body(client_as("rep_a").get(url("A-1")))
    block = text.split('data-policy="runs_later"', 1)[1]
    assert 'data-testid="labels-no-run"' in block.split('data-testid="policy-labels"')[0]


RULES_YAML = """\
fenji: 1
name: rules_test
title: {zh: 规则测试, en: rules test}
metrics:
  orders_all:
    title: {zh: 累计订单数, en: orders in all}
    agg: count
    from: orders
    window: all
    unit: count
dimensions:
  activity:
    title: {zh: 活跃度, en: activity}
    method: rules
    rules:
      - {label: active, when: "orders_all >= 4"}
      - {label: some, when: "orders_all >= 2"}
    default: none
"""


def test_every_published_policy_shows_and_a_rule_gap_is_the_next_condition(
    world: World, client_as: ClientAs
) -> None:
    # given a second policy, graded by rules, run at the end of February
    policy_publish_text(yaml_text=RULES_YAML)
    run = evaluation_run_start(policy="rules_test", as_of=date(2026, 2, 28))
    result = RunResult.objects.get(run=run, customer__external_id="A-1", dimension="activity")
    assert (result.label, result.next_label) == ("some", "active")
    # then both policies show, and the gap of the rules dimension is the condition to meet
    text = body(client_as("rep_a").get(url("A-1")))
    policies = re.findall(r'data-testid="policy-labels" data-policy="([^"]+)"', text)
    assert policies == ["rules_test", "runs_test"]
    block = text.split('data-policy="rules_test"', 1)[1]
    row = label_rows(block)[("activity", "")]
    assert (row["label"], row["next"], row["why"]) == ("some", "active", result.why)
    assert f"<code>{html.escape(result.gap)}</code>" in row["cells"]
    assert 'data-metric="orders_all"' in text


# --- overrides -----------------------------------------------------------------------------


def test_override_is_audited_and_takes_effect_at_the_next_run(
    world: World, client_as: ClientAs
) -> None:
    client = client_as("admin")
    before = label_rows(body(client.get(url("A-1"))))[("value", "")]
    expires = timezone.localdate() + timedelta(days=90)
    # when an override is saved
    response = post_override(client, "A-1", label="A", expires_on=expires.isoformat())
    assert response.status_code == 200
    override = Override.objects.get(customer__external_id="A-1")
    assert (override.label, override.author, override.expires_on) == (
        "A",
        world.users["admin"],
        expires,
    )
    entry = AuditEntry.objects.get(action="override.created", object_id=str(override.pk))
    assert entry.actor == "admin"
    assert entry.details["reason"] == "战略客户，总部要求保级"
    # then the answer says when it applies, and the current label is unchanged until then
    text = body(response)
    assert 'data-testid="labels-notice"' in text
    run = published_run(policy=world.policy)
    assert run is not None
    assert run.as_of.isoformat() in text.split('data-testid="labels-notice"')[1].split("</div>")[0]
    now = label_rows(text)[("value", "")]
    assert (now["label"], now["source"]) == (before["label"], before["source"])
    assert 'data-testid="label-pending"' in now["cells"]
    assert f'data-override="{override.pk}"' in text
    # when the next run is made, the label is the override's, with the computed one beside it
    evaluation_run_start(policy=world.policy, as_of=MAR)
    applied = RunResult.objects.get(
        run=published_run(policy=world.policy), customer__external_id="A-1", dimension="value"
    )
    text = body(client.get(url("A-1")))
    row = label_rows(text)[("value", "")]
    assert (row["label"], row["source"]) == ("A", "override")
    assert 'data-testid="label-override"' in row["cells"]
    assert f">{applied.computed_label}<" in row["cells"]
    assert 'data-testid="label-next-from"' in row["cells"]
    assert "战略客户，总部要求保级" in row["cells"]
    assert "admin" in row["cells"]
    assert expires.isoformat() in row["cells"]
    assert 'data-testid="revoke"' in row["cells"]
    assert f'data-override="{override.pk}"' not in text  # no longer waiting
    # when it is revoked, the published run keeps showing it until the next run
    client.cookies["fenji_language"] = "en"
    response = client.post(url("A-1", f"overrides/{override.pk}/revoke/"), **HTMX)
    text = body(response)
    assert "the next evaluation run gives the computed label again" in text
    row = label_rows(text)[("value", "")]
    assert (row["label"], row["source"]) == ("A", "override")
    assert "revoked on" in row["cells"]
    assert 'data-testid="revoke"' not in row["cells"]


def test_override_can_be_revoked_and_the_revocation_is_audited(
    world: World, client_as: ClientAs
) -> None:
    override = override_create(
        policy=world.policy,
        customer="A2-1",
        dimension="steady",
        label="A",
        reason="重点扶持",
        user=world.users["mgr_east"],
    )
    client = client_as("mgr_east")
    client.cookies["fenji_language"] = "en"
    response = client.post(url("A2-1", f"overrides/{override.pk}/revoke/"), **HTMX)
    assert response.status_code == 200
    assert "revoked before any run applied it" in body(response)
    override.refresh_from_db()
    assert override.revoked_at is not None
    assert AuditEntry.objects.filter(
        action="override.revoked", object_id=str(override.pk), actor="mgr_east"
    ).exists()
    assert f'data-override="{override.pk}"' not in body(response)
    assert 'data-testid="labels-notice"' in body(response)
    # revoking twice says so and changes nothing
    again = client.post(url("A2-1", f"overrides/{override.pk}/revoke/"), **HTMX)
    assert again.status_code == 200
    assert AuditEntry.objects.filter(action="override.revoked").count() == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"reason": "   "}, "reason"),
        ({"reason": ""}, "reason"),
        ({"expires_on": "2020-01-01"}, "expires_on"),
        ({"expires_on": "today"}, "expires_on"),
        ({"label": "Z"}, "label"),
        ({"target": "runs_test|nothing|"}, "target"),
        ({"expires_on": "not a date"}, "expires_on"),
    ],
)
def test_a_bad_override_is_refused_beside_the_field_and_writes_nothing(
    world: World, client_as: ClientAs, fields: dict[str, str], field: str
) -> None:
    if fields.get("expires_on") == "today":
        fields = {"expires_on": timezone.localdate().isoformat()}
    response = post_override(client_as("admin"), "A-1", **fields)
    assert response.status_code == 200
    text = body(response)
    form = text.split('data-testid="override-form"', 1)[1]
    errors = re.findall(rf'id="override_{field}".*?<ul class="errorlist[^"]*"', form, re.S)
    assert errors or (field == "target" and 'class="errorlist' in form), text
    assert not Override.objects.exists()
    assert not AuditEntry.objects.filter(action="override.created").exists()


def test_without_htmx_a_bad_override_shows_the_page_with_the_error(
    world: World, client_as: ClientAs
) -> None:
    response = client_as("admin").post(
        url("A-1", "overrides/add/"), {"target": "runs_test|value|", "label": "A", "reason": ""}
    )
    assert response.status_code == 400
    assert 'class="errorlist' in body(response)
    assert 'data-testid="profile"' in body(response)


def test_reps_see_overrides_but_cannot_make_or_revoke_them(
    world: World, client_as: ClientAs
) -> None:
    override = override_create(
        policy=world.policy, customer="A-1", dimension="value", label="A", reason="保级"
    )
    client = client_as("rep_a")
    text = body(client.get(url("A-1")))
    assert f'data-override="{override.pk}"' in text
    assert 'data-testid="override-form"' not in text
    assert 'data-testid="revoke"' not in text
    assert client.get(url("A-1", "overrides/form/")).status_code == 403
    assert post_override(client, "A-1").status_code == 403
    assert client.post(url("A-1", f"overrides/{override.pk}/revoke/"), **HTMX).status_code == 403
    assert Override.objects.count() == 1
    override.refresh_from_db()
    assert override.revoked_at is None


def test_the_override_form_offers_the_labels_of_the_chosen_dimension(
    world: World, client_as: ClientAs
) -> None:
    later = POLICY_YAML.replace("name: runs_test", "name: stars_later").replace(
        "{label: A, min: 1000}", "{label: S, min: 2000}\n      - {label: A, min: 1000}", 1
    )
    policy_publish_text(yaml_text=later)
    response = client_as("admin").get(
        url("A-1", "overrides/form/") + "?target=stars_later|value|", **HTMX
    )
    assert response.status_code == 200
    form = body(response)
    label_select = form.split('name="label"', 1)[1].split("</select>", 1)[0]
    assert re.findall(r'<option value="([^"]+)"', label_select) == ["S", "A", "B", "C", "D"]
    assert '<option value="stars_later|value|" selected>' in form


# --- addresses, language, queries ----------------------------------------------------------


def test_external_ids_with_chinese_and_hyphens_work(world: World, client_as: ClientAs) -> None:
    Customer.objects.create(external_id="华东-客户-007", name="华东七号", owner="rep_a")
    client = client_as("rep_a")
    assert client.get("/customers/华东-客户-007/").status_code == 200
    response = post_followup(client, "华东-客户-007")
    assert response.status_code == 200
    assert Interaction.objects.filter(customer__external_id="华东-客户-007").count() == 1
    assert client_as("rep_b").get("/customers/华东-客户-007/").status_code == 404


def test_the_page_is_chinese_by_default_and_english_on_request(
    world: World, client_as: ClientAs
) -> None:
    client = client_as("rep_a")
    text = body(client.get(url("A-1")))
    assert "当前标签" in text
    assert "跟进记录" in text
    client.cookies["fenji_language"] = "en"
    text = body(client.get(url("A-1")))
    assert "Current labels" in text
    assert "Follow-ups" in text


def test_the_page_has_no_inline_script_or_style(world: World, client_as: ClientAs) -> None:
    text = body(client_as("admin").get(url("A-1")))
    assert "style=" not in text
    for tag in re.findall(r"<script[^>]*>", text):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert not re.search(r"<[^>]+\son[a-z]+=", text)
    assert "hx-on" not in text


def _count_queries(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


@pytest.mark.parametrize("login", ["admin", "mgr_east", "rep_a"])
def test_queries_are_pinned_and_do_not_grow_with_orders_or_runs(
    world: World,
    client_as: ClientAs,
    login: str,
    django_assert_max_num_queries: Callable[[int], object],
) -> None:
    client = client_as(login)
    client.get(url("A-1"))  # sessions and caches warm
    with django_assert_max_num_queries(20):  # type: ignore[operator]
        assert client.get(url("A-1")).status_code == 200
    before = _count_queries(client, url("A-1"))
    # given many more orders, receivables, follow-ups, another run, and another policy
    a1 = world.customers["A-1"]
    Order.objects.bulk_create(
        [
            Order(
                external_id=f"Q-{i}",
                customer=a1,
                order_date=date(2025, 1, 1) + timedelta(i),
                amount=Decimal(100 + i),
            )
            for i in range(300)
        ]
    )
    Receivable.objects.bulk_create(
        [
            Receivable(
                external_id=f"QR-{i}",
                customer=a1,
                due_date=date(2025, 1, 1) + timedelta(i),
                amount=Decimal(10),
            )
            for i in range(40)
        ]
    )
    Interaction.objects.bulk_create(
        [
            Interaction(customer=a1, kind="call", happened_on=date(2025, 1, 1) + timedelta(i))
            for i in range(40)
        ]
    )
    override_create(policy=world.policy, customer="A-1", dimension="value", label="A", reason="x")
    evaluation_run_start(policy=world.policy, as_of=MAR)
    policy_publish_text(yaml_text=RULES_YAML)
    evaluation_run_start(policy="rules_test", as_of=MAR)
    assert _count_queries(client, url("A-1")) == before
    for part in ("orders/", "receivables/", "followups/"):
        with django_assert_max_num_queries(8):  # type: ignore[operator]
            assert client.get(url("A-1", part) + "?page=2", **HTMX).status_code == 200
