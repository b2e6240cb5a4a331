"""Data sources for crm-ml: the synthetic world, public datasets and plain snapshot tables.

A source writes a contract source directory (one Parquet file per table + manifest.json);
`get_source(name).write(out_dir)` picks one by name. See `crm_ml.datasets.registry` for
how to add one. A snapshot table (one row per customer, a label column) skips the
contract: `crm_ml.datasets.snapshot.load_snapshot`; `subscriber_table` makes a small one
for examples.
"""

from crm_ml.datasets.examples import subscriber_table
from crm_ml.datasets.registry import (
    DatasetSource,
    UnknownSourceError,
    get_source,
    list_sources,
    register,
    write_source_tables,
)

__all__ = [
    "DatasetSource",
    "UnknownSourceError",
    "get_source",
    "list_sources",
    "register",
    "subscriber_table",
    "write_source_tables",
]
