"""Register accepted contract tables in DuckDB under fixed names with every contract column.

The feature SQL reads `customers`, `orders`, `events`, ... and may rely on every contract
column existing: an optional column missing from the input is exposed as NULL (or as its
documented default, e.g. `orders.is_return` derived from a negative amount), and the
columns that were really present are recorded so that feature groups needing an absent
column are skipped instead of silently filled. Tables are registered once per connection,
so building many cutoffs reuses the same scans.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from crm_ml.contract.tables import PERSONAL_COLUMNS, TABLES, Kind

log = logging.getLogger(__name__)

SQL_TYPES: dict[Kind, str] = {
    Kind.ID: "VARCHAR",
    Kind.TS: "TIMESTAMPTZ",
    Kind.FLOAT: "DOUBLE",
    Kind.INT: "BIGINT",
    Kind.BOOL: "BOOLEAN",
    Kind.STR: "VARCHAR",
}

# Defaults for optional columns whose absence has an unambiguous meaning. Every other
# absent optional column becomes NULL and the groups that need it are skipped.
DERIVED_DEFAULTS: dict[tuple[str, str], str] = {
    # The contract makes a return line's amount negative, so the flag can be recovered.
    ("orders", "is_return"): "amount < 0",
    # No control flag: every contact was really sent.
    ("contacts", "is_control"): "FALSE",
    ("customers", "marketing_consent"): "FALSE",
}
FEATURE_TABLES = tuple(t for t in TABLES if t != "erasure")

TablesInput = Mapping[str, pd.DataFrame] | str | Path | Any


@dataclass(frozen=True)
class RegisteredSources:
    """Which tables and columns the input really had, and when it was exported (if known)."""

    columns: Mapping[str, frozenset[str]]
    export_as_of: pd.Timestamp | None

    def has(self, table: str, column: str | None = None) -> bool:
        """True when the table (and the column, if given) was present in the input."""
        if table not in self.columns:
            return False
        return column is None or column in self.columns[table]


def open_connection(threads: int | None, memory_limit: str, temp_directory: str | None) -> Any:
    """A DuckDB connection in UTC with the configured resources."""
    con = duckdb.connect(database=":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    # Insertion order is irrelevant for aggregates and keeping it costs memory on big scans.
    con.execute("SET preserve_insertion_order = false")
    if threads is not None:
        con.execute(f"SET threads = {int(threads)}")
    if temp_directory is not None:
        con.execute(f"SET temp_directory = '{temp_directory}'")
    return con


def register_sources(con: Any, tables_or_dir: TablesInput) -> RegisteredSources:
    """Expose the input tables to `con` as views named after the contract tables.

    `tables_or_dir` is a dict of accepted DataFrames, a contract result with `.tables`
    (and `.as_of`), or a directory holding `<table>.parquet` files (and maybe
    `manifest.json` with the export's `as_of`).
    """
    raw_columns, export_as_of = _register_raw(con, tables_or_dir)
    if "customers" not in raw_columns:
        raise ValueError("feature input has no `customers` table; it is required")
    if "orders" not in raw_columns:
        raise ValueError("feature input has no `orders` table; it is required")
    if "products" not in raw_columns:
        raise ValueError("feature input has no `products` table; it is required")
    for table in FEATURE_TABLES:
        if table in raw_columns:
            con.execute(_canonical_view_sql(table, raw_columns[table]))
        else:
            # An empty table with the contract's columns keeps SQL that mentions it valid;
            # the groups needing it are skipped all the same.
            con.execute(_empty_view_sql(table))
    return RegisteredSources(columns=raw_columns, export_as_of=export_as_of)


def _register_raw(
    con: Any, source: TablesInput
) -> tuple[dict[str, frozenset[str]], pd.Timestamp | None]:
    if isinstance(source, str | Path):
        return _register_directory(con, Path(source))
    frames = source.tables if hasattr(source, "tables") else source
    as_of = getattr(source, "as_of", None)
    if not isinstance(frames, Mapping):
        raise TypeError(
            "features need a dict of table name -> DataFrame, a contract result with .tables, "
            f"or a directory of <table>.parquet files; got {type(source).__name__}"
        )
    columns: dict[str, frozenset[str]] = {}
    for table in FEATURE_TABLES:
        if table in frames:
            con.register(f"raw_{table}", pa.Table.from_pandas(frames[table], preserve_index=False))
            columns[table] = frozenset(frames[table].columns)
    return columns, _utc_or_none(as_of)


def _register_directory(
    con: Any, directory: Path
) -> tuple[dict[str, frozenset[str]], pd.Timestamp | None]:
    if not directory.is_dir():
        raise FileNotFoundError(f"feature input directory {directory} does not exist")
    columns: dict[str, frozenset[str]] = {}
    for table in FEATURE_TABLES:
        path = directory / f"{table}.parquet"
        if not path.exists():
            continue
        literal = str(path).replace("'", "''")
        con.execute(
            f"CREATE OR REPLACE VIEW raw_{table} AS SELECT * FROM read_parquet('{literal}')"
        )
        described = con.execute(f"DESCRIBE SELECT * FROM raw_{table}").fetchall()
        columns[table] = frozenset(row[0] for row in described)
    manifest = directory / "manifest.json"
    as_of = json.loads(manifest.read_text()).get("as_of") if manifest.exists() else None
    return columns, _utc_or_none(as_of)


def _utc_or_none(value: Any) -> pd.Timestamp | None:
    if value is None:
        return None
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _empty_view_sql(table: str) -> str:
    columns = ", ".join(
        f"CAST(NULL AS {SQL_TYPES[kind]}) AS {column}"
        for column, kind in TABLES[table].columns.items()
        if column not in PERSONAL_COLUMNS
    )
    return f"CREATE OR REPLACE VIEW {table} AS SELECT {columns} WHERE FALSE"


def _canonical_view_sql(table: str, present: frozenset[str]) -> str:
    spec = TABLES[table]
    missing = [c for c in spec.required if c not in present]
    if missing:
        raise ValueError(
            f"table `{table}` lacks required column(s) {missing}; the contract loader should have "
            "rejected it - load it with crm_ml.contract.load_tables first"
        )
    select = []
    for column, kind in spec.columns.items():
        if column in PERSONAL_COLUMNS:
            continue
        sql_type = SQL_TYPES[kind]
        derived = DERIVED_DEFAULTS.get((table, column))
        if column in present:
            expr = f"CAST({column} AS {sql_type})"
            if derived is not None:
                expr = f"COALESCE({expr}, {derived})"
        else:
            expr = derived if derived is not None else f"CAST(NULL AS {sql_type})"
        select.append(f"{expr} AS {column}")
    return f"CREATE OR REPLACE VIEW {table} AS SELECT {', '.join(select)} FROM raw_{table}"
