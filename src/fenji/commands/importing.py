"""``fenji import KIND FILE``: load customers or facts into the system of record.

A thin shell around :func:`fenji.web.facts.services.import_file`: a progress bar while the
file is read, checked and written, then a summary table. A rejected file changes nothing; its
problems are listed, the bad rows are written to an error file, and the exit code is 1, so that
a script loading files every night stops at the first bad one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

if TYPE_CHECKING:
    from fenji.io.errors import Language
    from fenji.web.facts.importing.report import ImportReport, Stage

#: Issues listed per file before saying how many more are in the error file.
SHOWN_ISSUES: Final = 20

_STAGES: Final[dict[str, dict[str, str]]] = {
    "zh": {"read": "读取文件", "check": "检查数据", "write": "写入", "commit": "提交"},
    "en": {"read": "reading", "check": "checking", "write": "writing", "commit": "committing"},
}

_WORDS: Final[dict[str, dict[str, str]]] = {
    "zh": {
        "file": "文件",
        "kind": "类型",
        "rows": "行数",
        "created": "新增",
        "updated": "更新",
        "unchanged": "未变",
        "rejected": "拒绝",
        "done": "导入完成",
        "dry": "试运行：以下为将会发生的变化，未写入任何数据",
        "refused": "导入被拒绝：没有写入任何数据",
        "other": "（因其他文件有问题而未写入）",
        "lines": "新建业务线",
        "lines_planned": "将新建业务线",
        "errors": "有问题的行已写入",
        "more": "另有 {n} 个问题未列出",
        "problems": "{file}：{n} 个问题",
    },
    "en": {
        "file": "file",
        "kind": "kind",
        "rows": "rows",
        "created": "created",
        "updated": "updated",
        "unchanged": "unchanged",
        "rejected": "rejected",
        "done": "Import done",
        "dry": "Dry run: what would change; nothing was written",
        "refused": "Import rejected: nothing was written",
        "other": " (not written: another file was rejected)",
        "lines": "new business lines",
        "lines_planned": "business lines to create",
        "errors": "rejected rows written to",
        "more": "... and {n} more",
        "problems": "{file}: {n} problem(s)",
    },
}

KIND_HELP: Final = (
    "customers, orders, receivables, targets, score_events, interactions (follow-ups), "
    "feedback; or 'all' with FILE a folder of customers.csv, orders.csv, ... imported together"
)

console = Console()
err_console = Console(stderr=True, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)


def import_command(
    kind: Annotated[str, typer.Argument(help=KIND_HELP, show_default=False)],
    file: Annotated[Path, typer.Argument(help="CSV, XLSX or Parquet file (a folder for 'all')")],
    sheet: Annotated[
        str | None, typer.Option("--sheet", help="XLSX sheet name (default: the first)")
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option("--mapping", help="YAML or JSON file mapping file headers to columns"),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="show what would change; write nothing")
    ] = False,
    errors: Annotated[
        Path | None,
        typer.Option("--errors", help="write rejected rows here (default: FILE.errors.csv)"),
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="zh (default) or en")] = "zh",
) -> None:
    """Import customers or facts (客户、订单、应收、目标、加减分事件、跟进记录、客户反馈).

    A file with any bad row changes nothing; importing the same file again changes nothing;
    a blank cell keeps the stored value.
    """
    if lang not in ("zh", "en"):
        _fail("--lang must be zh or en")
    language: Language = "zh" if lang == "zh" else "en"
    if kind == "all" and (sheet is not None or errors is not None):
        _fail("--sheet and --errors apply to one file, not to 'all'")

    from fenji.web.setup import django_setup, migrate

    django_setup()
    migrate()
    from django.db import DatabaseError

    from fenji.web.facts.importing.database import UnsupportedDatabase
    from fenji.web.facts.importing.reading import ImportSetupError
    from fenji.web.facts.services import import_file, import_folder

    with _progress_bar(language) as show:
        try:
            if kind == "all":
                reports = import_folder(
                    directory=file,
                    mapping=mapping,
                    dry_run=dry_run,
                    actor="cli",
                    lang=language,
                    progress=show,
                )
            else:
                reports = [
                    import_file(
                        kind=kind,
                        path=file,
                        sheet=sheet,
                        mapping=mapping,
                        dry_run=dry_run,
                        actor="cli",
                        errors_path=errors,
                        lang=language,
                        progress=show,
                    )
                ]
        except (ImportSetupError, UnsupportedDatabase) as err:
            _fail(str(err))
        except DatabaseError as err:
            # Another writer got in between (a customer created in the UI meanwhile), or the
            # database was busy: the transaction was rolled back, so nothing was written.
            err_console.print(
                f"[bold red]error:[/bold red] {err}; nothing was written, import again",
                highlight=False,
            )
            raise typer.Exit(1) from err
    _print_summary(reports, dry_run=dry_run, lang=language)
    if any(not report.ok for report in reports):
        _print_issues(reports, lang=language)
        raise typer.Exit(1)


def _fail(message: str) -> None:
    err_console.print(f"[bold red]error:[/bold red] {message}", highlight=False)
    raise typer.Exit(2)


class _ProgressBar:
    """The import's progress callback, drawn as one Rich bar whose label follows the stage."""

    def __init__(self, progress: Progress, lang: Language) -> None:
        self.progress = progress
        self.labels = _STAGES[lang]
        self.task = progress.add_task(self.labels["read"], total=None)

    def __call__(self, stage: Stage, done: int, total: int) -> None:
        self.progress.update(
            self.task, description=self.labels[stage], completed=done, total=total or None
        )


