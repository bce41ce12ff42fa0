"""Move tables between the system of record and Arrow in bulk, on SQLite and PostgreSQL.

An evaluation run reads a million fact rows and writes hundreds of thousands of results; an
ORM object per row would cost more than the evaluation itself. Reads go through ADBC (Arrow
straight from the database driver) in one read-only snapshot, so the customers and the facts
read belong to the same moment:

- PostgreSQL: ADBC's driver (binary COPY protocol) in this process; writes use COPY (CSV) in
  streams on connections of their own, several at once, or on Django's connection inside a
  caller's transaction.
- SQLite: ADBC in a child process (:mod:`sqlite_worker` says why it cannot share this process
  with Django's SQLite), handing tables over as Arrow IPC files; writes too.

Queries select every value as a type both drivers carry without guessing: dates as days since
1970 on SQLite (it stores dates as text), money as an integer count of 1/10,000 (SQLite stores
Django's decimals as binary floats; PostgreSQL's ``numeric`` has no Arrow type), and text never
NULL (ADBC's SQLite driver infers a column's type from its first rows, and a column of NULLs
reads as integers). :func:`finish` turns them into the canonical Arrow types: ``date32``,
``decimal128(18, 4)``, strings with blanks as nulls.

Where a second connection cannot see what Django sees — an in-memory SQLite database, or a
caller inside a transaction whose rows are not committed yet — the same SQL runs on Django's
cursor instead (slower, same result).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc
from django.db import connection

Kind = Literal["id", "text", "date", "money", "flag", "int"]

#: Money and points are decimal(18, 4): read as integers of 1/10,000.
MONEY_SCALE = 4
MONEY_TYPE = pa.decimal128(18, MONEY_SCALE)
#: Rows per bulk-write batch: progress is reported and committed per batch.
WRITE_BATCH = 250_000


@dataclass(frozen=True)
class Dialect:
    """How each kind of value is selected on one database (a small override table)."""

    name: str
    date: str
    money: str
    text: str
    flag: str
    json_text: str
    #: A column compared without its index: a fact table up to an as-of date is read almost
    #: whole, and walking an index for that costs a random read per row (SQLite's planner
    #: takes the index for any range; PostgreSQL's weighs it).
    unindexed: str

    def select(self, kind: Kind, column: str) -> str:
        """The SQL that reads ``column`` (already quoted) as ``kind``."""
        if kind == "date":
            return self.date.format(c=column)
        if kind == "money":
            return self.money.format(c=column)
        if kind == "text":
            return self.text.format(c=column)
        if kind == "flag":
            return self.flag.format(c=column)
        return column

    def json_attribute(self, column: str, key: str) -> str:
        """A text value of a JSON object column (``key`` is a validated policy name)."""
        return self.json_text.format(c=column, key=key)


DIALECTS: dict[str, Dialect] = {
    "sqlite": Dialect(
        name="sqlite",
        # julianday() of a date is N.5; the difference is an exact integer.
        date="CAST(julianday({c}) - 2440587.5 AS INTEGER)",
        # Django stores decimals as REAL (15 significant digits): round to the 1/10,000.
        money="CAST(round({c} * 10000) AS INTEGER)",
        text="COALESCE(CAST({c} AS TEXT), '')",
        flag="CAST({c} AS INTEGER)",
        json_text="COALESCE(CAST(json_extract({c}, '$.{key}') AS TEXT), '')",
        unindexed="+{c}",
    ),
    "postgresql": Dialect(
        name="postgresql",
        date="{c}",
        money="CAST({c} * 10000 AS bigint)",
        text="{c}",
        flag="{c}",
        json_text="COALESCE(({c})::jsonb ->> '{key}', '')",
        unindexed="{c}",
    ),
}


def dialect() -> Dialect:
    """The dialect of Django's default database."""
    try:
        return DIALECTS[connection.vendor]
    except KeyError:
        raise NotImplementedError(
            f"evaluation runs support SQLite and PostgreSQL, not {connection.vendor}"
        ) from None


def _sqlite_file() -> Path | None:
    """The database file of a file-backed SQLite database (None for an in-memory one)."""
    name = str(connection.settings_dict["NAME"])
    if name == ":memory:" or "mode=memory" in name or name.startswith("file:"):
        return None
    return Path(name)


def sqlite_file() -> Path | None:
    """Public accessor: the SQLite database file, or None (in memory, or not SQLite)."""
    return _sqlite_file() if connection.vendor == "sqlite" else None


