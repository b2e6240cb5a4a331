"""Small, time-bounded hyper-parameter search on a time-later validation window (Optuna).

Train on interactions before `cutoff - validation_days`, score recall@k on purchases in the
validation window that ends at `cutoff`, so the model never sees its own validation period.
The chosen config is then refit on everything before `cutoff` by the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import optuna
import pandas as pd
from tqdm.auto import tqdm

from crm_ml.recsys.config import ModelConfig, ModelName, RecsysConfig
from crm_ml.recsys.evaluation import (
    DEFAULT_USER_COL,
    ranked_frame,
    recall_at_k,
)
from crm_ml.recsys.interactions import build_interactions, purchases_in_horizon
from crm_ml.recsys.models import build_model
from crm_ml.recsys.rules import build_rule_context

log = logging.getLogger(__name__)

SEARCH_SPACE = {
    "als": ("factors", "regularization", "alpha"),
    "bpr": ("factors", "regularization", "learning_rate"),
    "item_knn": ("neighbours", "similarity"),
}


@dataclass(frozen=True)
class SearchResult:
    """The best model config, its validation score and every trial (for the run log)."""

    best: ModelConfig
    best_score: float
    trials: pd.DataFrame


def search_hyperparameters(
    tables: Mapping[str, pd.DataFrame],
    cutoff: pd.Timestamp | str,
    config: RecsysConfig | None = None,
) -> SearchResult:
    """Try a few values of the model's main hyper-parameters within the time budget."""
    config = config or RecsysConfig()
    search, base = config.search, config.model
    valid_start = pd.Timestamp(cutoff) - pd.Timedelta(days=search.validation_days)
    data = build_interactions(tables, valid_start, config.interactions)
    truth = purchases_in_horizon(tables, data.cutoff, search.validation_days)
    truth = truth[data.customer_index(truth[DEFAULT_USER_COL]) >= 0]
    users = np.unique(data.customer_index(truth[DEFAULT_USER_COL])).astype(np.int32)
    context = build_rule_context(data, tables, None)
    if len(users) == 0:
        log.warning("no purchases in the validation window; keeping the configured model")
        return SearchResult(base, float("nan"), pd.DataFrame())

    scores: dict[tuple, float] = {}

    def objective(trial: optuna.Trial) -> float:
        params = {
            name: trial.suggest_categorical(
                name, sorted({*getattr(search, name), getattr(base, name)})
            )
            for name in SEARCH_SPACE[base.name]
        }
        key = tuple(sorted(params.items()))
        if key not in scores:  # TPE repeats categorical points; a repeat costs nothing
            model = build_model(base.model_copy(update=params)).fit(data.user_items)
            pred = ranked_frame(model, data, users, search.metric_k, context)
            scores[key] = recall_at_k(truth, pred, k=search.metric_k)
        return scores[key]

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=base.random_state)
    )
    # the configured values go first, so the search can only match or beat them
    study.enqueue_trial({name: getattr(base, name) for name in SEARCH_SPACE[base.name]})
    study.optimize(objective, n_trials=search.max_trials, timeout=search.time_budget_seconds)
    best = base.model_copy(update=study.best_params)
    log.info(
        "search: %d trials, best recall@%d %.4f",
        len(study.trials),
        search.metric_k,
        study.best_value,
    )
    return SearchResult(best, float(study.best_value), study.trials_dataframe())


def tune_models(
    tables: Mapping[str, pd.DataFrame],
    cutoff: pd.Timestamp | str,
    config: RecsysConfig,
    models: Sequence[ModelName],
) -> dict[str, SearchResult]:
    """One search per model (each with the configured budget); empty when search is off."""
    if not config.search.enabled:
        return {}
    results = {}
    for name in tqdm(models, desc="recommender search", leave=False):
        results[name] = search_hyperparameters(tables, cutoff, config.for_model(name))
    return results
