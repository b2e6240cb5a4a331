"""Selection: search, compare, serve the best with its searched settings; per-customer split."""

from __future__ import annotations

from crm_ml.recsys.config import ModelConfig, RecsysConfig, SearchConfig
from crm_ml.recsys.recommend import fit_engine
from crm_ml.recsys.selection import select_recommender
from crm_ml.recsys.splits import split_last_purchases

from .conftest import CUTOFF

CONFIG = RecsysConfig(
    model=ModelConfig(factors=8, iterations=3),
    search=SearchConfig(max_trials=3, validation_days=45, time_budget_seconds=60),
)


def test_the_served_model_is_the_best_with_its_searched_settings(world):
    tables, _ = world
    chosen = select_recommender(tables, CUTOFF, CONFIG, ("item_knn", "ease"), horizon_days=65)
    table = chosen.comparison
    assert chosen.best_model == table.loc[["item_knn", "ease"], "recall@10"].idxmax()
    assert f"served:{chosen.best_model}" in table.index
    searched = chosen.searched[chosen.best_model]
    assert chosen.serving.model == searched.best
    assert chosen.serving.interactions == searched.interactions
    engine = fit_engine(tables, CUTOFF, chosen.serving)
    assert engine.model.name == chosen.best_model


def test_per_customer_split_through_the_same_flow(world):
    tables, _ = world
    split = split_last_purchases(tables, holdout_share=0.2)
    chosen = select_recommender(split.train, split.cutoff, CONFIG, ("ease",), truth=split.truth)
    table = chosen.comparison
    assert table["n_test_customers"].iloc[0] == split.truth["customer_id"].nunique()
    assert table.loc["served:ease", "recall@10"] > table.loc["popular", "recall@10"]
