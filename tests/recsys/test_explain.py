"""Explanations: exact for item-kNN, implicit's explain for ALS, purchased contributors flagged."""

from __future__ import annotations

import numpy as np
import pytest

from crm_ml.recsys.config import ModelConfig, RecsysConfig
from crm_ml.recsys.explain import explain_recommendations
from crm_ml.recsys.recommend import fit_engine

from .conftest import CUTOFF


@pytest.fixture(scope="module", params=["als", "item_knn", "bpr"])
def engine(request, world):
    tables, _ = world
    model = ModelConfig(name=request.param, factors=16, iterations=5, bpr_iterations=20)
    config = RecsysConfig(model=model)
    return fit_engine(tables, CUTOFF, config)


def test_contributors_are_the_customers_own_items(engine):
    recs = engine.recommend(["c00001", "c00002", "c00003"], export=False)
    why = explain_recommendations(engine.model, engine.data, recs, n_contributors=3)
    model_rows = recs[recs["source"] == engine.model.source]
    assert set(why["product_id"]) <= set(model_rows["product_id"].astype(str))
    assert len(why) > 0
    for row in why.itertuples():
        user = engine.data.customer_ids.get_loc(row.customer_id)
        item = engine.data.catalogue.product_ids.get_loc(row.contributor_product_id)
        assert engine.data.user_items[user, item] > 0
        assert row.contributor_purchased == (engine.data.purchase_counts[user, item] > 0)
    ranks = why.groupby(["customer_id", "product_id"])["contribution"].apply(
        lambda s: bool(np.all(np.diff(s.to_numpy()) <= 1e-9))
    )
    assert ranks.all()  # strongest contributor first


def test_item_knn_contributions_add_up_to_the_score(world):
    tables, _ = world
    engine = fit_engine(tables, CUTOFF, RecsysConfig(model=ModelConfig(name="item_knn")))
    recs = engine.recommend(["c00005"], export=False)
    row = recs[recs["source"] == "item_knn"].iloc[0]
    user = engine.data.customer_ids.get_loc("c00005")
    item = engine.data.catalogue.product_ids.get_loc(row["product_id"])
    parts = engine.model.explain(user, engine.data.user_items[[user]], item, N=10_000)
    assert sum(v for _, v in parts) == pytest.approx(float(row["score"]), rel=1e-4)
