"""The shared parts of the UI: login (throttled and audited), headers, the visibility rule."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client, override_settings

from fenji.web.accounts.access import can, scope, visible_customers
from fenji.web.accounts.models import AuditEntry
from fenji.web.facts.models import Order

from ..ui_world import World

pytestmark = pytest.mark.django_db


def test_each_role_sees_exactly_its_customers(world: World) -> None:
    def seen(login: str) -> set[str]:
        return set(visible_customers(user=world.users[login]).values_list("external_id", flat=True))

    assert seen("admin") == set(world.customers)
    assert seen("mgr_east") == set(world.ids_of("rep_a")) | set(world.ids_of("rep_a2"))
    assert seen("rep_a") == set(world.ids_of("rep_a"))
    assert seen("rep_b") == set(world.ids_of("rep_b"))


def test_scope_narrows_facts_by_the_same_rule(world: World) -> None:
    orders = scope(Order.objects.all(), user=world.users["rep_b"])
    assert {o.customer.owner for o in orders.select_related("customer")} == {"rep_b"}


def test_a_user_without_a_role_sees_nothing(world: World) -> None:
    from django.contrib.auth import get_user_model

    nobody = get_user_model().objects.create_user(username="nobody", password="x-pass-123")
    assert not visible_customers(user=nobody).exists()
    assert not can(nobody, "customers.view")


def test_reps_may_not_publish_policies_or_read_the_audit_log(world: World) -> None:
    assert not can(world.users["rep_a"], "policy.publish")
    assert not can(world.users["rep_a"], "audit.view")
    assert can(world.users["admin"], "audit.view")


def test_login_page_is_chinese_by_default_with_security_headers(world: World) -> None:
    response = Client().get("/login/")
    assert response.status_code == 200
    assert "登录" in response.content.decode()
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_anonymous_users_are_sent_to_login(world: World) -> None:
    response = Client().get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login/")


def test_login_with_argon2_password_is_audited(world: World) -> None:
    client = Client()
    response = client.post("/login/", {"username": "rep_a", "password": "rep_a-pass"})
    assert response.status_code == 302
    assert world.users["rep_a"].password.startswith("argon2")
    assert AuditEntry.objects.filter(action="login", actor="rep_a").exists()


@override_settings(FENJI_LOGIN_ATTEMPTS=3)
def test_login_is_throttled_after_repeated_failures(world: World) -> None:
    client = Client()
    for _ in range(3):
        refused = client.post("/login/", {"username": "rep_a", "password": "wrong"})
        assert refused.status_code == 200
        assert "_auth_user_id" not in client.session
    # given three failures, even the right password is refused for a while
    response = client.post("/login/", {"username": "rep_a", "password": "rep_a-pass"})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert AuditEntry.objects.filter(action="login.failed").count() == 3


def test_login_form_needs_csrf(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "rep_a", "password": "rep_a-pass"})
    assert response.status_code == 403


def test_login_refuses_open_redirects(world: World) -> None:
    response = Client().post(
        "/login/", {"username": "rep_a", "password": "rep_a-pass", "next": "https://evil.example/"}
    )
    assert response.headers["Location"] == "/"


def test_logout_needs_post(client_as: Callable[[str], Client]) -> None:
    client = client_as("rep_a")
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302


def test_vendored_assets_are_served(world: World) -> None:
    for path in (
        "/static/vendor/htmx.org/htmx.min.js",
        "/static/vendor/echarts/echarts.min.js",
        "/static/ui/fenji.css",
        "/static/ui/fenji.js",
    ):
        response = Client().get(path)
        assert response.status_code == 200, path