@contextmanager
def _progress_bar(lang: Language) -> Iterator[_ProgressBar]:
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )
    with progress:
        yield _ProgressBar(progress, lang)


def _print_summary(reports: list[ImportReport], *, dry_run: bool, lang: Language) -> None:
    words = _WORDS[lang]
    rejected = any(not r.ok for r in reports)
    title = words["dry"] if dry_run else words["refused"] if rejected else words["done"]
    table = Table(title=title, title_justify="left")
    table.add_column(words["file"])
    table.add_column(words["kind"])
    for name in ("rows", "created", "updated", "unchanged", "rejected"):
        table.add_column(words[name], justify="right")
    for report in reports:
        name = Path(report.file).name
        if rejected and report.ok and not dry_run:
            name += words["other"]
        table.add_row(
            name,
            report.kind,
            f"{report.rows:,}",
            f"{report.created:,}",
            f"{report.updated:,}",
            f"{report.unchanged:,}",
            f"[red]{report.rejected:,}[/red]" if report.rejected else "0",
        )
    console.print(table)
    lines = sorted({line for r in reports for line in r.business_lines})
    if lines:
        label = words["lines"] if any(r.written for r in reports) else words["lines_planned"]
        console.print(f"{label}: {', '.join(lines)}", highlight=False)
    seconds = max((r.seconds for r in reports), default=0.0)
    console.print(f"{seconds:.2f}s", style="dim")


def _print_issues(reports: list[ImportReport], *, lang: Language) -> None:
    words = _WORDS[lang]
    for report in reports:
        if report.ok:
            continue
        err_console.print(
            words["problems"].format(file=report.file, n=len(report.issues)),
            style="bold red",
            highlight=False,
        )
        for issue in report.issues[:SHOWN_ISSUES]:
            err_console.print(f"  {issue.format(lang)}", highlight=False)
        if len(report.issues) > SHOWN_ISSUES:
            more = words["more"].format(n=len(report.issues) - SHOWN_ISSUES)
            err_console.print(f"  {more}", highlight=False)
        if report.error_file is not None:
            err_console.print(f"{words['errors']} {report.error_file}", highlight=False)
