"""``fenji demo``: a whole demo company in the system of record, opened in the web UI.

It creates the embedded SQLite database, generates a Chinese B2B supplier (about 2,000
customers over three years, two business lines, receivables, monthly targets, score events,
and the last year's follow-ups and feedback), creates a user per role (an administrator, a
manager per sales region, the reps who own the customers), imports the data through the same
import service users have, publishes the shipped seed policies, runs the month-end evaluations
of the last 12 months for each, prints the latest summary with the biggest movements, and
serves the web UI on the database with the demo users listed on the login page. Running it
again changes nothing: the files are the same (the generator is deterministic), users are
created once, the imports are idempotent, identical policy text is not a new version, and
months already evaluated with the published version are not evaluated again.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from fenji.demo.users import (
    PASSWORD_SUFFIX,
    DemoUser,
    Passwords,
    demo_users,
    ensure_demo_users,
    owners_in,
)
from fenji.engine.windows import add_months

if TYPE_CHECKING:
    from fenji.web.evaluations.models import EvaluationRun

AS_OF = date(2026, 10, 31)
MONTHS_OF_HISTORY = 36
RUN_MONTHS = 12
#: Marks a data folder as complete for a number of customers; the suffix changes whenever the
#: generated tables do, so that an older demo folder is generated again.
_MARKER = ".generated-{customers}-crm"


@dataclass(frozen=True)
class SystemDemo:
    """The demo as built: its database, its users, and how long building it took."""

    database: Path
    users: list[DemoUser]
    seconds: float


def run_system_demo(
    folder: Path, *, customers: int = 2000, lang: str = "zh", console: Console, top: int = 5
) -> SystemDemo:
    """Build (or reuse) the demo in ``folder``: database, users, imports and month-end runs."""
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "fenji.sqlite3"
    if "DATABASE_URL" not in os.environ:
        os.environ["FENJI_DB"] = str(database)
    from fenji.web.setup import django_setup, migrate

    django_setup()
    migrate()
    zh = lang == "zh"
    started = time.perf_counter()
    data = folder / "data"
    marker = data / _MARKER.format(customers=customers)
    if not marker.exists():
        from fenji.demo.generate import generate

        data.mkdir(parents=True, exist_ok=True)
        generate(
            data, customers=customers, months=MONTHS_OF_HISTORY, as_of=AS_OF, fmt="csv", crm=True
        )
        marker.touch()
    # The reps must exist before their follow-ups are imported: a follow-up names its rep.
    users = demo_users(owners_in(data))
    created = ensure_demo_users(users)
    if created:
        console.print(f"{'新建用户' if zh else 'users created'}: {created}", highlight=False)
    passwords = Passwords(users)  # hashed while the data is imported and evaluated
    try:
        _import(data, lang=lang, console=console)
        latest = _evaluate(lang=lang, console=console)
        passwords.save()
    finally:
        passwords.cancel()
    from fenji.commands.run import print_run

    for run in latest:
        console.rule(run.policy.name)
        print_run(run, lang, top=top)
    seconds = time.perf_counter() - started
    console.print(
        f"{'数据库' if zh else 'database'}: {database}  ({seconds:.1f}s)",
        highlight=False,
    )
    return SystemDemo(database=database, users=users, seconds=seconds)


def _import(data: Path, *, lang: str, console: Console) -> None:
    from fenji.web.facts.services import import_folder

    zh = lang == "zh"
    reports = import_folder(directory=data, actor="demo", lang="zh" if zh else "en")
    for report in reports:
        console.print(
            f"{'导入' if zh else 'import'} {report.kind}: {report.rows} "
            f"({'新增' if zh else 'created'} {report.created}, "
            f"{'更新' if zh else 'updated'} {report.updated}, "
            f"{'未变' if zh else 'unchanged'} {report.unchanged})",
            highlight=False,
        )


def _evaluate(*, lang: str, console: Console) -> list[EvaluationRun]:
    """Publish the shipped policies and run the month-ends not yet evaluated with them; the
    latest published run of each policy."""
    from fenji.shipped import shipped_policies
    from fenji.web.evaluations.models import EvaluationRun, RunStatus
    from fenji.web.evaluations.services import evaluation_run_series
    from fenji.web.policies.services import policy_publish_text

    zh = lang == "zh"
    start = add_months(AS_OF, -(RUN_MONTHS - 1))  # a month-end: the 31st clamps
    latest: list[EvaluationRun] = []
    for path in shipped_policies():
        version = policy_publish_text(yaml_text=path.read_text(encoding="utf-8"), note="demo")
        done = EvaluationRun.objects.filter(
            policy_version=version,
            as_of__gte=start,
            as_of__lte=AS_OF,
            status__in=[RunStatus.PUBLISHED, RunStatus.SUPERSEDED],
        ).count()
        if done < RUN_MONTHS:
            runs = evaluation_run_series(
                policy=version.policy.name, start=start, end=AS_OF, lang=lang
            )
            console.print(
                f"{version.policy.name} v{version.version}: {len(runs)} "
                f"{'次月末评估' if zh else 'month-end runs'} {start} … {AS_OF}",
                highlight=False,
            )
        run = (
            EvaluationRun.objects.filter(policy_version=version, status=RunStatus.PUBLISHED)
            .order_by("-as_of")
            .first()
        )
        if run is not None:
            latest.append(run)
    return latest


def print_demo_users(users: list[DemoUser], *, lang: str, console: Console) -> None:
    """The demo's logins by sales region, and their password rule."""
    zh = lang == "zh"
    title = (
        f"演示用户（密码 = 登录名 + {PASSWORD_SUFFIX}，例如 admin{PASSWORD_SUFFIX}）"
        if zh
        else f"Demo users (password = login + {PASSWORD_SUFFIX}, e.g. admin{PASSWORD_SUFFIX})"
    )
    table = Table(title=title, title_justify="left")
    table.add_column("大区" if zh else "region")
    table.add_column("管理员 / 经理" if zh else "administrator / manager")
    table.add_column("销售代表（只看自己的客户）" if zh else "sales reps (see their own customers)")
    for user in users:
        if user.role == "admin":
            table.add_row("全部" if zh else "all", user.login, "")
    for user in users:
        if user.role == "manager":
            reps = [u.login for u in users if u.role == "rep" and u.team == user.team]
            table.add_row(user.team or "", user.login, ", ".join(reps))
    console.print(table)


def serve_demo(demo: SystemDemo, *, host: str, port: int, lang: str, console: Console) -> None:
    """Serve the web UI on the demo's database, its users listed on the login page; returns
    when the server is stopped (Ctrl+C)."""
    from django.conf import settings
    from django.db import connections

    logins = [u.login for u in demo.users]
    os.environ["FENJI_DEMO_USERS"] = ",".join(logins)
    settings.FENJI_DEMO_USERS = logins  # settings were read before the users were known
    if host not in settings.ALLOWED_HOSTS and host not in ("0.0.0.0", "::"):
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, host]
    connections.close_all()  # the server's threads open their own
    print_demo_users(demo.users, lang=lang, console=console)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    console.print(
        f"{'打开' if lang == 'zh' else 'open'} [bold]{url}[/bold]",
        highlight=False,
    )
    from fenji.commands.serve import serve

    serve(host=host, port=port, migrate=False)
