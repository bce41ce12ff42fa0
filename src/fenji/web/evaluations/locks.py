"""One evaluation run at a time per policy, across processes, on SQLite and PostgreSQL.

The lock is one the operating system or the database server drops when its holder dies, so a
run killed with SIGKILL never blocks the next one and nobody has to clear a stale flag:

- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) held on a dedicated
  connection; the server releases it when the connection closes, which the kernel does for a
  killed process. It works across machines sharing the database.
- SQLite: an exclusive ``flock`` on a lock file beside the database file; the kernel releases
  it when the process exits. Locks are per open file, so two runs in one process exclude each
  other too.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol

from django.db import connection

from fenji.web.evaluations import arrowdb


class RunLock(Protocol):
    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; never waits."""
        ...

    def held(self) -> bool:
        """Whether this lock is still held (its connection, if any, is alive)."""
        ...

    def release(self) -> None: ...

    def inheritable(self) -> tuple[int, ...]:
        """File descriptors a writer process should hold too, so that the lock outlives this
        process while that writer still runs."""
        ...


def _key(policy: str) -> int:
    """A signed 64-bit advisory lock key for ``policy``."""
    digest = hashlib.sha256(f"fenji.evaluation_run:{policy}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class AdvisoryLock:
    """PostgreSQL: ``pg_try_advisory_lock`` on a connection of its own."""

    def __init__(self, policy: str) -> None:
        self.policy = policy
        self._con: Any = None

    def try_acquire(self) -> bool:
        import psycopg

        con = psycopg.connect(arrowdb.postgres_conninfo(), autocommit=True)
        row = con.execute("SELECT pg_try_advisory_lock(%s)", (_key(self.policy),)).fetchone()
        if row is None or not row[0]:
            con.close()
            return False
        self._con = con
        return True

    def held(self) -> bool:
        if self._con is None:
            return False
        try:
            self._con.execute("SELECT 1")
        except Exception:
            return False
        return True

    def inheritable(self) -> tuple[int, ...]:
        return ()  # the server holds it; a writer's rows are in our own transactions

    def release(self) -> None:
        con, self._con = self._con, None
        if con is not None:
            with contextlib.suppress(Exception):
                con.execute("SELECT pg_advisory_unlock(%s)", (_key(self.policy),))
            con.close()


class FileLock:
    """SQLite: an exclusive ``flock`` on ``<database>.run-<policy>.lock``."""

    def __init__(self, policy: str) -> None:
        self.policy = policy
        self._fd: int | None = None

    @property
    def path(self) -> Path:
        db = arrowdb.sqlite_file()
        if db is not None:
            return db.with_name(f"{db.name}.run-{self.policy}.lock")
        # An in-memory database lives in this process only: so does its lock.
        name = hashlib.sha256(str(connection.settings_dict["NAME"]).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"fenji-{os.getpid()}-{name}.run-{self.policy}.lock"

    def try_acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def held(self) -> bool:
        return self._fd is not None

    def inheritable(self) -> tuple[int, ...]:
        return (self._fd,) if self._fd is not None else ()

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            # The file stays: removing it could let two processes lock two different files.
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def run_lock(policy: str) -> RunLock:
    """The run lock of ``policy`` for Django's database (not yet acquired)."""
    if connection.vendor == "postgresql":
        return AdvisoryLock(policy)
    if connection.vendor == "sqlite":
        return FileLock(policy)
    raise NotImplementedError(
        f"evaluation runs support SQLite and PostgreSQL, not {connection.vendor}"
    )
