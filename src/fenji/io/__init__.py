"""Reading and writing fenji's input files: customers and facts as canonical Arrow tables.

Files may be CSV (UTF-8 or GB18030/GBK, detected), XLSX or Parquet, with Chinese headers and
values written the way Chinese ERPs and Excel write them. Reading either returns complete tables
of the canonical types of :mod:`fenji.policy.sources` or raises :class:`DataError` with every
problem found, each naming file, row, column and value.
"""

from typing import TYPE_CHECKING, Any

from fenji.io.errors import DataError, DataIssue

if TYPE_CHECKING:
    from fenji.io.readers import coerce_table, read_dataset, read_source
    from fenji.io.writers import write_table

_LAZY = {
    "coerce_table": "fenji.io.readers",
    "read_dataset": "fenji.io.readers",
    "read_source": "fenji.io.readers",
    "write_table": "fenji.io.writers",
}


def __getattr__(name: str) -> Any:
    # The parsers load pandas through pyarrow's conversions (about a second); a run that scans
    # Parquet directly never needs them, so they are imported on first use.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)


__all__ = ["DataError", "DataIssue", "coerce_table", "read_dataset", "read_source", "write_table"]
