"""Bulk reads and writes of an import, with the few SQL differences between databases.

Imports of a million orders must not go through the ORM one object at a time, and
``bulk_create`` would still build a model instance per row and split SQLite inserts into
batches of 999 parameters. So rows travel as Arrow tables and are written with the fastest path
each database has, inside the caller's transaction:

- SQLite: ``executemany`` of one prepared INSERT (or UPDATE by primary key);
- PostgreSQL: ``COPY ... FROM STDIN`` of CSV written by Arrow, and updates as one
  ``UPDATE ... FROM`` a temporary table filled by COPY.

Stored rows are read back for comparison with every value cast to text in SQL, then to the
canonical Arrow type, so that the comparison is the same on both databases (SQLite keeps
decimals as REAL and booleans as integers; PostgreSQL as NUMERIC and BOOLEAN): from SQLite a
page at a time, from PostgreSQL with ``COPY ... TO STDOUT`` parsed by Arrow.

The differences live in one subclass per database (:data:`BACKENDS`), not in branches; a
database without a subclass is refused with :class:`UnsupportedDatabase`.
"""

from __future__ import annotations

import io
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar, Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from django.db import connection

#: Rows per write statement or COPY block: large enough to amortise a round trip, small enough
#: to keep the Python objects of one batch (SQLite) in a few tens of megabytes.
WRITE_BATCH_ROWS: Final = 50_000
#: Rows fetched per round trip when reading stored rows back.
FETCH_ROWS: Final = 50_000
#: Lock id that serialises imports on PostgreSQL (SQLite's IMMEDIATE transactions already do).
IMPORT_LOCK_ID: Final = 0x66656E6A69  # "fenji"

#: SQLite page cache during an import, in KiB.
SQLITE_IMPORT_CACHE_KIB: Final = 64 * 1024

Progress = Callable[[int], None]


class UnsupportedDatabase(RuntimeError):
    """The configured database has no bulk import path (fenji supports SQLite and PostgreSQL)."""


def _quote(name: str) -> str:
    return str(connection.ops.quote_name(name))


def _columns(names: Sequence[str]) -> str:
    return ", ".join(_quote(n) for n in names)


def _batches(table: pa.Table) -> Iterator[pa.Table]:
    for start in range(0, table.num_rows, WRITE_BATCH_ROWS):
        yield table.slice(start, WRITE_BATCH_ROWS)


