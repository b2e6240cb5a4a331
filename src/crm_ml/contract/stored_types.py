"""Which Parquet (Arrow) column types each kind of contract column may arrive in.

CSV gives text, which the parsers judge value by value. Parquet gives typed columns, and
a column of the wrong type (fractional floats where an id is expected, epoch numbers
where a timestamp is) means the column was exported wrongly as a whole: that is one clear
error naming the file and the column, not a traceback and not a quarantine of every row.
Text is accepted for every kind and parsed like CSV. Types that carry the same
information are converted here: dictionaries, binary text from legacy writers, string
views, decimals.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from crm_ml.contract.errors import ContractError
from crm_ml.contract.tables import Kind, TableSpec

_EXPECTED = {
    Kind.ID: "text (an identifier)",
    Kind.STR: "text",
    Kind.FLOAT: "a number",
    Kind.INT: "a whole number",
    Kind.TS: "a timestamp (a Parquet timestamp or date, or ISO-8601 text)",
    Kind.BOOL: "a boolean",
}


def conform_parquet(path: Path, table: pa.Table, spec: TableSpec) -> pa.Table:
    """`table` with each contract column in a type its kind accepts, or ContractError."""
    for index, name in enumerate(table.column_names):
        if name in spec.columns:
            column = _plain(path, name, table.column(index), spec.columns[name])
            table = table.set_column(index, name, column)
    return table


def _plain(path: Path, name: str, column: pa.ChunkedArray, kind: Kind) -> pa.ChunkedArray:
    stored = column.type
    if pa.types.is_dictionary(stored):
        return _plain(path, name, column.cast(stored.value_type), kind)
    if pa.types.is_string_view(stored):  # Arrow's newer text layout (Polars, DuckDB)
        return _plain(path, name, column.cast(pa.large_string()), kind)
    if (
        pa.types.is_binary(stored)
        or pa.types.is_large_binary(stored)
        or pa.types.is_binary_view(stored)
    ):
        try:
            return _plain(path, name, column.cast(pa.large_string()), kind)
        except pa.ArrowInvalid:
            raise ContractError(
                f"{path}: column '{name}' is stored as {stored} and is not UTF-8 text; "
                "re-export it as UTF-8 strings."
            ) from None
    if pa.types.is_decimal(stored):
        if kind in (Kind.FLOAT, Kind.INT):
            return column.cast(pa.float64())
        if kind in (Kind.ID, Kind.STR) and stored.scale == 0:
            return column.cast(pa.large_string())
    if not _accepts(kind, stored):
        raise ContractError(
            f"{path}: column '{name}' is stored as {stored}; the contract expects "
            f"{_EXPECTED[kind]}. Re-export the column with that type."
        )
    if kind in (Kind.ID, Kind.STR) and pa.types.is_floating(stored) and not _whole(column):
        raise ContractError(
            f"{path}: column '{name}' is stored as {stored} with fractional values; the "
            f"contract expects {_EXPECTED[kind]}. Re-export it as a string column."
        )
    return column


def _accepts(kind: Kind, arrow_type: pa.DataType) -> bool:
    """Text and nulls always; otherwise the Arrow types that mean the kind's values."""
    t = pa.types
    if t.is_string(arrow_type) or t.is_large_string(arrow_type) or t.is_null(arrow_type):
        return True
    numeric = t.is_integer(arrow_type) or t.is_floating(arrow_type)
    if kind in (Kind.ID, Kind.STR, Kind.FLOAT, Kind.INT):
        return numeric  # whole-number floats are ids written by pandas with a null
    if kind is Kind.TS:
        return t.is_timestamp(arrow_type) or t.is_date(arrow_type)
    return t.is_boolean(arrow_type) or numeric  # Kind.BOOL: 1 / 0 are parsed like "1" / "0"


def _whole(column: pa.ChunkedArray) -> bool:
    """No value with a fraction (NaN counts as one); an all-null column is whole."""
    return pc.all(pc.equal(column, pc.floor(column))).as_py() in (True, None)
