"""Open one orders file, of any supported format, as a table of a locked DuckDB connection.

Model commands (``fenji clv``) read a single orders file rather than a data folder. A Parquet
file of canonical types is scanned in place by DuckDB, checked in SQL like a data folder's
(:mod:`fenji.io.direct`), so tens of millions of orders never become Python objects; a CDNOW
text file goes through :mod:`fenji.io.cdnow`; anything else through the canonical readers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb

from fenji.policy.sources import ORDERS

OrdersFormat = Literal["auto", "cdnow", "canonical"]
TABLE = "orders"


@dataclass
class OrdersData:
    """A locked connection with the orders as table ``orders``, its columns and its source."""

    con: duckdb.DuckDBPyConnection
    columns: set[str]
    file: Path
    format: Literal["cdnow", "parquet", "canonical"]
    table: str = TABLE

    def close(self) -> None:
        self.con.close()


def open_orders(
    path: str | Path,
    *,
    fmt: OrdersFormat = "auto",
    threads: int | None = None,
    output: Path | None = None,
) -> OrdersData:
    """The orders in ``path`` as table ``orders`` of a locked DuckDB connection.

    ``fmt='auto'`` recognises CDNOW text files by their content and reads anything else as
    canonical orders (CSV, XLSX, Parquet). ``output`` is the one file the engine may write.
    Raises :class:`~fenji.io.errors.DataError` listing every problem of the file, or
    ``FileNotFoundError``."""
    from fenji.engine.runner import locked_connection
    from fenji.io.cdnow import looks_like_cdnow, read_cdnow

    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"orders file {file} does not exist")
    if fmt == "cdnow" or (fmt == "auto" and looks_like_cdnow(file)):
        table = read_cdnow(file)
        con = locked_connection({TABLE: table}, threads=threads, writable=output)
        return OrdersData(con, set(table.column_names), file, "cdnow")
    if file.suffix.lower() == ".parquet":
        direct = _open_parquet(file, threads=threads, output=output)
        if direct is not None:
            return direct
    from fenji.io.readers import read_source

    table = read_source(file, ORDERS)
    con = locked_connection({TABLE: table}, threads=threads, writable=output)
    return OrdersData(con, set(table.column_names), file, "canonical")


def _open_parquet(file: Path, *, threads: int | None, output: Path | None) -> OrdersData | None:
    """A view over a Parquet file of canonical types, checked (required values, unique order
    ids) and locked; None when its types need the general reader."""
    from fenji.io.direct import _check, _create_views, _quote_path, writable_paths

    con = duckdb.connect(":memory:")
    try:
        views = _create_views(con, {TABLE: file}, {TABLE: ORDERS})
        if views is None:
            con.close()
            return None
        allowed = [str(file.resolve())] + (writable_paths(output) if output is not None else [])
        con.execute(
            "SET allowed_paths = [" + ", ".join(_quote_path(Path(a)) for a in allowed) + "]"
        )
        if threads is not None:
            con.execute(f"SET threads = {int(threads)}")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        # The checks run on a cursor of their own: a result they leave open would block the
        # connection for the summary query.
        checker = con.cursor()
        try:
            _check(checker, {TABLE: file}, {TABLE: ORDERS})
        finally:
            checker.close()
    except BaseException:
        con.close()
        raise
    return OrdersData(con, views[TABLE], file, "parquet")


__all__ = ["OrdersData", "OrdersFormat", "open_orders"]
