"""The ``fenji`` command: evaluate, explain, policy check/sql, demo.

Every command reports bad input as a clear message (file, row, column, value, what to do)
and exits non-zero; nothing is written when an evaluation fails.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from fenji.dates import parse_as_of
from fenji.policy.validate import PolicyError, load_policy

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="fenji — customer classification and tiering (客户分类分级管理).",
)
policy_app = typer.Typer(no_args_is_help=True, help="Check and inspect policies (评估标准).")
app.add_typer(policy_app, name="policy")

console = Console()
err_console = Console(stderr=True, soft_wrap=True)

Lang = Annotated[str, typer.Option("--lang", help="zh (default) or en")]


def _fail(message: str, code: int = 1) -> None:
    err_console.print(f"[bold red]error:[/bold red] {message}", highlight=False)
    raise typer.Exit(code)


def _as_of(text: str) -> object:
    try:
        return parse_as_of(text)
    except ValueError as err:
        _fail(str(err), 2)
    raise AssertionError  # pragma: no cover


def _progress(quiet: bool) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=quiet or not err_console.is_terminal,
    )


@app.command()
def evaluate(
    policy: Annotated[Path, typer.Option("--policy", "-p", help="policy YAML file")],
    data: Annotated[Path, typer.Option("--data", "-d", help="folder of canonical files")],
    as_of: Annotated[str, typer.Option("--as-of", help="as-of date, e.g. 2026-10-31")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help=".csv, .xlsx or .parquet")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="add why/next/gap columns")] = False,
    metrics: Annotated[bool, typer.Option("--metrics", help="add every metric column")] = False,
    lang: Lang = "zh",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no summary")] = False,
) -> None:
    """Evaluate a policy over a data folder and write one row per customer (and line)."""
    from fenji.api import open_engine
    from fenji.engine.evaluate import evaluate_connection
    from fenji.io.errors import DataError

    day = _as_of(as_of)
    suffix = out.suffix.lower() if out is not None else ""
    if out is not None and suffix not in (".csv", ".xlsx", ".parquet"):
        _fail(f"--out {out}: write to a .csv, .xlsx or .parquet file")
    started = time.perf_counter()
    with _progress(quiet) as progress:
        task = progress.add_task("policy", total=4)
        try:
            pol = load_policy(policy)
        except PolicyError as err:
            _fail(str(err))
        progress.update(task, description="reading data", advance=1)
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
        try:
            con, columns, verify = open_engine(
                pol,
                data,
                as_of=day,
                output=out if suffix != ".xlsx" else None,  # type: ignore[arg-type]
            )
        except DataError as err:
            _fail(err.format(lang if lang in ("zh", "en") else "zh"))  # type: ignore[arg-type]
        except (FileNotFoundError, NotADirectoryError) as err:
            _fail(str(err))
        progress.update(task, description="evaluating", advance=1)
        try:
            result = evaluate_connection(
                pol,
                con,
                columns,
                day,
                lang=lang,
                explain=explain,
                include_metrics=metrics,  # type: ignore[arg-type]
                verify=verify,
            )
        except DataError as err:
            _fail(err.format(lang if lang in ("zh", "en") else "zh"))  # type: ignore[arg-type]
        except ValueError as err:
            _fail(str(err))
        progress.update(task, description="writing", advance=1)
        if out is not None:
            if suffix == ".xlsx":
                from fenji.io import write_table

                write_table(result.table, out)
            else:
                result.write(out)
        progress.update(task, advance=1)
    elapsed = time.perf_counter() - started
    if not quiet:
        from fenji.report import print_summary

        print_summary(result.summary(), console, lang)
        where = f" -> {out}" if out else ""
        err_console.print(f"{result.num_rows} rows in {elapsed:.2f}s{where}")
    elif out is None:
        console.print(result.table.to_pandas().to_csv(index=False), end="")


@app.command("explain")
def explain_cmd(
    policy: Annotated[Path, typer.Option("--policy", "-p")],
    data: Annotated[Path, typer.Option("--data", "-d")],
    as_of: Annotated[str, typer.Option("--as-of")],
    customer: Annotated[str, typer.Option("--customer", "-c", help="customer id")],
    line: Annotated[str | None, typer.Option("--line", help="business line")] = None,
    lang: Lang = "zh",
) -> None:
    """Explain every label of one customer: values, rule or band, score, gap to the next tier."""
    from fenji.api import evaluate as run
    from fenji.io.errors import DataError

    try:
        result = run(policy, data, _as_of(as_of), lang=lang)  # type: ignore[arg-type]
        items = result.explain(customer, line)
    except (PolicyError, DataError) as err:
        _fail(str(err))
    except KeyError as err:
        _fail(str(err.args[0]))
    for item in items:
        console.print(f"[bold]{item.title}[/bold] ({item.dimension}): {item.why or item.label}")


@policy_app.command("check")
def policy_check(files: Annotated[list[Path], typer.Argument(help="policy YAML files")]) -> None:
    """Validate policies; every problem is listed with its line and a hint."""
    failed = False
    for file in files:
        try:
            p = load_policy(file)
        except PolicyError as err:
            failed = True
            err_console.print(f"[red]✗[/red] {file}: {len(err.issues)} problem(s)", highlight=False)
            for issue in err.issues:
                err_console.print(f"  {issue}", highlight=False)
            continue
        console.print(
            f"[green]✓[/green] {file}: {p.name} v{p.version}, {len(p.dimensions)} dimension(s)"
        )
    if failed:
        raise typer.Exit(1)


@policy_app.command("sql")
def policy_sql(
    file: Annotated[Path, typer.Argument(help="policy YAML file")],
    as_of: Annotated[str, typer.Option("--as-of")],
    dialect: Annotated[str, typer.Option("--dialect", help="duckdb or spark")] = "duckdb",
    explain: Annotated[bool, typer.Option("--explain")] = False,
) -> None:
    """Print the SQL a policy compiles to (for review, or to run on a warehouse)."""
    from fenji.api import policy_sources
    from fenji.engine.compiler import compile_policy
    from fenji.engine.dialects import DIALECTS

    try:
        p = load_policy(file)
    except PolicyError as err:
        _fail(str(err))
    if dialect not in DIALECTS:
        _fail(f"--dialect must be one of {', '.join(DIALECTS)}")
    tables = {name: set(s.column_names) for name, s in policy_sources(p).items()}
    compiled = compile_policy(p, _as_of(as_of), tables, explain=explain, dialect=DIALECTS[dialect])  # type: ignore[arg-type]
    console.print(compiled.sql(pretty=True), highlight=False, soft_wrap=True)


@app.command()
def demo(
    folder: Annotated[Path, typer.Option("--dir", help="where the demo lives")] = Path(
        "fenji-demo"
    ),
    customers: Annotated[int, typer.Option("--customers")] = 2000,
    files_only: Annotated[
        bool, typer.Option("--files-only", help="evaluate files only, no database")
    ] = False,
    serve: Annotated[
        bool,
        typer.Option("--serve/--no-serve", help="open the web UI on the demo when it is built"),
    ] = True,
    host: Annotated[str, typer.Option("--host", help="address the web UI listens on")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option("--port", help="port of the web UI")] = 8000,
    lang: Lang = "zh",
) -> None:
    """A demo company in the system of record, graded every month-end for a year, then the
    web UI on it (http://127.0.0.1:8000/, a user per role; --no-serve to stop after the
    summaries)."""
    if files_only:
        from fenji.demo.run import run_demo

        run_demo(folder, customers=customers, lang=lang, console=console)
        return
    from fenji.demo.system import print_demo_users, run_system_demo, serve_demo

    built = run_system_demo(folder, customers=customers, lang=lang, console=console)
    if not serve:
        import os

        print_demo_users(built.users, lang=lang, console=console)
        where = "" if "DATABASE_URL" in os.environ else f"FENJI_DB={built.database} "
        console.print(
            f"{'网页界面' if lang == 'zh' else 'web UI'}: {where}fenji serve",
            highlight=False,
            soft_wrap=True,
        )
        return
    try:
        serve_demo(built, host=host, port=port, lang=lang, console=console)
    except OSError as err:  # the port is taken, or the address is not this machine's
        _fail(f"cannot serve on {host}:{port} ({err.strerror or err}); choose another --port")


def _register_commands() -> None:
    from fenji.commands import register_all

    register_all(app)


_register_commands()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)


if __name__ == "__main__":
    main()
