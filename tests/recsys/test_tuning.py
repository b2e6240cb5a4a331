"""The hyper-parameter search: grid values only, configured values tried first, time-bounded."""

from __future__ import annotations

import time

from crm_ml.recsys.config import ModelConfig, RecsysConfig, SearchConfig
from crm_ml.recsys.tuning import search_hyperparameters

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
