"""Small, time-bounded hyper-parameter search on a time-later validation window (Optuna).

Train on interactions before the window, score recall@k on purchases in the validation
window that ends at `cutoff`, so the model never sees its own validation period. The window
grows until it holds enough customers, or gives way to each customer's last purchases
(`crm_ml.recsys.validation`); the search says so loudly when validation is still tiny, when
every trial scores the same, or when nothing beats popularity.
The hyper-parameters are searched on undecayed interactions (`max_trials` trials, the
configured values first); the best are then tried with each other decay of
`SearchConfig.half_life` (unless the configuration sets a half-life explicitly), which costs
one fit per decay and leaves the hyper-parameter budget as it was. The chosen config is
then refit on everything before `cutoff` by the caller.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import pandas as pd
from tqdm.auto import tqdm

from crm_ml.recsys.baselines import PopularityRecommender
from crm_ml.recsys.catalogue import Catalogue
from crm_ml.recsys.config import InteractionConfig, ModelConfig, ModelName, RecsysConfig
from crm_ml.recsys.evaluation import DEFAULT_USER_COL, ranked_frame, recall_at_k
from crm_ml.recsys.interactions import InteractionData, build_interactions
from crm_ml.recsys.models import build_model, usable_models
from crm_ml.recsys.recommend import recent_purchases
from crm_ml.recsys.rules import build_rule_context
from crm_ml.recsys.timestamps import as_utc, utc_tables
from crm_ml.recsys.validation import validation_set

log = logging.getLogger(__name__)

SEARCH_SPACE = {
    "als": ("factors", "regularization", "alpha"),
    "bpr": ("factors", "regularization", "learning_rate"),
    "item_knn": ("neighbours", "similarity"),
    "ease": ("ease_lambda",),
}
HALF_LIFE = "half_life"  # the search parameter of the interaction decay


@dataclass(frozen=True)
class SearchResult:
    """The best model config, its validation score and every trial (for the run log).

    `interactions` is the interaction config the best trial used (its decay);
    `validation` ("window" or "last_purchases"), `validation_days` (0 for last purchases)
    and `validation_customers` describe what it was judged on, `popularity_score` what
    popularity scored there.
    """

    best: ModelConfig
    best_score: float
    trials: pd.DataFrame
    interactions: InteractionConfig | None = None
    validation: str = "window"
    validation_days: int = 0
    validation_customers: int = 0
    popularity_score: float = float("nan")

    def config(self, base: RecsysConfig) -> RecsysConfig:
        """`base` serving the searched model with the searched interaction weighting."""
        return base.for_model(self.best.name, self.best, self.interactions)


def _interactions_for(base: InteractionConfig, half_life: float | None) -> InteractionConfig:
    """The interaction config of one decay option: None (no decay) or x median ages."""
    if half_life is None:
        return base.model_copy(update={"half_life_days": None})
    return base.model_copy(update={"half_life_days": "auto", "auto_half_life": half_life})


def _half_life_options(config: RecsysConfig) -> tuple[float | None, ...]:
    """Decays to try: none when the configuration chose a half-life itself."""
    explicit = {"half_life_days", "auto_half_life"} & config.interactions.model_fields_set
    return () if explicit else tuple(config.search.half_life)


def _choices(config: RecsysConfig, name: str) -> list[Any]:
    search, base = config.search, config.model
    return sorted({*getattr(search, name), getattr(base, name)})


def search_hyperparameters(
    tables: Mapping[str, pd.DataFrame],
    cutoff: pd.Timestamp | str,
    config: RecsysConfig | None = None,
) -> SearchResult:
    """Try a few values of the model's main hyper-parameters (and decays) within the budget.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Accepted tables; orders need customer_id, product_id, ts.
    cutoff : Timestamp or str
        The validation window ends here (the caller's holdout starts here).
    config : RecsysConfig, optional
        `model.name` is the model searched; `search` the budget, grid and window.

    Returns
    -------
    SearchResult
        The best settings; the configured ones are tried first, so the search can only
        match or beat them on validation.
    """
    config = config or RecsysConfig()
    tables = utc_tables(tables)
    search, base = config.search, config.model
    valid = validation_set(tables, as_utc(cutoff), config)
    options = _half_life_options(config)
    datasets: dict[float | None, InteractionData] = {}

    def data_for(option: float | None) -> InteractionData:
        if option not in datasets:
            interactions = (
                _interactions_for(config.interactions, option) if options else config.interactions
            )
            datasets[option] = build_interactions(valid.train, valid.cutoff, interactions)
        return datasets[option]

    first_option = (None if None in options else options[0]) if options else None
    data = data_for(first_option)
    truth = valid.truth[data.customer_index(valid.truth[DEFAULT_USER_COL]) >= 0]
    users = np.unique(data.customer_index(truth[DEFAULT_USER_COL])).astype(np.int32)
    described = {
        "validation": valid.kind,
        "validation_days": valid.days,
        "validation_customers": int(valid.customers),
    }
    if len(users) == 0:
        log.warning(
            "search for %s: no purchases to validate on (%s); keeping the configured settings",
            base.name,
            valid.describe(),
        )
        return SearchResult(base, float("nan"), pd.DataFrame(), **described)
    if valid.customers < search.min_validation_customers:
        log.warning(
            "search for %s: validation (%s, the most allowed) holds only %d customers who "
            "bought before it (fewer than %d); its scores are noisy",
            base.name,
            valid.describe(),
            valid.customers,
            search.min_validation_customers,
        )
    context = build_rule_context(data, valid.train, None)
    popular = PopularityRecommender().fit(
        recent_purchases(data, config.rules.popularity_window_days)
    )
    popularity_score = recall_at_k(
        truth, ranked_frame(popular, data, users, search.metric_k, context), k=search.metric_k
    )
    scores: dict[tuple, float] = {}

    def score(params: dict[str, Any], option: float | None) -> float:
        key = (*sorted(params.items()), option)
        if key not in scores:  # TPE repeats categorical points; a repeat costs nothing
            trial_data = data_for(option)
            model = build_model(base.model_copy(update=params)).fit(trial_data.user_items)
            pred = ranked_frame(model, trial_data, users, search.metric_k, context)
            scores[key] = recall_at_k(truth, pred, k=search.metric_k)
        return scores[key]

    def objective(trial: optuna.Trial) -> float:
        params = {
            name: trial.suggest_categorical(name, _choices(config, name))
            for name in SEARCH_SPACE[base.name]
        }
        return score(params, first_option)

    started = time.perf_counter()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=base.random_state)
    )
    # the configured values go first, so the search can only match or beat them
    study.enqueue_trial({name: getattr(base, name) for name in SEARCH_SPACE[base.name]})
    study.optimize(objective, n_trials=search.max_trials, timeout=search.time_budget_seconds)
    best_params, option = dict(study.best_params), first_option
    trials = study.trials_dataframe()
    if options:
        trials[f"params_{HALF_LIFE}"] = first_option
    # then the best settings with each other decay (ties keep the earlier option)
    decays = []
    for other in options:
        if other == first_option or time.perf_counter() - started > search.time_budget_seconds:
            continue
        value = score(best_params, other)
        decays.append({"value": value, f"params_{HALF_LIFE}": other, **_prefixed(best_params)})
        if value > scores[(*sorted(best_params.items()), option)]:
            option = other
    trials = pd.DataFrame.from_records([*trials.to_dict("records"), *decays])
    result = SearchResult(
        best=base.model_copy(update=best_params),
        best_score=scores[(*sorted(best_params.items()), option)],
        trials=trials,
        interactions=_interactions_for(config.interactions, option)
        if options
        else config.interactions,
        popularity_score=float(popularity_score),
        **described,
    )
    _warn_if_uninformative(base.name, scores, result, search.metric_k)
    log.info(
        "search for %s: %d trials on %d customers (%s), best recall@%d %.4f (popularity %.4f)",
        base.name,
        len(trials),
        len(users),
        valid.describe(),
        search.metric_k,
        result.best_score,
        popularity_score,
    )
    return result


def _prefixed(params: Mapping[str, Any]) -> dict[str, Any]:
    return {f"params_{name}": value for name, value in params.items()}


def _warn_if_uninformative(
    name: str, scores: Mapping[tuple, float], result: SearchResult, k: int
) -> None:
    if len(scores) > 1 and len(set(scores.values())) == 1:
        log.warning(
            "search for %s: all %d settings tried scored recall@%d %.4f on validation, so the "
            "search could not tell them apart and kept the configured settings",
            name,
            len(scores),
            k,
            result.best_score,
        )
    if result.best_score <= result.popularity_score:
        log.warning(
            "search for %s: the best setting scores recall@%d %.4f on validation, not above "
            "popularity (%.4f)",
            name,
            k,
            result.best_score,
            result.popularity_score,
        )


def tune_models(
    tables: Mapping[str, pd.DataFrame],
    cutoff: pd.Timestamp | str,
    config: RecsysConfig,
    models: Sequence[ModelName],
) -> dict[str, SearchResult]:
    """One search per model (each with the configured budget); empty when search is off."""
    if not config.search.enabled:
        return {}
    tables = utc_tables(tables)
    models = usable_models(models, Catalogue.from_tables(tables).n_items, config.model)
    results = {}
    for name in tqdm(models, desc="recommender search", leave=False):
        results[name] = search_hyperparameters(tables, cutoff, config.for_model(name))
    return results
