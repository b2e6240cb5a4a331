"""From a data frame to the numeric matrix LightGBM sees, and the train/validation/holdout rows.

Two kinds of input are accepted:
- a training frame from `crm_ml.features.build_training_frame`: one row per customer x cutoff
  with `customer_id`, `cutoff`, `split` (train / validation / holdout) and the label;
- any plain feature table with a label column, which the trainers cross-fit
  (`crm_ml.models.crossfit`).

Feature columns are every column except ids, times, the split, the label, columns listed in
`exclude_columns` and columns whose name starts with an excluded prefix (`label`, `oracle_`,
`true_`, `target_` by default). Datetime columns are dropped with a log line. Strings,
pandas categories and objects become LightGBM native categoricals (codes over the categories
seen in training; unseen values become missing); booleans and nullable ints become floats.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crm_ml.models.config import SplitConfig

log = logging.getLogger(__name__)

SPLIT_VALUES = ("train", "validation", "holdout")


@dataclass(frozen=True)
class FeatureSchema:
    """The model's input columns, and for categoricals the categories seen in training."""

    feature_names: tuple[str, ...]
    categories: dict[str, tuple[object, ...]]

    @property
    def categorical_features(self) -> list[str]:
        return [name for name in self.feature_names if name in self.categories]

    def check_columns(self, frame: pd.DataFrame) -> None:
        missing = [name for name in self.feature_names if name not in frame.columns]
        if missing:
            raise KeyError(
                f"input frame lacks {len(missing)} model feature column(s): {missing[:10]}; "
                "score with the same feature set the model was trained on"
            )

    def to_matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """float64 matrix in `feature_names` order; categoricals as codes, NaN when unseen."""
        self.check_columns(frame)
        matrix = np.empty((len(frame), len(self.feature_names)), dtype=np.float64)
        for j, name in enumerate(self.feature_names):
            column = frame[name]
            if name in self.categories:
                codes = _as_category(column, self.categories[name]).codes
                values = codes.astype(np.float64)
                values[codes < 0] = np.nan
                matrix[:, j] = values
            else:
                matrix[:, j] = _as_float(column, name)
        return matrix

    def display_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The feature columns with model dtypes, for plots and reason texts."""
        self.check_columns(frame)
        out = {}
        for name in self.feature_names:
            if name in self.categories:
                out[name] = _as_category(frame[name], self.categories[name])
            else:
                out[name] = _as_float(frame[name], name)
        return pd.DataFrame(out, index=frame.index)


def _as_category(column: pd.Series, categories: Sequence[object]) -> pd.Categorical:
    """Values compared as text, so 3 and "3" are the same category; missing stays missing."""
    text = column.astype(str).where(column.notna())
    return pd.Categorical(text, categories=list(categories))


def _as_float(column: pd.Series, name: str) -> np.ndarray:
    try:
        return column.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"feature column {name!r} ({column.dtype}) is not numeric: {error}"
        ) from None


def _is_categorical(column: pd.Series) -> bool:
    return (
        isinstance(column.dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(column.dtype)
        or pd.api.types.is_string_dtype(column.dtype)
    )


def infer_schema(
    frame: pd.DataFrame,
    label: str,
    excluded: Sequence[str] = (),
    excluded_prefixes: Sequence[str] = (),
    feature_columns: Sequence[str] | None = None,
    train_rows: np.ndarray | None = None,
) -> FeatureSchema:
    """Feature columns and categories (from the training rows only)."""
    if feature_columns is None:
        skip = {label, *excluded}
        feature_columns = []
        for name in frame.columns:
            if name in skip or any(str(name).startswith(p) for p in excluded_prefixes):
                continue
            if pd.api.types.is_datetime64_any_dtype(frame[name].dtype):
                log.info("column %r is a timestamp: not used as a feature", name)
                continue
            feature_columns.append(name)
    if not feature_columns:
        raise ValueError(f"no feature columns left in the frame besides label {label!r}")
    if label in feature_columns:
        raise ValueError(f"label column {label!r} is listed as a feature")
    source = frame if train_rows is None else frame.loc[train_rows]
    categories = {}
    for name in feature_columns:
        if _is_categorical(frame[name]):
            observed = pd.Series(source[name]).dropna().astype(str).unique()
            categories[name] = tuple(sorted(observed))
    return FeatureSchema(tuple(feature_columns), categories)


@dataclass(frozen=True)
class SplitRows:
    """Boolean row masks. `stop` rows choose the number of trees (early stopping),
    `calibration` rows fit and choose the calibrator, `holdout` rows are only evaluated."""

    train: np.ndarray
    stop: np.ndarray
    calibration: np.ndarray
    holdout: np.ndarray
    method: str

    def summary(self) -> dict[str, object]:
        return {
            "method": self.method,
            "train_rows": int(self.train.sum()),
            "stop_rows": int(self.stop.sum()),
            "calibration_rows": int(self.calibration.sum()),
            "holdout_rows": int(self.holdout.sum()),
        }


def split_rows(
    frame: pd.DataFrame,
    config: SplitConfig,
    split_column: str = "split",
    id_column: str | None = "customer_id",
) -> SplitRows:
    """Train / early-stopping / calibration / holdout masks from the split column."""
    values = frame[split_column].astype(str).to_numpy()
    unknown = set(np.unique(values)) - set(SPLIT_VALUES)
    if unknown:
        raise ValueError(
            f"column {split_column!r} has values {sorted(unknown)}; use {SPLIT_VALUES}"
        )
    train, validation, holdout = (values == v for v in SPLIT_VALUES)
    method = f"column {split_column!r}"
    if not train.any() or not validation.any():
        raise ValueError(
            f"split by {method}: need training and validation rows, got "
            f"{int(train.sum())} and {int(validation.sum())}"
        )
    if not holdout.any():
        log.warning("split by %s: no holdout rows; holdout metrics will be missing", method)
    ids = frame[id_column] if id_column is not None and id_column in frame.columns else None
    if config.rounds == "cross_fit":  # nothing stops early: every validation row calibrates
        calibration = validation
    else:
        calibration = _calibration_part(validation, ids, config)
    stop = validation & ~calibration
    return SplitRows(train, stop, calibration, holdout, method)


def _calibration_part(
    validation: np.ndarray, ids: pd.Series | None, config: SplitConfig
) -> np.ndarray:
    """A seeded share of the validation rows, by whole customers when ids are known."""
    rng = np.random.default_rng(config.seed)
    calibration = np.zeros(len(validation), dtype=bool)
    rows = np.flatnonzero(validation)
    if ids is None:
        chosen = rng.random(len(rows)) < config.calibration_share
    else:
        codes, uniques = pd.factorize(ids.to_numpy()[rows])
        chosen = (rng.random(len(uniques)) < config.calibration_share)[codes]
    calibration[rows[chosen]] = True
    if not calibration.any() or calibration.sum() == len(rows):
        raise ValueError("validation rows are too few to set some aside for calibration")
    return calibration
