"""Let DuckDB scan Parquet files in place when they already carry canonical types.

Parquet written by fenji, a warehouse export or a data pipeline usually has the right types
already: strings, dates, exact decimals. Converting such files to Arrow and re-checking every
cell in Python would cost more than the whole evaluation, so for them DuckDB reads the files
directly (multi-threaded, only the columns and row groups it needs) and the checks that keep a
bad file from producing a result run as SQL in the same engine: required values present, keys
unique, every fact's customer known. Files that need parsing (CSV, XLSX, Parquet with text or
float columns) go through :mod:`fenji.io.readers` instead.

The connection is locked down after the views are created: it may read exactly these files
(and write the one output file, if any), nothing else.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from fenji.io.errors import DataError, DataIssue
from fenji.policy.sources import DECIMAL_PRECISION, DECIMAL_SCALE, Column, Source

CANONICAL_DECIMAL = f"DECIMAL({DECIMAL_PRECISION},{DECIMAL_SCALE})"
_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}
_DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")
_FORMATS = (".csv", ".txt", ".parquet", ".xlsx", ".xlsm")


@dataclass
class DirectData:
    """A locked DuckDB connection with one view per source, and what each view holds.

    The checks of the files run in the engine while the policy is compiled and evaluated (the
    engine does not hold Python's lock while it works); :meth:`verified` waits for them and
    raises :class:`DataError` if any failed. Nothing may be written or shown before it returns."""

    con: duckdb.DuckDBPyConnection
    columns: dict[str, set[str]] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    pending: Future[None] | None = None

    def verified(self) -> None:
        if self.pending is not None:
            self.pending.result()


def writable_paths(output: Path) -> list[str]:
    """The result file and the temporary file DuckDB writes first and renames over it."""
    target = output.resolve()
    return [str(target), str(target.with_name("tmp_" + target.name))]


def _quote_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _fits(column: Column, duck_type: str) -> bool:
    """Whether a Parquet column's type converts to the canonical one exactly."""
    t = duck_type.upper()
    if column.type == "string":
        return t == "VARCHAR"
    if column.type in ("date", "month"):
        return t == "DATE"
    if column.type == "boolean":
        return t == "BOOLEAN"
    if column.type == "integer":
        return t in _INTEGER_TYPES
    if column.type == "decimal":
        if t in _INTEGER_TYPES - {"BIGINT"}:
            return True
        m = _DECIMAL.match(t)
        if m is None:
            return False
        precision, scale = int(m.group(1)), int(m.group(2))
        return scale <= DECIMAL_SCALE and precision - scale <= DECIMAL_PRECISION - DECIMAL_SCALE
    return False


def _find(folder: Path, name: str) -> list[Path]:
    return [folder / f"{name}{ext}" for ext in _FORMATS if (folder / f"{name}{ext}").is_file()]


def open_direct(
    folder: Path,
    names: tuple[str, ...],
    sources: Mapping[str, Source],
    *,
    output: Path | None = None,
    threads: int | None = None,
) -> DirectData | None:
    """Views over the Parquet files of ``names`` in ``folder``, checked and locked; or None when
    any of them is not a Parquet file of canonical types (then the general readers apply)."""
    files: dict[str, Path] = {}
    for name in names:
        found = _find(folder, name)
        if not found:
            continue
        if len(found) > 1 or found[0].suffix != ".parquet" or name not in sources:
            return None
        files[name] = found[0]
    if not folder.is_dir() or not files:
        return None
    con = duckdb.connect(":memory:")
    try:
        views = _create_views(con, files, sources)
        if views is None:
            con.close()
            return None
        checker = con.cursor()
        allowed = [str(p.resolve()) for p in files.values()]
        if output is not None:
            allowed += writable_paths(output)
        con.execute(
            "SET allowed_paths = " + "[" + ", ".join(_quote_path(Path(a)) for a in allowed) + "]"
        )
        if threads is not None:
            con.execute(f"SET threads = {int(threads)}")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fenji-checks")
    pending = pool.submit(_check, checker, files, sources)
    pool.shutdown(wait=False)
    return DirectData(con=con, columns=views, files=files, pending=pending)


def _create_views(
    con: duckdb.DuckDBPyConnection, files: Mapping[str, Path], sources: Mapping[str, Source]
) -> dict[str, set[str]] | None:
    out: dict[str, set[str]] = {}
    for name, path in files.items():
        described = con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({_quote_path(path)})"
        ).fetchall()
        types = {str(row[0]): str(row[1]) for row in described}
        lowered = {k.strip().lower(): k for k in types}
        source = sources[name]
        selects: list[str] = []
        for column in source.columns:
            actual = lowered.get(column.name)
            if actual is None:
                if column.name in source.optional_columns:
                    selects.append(f"CAST(NULL AS {_duck_type(column)}) AS {_ident(column.name)}")
                    continue
                return None  # the general reader reports the missing column properly
            if not _fits(column, types[actual]):
                return None
            selects.append(
                f"CAST({_ident(actual)} AS {_duck_type(column)}) AS {_ident(column.name)}"
            )
        known = {c.name for c in source.columns}
        for key, actual in lowered.items():
            if key not in known and types[actual] == "VARCHAR":
                selects.append(f"{_ident(actual)} AS {_ident(key)}")
        con.execute(
            f"CREATE VIEW {_ident(name)} AS SELECT {', '.join(selects)} "
            f"FROM read_parquet({_quote_path(path)})"
        )
        out[name] = {c.name for c in source.columns} | {
            k for k in lowered if k not in known and types[lowered[k]] == "VARCHAR"
        }
    return out


