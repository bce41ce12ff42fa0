"""Run a compiled policy on DuckDB in-process, over Arrow tables.

The connection is locked down before any policy SQL runs: no file system or network access,
and the configuration frozen, so even a compiler bug could not make a policy read a file.
Tables are handed over as Arrow (zero-copy scans); results come back as Arrow.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    import pyarrow as pa


def locked_connection(
    tables: Mapping[str, pa.Table],
    *,
    threads: int | None = None,
    writable: Path | None = None,
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with ``tables`` registered and external access off.

    ``writable`` is the one file the engine may write (the result), if any."""
    con = duckdb.connect(":memory:")
    for name, table in tables.items():
        con.register(name, table)
    if threads is not None:
        con.execute(f"SET threads = {int(threads)}")
    if writable is not None:
        # The result file and the temporary file DuckDB writes first and renames over it.
        target = writable.resolve()
        paths = [str(target), str(target.with_name("tmp_" + target.name))]
        quoted = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
        con.execute(f"SET allowed_paths = [{quoted}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def run_sql(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    """Execute one query and return the whole result as an Arrow table."""
    result = con.sql(sql).to_arrow_table()
    return result
