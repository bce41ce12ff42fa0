"""Starting an evaluation run from the web in a process of its own.

A run of a large company takes minutes; a web request must not. :func:`launch_run` starts
``python -m fenji.web.evaluations.background`` as a detached child (a session of its own, so
restarting the web server does not stop it) on the same database, and returns at once with a
:class:`Launch` the run page follows. The child is an ordinary run
(:func:`~fenji.web.evaluations.services.evaluation_run_start`): it takes the policy's run lock,
so two starts from two browsers, two web processes or the web and the CLI still give one run,
and it records who started it (``created_by``).

Until the child has created its run row, the launch is followed by the child's process id
(the run row carries it). A child refused before that — another run took the lock first, the
policy lost its published version — leaves an audit entry ``run.start_failed`` under the
launch's token with the reason, which the page shows.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

#: Seconds a child may take to create its run row before its launch is called lost.
START_TIMEOUT = 300.0
_SALT = "fenji.evaluations.launch"


@dataclass(frozen=True)
class Launch:
    """A run started in the background: the child's pid, and what it was asked to run."""

    token: str
    pid: int
    policy: str
    as_of: date
    started: float  # time.time() at launch

    def key(self) -> str:
        """A signed, URL-safe form of the launch: the run page's address, not forgeable."""
        from django.core import signing

        data = [self.token, self.pid, self.policy, self.as_of.isoformat(), round(self.started, 3)]
        return signing.dumps(data, salt=_SALT, compress=True)

    @classmethod
    def from_key(cls, key: str) -> Launch | None:
        """The launch ``key`` stands for; None for a forged or damaged key."""
        from django.core import signing

        try:
            token, pid, policy, as_of, started = signing.loads(key, salt=_SALT)
            return cls(str(token), int(pid), str(policy), date.fromisoformat(as_of), float(started))
        except (signing.BadSignature, ValueError, TypeError):
            return None


def child_environment() -> dict[str, str]:
    """The environment of a child that uses the database this process uses (the SQLite file
    or the PostgreSQL database Django is connected to, a test database included)."""
    from django.db import connection

    env = dict(os.environ)
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        env.pop("DATABASE_URL", None)
        env["FENJI_DB"] = str(Path(str(s["NAME"])).resolve())
    elif connection.vendor == "postgresql":
        user = quote(str(s.get("USER") or ""), safe="")
        password = f":{quote(str(s['PASSWORD']), safe='')}" if s.get("PASSWORD") else ""
        at = "@" if user or password else ""
        host = s.get("HOST") or "127.0.0.1"
        port = s.get("PORT") or 5432
        options = {k: str(v) for k, v in (s.get("OPTIONS") or {}).items() if k == "sslmode"}
        query = f"?{urlencode(options)}" if options else ""
        env["DATABASE_URL"] = f"postgres://{user}{password}{at}{host}:{port}/{s['NAME']}{query}"
    env["DJANGO_SETTINGS_MODULE"] = os.environ.get("DJANGO_SETTINGS_MODULE", "fenji.web.settings")
    return env


def launch_run(*, policy: str, as_of: date, user: Any = None, lang: str = "zh") -> Launch:
    """Start a run of ``policy`` at ``as_of`` in a detached child process; returns at once.

    The child's output goes to this process's standard error (the server log); a thread
    waits for the child so that it leaves no zombie behind."""
    token = secrets.token_hex(8)
    args = [
        sys.executable,
        "-m",
        "fenji.web.evaluations.background",
        "--policy",
        policy,
        "--as-of",
        as_of.isoformat(),
        "--lang",
        lang,
        "--launch",
        token,
    ]
    if getattr(user, "is_authenticated", False):
        args += ["--user-id", str(user.pk)]
    started = time.time()
    child = subprocess.Popen(
        args,
        env=child_environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )
    threading.Thread(target=child.wait, name=f"fenji-run-{child.pid}", daemon=True).start()
    return Launch(token=token, pid=child.pid, policy=policy, as_of=as_of, started=started)