class Backend(ABC):
    """What both databases do alike; subclasses override where theirs differs."""

    vendor: ClassVar[str] = ""

    @abstractmethod
    def lock(self) -> None:
        """Serialise imports for the rest of the transaction."""

    @contextmanager
    def tuned(self) -> Iterator[None]:
        """Settings for the duration of a large write (nothing to change by default)."""
        yield

    def timestamp(self, value: Any) -> str:
        """A timezone-aware datetime as the text this database stores and parses."""
        return str(connection.ops.adapt_datetimefield_value(value))

    def count(self, table: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {_quote(table)}")
            row = cursor.fetchone()
        return int(row[0]) if row else 0

    def fetch(
        self,
        *,
        table: str,
        ids: Sequence[str],
        text: Sequence[str],
        where: str | None,
        keys: Sequence[Any],
    ) -> pa.Table:
        """Stored rows: ``ids`` columns as int64, ``text`` columns cast to text in SQL.

        With ``where``, only rows whose ``where`` column is one of ``keys``; without, the whole
        table (cheaper when the file holds most of it); ``ids`` must then start with ``id``.
        """
        names = [*ids, *text]
        types = [pa.int64()] * len(ids) + [pa.string()] * len(text)
        selected = ", ".join(
            [_quote(c) for c in ids] + [f"CAST({_quote(c)} AS TEXT) AS {_quote(c)}" for c in text]
        )
        base = f"SELECT {selected} FROM {_quote(table)}"
        schema = pa.schema(list(zip(names, types, strict=True)))
        if where is None and ids[:1] != ["id"]:
            raise ValueError("a scan pages by primary key: ids must start with 'id'")
        queries: list[tuple[str, list[Any] | None]] = []
        if where is None:
            queries.append((base, None))
        else:
            size = self.keys_per_query()
            for start in range(0, len(keys), size):
                queries.append(self._filtered(base, where, keys[start : start + size]))
        tables = [self._read(sql, params, schema) for sql, params in queries]
        return pa.concat_tables(tables).combine_chunks() if tables else schema.empty_table()

    @abstractmethod
    def _read(self, sql: str, params: list[Any] | None, schema: pa.Schema) -> pa.Table:
        """The rows of ``sql`` (with ``params``), or of the whole table a page at a time in
        primary key order when ``params`` is None, as an Arrow table of ``schema``."""

    def keys_per_query(self) -> int:
        """Keys per ``IN (...)`` list when reading stored rows by key."""
        return 900

    def _filtered(self, base: str, column: str, keys: Sequence[Any]) -> tuple[str, list[Any]]:
        marks = ", ".join(["%s"] * len(keys))
        return f"{base} WHERE {_quote(column)} IN ({marks})", list(keys)

    def insert(self, *, table: str, rows: pa.Table, progress: Progress) -> None:
        """Insert ``rows`` (columns named as the table's) with one prepared statement."""
        names = rows.column_names
        sql = (
            f"INSERT INTO {_quote(table)} ({_columns(names)}) "
            f"VALUES ({', '.join(['%s'] * len(names))})"
        )
        with connection.cursor() as cursor:
            for batch in _batches(rows):
                cursor.executemany(sql, _python_rows(batch))
                progress(batch.num_rows)

    def update(self, *, table: str, rows: pa.Table, progress: Progress) -> None:
        """Update the rows whose ``id`` is given with the other columns of ``rows``."""
        names = [n for n in rows.column_names if n != "id"]
        assignments = ", ".join(f"{_quote(n)} = %s" for n in names)
        sql = f"UPDATE {_quote(table)} SET {assignments} WHERE {_quote('id')} = %s"
        ordered = rows.select([*names, "id"])
        with connection.cursor() as cursor:
            for batch in _batches(ordered):
                cursor.executemany(sql, _python_rows(batch))
                progress(batch.num_rows)


class SqliteBackend(Backend):
    vendor = "sqlite"

    def lock(self) -> None:
        # Nothing to take: the transaction began IMMEDIATE (see settings), which already holds
        # SQLite's one write lock until the commit.
        return None

    @contextmanager
    def tuned(self) -> Iterator[None]:
        # SQLite's default page cache (2 MiB) is far smaller than the indexes a million orders
        # update at random places (order date, customer); 64 MiB makes the insert 20-25%
        # faster. Restored afterwards: the connection may serve other work.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            row = cursor.fetchone()
            before = int(row[0]) if row else -2000
            cursor.execute(f"PRAGMA cache_size = {SQLITE_IMPORT_CACHE_KIB * -1}")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size = {before}")

    def _read(self, sql: str, params: list[Any] | None, schema: pa.Schema) -> pa.Table:
        # Rows become Arrow arrays a page at a time, so that a million stored rows never
        # exist as Python tuples at once. (Having SQLite write each page as one CSV text, as
        # PostgreSQL's COPY does, measured no faster: its string building costs as much.)
        names, types = schema.names, schema.types
        blocks: list[pa.RecordBatch] = []
        with connection.cursor() as cursor:
            if params is not None:
                blocks.extend(_collect(cursor, sql, params, names, types))
            else:
                page = f"{sql} WHERE {_quote('id')} > %s ORDER BY {_quote('id')} LIMIT {FETCH_ROWS}"
                last = 0
                while True:
                    found = list(_collect(cursor, page, [last], names, types))
                    blocks.extend(found)
                    if sum(b.num_rows for b in found) < FETCH_ROWS:
                        break
                    last = found[-1].column(0)[-1].as_py()
        return pa.Table.from_batches(blocks, schema=schema)

    def keys_per_query(self) -> int:
        # Django assumes SQLite's historical limit of 999 parameters; the library in use
        # usually allows 32766, which makes reading a million keys back 30 times cheaper.
        raw = connection.connection
        limit = 999
        if raw is not None and hasattr(raw, "getlimit"):
            limit = int(raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
        return max(1, min(limit, 32_766) - 1)


class PostgresBackend(Backend):
    vendor = "postgresql"

    def keys_per_query(self) -> int:
        return 100_000  # one array parameter per query, not one parameter per key

    def lock(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK_ID])

    def _filtered(self, base: str, column: str, keys: Sequence[Any]) -> tuple[str, list[Any]]:
        return f"{base} WHERE {_quote(column)} = ANY(%s)", [list(keys)]

    def _read(self, sql: str, params: list[Any] | None, schema: pa.Schema) -> pa.Table:
        # COPY the rows out as CSV and let Arrow parse it: no Python object per value, which
        # makes reading a million stored rows back several times faster than fetching them.
        # NULL comes out unquoted and empty, an empty text quoted, as Arrow tells them apart.
        chunks: list[bytes] = []
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy,
        ):
            chunks.extend(bytes(block) for block in copy)
        return _parse_csv(b"".join(chunks), schema)

    def insert(self, *, table: str, rows: pa.Table, progress: Progress) -> None:
        self._copy(table, rows, progress)

    def update(self, *, table: str, rows: pa.Table, progress: Progress) -> None:
        # COPY into a scratch table with the target's column types, then one UPDATE ... FROM:
        # orders of magnitude faster than one UPDATE per row. Dropped at once, so that two
        # imports in one transaction (a test, a multi-file import) can each have theirs.
        stage = f"fenji_import_{table}"
        names = rows.column_names
        others = [n for n in names if n != "id"]
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {_quote(stage)} AS "
                f"SELECT {_columns(names)} FROM {_quote(table)} WITH NO DATA"
            )
        self._copy(stage, rows, progress)
        assignments = ", ".join(f"{_quote(n)} = s.{_quote(n)}" for n in others)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {_quote(table)} AS t SET {assignments} "
                f"FROM {_quote(stage)} AS s WHERE t.{_quote('id')} = s.{_quote('id')}"
            )
            cursor.execute(f"DROP TABLE {_quote(stage)}")

    @staticmethod
    def _copy(table: str, rows: pa.Table, progress: Progress) -> None:
        sql = f"COPY {_quote(table)} ({_columns(rows.column_names)}) FROM STDIN WITH (FORMAT csv)"
        # Every text value is quoted, so that an empty text stays '' and only a missing value
        # (written as nothing) is NULL.
        options = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
        with connection.cursor() as cursor, cursor.copy(sql) as copy:
            for batch in _batches(rows):
                buffer = io.BytesIO()
                pacsv.write_csv(batch, buffer, write_options=options)
                copy.write(buffer.getbuffer())
                progress(batch.num_rows)


