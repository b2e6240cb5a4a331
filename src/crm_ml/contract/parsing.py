"""Turning raw text columns into typed ones, remembering every value that would not parse.

pandas would coerce a bad date to NaT without a word; here each such value becomes a
reason on its row, so the row is quarantined instead of silently losing a field.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_ml.contract.ids import TEXT, normalise_ids
from crm_ml.contract.tables import Kind

# "1.0" / "0.0": a flag column that pandas wrote with gaps (as a Parquet float 1.0 is read)
_TRUE = frozenset({"true", "1", "1.0", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "0.0", "no", "n", "f"})
STRING = TEXT
_NS_RANGE = (pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC"))


def parse_column(values: pd.Series, kind: Kind) -> tuple[pd.Series, pd.Series]:
    """The typed column and a boolean mask of the values that were present but unparseable."""
    parsed = _PARSERS[kind](values)
    present = values.notna()
    if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values)):
        present &= values.astype(STRING).str.strip().ne("").fillna(False)
    unparseable = present.to_numpy(dtype=bool) & parsed.isna().to_numpy(dtype=bool)
    return parsed, pd.Series(unparseable, index=values.index)


def _parse_text(values: pd.Series) -> pd.Series:
    text = _whole_numbers_as_text(values) if pd.api.types.is_float_dtype(values) else values
    text = text.astype(STRING).str.strip()
    return text.mask(text == "")


def _whole_numbers_as_text(values: pd.Series) -> pd.Series:
    """1.0 -> "1": an integer column that Parquet stored as float because of a null.
    Fractional values stay as they are (and fail to parse where a number is not wanted)."""
    present = values.notna()
    whole = present & np.isfinite(values) & (values == np.round(values))
    if (whole | ~present).all():
        return values.astype("Int64")
    return values.astype(STRING).where(~whole, values.where(whole).astype("Int64").astype(STRING))


def _parse_id(values: pd.Series) -> pd.Series:
    return normalise_ids(_parse_text(values))


def _parse_str(values: pd.Series) -> pd.Series:
    return values.astype(STRING)


def _parse_timestamp(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        # Parquet timestamps: naive ones are UTC
        if not isinstance(values.dtype, pd.DatetimeTZDtype):
            values = values.dt.tz_localize("UTC")
        stamps = values.dt.tz_convert("UTC")
    else:
        text = _parse_text(values)
        stamps = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    # Beyond pandas' nanosecond range (a 9999-12-31 "never" marker) is unparseable rather
    # than an overflow error. Parquet timestamps come in microseconds, and pandas 3 parses
    # text in microseconds too, so such a value gets this far as a date.
    return stamps.where(stamps.between(*_NS_RANGE)).astype("datetime64[ns, UTC]")


def _parse_float(values: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(_as_text_if_needed(values), errors="coerce").astype("float64")
    return numbers.mask(~np.isfinite(numbers))


_INT_LIMIT = 2.0**53  # beyond this a float no longer holds every whole number exactly


def _parse_int(values: pd.Series) -> pd.Series:
    numbers = _parse_float(values)
    whole = numbers.mask((numbers != np.round(numbers)) | (numbers.abs() > _INT_LIMIT))
    return whole.astype("Int64")


def _parse_bool(values: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean")
    text = _parse_text(values).str.lower()
    mapped = pd.Series(pd.NA, index=values.index, dtype="boolean")
    mapped[text.isin(_TRUE).fillna(False).astype(bool)] = True
    mapped[text.isin(_FALSE).fillna(False).astype(bool)] = False
    return mapped


def _as_text_if_needed(values: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values
    return _parse_text(values)


_PARSERS = {
    Kind.ID: _parse_id,
    Kind.STR: _parse_str,
    Kind.TS: _parse_timestamp,
    Kind.FLOAT: _parse_float,
    Kind.INT: _parse_int,
    Kind.BOOL: _parse_bool,
}
