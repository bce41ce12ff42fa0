"""The Python API for notebooks and scripts: ``fenji.evaluate(policy, data, as_of)``.

``policy`` is a path, YAML text or a loaded :class:`~fenji.policy.models.Policy`; ``data`` is a
folder of canonical files, or a mapping from source name to a pandas or Polars DataFrame, an
Arrow table, or a file path. DataFrames are coerced to the canonical types exactly as files are,
so a float column of amounts becomes exact decimals before any boundary is compared.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from fenji.dates import parse_as_of
from fenji.engine.evaluate import Evaluation, evaluate_connection
from fenji.engine.runner import locked_connection
from fenji.policy.models import Policy
from fenji.policy.sources import BUILTIN_SOURCES, Column, Source
from fenji.policy.validate import load_policy, parse_policy

if TYPE_CHECKING:
    import pyarrow as pa

PolicyLike = Policy | str | Path
DataLike = str | Path | Mapping[str, Any]


def as_policy(policy: PolicyLike) -> Policy:
    """A validated policy from a model, a path, or YAML text."""
    if isinstance(policy, Policy):
        return policy
    if isinstance(policy, Path):
        return load_policy(policy)
    text = str(policy)
    if "\n" in text or text.lstrip().startswith("fenji:"):
        return parse_policy(text, file="<text>")
    return load_policy(text)


def policy_sources(policy: Policy) -> dict[str, Source]:
    """Built-in sources plus the fact tables the policy declares."""
    sources = dict(BUILTIN_SOURCES)
    for name, decl in policy.sources.items():
        columns = [Column("customer_id", "string")]
        if decl.has_business_line:
            columns.append(Column("business_line", "string", required=False))
        columns += [Column(c, t) for c, t in decl.columns.items() if c != "customer_id"]
        sources[name] = Source(
            name=name, columns=tuple(columns), key=(), date_column=decl.date_column
        )
    return sources


def _to_arrow(value: Any) -> pa.Table:
    import pyarrow as pa

    if isinstance(value, pa.Table):
        return value
    if hasattr(value, "to_arrow"):  # Polars
        table = value.to_arrow()
        assert isinstance(table, pa.Table)
        return table
    return pa.Table.from_pandas(value, preserve_index=False)


def load_data(policy: Policy, data: DataLike) -> dict[str, pa.Table]:
    """Canonical Arrow tables from a folder or a mapping of name -> frame/table/path."""
    from fenji.io import read_dataset, read_source
    from fenji.io.readers import coerce_table  # the same coercion files get

    sources = policy_sources(policy)
    if isinstance(data, str | Path):
        # Only the tables the policy reads: an unused file is neither read nor checked.
        return read_dataset(Path(data), names=policy.sources_read(), sources=sources)
    tables: dict[str, pa.Table] = {}
    for name, value in data.items():
        source = sources.get(name)
        if isinstance(value, str | Path):
            if source is None:
                raise ValueError(f"unknown source '{name}': declare it under 'sources'")
            tables[name] = read_source(Path(value), source)
        elif source is not None:
            tables[name] = coerce_table(_to_arrow(value), source, file=f"<{name}>")
        else:
            tables[name] = _to_arrow(value)
    return tables


def open_engine(
    policy: Policy,
    data: DataLike,
    *,
    as_of: date | None = None,
    output: Path | None = None,
) -> tuple[duckdb.DuckDBPyConnection, dict[str, set[str]], Callable[[], None] | None]:
    """A locked DuckDB connection holding the policy's tables, and their column names.

    A folder of Parquet files of canonical types is scanned in place by DuckDB (checked in SQL);
    anything else is read, parsed and checked by :mod:`fenji.io` into Arrow first. ``output``
    is the one file the connection may write."""
    if isinstance(data, str | Path):
        from fenji.io.direct import open_direct

        direct = open_direct(
            Path(data), policy.sources_read(), policy_sources(policy), output=output
        )
        if direct is not None:
            return direct.con, direct.columns, direct.verified
    tables = load_data(policy, data)
    con = locked_connection(tables, writable=output)
    return con, {k: set(v.column_names) for k, v in tables.items()}, None


def evaluate(
    policy: PolicyLike,
    data: DataLike,
    as_of: date | datetime | str,
    *,
    lang: str = "zh",
    explain: bool = False,
    include_metrics: bool = False,
    output: Path | None = None,
) -> Evaluation:
    """Evaluate ``policy`` over ``data`` at ``as_of``.

    >>> result = fenji.evaluate("examples/policies/tob_abcd.yaml", "data/", "2026-10-31")
    >>> result.labels.head(); result.explain("C00001"); result.summary()
    """
    p = as_policy(policy)
    day = parse_as_of(as_of)
    con, columns, verify = open_engine(p, data, as_of=day, output=output)
    try:
        return evaluate_connection(
            p,
            con,
            columns,
            day,
            lang=lang,
            explain=explain,
            include_metrics=include_metrics,
            verify=verify,
        )
    except BaseException:
        con.close()
        raise
