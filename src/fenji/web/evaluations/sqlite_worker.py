"""Bulk reads and writes of a SQLite file through ADBC, in a process of its own.

ADBC's SQLite driver carries its own copy of the SQLite library. Two copies of SQLite in one
process corrupt a database: SQLite's locks are POSIX advisory locks, which belong to the
process, so when one copy closes its file the locks the other copy holds on the same file are
silently dropped ("How To Corrupt An SQLite Database File", section 2.2). Django's connection
uses Python's copy, so ADBC runs here, in a child process with locks of its own, like any other
client of the database. It costs a process start (about 0.3 s, importing only pyarrow and the
driver) and saves seconds: Python's ``sqlite3`` makes a Python object per value.

Usage (by :mod:`fenji.web.evaluations.arrowdb`, not by hand)::

    python -m fenji.web.evaluations.sqlite_worker read DB OUT_DIR < queries.json
    python -m fenji.web.evaluations.sqlite_worker serve DB BATCH_ROWS PARENT_PID

``read`` runs every query of the JSON object ``{name: sql}`` in one read transaction (one
snapshot) and writes ``OUT_DIR/<name>.arrow`` (Arrow IPC files).

``serve`` is the one worker of an evaluation run: it reads the run's facts and then writes its
rows, so the run starts one process rather than two (a start costs about 0.3 s of CPU, which
the evaluation would otherwise share its cores with). It takes commands, one per line, on its
standard input:

- ``read<tab>OUT_DIR<tab>QUERIES`` (``QUERIES`` a JSON object on one line): as ``read`` above,
  then prints ``read done``;
- ``write<tab>TABLE<tab>PATH``: appends the rows of the Arrow IPC file to the table, committing
  every ``BATCH_ROWS`` rows and printing ``written N`` (rows of all tables so far) after each
  commit. It can be started before the rows exist and takes them as they come, one file after
  the other.

An empty line or the end of the input makes it stop. A worker dies with its parent (Linux
``PR_SET_PDEATHSIG``): a run killed with SIGKILL takes its worker down with it, so the run's
lock — which the worker holds too — is free for the next run at once, and the batch being
written is rolled back. This module imports neither Django nor pandas.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import adbc_driver_manager
import adbc_driver_sqlite
import pyarrow as pa
import pyarrow.ipc


def _connect(db: str) -> tuple[Any, Any]:
    database = adbc_driver_sqlite.connect(db)
    con = adbc_driver_manager.AdbcConnection(database)
    for pragma in ("PRAGMA busy_timeout = 30000", "PRAGMA synchronous = NORMAL"):
        _execute(con, pragma)
    return database, con


def _execute(con: Any, sql: str) -> None:
    stmt = adbc_driver_manager.AdbcStatement(con)
    try:
        stmt.set_sql_query(sql)
        stmt.execute_update()
    finally:
        stmt.close()


def _query(con: Any, sql: str) -> pa.Table:
    stmt = adbc_driver_manager.AdbcStatement(con)
    try:
        stmt.set_sql_query(sql)
        stream, _ = stmt.execute_query()
        reader = pa.RecordBatchReader._import_from_c(stream.address)
        return reader.read_all()
    finally:
        stmt.close()


def _read_into(con: Any, queries: dict[str, str], out_dir: str) -> None:
    """Every query in one read transaction (one snapshot), each to ``OUT_DIR/<name>.arrow``."""
    _execute(con, "BEGIN")
    try:
        for name, sql in queries.items():
            table = _query(con, sql)
            path = str(Path(out_dir) / f"{name}.arrow")
            with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
    finally:
        _execute(con, "ROLLBACK")


def read(db: str, out_dir: str) -> None:
    queries: dict[str, str] = json.load(sys.stdin)
    database, con = _connect(db)
    try:
        _read_into(con, queries, out_dir)
    finally:
        con.close()
        database.close()


def _die_with(parent: int) -> None:
    """Be killed when the parent process dies (Linux); exit now if it already has."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the end of stdin stops the writer instead
        pass
    if os.getppid() != parent:
        os._exit(1)


def _append(con: Any, table: str, data: pa.Table, batch_rows: int, done: int) -> int:
    for start in range(0, data.num_rows, batch_rows):
        batch = data.slice(start, batch_rows)
        _execute(con, "BEGIN IMMEDIATE")
        try:
            stmt = adbc_driver_manager.AdbcStatement(con)
            try:
                stmt.set_options(
                    **{
                        adbc_driver_manager.INGEST_OPTION_TARGET_TABLE: table,
                        adbc_driver_manager.INGEST_OPTION_MODE: (
                            adbc_driver_manager.INGEST_OPTION_MODE_APPEND
                        ),
                    }
                )
                handle = adbc_driver_manager.ArrowArrayStreamHandle()
                batch.to_reader()._export_to_c(handle.address)
                stmt.bind_stream(handle)
                stmt.execute_update()
            finally:
                stmt.close()
            _execute(con, "COMMIT")
        except BaseException:
            _execute(con, "ROLLBACK")
            raise
        done += batch.num_rows
        print(f"written {done}", flush=True)
    return done


def serve(db: str, batch_rows: int, parent: int) -> None:
    _die_with(parent)
    line = sys.stdin.readline().rstrip("\n")
    if not line:
        return
    database, con = _connect(db)
    # The default page cache (2 MiB) is far smaller than the indexes a batch touches; with
    # room for them, writing 250,000 results takes about half the time.
    _execute(con, "PRAGMA cache_size = -262144")
    try:
        done = 0
        while line:
            command, rest = line.split("\t", 1)
            if command == "read":
                out_dir, queries = rest.split("\t", 1)
                _read_into(con, json.loads(queries), out_dir)
                print("read done", flush=True)
            elif command == "write":
                table, path = rest.split("\t", 1)
                data = pa.ipc.open_file(pa.memory_map(path)).read_all()
                done = _append(con, table, data, batch_rows, done)
            else:
                raise ValueError(f"unknown command {command!r}")
            line = sys.stdin.readline().rstrip("\n")
    finally:
        con.close()
        database.close()


def main(argv: list[str]) -> None:
    command = argv[0] if argv else ""
    if command == "read" and len(argv) == 3:
        read(argv[1], argv[2])
    elif command == "serve" and len(argv) == 4:
        serve(argv[1], int(argv[2]), int(argv[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
