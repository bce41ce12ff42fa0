"""``fenji demo`` builds a graded company in its own database, with a user per role, and a
second run duplicates nothing (the README's main command must be safe to run twice); the web
UI then serves that database with the demo users on the login page.

The demo is built once for the module (and once for all test workers: the first to get there
builds it, the others wait), since a build takes a good part of a minute.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth.hashers import check_password

from fenji.demo import vocabulary as vocab
from fenji.demo.users import Passwords, demo_users, ensure_demo_users
from fenji.shipped import shipped_policies

CUSTOMERS = 120
BUILD_TIMEOUT = 1200

COUNTS = {
    "customers": "SELECT COUNT(*) FROM customers_customer",
    "orders": "SELECT COUNT(*) FROM facts_order",
    "interactions": "SELECT COUNT(*) FROM facts_interaction",
    "feedback": "SELECT COUNT(*) FROM facts_feedback",
    "users": "SELECT COUNT(*) FROM auth_user",
    "teams": "SELECT COUNT(*) FROM accounts_team",
    "versions": "SELECT COUNT(*) FROM policies_policyversion",
    "runs": "SELECT COUNT(*) FROM evaluations_evaluationrun",
    "published": "SELECT COUNT(*) FROM evaluations_publication",
}


def clean_env() -> dict[str, str]:
    """The environment without the test run's database, so the demo uses its own file."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "FENJI_DB")}
    env["COLUMNS"] = "200"
    return env


def demo(folder: Path) -> str:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "fenji.cli",
            "demo",
            "--dir",
            str(folder),
            "--customers",
            str(CUSTOMERS),
            "--no-serve",
        ],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run.stdout