def _duck_type(column: Column) -> str:
    return {
        "string": "VARCHAR",
        "date": "DATE",
        "month": "DATE",
        "boolean": "BOOLEAN",
        "integer": "BIGINT",
        "decimal": CANONICAL_DECIMAL,
    }[column.type]


#: Bump when the checks change, so that files passed by older checks are checked again.
CHECKS_VERSION = 1


def _cache_dir() -> Path | None:
    """Where passed checks are remembered: ``FENJI_CACHE_DIR`` (``off`` disables), else the
    user's cache folder."""
    env = os.environ.get("FENJI_CACHE_DIR")
    if env is not None:
        return None if env.strip().lower() in ("", "off", "0", "no") else Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fenji" / "checks"


def _fingerprint(*paths: Path) -> str:
    """A key for the checks of these files as they are now: path, size and modification time."""
    parts: list[str] = [f"v{CHECKS_VERSION}"]
    for path in paths:
        st = path.stat()
        parts.append(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _passed(check: str, *paths: Path) -> bool:
    folder = _cache_dir()
    return folder is not None and (folder / f"{check}-{_fingerprint(*paths)}").exists()


def _remember(check: str, *paths: Path) -> None:
    folder = _cache_dir()
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{check}-{_fingerprint(*paths)}").touch()
    except OSError:
        pass  # a read-only cache only means the next run checks again


def _check(
    con: duckdb.DuckDBPyConnection, files: Mapping[str, Path], sources: Mapping[str, Source]
) -> None:
    """Required values, unique keys and known customers, as SQL; every issue with its row.

    Required values are counted on every run (one cheap pass). Key uniqueness and customer
    references need every key of the file, which costs more than the evaluation itself on tens
    of millions of orders; they are checked over the whole file once per version of the file
    (path, size, modification time) and remembered, so re-grading the same data with another
    as-of date or a changed policy does not pay for them again."""
    issues: list[DataIssue] = []
    for name, path in files.items():
        source = sources[name]
        required = [c for c in source.columns if c.required]
        counts = ", ".join(f"COUNT(*) - COUNT({_ident(c.name)})" for c in required)
        row = con.execute(f"SELECT {counts} FROM {_ident(name)}").fetchone()
        assert row is not None
        for column, missing in zip(required, row, strict=True):
            if missing:
                issues += _rows_where(
                    con,
                    name,
                    path,
                    f"{_ident(column.name)} IS NULL",
                    column.name,
                    "io.missing_value",
                )
        if source.key and not _passed("keys", path):
            found = _duplicates(con, name, path, source)
            issues += found
            if not found:
                _remember("keys", path)
    customers = files.get("customers")
    if customers is not None:
        for name, path in files.items():
            if name == "customers" or "customer_id" not in sources[name].column_names:
                continue
            if _passed("customers", path, customers):
                continue
            cond = (
                "customer_id IS NOT NULL AND customer_id NOT IN "
                f"(SELECT customer_id FROM {_ident('customers')})"
            )
            found = _rows_where(con, name, path, cond, "customer_id", "io.unknown_customer")
            issues += found
            if not found:
                _remember("customers", path, customers)
    if issues:
        raise DataError(issues)


_MESSAGES = {
    "io.missing_value": (
        "a value is required here",
        "此处必须填写",
        "fill in the cell",
        "请补全该单元格",
    ),
    "io.unknown_customer": (
        "this customer id is not in customers",
        "该客户编号不在客户表中",
        "add the customer to customers, or correct the id",
        "请在客户表中补充该客户，或更正编号",
    ),
    "io.duplicate_key": (
        "this key appears more than once",
        "该编号重复出现",
        "keep one row per key",
        "每个编号只保留一行",
    ),
}


def _rows_where(
    con: duckdb.DuckDBPyConnection, name: str, path: Path, cond: str, column: str, code: str
) -> list[DataIssue]:
    rows = con.execute(
        f"SELECT file_row_number, CAST({_ident(column)} AS VARCHAR) "
        f"FROM read_parquet({_quote_path(path)}, file_row_number = true) "
        f"WHERE {cond} ORDER BY file_row_number LIMIT 1000"
    ).fetchall()
    return _issues(code, path, column, rows)


def _duplicates(
    con: duckdb.DuckDBPyConnection, name: str, path: Path, source: Source
) -> list[DataIssue]:
    """Rows whose key another row has too. Sorting the keys' 64-bit hashes finds candidates
    in parallel without a hash table of strings; only candidates are compared exactly, so a
    hash collision can never be reported as a duplicate."""
    key = ", ".join(_ident(k) for k in source.key)
    row = con.execute(
        f"""
        SELECT COUNT(*) FROM (
            SELECT h = LAG(h) OVER (ORDER BY h) AS same
            FROM (SELECT hash({key}) AS h FROM {_ident(name)})
        ) WHERE same
        """
    ).fetchone()
    if row is None or not row[0]:
        return []
    rows = con.execute(
        f"""
        SELECT file_row_number, CAST(({key}) AS VARCHAR) FROM (
            SELECT *, COUNT(*) OVER (PARTITION BY {key}) AS n
            FROM read_parquet({_quote_path(path)}, file_row_number = true)
        ) WHERE n > 1 ORDER BY {key}, file_row_number LIMIT 1000
        """
    ).fetchall()
    return _issues("io.duplicate_key", path, ", ".join(source.key), rows)


def _issues(code: str, path: Path, column: str, rows: list[tuple[Any, ...]]) -> list[DataIssue]:
    """Issues of one kind from (file_row_number, value) rows; rows as a spreadsheet numbers
    them (the header is row 1)."""
    message, message_zh, hint, hint_zh = _MESSAGES[code]
    return [
        DataIssue(
            code=code,  # type: ignore[arg-type]
            file=path.name,
            row=int(r[0]) + 2,
            column=column,
            value=r[1],
            message=message,
            message_zh=message_zh,
            hint=hint,
            hint_zh=hint_zh,
        )
        for r in rows
    ]
