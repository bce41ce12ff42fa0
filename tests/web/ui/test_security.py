"""Security of the whole site: production settings, headers and the strict content security
policy on every page, CSRF on every kind of post, cookies, and the API's token checks."""

from __future__ import annotations

import json
import os
import re
import secrets
import string
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern
from django.utils import timezone

from fenji.web.api.models import ApiToken
from fenji.web.api.services import token_create

from ..ui_world import World

pytestmark = pytest.mark.django_db

FENJI = Path(sys.executable).with_name("fenji")
ClientAs = Callable[[str], Client]


# --- production settings --------------------------------------------------------------------


def _production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FENJI_", "DJANGO_")) and k != "DATABASE_URL"
    }
    env.update(
        FENJI_PRODUCTION="1",
        FENJI_ALLOWED_HOSTS="fenji.example.com",
        FENJI_DB=str(tmp_path / "fenji.sqlite3"),
        **extra,
    )
    return env


def _secret() -> str:
    alphabet = string.ascii_letters + string.digits + "!@#$%^&*(-_=+)"
    return "".join(secrets.choice(alphabet) for _ in range(60))


def test_deploy_check_is_clean_with_production_settings(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(FENJI), "manage", "check", "--deploy", "--fail-level", "WARNING"],
        env=_production_env(tmp_path, FENJI_SECRET_KEY=_secret()),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "secret",
    [None, "", "fenji-development-key-change-me-in-production", "short-and-guessable"],
)
def test_production_refuses_to_start_without_a_real_secret_key(
    tmp_path: Path, secret: str | None
) -> None:
    env = _production_env(tmp_path)
    if secret is not None:
        env["FENJI_SECRET_KEY"] = secret
    result = subprocess.run(
        [str(FENJI), "serve", "--no-migrate", "--port", "0"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "FENJI_SECRET_KEY" in result.stdout + result.stderr


# --- headers and the content security policy on every page ----------------------------------


def _samples(world: World) -> dict[str, Any]:
    """Values for URL parameters, by name (pages of one customer, run, policy, token)."""
    token = token_create(user=world.users["admin"], name="page sample").token
    run = world.runs[-1]
    return {
        "external_id": "A-1",
        "customer": "A-1",
        "customer_id": "A-1",
        "run_id": run.pk,
        "pk": run.pk,
        "id": run.pk,
        "other_id": world.runs[0].pk,
        "previous_id": world.runs[0].pk,
        "name": world.policy,
        "policy": world.policy,
        "version": 1,
        "dimension": "value",
        "label": "A",
        "token_id": token.pk,
    }


def _page_urls(samples: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(name, path) of every HTML route of the site, parameters filled from ``samples``."""

    def walk(
        patterns: list[URLPattern | URLResolver], prefix: str, namespace: str
    ) -> Iterator[tuple[str, str]]:
        for p in patterns:
            route = str(p.pattern)
            if isinstance(p, URLResolver):
                ns = p.namespace or namespace
                yield from walk(p.url_patterns, prefix + route, ns)
                continue
            path = prefix + route
            if isinstance(p.pattern, RegexPattern) or path.startswith(("api/", "static")):
                continue  # the API is JSON (tested below and in test_api.py)
            params = re.findall(r"<(?:(\w+):)?(\w+)>", path)
            filled = path
            for converter, name in params:
                value = samples.get(name, 1 if converter == "int" else "x")
                filled = re.sub(rf"<(?:\w+:)?{name}>", str(value), filled, count=1)
            yield f"{namespace}:{p.name}", "/" + filled

    yield from walk(get_resolver().url_patterns, "", "")


_TAG = re.compile(r"<([a-zA-Z][\w-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")


def _csp_violations(html: str) -> list[str]:
    """What the content security policy would block, or what relies on inline code."""
    found: list[str] = []
    for tag, attrs in _TAG.findall(html):
        lowered = tag.lower()
        names = re.findall(r"\s([\w:-]+)\s*=", attrs)
        if lowered == "script" and "src" not in names and 'type="application/json"' not in attrs:
            found.append(f"inline <script{attrs[:60]}>")
        if lowered == "style":
            found.append("<style> element")
        for name in names:
            if name.lower() == "style":
                found.append(f"style attribute on <{tag}>")
            if name.lower().startswith("on") or name.lower().startswith("hx-on"):
                found.append(f"{name} handler on <{tag}>")
        if "javascript:" in attrs.lower():
            found.append(f"javascript: URL on <{tag}>")
    return found


def _check_headers(response: Any, where: str) -> None:
    csp = response.headers.get("Content-Security-Policy", "")
    assert "script-src 'self'" in csp, where
    assert "style-src 'self'" in csp, where
    assert "unsafe-inline" not in csp, where
    assert "unsafe-eval" not in csp, where
    assert "frame-ancestors 'none'" in csp, where
    assert response.headers.get("X-Frame-Options") == "DENY", where
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where
    assert response.headers.get("Referrer-Policy") == "same-origin", where
    assert "camera=()" in response.headers.get("Permissions-Policy", ""), where


@pytest.mark.parametrize("login", ["admin", "rep_a"])
def test_every_page_has_the_headers_and_no_inline_code(
    world: World, client_as: ClientAs, login: str
) -> None:
    client = client_as(login)
    seen = 0
    for name, path in _page_urls(_samples(world)):
        response = client.get(path)
        where = f"{name} {path} -> {response.status_code}"
        assert response.status_code < 500, where
        _check_headers(response, where)
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            seen += 1
            assert _csp_violations(response.content.decode()) == [], where
            assert response.headers.get("Cache-Control") == "private, no-store", where
    assert seen >= 3  # at least login's neighbours: tokens, audit (admin) and whatever exists


def test_login_page_and_errors_carry_the_headers_too(world: World) -> None:
    anonymous = Client()
    for path in ("/login/", "/no-such-page/", "/api/customers", "/api/docs"):
        _check_headers(anonymous.get(path), path)
    assert _csp_violations(anonymous.get("/login/").content.decode()) == []


def test_the_violation_finder_finds_violations() -> None:
    html = (
        '<div style="color:red"><script>alert(1)</script><a onclick="x()" href="#">a</a>'
        '<button hx-on:click="y()">b</button><script src="/static/ui/fenji.js"></script>'
        '<script id="d" type="application/json">{}</script><a href="javascript:void(0)">c</a>'
    )
    assert len(_csp_violations(html)) == 5


# --- CSRF -----------------------------------------------------------------------------------


def _csrf_client(world: World, login: str) -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users[login])
    client.get("/tokens/")
    return client, client.cookies["csrftoken"].value


def test_posts_without_the_csrf_token_are_refused(world: World) -> None:
    client, _token = _csrf_client(world, "rep_a")
    plain = client.post("/tokens/", {"name": "x", "lifetime": "30"})
    htmx = client.post("/tokens/", {"name": "x", "lifetime": "30"}, headers={"HX-Request": "true"})
    logout = client.post("/logout/")
    assert (plain.status_code, htmx.status_code, logout.status_code) == (403, 403, 403)
    assert not ApiToken.objects.exists()


def test_htmx_posts_with_the_csrf_header_are_accepted(world: World) -> None:
    client, token = _csrf_client(world, "rep_a")
    response = client.post(
        "/tokens/",
        {"name": "x", "lifetime": "30"},
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert response.status_code == 200
    assert ApiToken.objects.filter(user=world.users["rep_a"]).count() == 1


def test_pages_carry_the_csrf_token_for_htmx(world: World, client_as: ClientAs) -> None:
    page = client_as("rep_a").get("/tokens/").content.decode()
    assert re.search(r'<meta name="csrf-token" content="[^"]{20,}">', page)


def test_session_and_csrf_cookies_are_httponly_and_samesite(world: World) -> None:
    client = Client()
    client.get("/login/")
    response = client.post("/login/", {"username": "rep_a", "password": "rep_a-pass"})
    assert response.status_code == 302
    session = response.cookies[settings.SESSION_COOKIE_NAME]
    assert session["httponly"] is True
    assert session["samesite"] == "Lax"
    csrf = client.cookies[settings.CSRF_COOKIE_NAME]
    assert csrf["httponly"] is True
    assert csrf["samesite"] == "Lax"


# --- the API's tokens -----------------------------------------------------------------------


def _api(key: str | None) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}") if key is not None else Client()


def _code(response: Any) -> tuple[int, str]:
    return response.status_code, json.loads(response.content)["code"]


def test_api_rejects_missing_invalid_revoked_and_expired_tokens(world: World) -> None:
    user = world.users["admin"]
    revoked = token_create(user=user, name="revoked")
    ApiToken.objects.filter(pk=revoked.token.pk).update(revoked_at=timezone.now())
    expired = token_create(user=user, name="expired", expires_at=timezone.now() + timedelta(1))
    ApiToken.objects.filter(pk=expired.token.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    valid = token_create(user=user, name="valid")
    tampered = valid.key[:-2] + ("AA" if not valid.key.endswith("AA") else "BB")
    for key in (None, "", "nonsense", "fjk_" + "x" * 43, tampered, revoked.key, expired.key):
        response = _api(key).get("/api/customers")
        assert _code(response) == (401, "unauthorized"), key
        assert "A-1" not in response.content.decode()
    basic = Client(HTTP_AUTHORIZATION=f"Basic {valid.key}").get("/api/customers")
    assert basic.status_code == 401
    assert _api(valid.key).get("/api/customers").status_code == 200


def test_a_reps_token_cannot_read_another_reps_customer_or_counts(world: World) -> None:
    client = _api(token_create(user=world.users["rep_a"], name="x").key)
    assert _code(client.get("/api/customers/B-1")) == (404, "not_found")
    assert _code(client.get("/api/customers/B-1/history")) == (404, "not_found")
    listed = json.loads(client.get("/api/customers", {"q": "B-"}).content)
    assert listed["count"] == 0
    run = json.loads(client.get(f"/api/runs/{world.runs[-1].pk}").content)
    assert run["counts"]["customers"] == len(world.ids_of("rep_a"))
    value = next(d for d in run["summary"] if d["dimension"] == "value")
    # rep_b's B-1 is the only customer graded A in February
    assert {x["label"]: x["count"] for x in value["labels"]}["A"] == 0
    diff = client.get(f"/api/runs/{world.runs[-1].pk}/diff").content.decode()
    assert "B-1" not in diff
    assert "B-2" not in diff
    assert "B-3" not in diff