def query(db: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def counts(db: Path) -> dict[str, int]:
    return {k: int(query(db, q)[0][0]) for k, q in COUNTS.items()}  # type: ignore[call-overload]


@dataclass(frozen=True)
class Built:
    folder: Path
    output: str  # of the first run
    counts: dict[str, int]  # after the first run

    @property
    def db(self) -> Path:
        return self.folder / "fenji.sqlite3"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The demo of 120 customers, built by the first worker that needs it."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by the workers of this test run
    folder, done = root / "fenji-demo", root / "fenji-demo.json"
    try:
        os.close(os.open(root / "fenji-demo.lock", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        deadline = time.monotonic() + BUILD_TIMEOUT + 120  # the builder's limit, and a margin
        while not done.exists():
            assert time.monotonic() < deadline, "the demo was not built in time"
            time.sleep(1)
    else:
        try:
            output = demo(folder)
            result = {"output": output, "counts": counts(folder / "fenji.sqlite3")}
        except BaseException as err:
            result = {"error": repr(err)}
            raise
        finally:
            partial = done.with_suffix(".partial")
            partial.write_text(json.dumps(result), encoding="utf-8")
            partial.replace(done)
    result = json.loads(done.read_text(encoding="utf-8"))
    assert "error" not in result, result.get("error")
    return Built(folder=folder, output=result["output"], counts=result["counts"])


def test_demo_grades_a_year_of_month_ends_and_is_idempotent(built: Built) -> None:
    after_first = built.counts
    assert after_first["customers"] == CUSTOMERS
    shipped = len(shipped_policies())
    assert after_first["published"] == shipped
    assert after_first["runs"] == shipped * 12
    assert after_first["interactions"] > CUSTOMERS
    assert after_first["feedback"] > 0
    assert "tob_abcd" in built.output

    second = demo(built.folder)

    assert counts(built.db) == after_first
    created = [int(n) for n in re.findall(r"新增 (\d+)", second)]
    assert len(created) == 7  # customers, four facts, follow-ups, feedback
    assert not any(created)
    assert "新建用户" not in second
    assert "admin-demo" in second  # the users and their password rule are printed


def test_demo_users_have_their_role_and_region_and_each_rep_owns_customers(
    built: Built,
) -> None:
    users = {
        login: (role, team, password)
        for login, role, team, password in query(
            built.db,
            "SELECT u.username, m.role, t.name, u.password FROM auth_user u "
            "JOIN accounts_membership m ON m.user_id = u.id "
            "LEFT JOIN accounts_team t ON t.id = m.team_id",
        )
    }
    owners = {
        owner: int(n)  # type: ignore[call-overload]
        for owner, n in query(
            built.db, "SELECT owner, COUNT(*) FROM customers_customer GROUP BY owner"
        )
    }
    assert len(users) == built.counts["users"]  # every user has a membership

    # one administrator, a manager per sales region
    assert users["admin"][:2] == ("admin", None)
    managers = {login: team for login, (role, team, _) in users.items() if role == "manager"}
    assert managers == {manager: team for team, manager, _ in vocab.TEAMS}
    # the reps are exactly the customers' owners, each owning customers of its region only
    reps = {login: team for login, (role, team, _) in users.items() if role == "rep"}
    assert set(reps) == set(owners)
    assert all(owners[rep] > 0 for rep in reps)
    region_team = {p: team for team, _, provinces in vocab.TEAMS for p in provinces}
    for owner, region in query(built.db, "SELECT owner, region FROM customers_customer"):
        assert region_team[region] == reps[owner], (owner, region)
    # passwords are the login + "-demo", hashed with Argon2
    for login in ("admin", "manager_east", sorted(reps)[0]):
        encoded = str(users[login][2])
        assert encoded.startswith("argon2$")
        assert check_password(f"{login}-demo", encoded)
        assert not check_password(login, encoded)
    # every follow-up is by the customer's own rep
    mismatched = query(
        built.db,
        "SELECT COUNT(*) FROM facts_interaction i JOIN customers_customer c ON c.id = "
        "i.customer_id LEFT JOIN auth_user u ON u.id = i.user_id "
        "WHERE u.username IS NULL OR u.username <> c.owner",
    )
    assert mismatched == [(0,)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace")


@pytest.fixture
def server(built: Built, tmp_path: Path) -> Iterator[str]:
    """``fenji serve`` on the demo database, as ``fenji demo`` starts it, on a free port."""
    port = free_port()
    env = clean_env()
    env["FENJI_DB"] = str(built.db)
    env["FENJI_DEMO_USERS"] = "admin,manager_east,li.na"
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "fenji.cli", "serve", "--port", str(port), "--no-migrate"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, log.read_text(encoding="utf-8")[-3000:]
            try:
                if get(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.5)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_web_ui_serves_the_demo_with_its_users_on_the_login_page(server: str) -> None:
    status, page = get(f"{server}/login/")

    assert status == 200
    listed = re.search(r'data-testid="demo-users">(.*?)</div>', page, re.S)
    assert listed is not None
    assert re.findall(r"<code>([^<]+)</code>", listed.group(1)) == [
        "admin",
        "manager_east",
        "li.na",
    ]
    # and a demo user logs in with the password the demo prints
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    form = browser.open(f"{server}/login/", timeout=10).read().decode("utf-8")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    assert token is not None
    fields = {
        "csrfmiddlewaretoken": token.group(1),
        "username": "manager_east",
        "password": "manager_east-demo",
    }
    with browser.open(
        f"{server}/login/", data=urllib.parse.urlencode(fields).encode(), timeout=30
    ) as landed:
        assert landed.status == 200
        assert "/login/" not in landed.url


@pytest.mark.django_db
def test_demo_users_are_created_once_and_keep_a_password_someone_changed() -> None:
    from django.contrib.auth import get_user_model

    from fenji.web.accounts.models import Membership, Role

    users = demo_users(["li.na"])
    assert [(u.login, u.role, u.team) for u in users] == [
        ("admin", "admin", None),
        *((manager, "manager", team) for team, manager, _ in vocab.TEAMS),
        ("li.na", "rep", "华东大区"),
    ]

    assert ensure_demo_users(users) == len(users)
    model = get_user_model()
    assert not any(u.has_usable_password() for u in model.objects.all())  # until hashed
    assert Passwords(users).save() == len(users)
    rep = model.objects.get(username="li.na")
    assert rep.check_password("li.na-demo")
    # when someone changes the rep's password and role, and the demo runs again
    rep.set_password("a-password-of-her-own")
    rep.save()
    Membership.objects.filter(user=rep).update(role=Role.MANAGER, team=None)
    assert ensure_demo_users(users) == 0
    assert Passwords(users).save() == 0

    # then the password stays hers, and the demo's company is the one described again
    rep.refresh_from_db()
    assert rep.check_password("a-password-of-her-own")
    membership = Membership.objects.select_related("team").get(user=rep)
    assert (membership.role, membership.team.name if membership.team else None) == (
        Role.REP,
        "华东大区",
    )
    assert model.objects.count() == len(users)
