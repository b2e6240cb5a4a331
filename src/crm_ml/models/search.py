"""Optional small hyper-parameter search with Optuna (TPE sampler with a seed, time budget).

Each trial trains with early stopping on the early-stopping rows and is scored there; the
calibration and holdout rows are never seen by the search.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import lightgbm as lgb
import optuna
import pandas as pd

from crm_ml.models.config import SearchConfig

log = logging.getLogger(__name__)

HIGHER_IS_BETTER_METRICS = {"auc", "average_precision", "ndcg", "map"}


def suggest_params(trial: optuna.Trial) -> dict[str, Any]:
    """The searched space: tree size, leaf size, sampling, regularisation, step size."""
    return {
        "num_leaves": trial.suggest_int("num_leaves", 8, 128, log=True),
        "min_child_samples": trial.suggest_int("min_child_samples", 10, 300, log=True),
        "feature_fraction": trial.suggest_float("feature_fraction", 0.5, 1.0),
        "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 30.0, log=True),
        "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.15, log=True),
    }


def search_params(
    fit: Callable[[dict[str, Any]], lgb.Booster],
    score: Callable[[lgb.Booster], tuple[str, float]],
    config: SearchConfig,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Run the study; `fit(overrides)` trains a booster, `score(booster)` returns (metric,
    value) on the early-stopping rows. Returns the best overrides and the trials table."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    direction: dict[str, str] = {}

    def objective(trial: optuna.Trial) -> float:
        booster = fit(suggest_params(trial))
        name, value = score(booster)
        direction.setdefault("metric", name)
        trial.set_user_attr("best_iteration", booster.best_iteration)
        return -value if name in HIGHER_IS_BETTER_METRICS else value

    study = optuna.create_study(
        direction="minimize", sampler=optuna.samplers.TPESampler(seed=config.seed)
    )
    study.optimize(objective, n_trials=config.n_trials, timeout=config.timeout_seconds)
    trials = study.trials_dataframe(attrs=("number", "value", "params", "user_attrs", "state"))
    log.info(
        "search: %d trials, best %s %.5f",
        len(study.trials),
        direction.get("metric"),
        abs(study.best_value),
    )
    return dict(study.best_params), trials
