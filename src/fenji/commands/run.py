"""``fenji run``: evaluation runs of the system of record; ``fenji policy publish``.

``fenji run --policy NAME --as-of D`` evaluates the published policy over the database's facts,
publishes the run and prints its summary and what changed since the previous run (upgrades,
downgrades, the biggest movements, each with both explanations). ``--from D1 --to D2`` runs every
month-end in between, oldest first, building the history in one command.

A thin shell around :mod:`fenji.web.evaluations.services`; Django is imported inside the
commands only.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from fenji.engine.summary import Summary
    from fenji.web.evaluations.diff import RunDiff
    from fenji.web.evaluations.models import EvaluationRun

console = Console()
err_console = Console(stderr=True, soft_wrap=True)

_WORDS: Final[dict[str, dict[str, str]]] = {
    "zh": {
        "starting": "准备",
        "reading": "读取数据",
        "evaluating": "评估",
        "applying": "防抖与人工调整",
        "writing": "写入结果",
        "publishing": "发布",
        "published": "已发布",
        "run": "评估批次",
        "diff": "与上一批次相比",
        "first": "首次评估，没有可比较的上一批次",
        "dimension": "维度",
        "up": "升级",
        "down": "降级",
        "same": "不变",
        "new": "新增",
        "gone": "移出",
        "movers": "变动最大的客户",
        "customer": "客户",
        "from": "原",
        "to": "现",
        "why_before": "原因（上次）",
        "why_after": "原因（本次）",
        "more": "另有 {n} 条变动未列出",
        "held": "防抖保留",
        "overridden": "人工调整",
        "published_policy": "已发布",
        "unchanged_policy": "与已发布版本相同，未新建版本",
        "seconds": "用时",
    },
    "en": {
        "starting": "starting",
        "reading": "reading data",
        "evaluating": "evaluating",
        "applying": "hysteresis and overrides",
        "writing": "writing results",
        "publishing": "publishing",
        "published": "published",
        "run": "run",
        "diff": "changes since the previous run",
        "first": "first run: no previous run to compare with",
        "dimension": "dimension",
        "up": "upgrades",
        "down": "downgrades",
        "same": "unchanged",
        "new": "new",
        "gone": "left",
        "movers": "biggest movements",
        "customer": "customer",
        "from": "from",
        "to": "to",
        "why_before": "why (before)",
        "why_after": "why (now)",
        "more": "{n} more changes not listed",
        "held": "held by hysteresis",
        "overridden": "overridden",
        "published_policy": "published",
        "unchanged_policy": "same as the published version; no new version",
        "seconds": "in",
    },
}

Lang = Annotated[str, typer.Option("--lang", help="zh (default) or en")]


def _words(lang: str) -> dict[str, str]:
    return _WORDS["en" if lang == "en" else "zh"]


def _fail(message: str, code: int = 1) -> None:
    err_console.print(f"[bold red]error:[/bold red] {message}", highlight=False)
    raise typer.Exit(code)


def _date(text: str | None, option: str) -> date | None:
    from fenji.dates import parse_as_of

    if text is None:
        return None
    try:
        return parse_as_of(text)
    except ValueError as err:
        _fail(f"{option}: {err}", 2)
    raise AssertionError  # pragma: no cover


def summary_from_dict(data: dict[str, Any]) -> Summary:
    """The engine's summary back from a run's stored JSON (decimals were kept as text)."""
    from fenji.engine.summary import DimensionSummary, LabelStat, ParetoFigures, Summary

    def dec(v: Any) -> Decimal | None:
        return None if v is None else Decimal(str(v))

    dims = [
        DimensionSummary(
            dimension=d["dimension"],
            title=d["title"],
            labels=[
                LabelStat(
                    label=s["label"],
                    title=s["title"],
                    count=s["count"],
                    share=s["share"],
                    revenue=dec(s.get("revenue")),
                    revenue_share=s.get("revenue_share"),
                )
                for s in d["labels"]
            ],
        )
        for d in data.get("dimensions", [])
    ]
    p = data.get("pareto")
    pareto = (
        ParetoFigures(**{**p, "total_revenue": dec(p["total_revenue"]) or Decimal(0)})
        if p
        else None
    )
    return Summary(
        policy=data.get("policy", ""),
        as_of=data.get("as_of", ""),
        rows=data.get("rows", 0),
        dimensions=dims,
        pareto=pareto,
        revenue_metric=data.get("revenue_metric"),
    )


def print_diff(diff: RunDiff, lang: str, *, top: int) -> None:
    """Upgrades and downgrades per dimension, then the biggest movements with both whys."""
    w = _words(lang)
    if diff.previous_id is None:
        console.print(w["first"], style="dim")
        return
    console.print(
        f"[bold]{w['diff']}[/bold] (#{diff.previous_id} @ {diff.previous_as_of} → "
        f"#{diff.run_id} @ {diff.as_of})"
    )
    table = Table(title_justify="left")
    for name in ("dimension", "up", "down", "same", "new", "gone"):
        table.add_column(w[name], justify="left" if name == "dimension" else "right")
    for d in diff.dimensions:
        table.add_row(
            f"{d.title} ({d.dimension})",
            f"[green]{d.upgrades}[/green]",
            f"[red]{d.downgrades}[/red]",
            str(d.unchanged),
            str(d.entered),
            str(d.left),
        )
    console.print(table)
    if not diff.movers:
        return
    movers = Table(title=w["movers"], title_justify="left", show_lines=True)
    for name in ("customer", "dimension", "from", "to", "why_before", "why_after"):
        movers.add_column(w[name], overflow="fold")
    for m in diff.movers[:top]:
        who = f"{m.customer_id} {m.customer_name}".strip()
        if m.business_line:
            who += f" / {m.business_line}"
        colour = "green" if (m.steps or 0) > 0 else "red"
        movers.add_row(
            who,
            m.dimension,
            m.from_label,
            f"[{colour}]{m.to_label}[/{colour}]",
            m.why_before,
            m.why_after + (f" [{m.source_after}]" if m.source_after != "computed" else ""),
        )
    console.print(movers)
    rest = diff.movers_total - min(top, len(diff.movers))
    if rest > 0:
        console.print(w["more"].format(n=rest), style="dim")


def print_run(run: EvaluationRun, lang: str, *, top: int) -> None:
    from fenji.report import print_summary
    from fenji.web.evaluations.selectors import run_diff

    w = _words(lang)
    seconds = sum(float(v) for v in (run.timings or {}).values())
    console.print(
        f"[bold]{w['run']} #{run.pk}[/bold] {run.policy.name} @ {run.as_of}: {w['published']}"
        f" ({w['seconds']} {seconds:.2f}s)"
    )
    print_summary(summary_from_dict(run.summary), console, lang)
    for key in ("held", "overridden"):
        counts = (run.counts or {}).get(key) or {}
        if counts:
            text = ", ".join(f"{dim} {n}" for dim, n in counts.items())
            console.print(f"{w[key]}: {text}", highlight=False)
    print_diff(run_diff(run=run, movers_limit=top, lang=lang), lang, top=top)


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run_command(
        policy: Annotated[str, typer.Option("--policy", "-p", help="published policy name")],
        as_of: Annotated[str | None, typer.Option("--as-of", help="as-of date")] = None,
        start: Annotated[
            str | None, typer.Option("--from", help="first date of a series of month-ends")
        ] = None,
        end: Annotated[
            str | None, typer.Option("--to", help="last date of a series of month-ends")
        ] = None,
        top: Annotated[int, typer.Option("--top", help="movements listed")] = 20,
        lang: Lang = "zh",
    ) -> None:
        """Evaluate a published policy over the database and publish the run (评估批次)."""
        day, first, last = _date(as_of, "--as-of"), _date(start, "--from"), _date(end, "--to")
        if (day is None) == (first is None and last is None) or (first is None) != (last is None):
            _fail("give --as-of D, or --from D1 --to D2 for a series of month-ends", 2)

        from fenji.web.setup import django_setup, migrate

        django_setup()
        migrate()
        from fenji.web.evaluations.errors import RunError
        from fenji.web.evaluations.services import evaluation_run_series, evaluation_run_start

        w = _words(lang)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
            disable=not err_console.is_terminal,
        ) as bar:
            task = bar.add_task(w["starting"], total=1.0)
            try:
                if day is not None:

                    def one(stage: str, fraction: float) -> None:
                        bar.update(task, description=w.get(stage, stage), completed=fraction)

                    runs = [evaluation_run_start(policy=policy, as_of=day, progress=one, lang=lang)]
                else:
                    assert first is not None
                    assert last is not None

                    def many(i: int, n: int, d: date, stage: str, fraction: float) -> None:
                        label = f"{d} ({i + 1}/{n}) {w.get(stage, stage)}"
                        bar.update(task, description=label, completed=(i + fraction) / n)

                    runs = evaluation_run_series(
                        policy=policy, start=first, end=last, progress=many, lang=lang
                    )
            except RunError as err:
                _fail(f"{err.message} [{err.code}]")
        for run in runs:
            print_run(run, lang, top=top)

    def publish(
        files: Annotated[list[Path], typer.Argument(help="policy YAML files")],
        note: Annotated[str, typer.Option("--note", help="what changed")] = "",
        lang: Lang = "zh",
    ) -> None:
        """Save and publish policies in the database (a new version when the text changed)."""
        from fenji.web.setup import django_setup, migrate

        django_setup()
        migrate()
        from fenji.policy.validate import PolicyError
        from fenji.web.policies.models import PolicyVersion
        from fenji.web.policies.services import policy_publish_text

        w = _words(lang)
        failed = False
        for file in files:
            try:
                text = file.read_text(encoding="utf-8")
                before = PolicyVersion.objects.filter(is_published=True).values_list(
                    "pk", flat=True
                )
                known = set(before)
                version = policy_publish_text(yaml_text=text, note=note)
            except (OSError, PolicyError) as err:
                failed = True
                err_console.print(f"[red]✗[/red] {file}: {err}", highlight=False)
                continue
            state = w["unchanged_policy"] if version.pk in known else w["published_policy"]
            console.print(
                f"[green]✓[/green] {file}: {version.policy.name} v{version.version} — {state}",
                highlight=False,
            )
        if failed:
            raise typer.Exit(1)

    for group in app.registered_groups:
        if group.name == "policy" and group.typer_instance is not None:
            group.typer_instance.command("publish")(publish)
            break
    else:
        app.command("publish")(publish)
