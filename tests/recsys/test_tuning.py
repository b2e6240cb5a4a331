"""The hyper-parameter search: grid values only, configured values tried first, time-bounded."""

from __future__ import annotations

import time

from crm_ml.recsys.config import ModelConfig, RecsysConfig, SearchConfig
from crm_ml.recsys.tuning import search_hyperparameters, tune_models

from .conftest import CUTOFF


def test_search_picks_from_the_grid_within_budget(world):
    tables, _ = world
    search = SearchConfig(
        max_trials=4,
        time_budget_seconds=30,
        validation_days=45,
        factors=(8, 16),
        regularization=(0.01, 0.1),
        alpha=(1.0, 10.0),
    )
    config = RecsysConfig(model=ModelConfig(factors=16, alpha=2.0, iterations=5), search=search)
    start = time.perf_counter()
    result = search_hyperparameters(tables, CUTOFF, config)
    assert time.perf_counter() - start < 30
    assert 1 <= len(result.trials) <= 4
    assert result.best.factors in {8, 16}
    assert result.best.alpha in {1.0, 2.0, 10.0}  # 2.0 = the configured value, tried first
    first = result.trials.iloc[0]
    assert first["params_factors"] == 16 and first["params_alpha"] == 2.0
    assert result.best_score >= first["value"]
    assert 0 < result.best_score <= 1


def test_time_budget_stops_the_search(world):
    tables, _ = world
    search = SearchConfig(max_trials=50, time_budget_seconds=0.5)
    config = RecsysConfig(model=ModelConfig(factors=8, iterations=3), search=search)
    result = search_hyperparameters(tables, CUTOFF, config)
    assert len(result.trials) < 50


def test_repeated_points_are_scored_once(world, monkeypatch):
    """item-kNN has six grid points; twelve trials must fit at most six models."""
    import crm_ml.recsys.tuning as tuning

    tables, _ = world
    fits = []
    real_build = tuning.build_model

    def counting_build(settings):
        fits.append((settings.neighbours, settings.similarity))
        return real_build(settings)

    monkeypatch.setattr(tuning, "build_model", counting_build)
    config = RecsysConfig(
        model=ModelConfig(name="item_knn"),
        search=SearchConfig(max_trials=12, time_budget_seconds=60, validation_days=45),
    )
    result = search_hyperparameters(tables, CUTOFF, config)
    assert len(result.trials) == 12
    assert len(fits) == len(set(fits)) <= 6
    assert result.best.similarity in {"cosine", "bm25"}


def test_tune_models_searches_each_model_or_none(world):
    tables, _ = world
    search = SearchConfig(max_trials=2, time_budget_seconds=30, validation_days=45)
    config = RecsysConfig(model=ModelConfig(factors=8, iterations=3), search=search)
    tuned = tune_models(tables, CUTOFF, config, ("als", "item_knn"))
    assert set(tuned) == {"als", "item_knn"}
    assert tuned["item_knn"].best.name == "item_knn" and tuned["als"].best.name == "als"
    off = config.model_copy(update={"search": search.model_copy(update={"enabled": False})})
    assert tune_models(tables, CUTOFF, off, ("als",)) == {}