BACKENDS: Final[dict[str, type[Backend]]] = {
    SqliteBackend.vendor: SqliteBackend,
    PostgresBackend.vendor: PostgresBackend,
}


def backend() -> Backend:
    """The bulk paths of the database Django is connected to."""
    kind = BACKENDS.get(connection.vendor)
    if kind is None:
        raise UnsupportedDatabase(
            f"imports support SQLite and PostgreSQL; the database is {connection.vendor}"
        )
    return kind()


def _python_rows(batch: pa.Table) -> list[tuple[Any, ...]]:
    """Rows as tuples of the plain values every driver accepts: decimals and dates as text,
    which is exactly what Django itself hands SQLite for them."""
    columns: list[list[Any]] = []
    for column in batch.columns:
        if pa.types.is_decimal(column.type) or pa.types.is_date(column.type):
            column = pc.cast(column, pa.string())
        columns.append(column.to_pylist())
    return list(zip(*columns, strict=True))


def _parse_csv(data: bytes, schema: pa.Schema) -> pa.Table:
    """Rows written as CSV by PostgreSQL: NULL unquoted and empty, an empty text quoted."""
    if not data:
        return schema.empty_table()
    return pacsv.read_csv(
        pa.BufferReader(data),
        read_options=pacsv.ReadOptions(column_names=schema.names),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types=dict(zip(schema.names, schema.types, strict=True)),
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )


def _collect(
    cursor: Any, sql: str, params: Any, names: list[str], types: list[pa.DataType]
) -> Iterator[pa.RecordBatch]:
    cursor.execute(sql, params)
    while rows := cursor.fetchmany(FETCH_ROWS):
        columns = zip(*rows, strict=True)
        arrays = [pa.array(c, t) for c, t in zip(columns, types, strict=True)]
        yield pa.RecordBatch.from_arrays(arrays, names=names)