def postgres_conninfo() -> str:
    """A libpq connection string for Django's database (the test database under tests)."""
    from psycopg.conninfo import make_conninfo

    s = connection.settings_dict
    params: dict[str, Any] = {
        "dbname": s.get("NAME") or "",
        "host": s.get("HOST") or "",
        "port": str(s.get("PORT") or ""),
        "user": s.get("USER") or "",
        "password": s.get("PASSWORD") or "",
    }
    for key, value in (s.get("OPTIONS") or {}).items():
        if isinstance(value, str | int):
            params[key] = str(value)
    return make_conninfo(**{k: v for k, v in params.items() if v})


def direct_access() -> bool:
    """Whether a second connection (ADBC) sees what Django's connection sees.

    Not inside a transaction (its uncommitted rows would be invisible, and on SQLite it would
    hold the write lock the second connection needs), and not an in-memory database."""
    if connection.in_atomic_block:
        return False
    if connection.vendor == "sqlite":
        return _sqlite_file() is not None
    return connection.vendor == "postgresql"


Fetch = Callable[[str], pa.Table]
#: Queries by name run in one snapshot, Arrow tables by name (:func:`fetch_all`).
FetchAll = Callable[[Mapping[str, str]], dict[str, pa.Table]]


def fetch_all(queries: Mapping[str, str]) -> dict[str, pa.Table]:
    """Run ``queries`` (name -> SQL) in one read-only snapshot; Arrow tables by name."""
    if not direct_access():
        return {name: _django_fetch(sql) for name, sql in queries.items()}
    if connection.vendor == "postgresql":
        return _postgres_fetch(queries)
    return _worker_fetch(queries)


def _postgres_fetch(queries: Mapping[str, str]) -> dict[str, pa.Table]:
    import adbc_driver_manager
    import adbc_driver_postgresql

    database = adbc_driver_postgresql.connect(postgres_conninfo())
    con = adbc_driver_manager.AdbcConnection(database)

    def run(sql: str, *, rows: bool) -> pa.Table | None:
        stmt = adbc_driver_manager.AdbcStatement(con)
        try:
            stmt.set_sql_query(sql)
            if not rows:
                stmt.execute_update()
                return None
            stream, _ = stmt.execute_query()
            table: pa.Table = pa.RecordBatchReader._import_from_c(stream.address).read_all()
            return table
        finally:
            stmt.close()

    try:
        run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", rows=False)
        out: dict[str, pa.Table] = {}
        for name, sql in queries.items():
            table = run(sql, rows=True)
            assert table is not None
            out[name] = table.replace_schema_metadata(None)
        run("ROLLBACK", rows=False)
        return out
    finally:
        con.close()
        database.close()


def _worker(*args: str, **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "fenji.web.evaluations.sqlite_worker", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def _worker_fetch(queries: Mapping[str, str]) -> dict[str, pa.Table]:
    import json

    path = _sqlite_file()
    assert path is not None
    with tempfile.TemporaryDirectory(prefix="fenji-read-") as tmp:
        proc = _worker("read", str(path), tmp)
        out, err = proc.communicate(json.dumps(dict(queries)))
        if proc.returncode != 0:
            raise RuntimeError(f"reading {path.name} failed: {err.strip() or out.strip()}")
        return _read_files(Path(tmp), queries)


def _read_files(folder: Path, names: Iterable[str]) -> dict[str, pa.Table]:
    tables: dict[str, pa.Table] = {}
    for name in names:
        # Read into memory: the files go with the folder.
        with pa.OSFile(str(folder / f"{name}.arrow")) as source:
            tables[name] = pa.ipc.open_file(source).read_all()
    return tables


def _django_fetch(sql: str) -> pa.Table:
    """The same query on Django's cursor: rows to Arrow, types inferred per column. Columns
    are named by position (two expressions may have one name); :func:`finish` names them."""
    with connection.cursor() as cur:
        cur.execute(sql)
        width = len(cur.description)
        rows = cur.fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in range(width)]
    return pa.table([pa.array(list(c)) for c in columns], names=[f"c{i}" for i in range(width)])


