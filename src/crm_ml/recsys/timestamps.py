"""Timestamps in UTC before anything compares them with a cutoff (DESIGN.md: timestamps are UTC).

Accepted tables from the contract are UTC already. Tables a user builds by hand often carry
naive timestamps, which pandas refuses to compare with a UTC cutoff (a bare `TypeError`);
they are read as UTC here, with one warning naming the columns.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pandas as pd

log = logging.getLogger(__name__)


def _is_timestamp_column(name: str, column: pd.Series) -> bool:
    return pd.api.types.is_datetime64_any_dtype(column) or name == "ts" or name.endswith("_ts")


def as_utc(cutoff: pd.Timestamp | str) -> pd.Timestamp:
    """A cutoff as a UTC timestamp (a naive one is read as UTC)."""
    ts = pd.Timestamp(cutoff)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def utc_tables(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The same tables with every timestamp column in UTC; naive ones read as UTC, warned once.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Tables by name; timestamp columns are datetime columns and columns named `ts` or
        ending in `_ts`.

    Returns
    -------
    dict of str to DataFrame
        A new mapping; tables whose timestamps were UTC already are the same objects.

    Raises
    ------
    ValueError
        If a timestamp column holds text that is not a date, naming the table and column.
    """
    out: dict[str, pd.DataFrame] = {}
    naive: list[str] = []
    for name, table in tables.items():
        converted = {}
        for column in table.columns:
            values = table[column]
            if not _is_timestamp_column(str(column), values):
                continue
            if isinstance(values.dtype, pd.DatetimeTZDtype):
                if str(values.dt.tz) != "UTC":
                    converted[column] = values.dt.tz_convert("UTC")
                continue
            if not pd.api.types.is_datetime64_any_dtype(values):
                try:
                    values = pd.to_datetime(values, format="ISO8601")
                except (ValueError, TypeError) as err:
                    raise ValueError(
                        f"table '{name}' column '{column}' holds values that are not "
                        f"timestamps ({err}); give ISO 8601 dates or datetime values"
                    ) from err
                if isinstance(values.dtype, pd.DatetimeTZDtype):
                    converted[column] = values.dt.tz_convert("UTC")
                    continue
            naive.append(f"{name}.{column}")
            converted[column] = values.dt.tz_localize("UTC")
        out[name] = table.assign(**converted) if converted else table
    if naive:
        log.warning(
            "timestamps without a timezone in %s are read as UTC; give them a timezone "
            "(DESIGN.md: timestamps are UTC) to silence this",
            ", ".join(naive),
        )
    return out
