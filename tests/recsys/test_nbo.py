"""Next-best-offer: one offer per customer, propensity and margin matter, readable reasons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_ml.recsys.config import ModelConfig, RecsysConfig
from crm_ml.recsys.nbo import next_best_offer, propensity_long, time_ago
from crm_ml.recsys.recommend import fit_engine

from .conftest import CUTOFF


@pytest.fixture(scope="module")
def engine_and_recs(world):
    tables, _ = world
    engine = fit_engine(tables, CUTOFF, RecsysConfig(model=ModelConfig(factors=16, iterations=5)))
    return engine, engine.recommend([f"c{i:05d}" for i in range(40)], export=True)


def test_one_offer_per_customer_from_their_list(engine_and_recs):
    engine, recs = engine_and_recs
    offers = next_best_offer(engine, recs)
    assert offers["customer_id"].is_unique
    assert set(offers["customer_id"]) == set(recs["customer_id"].astype(str))
    listed = set(zip(recs["customer_id"].astype(str), recs["product_id"].astype(str), strict=True))
    assert set(zip(offers["customer_id"], offers["product_id"], strict=True)) <= listed
    assert offers["reason"].str.len().gt(10).all()
    assert offers["reason"].str.contains(r"bought .+ ago", regex=True).any()


def test_propensity_steers_the_offer(engine_and_recs):
    engine, recs = engine_and_recs
    customer = recs["customer_id"].astype(str).iloc[0]
    mine = recs[recs["customer_id"].astype(str) == customer]
    target = mine["category"].astype(str).iloc[-1]
    categories = list(engine.data.catalogue.categories)
    wide = pd.DataFrame(0.01, index=[customer], columns=categories)
    wide.loc[customer, target] = 0.99
    offer = next_best_offer(engine, mine, wide).iloc[0]
    assert offer["category"] == target
    assert f"99% likely to buy {target}" in offer["reason"]


def test_a_lower_ranked_offer_wins_only_on_expected_margin(engine_and_recs):
    engine, recs = engine_and_recs
    offers = next_best_offer(engine, recs)
    top_ranked = recs[recs["rank"] == 1].astype({"customer_id": str, "product_id": str})
    merged = offers.merge(top_ranked, on="customer_id", suffixes=("", "_top"))
    # an offer below rank 1 is only chosen when its margin outweighs the rank discount
    lower = merged[merged["product_id"] != merged["product_id_top"]]
    items = engine.data.catalogue.product_ids.get_indexer(lower["product_id_top"])
    assert (lower["offer_score"].to_numpy() >= engine.data.catalogue.margin[items] - 1e-9).all()


def test_propensity_formats_and_time_wording():
    wide = pd.DataFrame({"a": [0.2], "b": [0.7]}, index=["c1"])
    long = propensity_long(wide)
    assert long.sort_values("category")["propensity"].tolist() == [0.2, 0.7]
    tidy = pd.DataFrame({"customer_id": ["c1"], "category": ["a"], "probability": [0.4]})
    assert propensity_long(tidy)["propensity"].tolist() == [0.4]
    assert [time_ago(d) for d in (1, 5, 21, 100)] == ["1 day", "5 days", "3 weeks", "3 months"]
    assert np.isfinite(len(time_ago(0.2)))


def test_offers_without_prices_rank_without_margin_unless_a_rate_was_set(world, caplog):
    tables, _ = world
    tables = {**tables, "products": tables["products"].drop(columns="price")}
    config = RecsysConfig(model=ModelConfig(name="item_knn"))
    engine = fit_engine(tables, CUTOFF, config)
    recs = engine.recommend([f"c{i:05d}" for i in range(20)], export=False)
    with caplog.at_level("INFO", logger="crm_ml.recsys"):
        offers = next_best_offer(engine, recs)
    assert "no 'price' or 'margin'" in caplog.text
    assert offers["margin"].isna().all()
    # without margin the offer is the customer's top-ranked item
    top = recs[recs["rank"] == 1].astype({"customer_id": str, "product_id": str})
    assert offers.set_index("customer_id")["product_id"].to_dict() == dict(
        zip(top["customer_id"], top["product_id"], strict=True)
    )
    explicit = config.model_copy(
        update={"offer": config.offer.model_validate({"default_margin_rate": 0.4})}
    )
    engine = fit_engine(tables, CUTOFF, explicit)
    with pytest.raises(ValueError, match=r"default_margin_rate needs column 'price'"):
        next_best_offer(engine, recs)