def money_from_units(arr: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
    """Integers of 1/10,000 as ``decimal128(18, 4)``, exactly (no float in between).

    A value beyond 18 digits raises instead of being cut."""
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    out = []
    for chunk in chunks:
        if pa.types.is_null(chunk.type):
            out.append(pa.nulls(len(chunk), MONEY_TYPE))
            continue
        units = chunk.cast(pa.int64())
        largest = pc.max(pc.abs_checked(units)).as_py()
        if largest is not None and largest >= 10**18:
            raise ValueError(
                f"an amount of {largest / 10**MONEY_SCALE} is beyond decimal(18, 4): "
                f"money has at most 14 digits before the point"
            )
        whole = units.cast(pa.decimal128(19, 0))
        # Same 128-bit integers, read with 4 digits after the point.
        out.append(pa.Array.from_buffers(MONEY_TYPE, len(whole), whole.buffers(), whole.null_count))
    return pa.chunked_array(out, type=MONEY_TYPE)


def _dates(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_date32(arr.type):
        return arr
    if pa.types.is_null(arr.type):
        return pa.chunked_array([pa.nulls(len(arr), pa.date32())])
    if pa.types.is_integer(arr.type):
        return arr.cast(pa.int32()).cast(pa.date32())
    return arr.cast(pa.date32())


def _text(arr: pa.ChunkedArray, *, blank_is_null: bool) -> pa.ChunkedArray:
    if pa.types.is_null(arr.type):
        return pa.chunked_array([pa.nulls(len(arr), pa.string())])
    if not pa.types.is_string(arr.type):
        arr = arr.cast(pa.string())
    if blank_is_null:
        arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
    return arr


def finish(raw: pa.Table, kinds: Sequence[tuple[str, Kind, bool]]) -> pa.Table:
    """Canonical Arrow columns from a raw read: ``kinds`` is (name, kind, blank_is_null) in the
    order of the query's columns."""
    columns: dict[str, pa.ChunkedArray] = {}
    for i, (name, kind, blank_is_null) in enumerate(kinds):
        arr = raw.column(i)
        if kind == "date":
            columns[name] = _dates(arr)
        elif kind == "money":
            columns[name] = money_from_units(arr)
        elif kind == "text":
            columns[name] = _text(arr, blank_is_null=blank_is_null)
        elif kind == "flag":
            columns[name] = arr.cast(pa.bool_())
        else:  # id, int
            columns[name] = arr.cast(pa.int64())
    return pa.table(columns)


def quote(name: str) -> str:
    """Quote an identifier (names come from models and validated policies, never from data)."""
    return '"' + name.replace('"', '""') + '"'


class RowWriter:
    """Appends rows to tables in bulk; made before the rows exist, so that on SQLite the
    writer process starts while the rows are still being computed.

    :meth:`send` starts writing one table and returns at once where the rows are written by
    others (a writer process on SQLite, COPY streams on connections of their own on
    PostgreSQL), so the caller can compute the next table meanwhile; :meth:`finish` waits for
    every table sent. Batches are committed one by one where a second connection may write (no
    caller transaction): a crash leaves whole batches of rows under an unpublished run — which
    the next run removes — and ``on_batch`` can show progress that other processes see.
    ``pass_fds`` are handed to a writer process (a run's lock file: if this process dies, the
    lock stays held until the writer has stopped too). Leaving the ``with`` block waits for
    whatever was sent, even when the caller fails, so that nothing is written after it. A
    writer process writes one set of tables: on SQLite, tables sent after :meth:`finish` go
    through Django's connection.

    :meth:`fetch_all` reads through the same writer process before anything is sent (a run
    reads its facts with the process that then writes its rows: one process start, not two);
    elsewhere it is :func:`fetch_all`."""

    def __init__(self, *, pass_fds: Sequence[int] = ()) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._pool: _CopyPool | None = None
        self._futures: list[Future[int]] = []
        self._tables: list[str] = []
        self._done = 0  # rows written synchronously (in the caller's transaction)
        db = _sqlite_file() if connection.vendor == "sqlite" else None
        if db is not None and direct_access():
            self._proc = _worker(
                "serve", str(db), str(WRITE_BATCH), str(os.getpid()), pass_fds=pass_fds
            )

    def fetch_all(self, queries: Mapping[str, str]) -> dict[str, pa.Table]:
        """:func:`fetch_all` — on SQLite by the writer process, while nothing has been sent."""
        if self._proc is None or self._tables or not direct_access():
            return fetch_all(queries)
        import json

        proc = self._proc
        assert proc.stdin is not None
        assert proc.stdout is not None
        with tempfile.TemporaryDirectory(prefix="fenji-read-") as tmp:
            try:
                proc.stdin.write(f"read\t{tmp}\t{json.dumps(dict(queries))}\n")
                proc.stdin.flush()
                answer = proc.stdout.readline()
            except BrokenPipeError:
                answer = ""
            if answer.strip() != "read done":
                self._proc = None
                proc.kill()
                _, err = proc.communicate()
                raise RuntimeError(f"reading {_sqlite_file()} failed: {err.strip() or answer}")
            return _read_files(Path(tmp), queries)

    def send(self, table: str, data: pa.Table) -> None:
        """Start appending ``data`` (columns named as the table's) to ``table``."""
        self._tables.append(table)
        if self._proc is not None:
            self._send_to_worker(table, data)
        elif connection.vendor == "postgresql" and direct_access():
            if self._pool is None:
                self._pool = _CopyPool(postgres_conninfo())
            self._futures += _copy_postgres_parallel(self._pool, table, data)
        elif connection.vendor == "postgresql":
            _copy_postgres(table, data, None)
            self._done += data.num_rows
        else:
            _insert_django(table, data, None)
            self._done += data.num_rows

    def finish(self, *, on_batch: Callable[[int], None] | None = None) -> None:
        """Wait until every table sent is written; ``on_batch`` gets the rows written so far
        (all tables together) as batches are committed."""
        if self._proc is not None:
            self._finish_worker(on_batch)
        elif self._futures:
            futures, self._futures = self._futures, []
            done = self._done
            for future in as_completed(futures):
                done += future.result()
                if on_batch is not None:
                    on_batch(done)
        elif on_batch is not None and self._done:
            on_batch(self._done)

    def write(
        self, table: str, data: pa.Table, *, on_batch: Callable[[int], None] | None = None
    ) -> None:
        """Append ``data`` to ``table`` and wait until it is written."""
        self.send(table, data)
        self.finish(on_batch=on_batch)

    def _send_to_worker(self, table: str, data: pa.Table) -> None:
        assert self._proc is not None
        assert self._proc.stdin is not None
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="fenji-write-")
        source = Path(self._tmp.name) / f"rows-{len(self._tables)}.arrow"
        prepared = _for_sqlite(data)
        with pa.OSFile(str(source), "wb") as sink, pa.ipc.new_file(sink, prepared.schema) as w:
            w.write_table(prepared)
        try:
            self._proc.stdin.write(f"write\t{table}\t{source}\n")
            self._proc.stdin.flush()  # the writer starts on it now
        except BrokenPipeError:  # the writer stopped: say why
            proc, self._proc = self._proc, None
            assert proc.stderr is not None
            err = proc.stderr.read()
            proc.wait()
            raise RuntimeError(f"writing to {table} failed: {err.strip()}") from None

    def _finish_worker(self, on_batch: Callable[[int], None] | None) -> None:
        proc, self._proc = self._proc, None
        assert proc is not None
        assert proc.stdin is not None
        assert proc.stdout is not None
        assert proc.stderr is not None
        try:
            proc.stdin.close()  # nothing more: the writer stops after the tables sent
            for line in proc.stdout:
                if line.startswith("written ") and on_batch is not None:
                    on_batch(int(line.split()[1]))
            err = proc.stderr.read()
            if proc.wait() != 0:
                tables = ", ".join(self._tables)
                raise RuntimeError(f"writing to {tables} failed: {err.strip()}")
        finally:
            self._cleanup()

    def close(self) -> None:
        """Wait for the rows sent and stop the writers (a writer process that was never given
        rows — the run failed before — stops without writing)."""
        proc, self._proc = self._proc, None
        if proc is not None:
            with contextlib.suppress(OSError, ValueError):
                assert proc.stdin is not None
                proc.stdin.close()  # the end of its input
            try:
                proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()  # its batch in progress is rolled back
                proc.communicate()
        futures, self._futures = self._futures, []
        for future in futures:
            with contextlib.suppress(Exception):  # the caller is failing already
                future.result()
        self._cleanup()

    def _cleanup(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> RowWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_rows(
    table: str,
    data: pa.Table,
    *,
    on_batch: Callable[[int], None] | None = None,
    pass_fds: Sequence[int] = (),
) -> None:
    """Append ``data`` (columns named as the table's) to ``table`` in batches (see
    :class:`RowWriter`)."""
    with RowWriter(pass_fds=pass_fds) as writer:
        writer.write(table, data, on_batch=on_batch)


def _batches(data: pa.Table) -> Iterator[pa.Table]:
    for start in range(0, max(data.num_rows, 1), WRITE_BATCH):
        batch = data.slice(start, WRITE_BATCH)
        if batch.num_rows:
            yield batch


#: Streams a large bulk write to PostgreSQL is split into: the server parses, checks and indexes
#: the rows of each COPY in a backend process of its own, so two streams use both cores.
COPY_STREAMS = 2
#: Below this many rows one stream is as fast.
PARALLEL_COPY_ROWS = 50_000


def _csv(batch: pa.Table) -> bytes:
    """CSV made by Arrow's writer: nulls are unquoted empty fields and strings quoted when
    needed (an empty string as ``""``), which is exactly how PostgreSQL's CSV tells NULL
    from ''."""
    import pyarrow.csv as pacsv

    buffer = io.BytesIO()
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    pacsv.write_csv(batch, buffer, options)
    return buffer.getvalue()


def _copy_sql(table: str, data: pa.Table) -> str:
    columns = ", ".join(quote(c) for c in data.column_names)
    return f"COPY {quote(table)} ({columns}) FROM STDIN (FORMAT csv)"


def _copy_postgres(table: str, data: pa.Table, on_batch: Callable[[int], None] | None) -> None:
    """COPY ... FROM STDIN on Django's connection, inside the caller's transaction (a second
    connection would not see its uncommitted rows, nor they its)."""
    from django.db import transaction

    sql = _copy_sql(table, data)
    done = 0
    for batch in _batches(data):
        with transaction.atomic(), connection.cursor() as cur:
            raw = cur.cursor  # psycopg's cursor under Django's wrapper
            with raw.copy(sql) as copy:
                copy.write(_csv(batch))
        done += batch.num_rows
        if on_batch is not None:
            on_batch(done)


class _CopyPool:
    """``COPY_STREAMS`` threads, each with a connection of its own kept for every part it
    writes (a new connection per part cost a backend start and cold caches each time)."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._threads = ThreadPoolExecutor(COPY_STREAMS, thread_name_prefix="fenji-copy")
        self._local = threading.local()
        self._connections: list[Any] = []

    def _connection(self) -> Any:
        con = getattr(self._local, "con", None)
        if con is None:
            import psycopg

            con = psycopg.connect(self.conninfo)
            # The rows of a run become durable with its publishing commit, which flushes the
            # log up to itself: these commits need not wait for the disk.
            con.execute("SET synchronous_commit TO OFF")
            con.commit()
            self._local.con = con
            self._connections.append(con)
        return con

    def _copy(self, sql: str, part: pa.Table) -> int:
        con = self._connection()
        try:
            with con.cursor().copy(sql) as copy:
                copy.write(_csv(part))
            con.commit()
        except BaseException:
            con.rollback()
            raise
        return int(part.num_rows)

    def submit(self, sql: str, part: pa.Table) -> Future[int]:
        return self._threads.submit(self._copy, sql, part)

    def close(self) -> None:
        self._threads.shutdown(wait=True)
        for con in self._connections:
            with contextlib.suppress(Exception):
                con.close()
        self._connections.clear()


def _copy_postgres_parallel(pool: _CopyPool, table: str, data: pa.Table) -> list[Future[int]]:
    """COPY ... FROM STDIN on the pool's connections, started now: a table of at least
    ``PARALLEL_COPY_ROWS`` rows in ``COPY_STREAMS`` parts at the same time, a smaller one
    whole. Each future gives the rows its part wrote."""
    if not data.num_rows:
        return []
    streams = COPY_STREAMS if data.num_rows >= PARALLEL_COPY_ROWS else 1
    size = -(-data.num_rows // streams)
    sql = _copy_sql(table, data)
    return [pool.submit(sql, data.slice(i, size)) for i in range(0, data.num_rows, size)]


def _for_sqlite(batch: pa.Table) -> pa.Table:
    """SQLite has no decimal type: decimals go as text, which its NUMERIC affinity stores the
    way Django does."""
    columns = []
    for col in batch.columns:
        if pa.types.is_decimal(col.type):
            col = col.cast(pa.string())
        columns.append(col)
    return pa.table(columns, names=batch.column_names)


def _insert_django(table: str, data: pa.Table, on_batch: Callable[[int], None] | None) -> None:
    from django.db import transaction

    columns = ", ".join(quote(c) for c in data.column_names)
    marks = ", ".join(["%s"] * data.num_columns)
    sql = f"INSERT INTO {quote(table)} ({columns}) VALUES ({marks})"
    done = 0
    for batch in _batches(_for_sqlite(data)):
        rows = zip(*(c.to_pylist() for c in batch.columns), strict=True)
        with transaction.atomic(), connection.cursor() as cur:
            cur.executemany(sql, list(rows))
        done += batch.num_rows
        if on_batch is not None:
            on_batch(done)
