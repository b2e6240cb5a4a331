"""Feature and training frames of a run, built once and cached in the run folder."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from crm_ml.features import FeatureConfig, attach_label, build_snapshots, plan_cutoffs
from crm_ml.features.snapshots import CutoffPlan
from crm_ml.models import LeakageConfig, LightGBMConfig, SearchConfig, SplitConfig
from crm_ml.naming import safe_name
from crm_ml.pipeline.config import RunConfig
from crm_ml.pipeline.data import accepted_as_of, ensure_accepted
from crm_ml.pipeline.paths import RunPaths

ID_COLUMNS = ("customer_id", "cutoff", "split")
T = TypeVar("T")
NESTED_SETTINGS = {
    "lightgbm": LightGBMConfig,
    "split": SplitConfig,
    "leakage": LeakageConfig,
    "search": SearchConfig,
}


def typed_config(cls: type[T], settings: Mapping[str, Any]) -> T:
    """A trainer config from a YAML mapping, nested sections (lightgbm: {num_threads: 1})
    turned into their own dataclasses."""
    values = {
        key: NESTED_SETTINGS[key](**value)
        if key in NESTED_SETTINGS and isinstance(value, Mapping)
        else tuple(value)
        if isinstance(value, list)
        else value
        for key, value in settings.items()
    }
    return cls(**values)


def feature_config(config: RunConfig) -> FeatureConfig:
    return FeatureConfig(**config.features)


def cutoff_plan(paths: RunPaths, config: RunConfig) -> CutoffPlan:
    """Rolling monthly training cutoffs, a later validation cutoff, and the holdout."""
    return plan_cutoffs(
        accepted_as_of(paths),
        horizon_days=config.horizon_days,
        n_train=int(config.models.get("n_train_cutoffs", 6)),
    )


def _cached(path: Path, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """`path` if a previous step wrote it, else `compute()` written there atomically."""
    if path.exists():
        return pd.read_parquet(path)
    frame = compute()
    tmp = path.with_suffix(".parquet.tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)
    return frame


def snapshots(paths: RunPaths, config: RunConfig) -> pd.DataFrame:
    """Features at every cutoff of the run's plan, computed once per run and shared by labels."""
    ensure_accepted(paths, config)
    return _cached(
        paths.features / "snapshots.parquet",
        lambda: build_snapshots(paths.accepted, cutoff_plan(paths, config), feature_config(config)),
    )


def training_frame_path(paths: RunPaths, label: str) -> Path:
    """The cache file of `label`'s training frame. A label such as `category:Food/Drink`
    carries the customer's own category name, so the file name is a `safe_name` of it
    (`training_churn.parquet` for a plain label, else slug + hash)."""
    return paths.features / f"{safe_name(label, 'training_', keep_plain=True)}.parquet"


def training_frame(paths: RunPaths, config: RunConfig, label: str) -> pd.DataFrame:
    """Features + `label` + split over the run's cutoff plan (cached per label)."""
    return _cached(
        training_frame_path(paths, label),
        lambda: attach_label(
            paths.accepted,
            snapshots(paths, config),
            label,
            horizon_days=config.horizon_days,
            config=feature_config(config),
        ),
    )


def feature_columns(frame: pd.DataFrame, label: str) -> list[str]:
    """The columns a model learns from: everything but the ids, the cutoff, the split and
    the label.

    Parameters
    ----------
    frame : pandas.DataFrame
        A training frame (e.g. `churn_frame` or `clv_frame`).
    label : str
        The frame's label column (``TARGET``, ``"label"``, in the steps' frames).

    Returns
    -------
    list of str
        The other columns in frame order, without ``customer_id``, ``cutoff``, ``split``
        and `label`.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame(
    ...     {
    ...         "customer_id": ["a", "b"],
    ...         "cutoff": pd.to_datetime(["2024-01-01", "2024-02-01"]),
    ...         "recency_days": [3, 40],
    ...         "orders_365d": [5, 1],
    ...         "split": ["train", "holdout"],
    ...         "label": [0, 1],
    ...     }
    ... )
    >>> feature_columns(frame, "label")
    ['recency_days', 'orders_365d']
    """
    return [c for c in frame.columns if c not in (*ID_COLUMNS, label)]


def holdout(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of the holdout cutoff, the ones every model and baseline is judged on.

    Parameters
    ----------
    frame : pandas.DataFrame
        A frame with a ``split`` column (string or categorical).

    Returns
    -------
    pandas.DataFrame
        The rows whose ``split`` is ``"holdout"``, with their original index and every
        column.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame(
    ...     {
    ...         "customer_id": ["a", "b", "c"],
    ...         "split": pd.Categorical(["train", "validation", "holdout"]),
    ...         "label": [0, 1, 1],
    ...     }
    ... )
    >>> holdout(frame)
      customer_id    split  label
    2           c  holdout      1
    """
    return frame[frame["split"].astype(str) == "holdout"]
