"""``fenji demo``: a whole demo company in the system of record, graded every month-end.

It creates the embedded SQLite database, generates a Chinese B2B supplier (about 2,000
customers over three years, two business lines, receivables, monthly targets, score events),
imports it through the same import service users have, publishes the shipped seed policies,
runs the month-end evaluations of the last 12 months for each, and prints the latest summary
with the biggest movements. Running it again changes nothing: the files are the same (the
generator is deterministic), the imports are idempotent, identical policy text is not a new
version, and months already evaluated with the published version are not evaluated again.
"""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path

from rich.console import Console

from fenji.engine.windows import add_months

AS_OF = date(2026, 10, 31)
MONTHS_OF_HISTORY = 36
RUN_MONTHS = 12


def run_system_demo(
    folder: Path, *, customers: int = 2000, lang: str = "zh", console: Console, top: int = 5
) -> Path:
    """Build (or reuse) the demo in ``folder``; returns the path of its database."""
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
    marker = data / f".generated-{customers}"
    if not marker.exists():
        from fenji.demo.generate import generate

        data.mkdir(parents=True, exist_ok=True)
        generate(data, customers=customers, months=MONTHS_OF_HISTORY, as_of=AS_OF, fmt="csv")
        marker.touch()
    from fenji.web.facts.services import import_folder

    reports = import_folder(directory=data, actor="demo", lang="zh" if zh else "en")
    for report in reports:
        console.print(
            f"{'导入' if zh else 'import'} {report.kind}: {report.rows} "
            f"({'新增' if zh else 'created'} {report.created}, "
            f"{'更新' if zh else 'updated'} {report.updated}, "
            f"{'未变' if zh else 'unchanged'} {report.unchanged})",
            highlight=False,
        )
    from fenji.shipped import shipped_policies
    from fenji.web.evaluations.models import EvaluationRun, RunStatus
    from fenji.web.evaluations.services import evaluation_run_series
    from fenji.web.policies.services import policy_publish_text

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
    from fenji.commands.run import print_run

    for run in latest:
        console.rule(run.policy.name)
        print_run(run, lang, top=top)
    console.print(
        f"{'数据库' if zh else 'database'}: {database}  ({time.perf_counter() - started:.1f}s)",
        highlight=False,
    )
    return database
