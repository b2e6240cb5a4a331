"""One LightGBM fit with early stopping, shared by the trainers, the search and uplift."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lightgbm as lgb
import numpy as np


def fit_booster(
    params: dict[str, Any],
    train: tuple[np.ndarray, np.ndarray],
    stop: tuple[np.ndarray, np.ndarray],
    feature_names: Sequence[str],
    categorical: Sequence[str] = (),
    num_boost_round: int = 2000,
    early_stopping_rounds: int = 100,
) -> lgb.Booster:
    """Train on `train` rows, stop when `stop` rows stop improving on the first metric;
    return a booster trimmed to its best iteration (so pickles hold only the trees used)."""
    names = list(feature_names)
    categorical = list(categorical) or "auto"
    dataset_params = {"feature_pre_filter": False, "verbosity": -1}
    train_set = lgb.Dataset(
        train[0],
        train[1],
        feature_name=names,
        categorical_feature=categorical,
        params=dataset_params,
        free_raw_data=True,
    )
    stop_set = lgb.Dataset(
        stop[0],
        stop[1],
        feature_name=names,
        categorical_feature=categorical,
        reference=train_set,
        params=dataset_params,
        free_raw_data=True,
    )
    booster = lgb.train(
        {**params, "first_metric_only": True},
        train_set,
        num_boost_round=num_boost_round,
        valid_sets=[stop_set],
        valid_names=["stop"],
        callbacks=[lgb.early_stopping(early_stopping_rounds, verbose=False)],
    )
    best = booster.best_iteration or booster.current_iteration()
    trimmed = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    trimmed.best_iteration = best
    trimmed.best_score = booster.best_score
    return trimmed
