"""Plain snapshot tables: one row per customer, feature columns and a label, no contract.

Subscription-style data (the Telco churn table is the classic) already is a feature table
with a churn flag, so it skips the contract and the point-in-time features and goes
straight to the trainers. `load_snapshot` makes such a table safe to train on: it checks
the label, turns text columns into pandas categories (LightGBM splits on them natively),
rescues numbers stored as text with blanks (Telco's ``TotalCharges``), and drops columns
that cannot help a model (constant ones, row identifiers, timestamps) with a logged note.

To train on it, `crm_ml.models.CrmClassifier` (scikit-learn compatible) or the one-call
`crm_ml.models.fit_table`, which reads the file with `load_snapshot` and compares the model
with the obvious references.

Examples
--------
>>> from crm_ml.datasets import subscriber_table
>>> from crm_ml.datasets.snapshot import load_snapshot
>>> snap = load_snapshot(subscriber_table(500), label="Churn", id_column="customerID")
>>> snap.task                                   # "Yes" -> 1, "No" -> 0
'binary'
>>> snap.features["TotalCharges"].dtype         # text with blanks, read as numbers
dtype('float64')
>>> sorted(snap.dropped)                        # columns that cannot help a model
[]
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pandas.api.types import (
    is_bool_dtype,
    is_datetime64_any_dtype,
    is_numeric_dtype,
    is_timedelta64_dtype,
)

from crm_ml.errors import CrmMlError

log = logging.getLogger(__name__)

Task = Literal["binary", "regression"]


class SnapshotError(CrmMlError, ValueError):
    """The snapshot table cannot be used; the message names the file and the column."""


@dataclass(frozen=True)
class SnapshotConfig:
    """How `load_snapshot` reads labels and which columns it drops.

    `positive_labels` are the text values (case-insensitive) that mean the positive class
    of a two-valued text label; `id_like_min_rows` keeps small tables from losing a column
    just because its few values happen to be distinct.
    """

    positive_labels: tuple[str, ...] = ("yes", "true", "1", "y", "t", "churn", "churned")
    drop_constant: bool = True
    drop_id_like: bool = True
    id_like_min_rows: int = 20


@dataclass(frozen=True)
class SnapshotFrame:
    """A snapshot ready for a trainer.

    features: one row per customer, numeric / bool / category columns only.
    label: 0/1 ints (task "binary") or floats (task "regression"), aligned with features.
    ids: the customer identifiers (the id column, or the frame's index when none).
    dropped: column -> why it was not kept as a feature.
    """

    features: pd.DataFrame
    label: pd.Series
    ids: pd.Index
    task: Task
    label_name: str
    dropped: dict[str, str] = field(default_factory=dict)

    def features_like(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame`'s columns shaped like the training features, for scoring (`shape_like`)."""
        return shape_like(self.features, frame)


def shape_like(template: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """`frame`'s columns shaped like `template`'s (features from `clean_features`).

    Same columns in the same order, categories with the template's categories (an unseen
    value becomes missing, which LightGBM handles), text numbers parsed the same way.
    """
    missing = [c for c in template.columns if c not in frame.columns]
    if missing:
        raise SnapshotError(f"scoring frame is missing feature columns {missing}")
    shaped = {}
    for column, dtype in template.dtypes.items():
        values = frame[column]
        if isinstance(dtype, pd.CategoricalDtype):
            text = values.astype("string").str.strip().astype(object)
            shaped[column] = pd.Categorical(text.where(values.notna()), dtype=dtype)
        elif is_numeric_dtype(dtype) and not is_numeric_dtype(values.dtype):
            shaped[column] = _parse_numbers(values).astype(dtype)
        else:
            shaped[column] = values.astype(dtype)
    return pd.DataFrame(shaped, index=frame.index)


def load_snapshot(
    path_or_frame: str | Path | pd.DataFrame,
    label: str,
    *,
    id_column: str | None = None,
    config: SnapshotConfig | None = None,
) -> SnapshotFrame:
    """Read and check a snapshot table (CSV or Parquet file, or a DataFrame).

    Parameters
    ----------
    path_or_frame : str, pathlib.Path or pandas.DataFrame
        A ``.csv``, ``.csv.gz``, ``.tsv`` or ``.parquet`` file, or a frame (copied, never
        changed).
    label : str
        The label column: two values (0/1, booleans, or text such as Yes/No, whose positive
        value is one of `config.positive_labels`) or numbers (a regression).
    id_column : str, optional
        Customer ids, unique and non-empty; never a feature. Without it the frame's index
        is the id (a range index when the index repeats).
    config : SnapshotConfig, optional
        Positive label values and which columns to drop; ``SnapshotConfig()`` by default.

    Returns
    -------
    SnapshotFrame
        `features` (numeric, bool or category columns), `label` (0/1 ints or floats),
        `ids`, `task` ("binary" or "regression") and `dropped` (column -> reason), all
        indexed by the ids.

    Raises
    ------
    SnapshotError
        A missing file or column, an unsupported file type, no rows, empty or repeated
        ids, an empty or single-valued label, a text label whose positive value is unknown,
        or no usable feature column left.

    Examples
    --------
    >>> from crm_ml.datasets import subscriber_table
    >>> snap = load_snapshot(subscriber_table(200, seed=1), "Churn", id_column="customerID")
    >>> snap.task, snap.features.shape
    ('binary', (200, 16))
    >>> snap.ids[:2].tolist()
    ['0000-1', '0001-1']
    >>> load_snapshot(subscriber_table(50).assign(Churn="No"), "Churn")
    Traceback (most recent call last):
    ...
    crm_ml.datasets.snapshot.SnapshotError: snapshot frame: label column 'Churn' has a single value ('No'); a model needs both outcomes
    """
    config = config or SnapshotConfig()
    frame, where = _read(path_or_frame)
    if label not in frame.columns:
        raise SnapshotError(
            f"{where}: label column {label!r} not found; columns are {list(frame.columns)}"
        )
    if len(frame) == 0:
        raise SnapshotError(f"{where}: the table has no rows")
    ids = _ids(frame, id_column, where)
    target, task = _label(frame[label], where, label, config)
    candidates = frame.drop(columns=[c for c in (label, id_column) if c is not None])
    features, dropped = clean_features(candidates, config)
    for column, reason in dropped.items():
        log.info("%s: column %r not used as a feature: %s", where, column, reason)
    if features.shape[1] == 0:
        raise SnapshotError(f"{where}: no usable feature columns left ({dropped})")
    log.info(
        "%s: %d rows, %d features (%d categorical), task %s",
        where,
        len(features),
        features.shape[1],
        sum(isinstance(d, pd.CategoricalDtype) for d in features.dtypes),
        task,
    )
    return SnapshotFrame(
        features=features.set_axis(ids, axis=0),
        label=target.set_axis(ids, axis=0),
        ids=ids,
        task=task,
        label_name=label,
        dropped=dropped,
    )


def _read(path_or_frame: str | Path | pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The table and how to name it in messages."""
    if isinstance(path_or_frame, pd.DataFrame):
        return path_or_frame.copy(), "snapshot frame"
    path = Path(path_or_frame)
    if not path.is_file():
        raise SnapshotError(f"{path}: snapshot file not found")
    suffix = "".join(path.suffixes[-2:]).lower()
    try:
        if suffix.endswith(".parquet"):
            return pd.read_parquet(path), str(path)
        if suffix.endswith((".csv", ".csv.gz", ".tsv", ".txt")):
            separator = "\t" if ".tsv" in suffix else ","
            return pd.read_csv(path, sep=separator, low_memory=False), str(path)
    except (OSError, ValueError) as error:
        raise SnapshotError(f"{path}: cannot read the snapshot ({error})") from error
    raise SnapshotError(f"{path}: unsupported file type; use .csv, .tsv or .parquet")


def _ids(frame: pd.DataFrame, id_column: str | None, where: str) -> pd.Index:
    """The customer ids: the id column (unique, non-empty) or the frame's index."""
    if id_column is None:
        return pd.RangeIndex(len(frame)) if frame.index.has_duplicates else frame.index
    if id_column not in frame.columns:
        raise SnapshotError(
            f"{where}: id column {id_column!r} not found; columns are {list(frame.columns)}"
        )
    ids = frame[id_column]
    if ids.isna().any():
        raise SnapshotError(f"{where}: id column {id_column!r} has {ids.isna().sum()} empty rows")
    duplicated = ids.duplicated().sum()
    if duplicated:
        raise SnapshotError(
            f"{where}: id column {id_column!r} has {duplicated} duplicate values; "
            "a snapshot has one row per customer"
        )
    return pd.Index(ids.astype("string"), name=id_column)


def _label(
    values: pd.Series, where: str, name: str, config: SnapshotConfig
) -> tuple[pd.Series, Task]:
    """The label as 0/1 (two values) or float (numeric), or a clear error."""
    missing = int(values.isna().sum())
    if missing:
        raise SnapshotError(f"{where}: label column {name!r} has {missing} empty rows")
    distinct = values.unique()
    if len(distinct) < 2:
        raise SnapshotError(
            f"{where}: label column {name!r} has a single value ({distinct[0]!r}); "
            "a model needs both outcomes"
        )
    if is_bool_dtype(values.dtype):
        return values.astype("int64"), "binary"
    if is_numeric_dtype(values.dtype):
        if set(distinct) <= {0, 1}:
            return values.astype("int64"), "binary"
        if len(distinct) == 2:
            raise SnapshotError(
                f"{where}: label column {name!r} has the two values {sorted(distinct)}; "
                "recode it to 0/1 (or True/False) so the positive class is explicit"
            )
        return values.astype("float64"), "regression"
    text = values.astype("string").str.strip().str.lower()
    if text.nunique() != 2:
        raise SnapshotError(
            f"{where}: label column {name!r} is text with {text.nunique()} distinct values; "
            "it must be binary (e.g. Yes/No) or numeric"
        )
    positive = text.isin(config.positive_labels)
    if positive.all() or not positive.any():
        raise SnapshotError(
            f"{where}: label column {name!r} has values {sorted(values.astype(str).unique())}; "
            f"cannot tell which is positive (known: {list(config.positive_labels)})"
        )
    return positive.astype("int64"), "binary"


def clean_features(
    frame: pd.DataFrame, config: SnapshotConfig | None = None
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Model-ready feature columns (numeric, bool or category) and the columns dropped
    with their reasons (timestamps, constants, identifier-like columns)."""
    config = config or SnapshotConfig()
    kept: dict[str, pd.Series] = {}
    dropped: dict[str, str] = {}
    for column in frame.columns:
        values, reason = _feature(frame[column], config)
        if reason is None:
            kept[column] = values
        else:
            dropped[column] = reason
    return pd.DataFrame(kept, index=frame.index), dropped


def _feature(values: pd.Series, config: SnapshotConfig) -> tuple[pd.Series, str | None]:
    """One column as a feature, or the reason it is not one."""
    if is_datetime64_any_dtype(values.dtype) or is_timedelta64_dtype(values.dtype):
        return values, "timestamp; derive a duration (e.g. tenure) before loading"
    if values.nunique(dropna=True) <= 1 and config.drop_constant:
        return values, "constant"
    if values.dtype == bool:  # numpy bool: LightGBM and sklearn take it as is
        return values, None
    if is_numeric_dtype(values.dtype):
        if config.drop_id_like and _is_row_number(values, config):
            return values, "identifier-like (consecutive distinct integers)"
        # nullable Int64 / Float64 / boolean -> float64 with NaN, which every trainer reads
        numbers = values if isinstance(values.dtype, np.dtype) else values.astype("float64")
        return numbers, None
    text = values.astype("string").str.strip().replace("", pd.NA)
    numbers = _parse_numbers(text)
    if numbers.notna().sum() == text.notna().sum():
        if numbers.nunique() <= 1 and config.drop_constant:
            return values, "constant"
        return numbers, None  # numbers stored as text, blanks become missing
    if (
        config.drop_id_like
        and len(text) >= config.id_like_min_rows
        and text.nunique(dropna=True) == len(text)
    ):
        return values, "identifier-like (a distinct value in every row)"
    # object categories: the form LightGBM, sklearn and MLflow signatures all accept
    return text.astype(object).astype("category"), None


def _parse_numbers(values: pd.Series) -> pd.Series:
    """Text to float64; blanks and non-numbers become missing."""
    text = values.astype("string").str.strip().replace("", pd.NA)
    return pd.to_numeric(text, errors="coerce").astype("float64")


def _is_row_number(values: pd.Series, config: SnapshotConfig) -> bool:
    """A run of distinct consecutive integers: a row number, not a measurement."""
    if len(values) < config.id_like_min_rows or values.dtype.kind not in "iu":
        return False
    if values.isna().any():
        return False
    ordered = np.sort(values.to_numpy(dtype="int64"))
    return bool((np.diff(ordered) == 1).all())
