"""Hyper-parameter search with Optuna (TPE sampler with a seed, a trial cap and a time ceiling).

A trial is whatever the trainer makes of a set of overrides: a cross-fit scored by its
out-of-fold loss (plain tables) or one fit scored on the early-stopping rows (frames with a
split column). Calibration and holdout rows are never seen by it.

The first trials are fixed: the configured settings, then the points of `PORTFOLIO`, a few
tree shapes that between them suit most tables (a warm start in the manner of the
portfolios of AutoGluon and FLAML). A handful of TPE trials would be random draws (TPE
samples at random until it has ten results), and on the battery of tables in
`benchmarks/bench_tables.py` three fixed points gave as good a model as six random ones in
half the time. Trials beyond the portfolio are TPE's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import optuna
import pandas as pd

from crm_ml.models.config import SearchConfig

log = logging.getLogger(__name__)

SEARCHED = ("num_leaves", "min_child_samples", "feature_fraction", "lambda_l2")
# tried after the configured settings, in this order: shallow and strongly regularised
# (near-additive tables, few positives), then mid-sized trees (interactions)
PORTFOLIO: tuple[dict[str, Any], ...] = (
    {"num_leaves": 4, "min_child_samples": 100, "feature_fraction": 0.5, "lambda_l2": 30.0},
    {"num_leaves": 15, "min_child_samples": 20, "feature_fraction": 0.7, "lambda_l2": 1.0},
)


def suggest_params(trial: optuna.Trial) -> dict[str, Any]:
    """The searched space: tree size, leaf size, column sampling, regularisation. The
    learning rate stays as configured: the number of rounds adapts to it."""
    return {
        "num_leaves": trial.suggest_int("num_leaves", 4, 64, log=True),
        "min_child_samples": trial.suggest_int("min_child_samples", 5, 200, log=True),
        "feature_fraction": trial.suggest_float("feature_fraction", 0.4, 1.0),
        "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 30.0, log=True),
    }


def search_params(
    trial_loss: Callable[[dict[str, Any]], tuple[float, int]],
    start: dict[str, Any],
    config: SearchConfig,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Run the study. `trial_loss(overrides)` returns (loss, boosting rounds), lower loss
    better; `start` holds the configured values of the searched parameters (the first
    trial, then `PORTFOLIO`). Returns the best overrides and the trials table (number, value, params_*,
    user_attrs_rounds, state)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial: optuna.Trial) -> float:
        loss, rounds = trial_loss(suggest_params(trial))
        trial.set_user_attr("rounds", rounds)
        return loss

    study = optuna.create_study(
        direction="minimize", sampler=optuna.samplers.TPESampler(seed=config.seed)
    )
    for point in ({name: start[name] for name in SEARCHED if name in start}, *PORTFOLIO):
        study.enqueue_trial(point, skip_if_exists=True)
    study.optimize(objective, n_trials=config.n_trials, timeout=config.timeout_seconds)
    trials = study.trials_dataframe(attrs=("number", "value", "params", "user_attrs", "state"))
    finished = int((trials["state"] == "COMPLETE").sum())
    if finished < config.n_trials:
        log.warning(
            "search stopped by its %.0f s ceiling after %d of %d trials: the result depends on "
            "this machine's speed",
            config.timeout_seconds,
            finished,
            config.n_trials,
        )
    log.info(
        "search: %d trials, best loss %.5f (%s)", finished, study.best_value, study.best_params
    )
    return dict(study.best_params), trials