@dataclass(frozen=True)
class LaunchState:
    """Where a launch is: its run (once created), or why there is none."""

    run: Any = None  # EvaluationRun
    #: The child stopped before creating a run: code and message of the reason, when it said.
    failed_code: str = ""
    failed_message: str = ""
    running_run_id: int | None = None
    #: The child is gone without a run or a reason (it crashed; see the server log).
    lost: bool = False

    @property
    def starting(self) -> bool:
        return self.run is None and not self.failed_code and not self.lost


def launch_state(*, launch: Launch) -> LaunchState:
    """The state of ``launch`` now: its run, the reason it has none, or still starting."""
    from fenji.web.accounts.models import AuditEntry
    from fenji.web.evaluations.models import EvaluationRun

    # Looked at first: whatever a child wrote before it ended is visible to the queries below.
    alive = _alive(launch.pid) and time.time() - launch.started < START_TIMEOUT
    since = datetime.fromtimestamp(launch.started, tz=UTC)
    runs = EvaluationRun.objects.select_related("policy").filter(
        policy__name=launch.policy,
        pid=launch.pid,
        as_of=launch.as_of,
        started_at__gte=since - timedelta(seconds=5),
    )
    run = runs.order_by("-id").first()
    if run is not None:
        return LaunchState(run=run)
    entry = (
        AuditEntry.objects.filter(
            action="run.start_failed", object_type="run_launch", object_id=launch.token
        )
        .order_by("-id")
        .first()
    )
    if entry is not None:
        details = entry.details or {}
        return LaunchState(
            failed_code=str(details.get("code", "")) or "run.failed",
            failed_message=str(details.get("message", "")),
            running_run_id=details.get("running_run_id"),
        )
    return LaunchState() if alive else LaunchState(lost=True)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` is running on this machine (a zombie is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError, IndexError):
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def main(argv: list[str] | None = None) -> int:
    """The child: one run, as the CLI's ``fenji run`` does it, on behalf of a web user."""
    parser = argparse.ArgumentParser(prog="python -m fenji.web.evaluations.background")
    parser.add_argument("--policy", required=True)
    parser.add_argument("--as-of", required=True)
    parser.add_argument("--lang", default="zh", choices=["zh", "en"])
    parser.add_argument("--launch", default="", help="token of the launch, for its page")
    parser.add_argument("--user-id", type=int, default=None, help="who started the run")
    args = parser.parse_args(argv)

    from fenji.web.setup import django_setup

    django_setup()
    from django.contrib.auth import get_user_model

    from fenji.web.accounts.services import audit
    from fenji.web.evaluations.errors import RunError, RunRefused
    from fenji.web.evaluations.services import evaluation_run_start

    user = None
    if args.user_id is not None:
        user = get_user_model().objects.filter(pk=args.user_id, is_active=True).first()

    def failed(code: str, message: str, running_run_id: int | None = None) -> None:
        with contextlib.suppress(Exception):  # the database may be what failed
            audit(
                action="run.start_failed",
                user=user,
                object_type="run_launch",
                object_id=args.launch,
                details={
                    "policy": args.policy,
                    "as_of": args.as_of,
                    "code": code,
                    "message": message,
                    "running_run_id": running_run_id,
                    "pid": os.getpid(),
                },
            )

    try:
        run = evaluation_run_start(
            policy=args.policy, as_of=date.fromisoformat(args.as_of), user=user, lang=args.lang
        )
    except RunError as err:
        failed(err.code, err.message, err.running_run_id if isinstance(err, RunRefused) else None)
        print(f"fenji run refused: {err.message} [{err.code}]", file=sys.stderr, flush=True)
        return 3
    except Exception as err:  # a run that had started is marked failed with this error too
        failed("run.crashed", f"{type(err).__name__}: {err}"[:2000])
        traceback.print_exc()
        return 1
    print(f"fenji run #{run.pk} published", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
