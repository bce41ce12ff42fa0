"""Reading and writing fenji's input files: customers and facts as canonical Arrow tables.

Files may be CSV (UTF-8 or GB18030/GBK, detected), XLSX or Parquet, with Chinese headers and
values written the way Chinese ERPs and Excel write them. Reading either returns complete tables
of the canonical types of :mod:`fenji.policy.sources` or raises :class:`DataError` with every
problem found, each naming file, row, column and value.
"""

from fenji.io.errors import DataError, DataIssue
from fenji.io.readers import coerce_table, read_dataset, read_source
from fenji.io.writers import write_table

__all__ = ["DataError", "DataIssue", "coerce_table", "read_dataset", "read_source", "write_table"]
