"""``fenji serve``: the web UI and REST API on a production-grade WSGI server (waitress);
``fenji manage``: Django's management commands (``fenji manage check --deploy``,
``fenji manage createsuperuser``) with fenji's settings.

Waitress is pure Python and runs the same on Linux, macOS and Windows, so one command serves a
team from a laptop; behind a proxy in production, several ``fenji serve`` processes share the
PostgreSQL database.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

console = Console()


def serve(
    host: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    threads: Annotated[int, typer.Option("--threads")] = 8,
    migrate: Annotated[
        bool, typer.Option("--migrate/--no-migrate", help="bring the schema up to date first")
    ] = True,
) -> None:
    """Serve the web UI and the REST API (http://HOST:PORT/)."""
    from fenji.web.setup import django_setup
    from fenji.web.setup import migrate as run_migrations

    django_setup()
    if migrate:
        run_migrations()
    from waitress import serve as waitress_serve

    from fenji.web.wsgi import application

    console.print(f"fenji: http://{host}:{port}/  (Ctrl+C 停止 / to stop)")
    waitress_serve(application, host=host, port=port, threads=threads, ident="fenji")


def manage(ctx: typer.Context) -> None:
    """Run a Django management command with fenji's settings (e.g. ``check --deploy``)."""
    from django.core.management import execute_from_command_line

    from fenji.web.setup import django_setup

    django_setup()
    execute_from_command_line(["fenji manage", *ctx.args])


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command(
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        add_help_option=False,
    )(manage)
