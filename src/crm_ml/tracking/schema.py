"""Column types as the model signature records them, and checking scoring input against them.

MLflow's own schema enforcement is strict in unhelpful ways for CRM features: it refuses
``int64`` data for a ``double`` column, pandas nullable types holding ``<NA>``, categoricals
and time-zone-aware timestamps, and it stops at the first bad column. So crm-ml records four
plain kinds in the signature (``double``, ``boolean``, ``string``, ``datetime``), converts
frames to that form before MLflow sees them (:func:`to_signature_frame`), and checks input
itself first (:func:`validate_input`), naming every missing and every mistyped column at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pandas as pd
from mlflow.types import Schema

from crm_ml.errors import CrmMlError

log = logging.getLogger(__name__)

DOUBLE, BOOLEAN, STRING, DATETIME = "double", "boolean", "string", "datetime"
EMPTY = "empty"  # no non-missing value: fits any kind

# Which kinds of input data each signature kind accepts (conversion is lossless).
_ACCEPTS = {
    DOUBLE: {DOUBLE, BOOLEAN, EMPTY},
    BOOLEAN: {BOOLEAN, EMPTY},
    STRING: {STRING, EMPTY},
    DATETIME: {DATETIME, EMPTY},
}
_OBJECT_KINDS = {
    "string": STRING,
    "empty": EMPTY,
    "boolean": BOOLEAN,
    "integer": DOUBLE,
    "floating": DOUBLE,
    "mixed-integer-float": DOUBLE,
    "decimal": DOUBLE,
    "datetime": DATETIME,
    "datetime64": DATETIME,
}


class InputSchemaError(CrmMlError, ValueError):
    """Scoring input does not match the model signature; lists every problem found."""

    def __init__(self, model_label: str, missing: list[str], wrong_types: list[str]) -> None:
        self.missing = missing
        self.wrong_types = wrong_types
        parts = []
        if missing:
            parts.append("missing columns: " + ", ".join(missing))
        if wrong_types:
            parts.append("wrong types: " + ", ".join(wrong_types))
        super().__init__(f"{model_label}: " + "; ".join(parts))


def column_kind(series: pd.Series) -> str:
    """The signature kind of a column's data, or a description of what it holds instead."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return BOOLEAN
    if pd.api.types.is_numeric_dtype(dtype):
        return DOUBLE
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return DATETIME
    if isinstance(dtype, pd.CategoricalDtype):
        inferred = pd.api.types.infer_dtype(dtype.categories, skipna=True)
        return _OBJECT_KINDS.get(inferred, f"mixed ({inferred})")
    if pd.api.types.is_string_dtype(dtype):
        inferred = pd.api.types.infer_dtype(series, skipna=True)
        return _OBJECT_KINDS.get(inferred, f"mixed ({inferred})")
    return str(dtype)


def feature_kinds(frame: pd.DataFrame) -> dict[str, str]:
    """Kind of every column of a training/example frame; refuses types a signature can't hold."""
    kinds = {str(column): column_kind(frame[column]) for column in frame.columns}
    unsupported = {c: k for c, k in kinds.items() if k not in _ACCEPTS}
    if unsupported:
        listed = ", ".join(f"{c} ({k})" for c, k in unsupported.items())
        raise TypeError(
            f"cannot build a model signature: unsupported column types: {listed}. "
            "Convert them to numbers, booleans, strings or timestamps first."
        )
    return kinds


def to_signature_frame(frame: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    """``frame`` restricted to ``kinds``' columns, converted to what MLflow accepts."""
    return pd.DataFrame(
        {column: _convert(frame[column], kind) for column, kind in kinds.items()},
        index=frame.index,
    )


def _convert(series: pd.Series, kind: str) -> pd.Series:
    if kind == DOUBLE:
        return series.astype("float64")
    if kind == DATETIME:
        return pd.to_datetime(series, utc=True).dt.tz_localize(None)
    # booleans and strings as Python objects with None for missing: MLflow rejects <NA>.
    if kind == BOOLEAN:
        series = series.astype("boolean")
    elif isinstance(series.dtype, pd.CategoricalDtype) or not pd.api.types.is_object_dtype(
        series.dtype
    ):
        series = series.astype("string")
    converted = series.astype(object)
    return converted.where(series.notna(), None)


def signature_kinds(schema: Schema) -> dict[str, str]:
    """Column name -> kind, from a logged model's input schema."""
    return {spec.name: spec.type.name for spec in schema.inputs}


@dataclass(frozen=True)
class InputCheck:
    """Outcome of :func:`validate_input`: the columns to keep and the extras dropped."""

    columns: list[str]
    extra: list[str]


def validate_input(frame: pd.DataFrame, kinds: dict[str, str], model_label: str) -> InputCheck:
    """Raise :class:`InputSchemaError` listing all missing and mistyped columns at once."""
    missing = [column for column in kinds if column not in frame.columns]
    wrong = []
    for column, expected in kinds.items():
        if column in frame.columns:
            got = column_kind(frame[column])
            if got not in _ACCEPTS.get(expected, {expected}):
                wrong.append(f"{column} expected {expected}, got {got}")
    if missing or wrong:
        raise InputSchemaError(model_label, missing, wrong)
    extra = [str(column) for column in frame.columns if column not in kinds]
    if extra:
        log.debug("%s: ignoring %d extra column(s): %s", model_label, len(extra), extra)
    return InputCheck(columns=list(kinds), extra=extra)
