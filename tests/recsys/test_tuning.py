"""The hyper-parameter search: grid values only, configured values tried first, time-bounded,
a validation window that grows to hold enough customers, and loud warnings."""

from __future__ import annotations

import time

import pandas as pd

from crm_ml.recsys.config import InteractionConfig, ModelConfig, RecsysConfig, SearchConfig
from crm_ml.recsys.tuning import search_hyperparameters, tune_models
from crm_ml.recsys.validation import validation_set, validation_window

from .conftest import CUTOFF

FIXED_DECAY = InteractionConfig(half_life_days=None)  # set explicitly: not searched


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
    config = RecsysConfig(
        model=ModelConfig(factors=16, alpha=2.0, iterations=5),
        interactions=FIXED_DECAY,
        search=search,
    )
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
        interactions=FIXED_DECAY,
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


def test_search_tries_each_decay_unless_one_is_configured(world):
    tables, _ = world
    search = SearchConfig(max_trials=3, time_budget_seconds=60, validation_days=45)
    config = RecsysConfig(model=ModelConfig(name="item_knn"), search=search)
    result = search_hyperparameters(tables, CUTOFF, config)
    # three trials without decay, then the best settings with each other decay of the grid
    trials = result.trials
    assert len(trials) == 5
    assert trials["params_half_life"].iloc[:3].isna().all()
    assert trials["params_half_life"].iloc[3:].tolist() == [1.0, 0.25]
    best = trials.iloc[:3]["value"].idxmax()
    for column in ("params_neighbours", "params_similarity"):
        assert (trials[column].iloc[3:] == trials.loc[best, column]).all()
    chosen = result.interactions
    decay = None if chosen.half_life_days is None else chosen.auto_half_life
    assert result.best_score == trials["value"].max()
    assert trials.loc[trials["value"].idxmax(), "params_half_life"] == decay or (
        decay is None and pd.isna(trials.loc[trials["value"].idxmax(), "params_half_life"])
    )
    fixed = config.model_copy(update={"interactions": FIXED_DECAY})
    result = search_hyperparameters(tables, CUTOFF, fixed)
    assert "params_half_life" not in result.trials.columns
    assert len(result.trials) == 3
    assert result.interactions == FIXED_DECAY


def test_validation_window_grows_until_it_holds_enough_customers(world):
    tables, _ = world
    short = RecsysConfig(search=SearchConfig(validation_days=5, min_validation_customers=300))
    window = validation_window(tables, CUTOFF, short)
    assert window.days > 5 and window.customers >= 300
    # the window before it (half as long) was too small
    half = SearchConfig(validation_days=window.days // 2, min_validation_customers=1)
    assert validation_window(tables, CUTOFF, RecsysConfig(search=half)).customers < 300
    enough = RecsysConfig(search=SearchConfig(validation_days=5, min_validation_customers=1))
    assert validation_window(tables, CUTOFF, enough).days == 5


def test_tiny_validation_is_warned(world, caplog):
    tables, _ = world
    search = SearchConfig(
        max_trials=1, validation_days=10, min_validation_customers=5_000, max_validation_share=0.1
    )
    config = RecsysConfig(
        model=ModelConfig(name="item_knn"), interactions=FIXED_DECAY, search=search
    )
    with caplog.at_level("WARNING", logger="crm_ml.recsys"):
        result = search_hyperparameters(tables, CUTOFF, config)
    # the longest window (10% of the history) holds fewer customers than each customer's
    # last purchases do, so those are the validation; still fewer than asked for
    assert result.validation == "last_purchases" and result.validation_days == 0
    assert 300 < result.validation_customers < 5_000
    assert "holds only 599 customers" in caplog.text and "fewer than 5000" in caplog.text


def test_validation_falls_back_to_last_purchases_only_when_the_window_is_short(world):
    tables, _ = world
    roomy = RecsysConfig(search=SearchConfig(validation_days=45, min_validation_customers=100))
    chosen = validation_set(tables, CUTOFF, roomy)
    assert chosen.kind == "window" and chosen.days == 45
    assert chosen.cutoff == CUTOFF - pd.Timedelta(days=45)
    assert chosen.truth["customer_id"].nunique() >= 100
    tight = SearchConfig(validation_days=3, min_validation_customers=550, max_validation_share=0.01)
    chosen = validation_set(tables, CUTOFF, RecsysConfig(search=tight))
    assert chosen.kind == "last_purchases" and chosen.customers >= 550
    assert chosen.cutoff <= CUTOFF
    assert (chosen.train["orders"]["ts"] < chosen.cutoff).all()


def _only_new_products_in_validation(tables, days: int):
    """Every purchase of the validation window is of a product nobody had bought: no model
    and no baseline can find it, so every setting scores 0."""
    tables = dict(tables)
    orders = tables["orders"].copy()
    late = orders["ts"] >= CUTOFF - pd.Timedelta(days=days)
    orders["product_id"] = orders["product_id"].astype(str)
    orders.loc[late, "product_id"] = [f"new{i}" for i in range(late.sum())]
    new = pd.DataFrame({"product_id": orders.loc[late, "product_id"], "category": "cat01"})
    tables["products"] = pd.concat([tables["products"], new], ignore_index=True)
    tables["orders"] = orders
    return tables


def test_trials_that_all_score_the_same_are_warned(world, caplog):
    tables, _ = world
    tables = _only_new_products_in_validation(tables, 45)
    search = SearchConfig(max_trials=4, validation_days=45, min_validation_customers=1)
    config = RecsysConfig(
        model=ModelConfig(name="item_knn"), interactions=FIXED_DECAY, search=search
    )
    with caplog.at_level("WARNING", logger="crm_ml.recsys"):
        result = search_hyperparameters(tables, CUTOFF, config)
    assert result.best_score == 0.0
    assert "could not tell them apart" in caplog.text
    assert "not above popularity" in caplog.text


def test_tune_models_leaves_ease_out_above_its_catalogue_limit(world, caplog):
    tables, _ = world
    search = SearchConfig(max_trials=1, validation_days=45)
    config = RecsysConfig(model=ModelConfig(ease_max_items=50), search=search)
    with caplog.at_level("WARNING", logger="crm_ml.recsys"):
        tuned = tune_models(tables, CUTOFF, config, ("item_knn", "ease"))
    assert set(tuned) == {"item_knn"}
    assert "EASE skipped" in caplog.text
