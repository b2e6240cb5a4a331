"""Cold-start products: the attribute model on a hand-made history, the Dirichlet estimator
on draws with a known concentration, and the evaluation on a world with launches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crm_ml.datasets.synthetic import generate_world
from crm_ml.recsys import build_interactions
from crm_ml.recsys.cold_start import (
    attribute_scores,
    cold_start_evaluation,
    dirichlet_concentration,
    launched_between,
    price_bands,
)

CUTOFF = pd.Timestamp("2024-06-01", tz="UTC")
# (product, category, subcategory, price); the last two launch after the cutoff
PRODUCTS = [
    ("tea", "grocery", "drinks", 3.0),
    ("coffee", "grocery", "drinks", 6.0),
    ("bread", "grocery", "bakery", 2.0),
    ("serum", "beauty", "skin", 30.0),
    ("cream", "beauty", "skin", 12.0),
    ("lipstick", "beauty", "make-up", 15.0),
    ("new-juice", "grocery", "drinks", 4.0),
    ("new-mask", "beauty", "skin", 20.0),
]
BOUGHT = {  # customer -> products bought before the cutoff
    "c-drinks": ["tea", "coffee", "tea", "coffee"],
    "c-skin": ["serum", "cream", "serum"],
    "c-bakery": ["bread", "bread", "bread"],
}


def _tables() -> dict[str, pd.DataFrame]:
    rows = [
        {"customer_id": c, "product_id": p, "ts": CUTOFF - pd.Timedelta(days=10 + i)}
        for c, products in BOUGHT.items()
        for i, p in enumerate(products)
    ]
    orders = pd.DataFrame(rows)
    orders["order_id"] = [f"o{i:03d}" for i in range(len(orders))]
    orders["quantity"], orders["amount"] = 1, 10.0
    products = pd.DataFrame(PRODUCTS, columns=["product_id", "category", "subcategory", "price"])
    is_new = products["product_id"].str.startswith("new-")
    products["launch_ts"] = pd.Series(CUTOFF + pd.Timedelta(days=5), index=products.index).where(
        is_new
    )
    customers = pd.DataFrame(
        {"customer_id": [*BOUGHT, "c-none"], "signup_ts": CUTOFF - pd.Timedelta(days=100)}
    )
    return {"orders": orders, "products": products, "customers": customers}


def test_new_products_go_to_customers_whose_purchases_share_their_attributes() -> None:
    data = build_interactions(_tables(), CUTOFF)
    items = data.catalogue.product_ids.get_indexer(["new-juice", "new-mask"])
    scores = pd.DataFrame(
        attribute_scores(data, items), index=data.customer_ids, columns=["juice", "mask"]
    )
    assert scores.loc["c-drinks", "juice"] > scores.loc["c-drinks", "mask"]
    assert scores.loc["c-skin", "mask"] > scores.loc["c-skin", "juice"]
    # a grocery buyer of another subcategory likes the new drink less than the drinks buyer
    assert scores.loc["c-drinks", "juice"] > scores.loc["c-bakery", "juice"]
    # no history: the whole base's shares, below each product's own fans
    base = scores.loc["c-none"]
    assert (base > 0).all()
    assert base["juice"] < scores.loc["c-drinks", "juice"]
    assert base["mask"] < scores.loc["c-skin", "mask"]


def test_the_dirichlet_estimator_recovers_a_known_concentration() -> None:
    rng = np.random.default_rng(3)
    for alpha in (2.0, 20.0):
        shares = rng.dirichlet(alpha * np.array([0.4, 0.3, 0.2, 0.1]), size=4_000)
        counts = np.vstack([rng.multinomial(15, p) for p in shares]).astype(float)
        assert dirichlet_concentration(counts) == pytest.approx(alpha, rel=0.2)
    # identical tastes: the estimate runs to its upper end (trust the base)
    same = np.vstack([rng.multinomial(15, [0.5, 0.5]) for _ in range(2_000)]).astype(float)
    assert dirichlet_concentration(same) > 100


def test_price_bands_split_each_category_by_price() -> None:
    data = build_interactions(_tables(), CUTOFF)
    bands = pd.Series(price_bands(data.catalogue), index=data.catalogue.product_ids)
    assert bands["bread"] < bands["coffee"] and bands["cream"] < bands["serum"]


def test_launched_between_reads_the_launch_dates() -> None:
    products = _tables()["products"]
    new = launched_between(products, CUTOFF, CUTOFF + pd.Timedelta(days=30))
    assert sorted(new["product_id"]) == ["new-juice", "new-mask"]
    assert launched_between(
        products, CUTOFF + pd.Timedelta(days=6), CUTOFF + pd.Timedelta(days=9)
    ).empty


def test_the_evaluation_needs_launch_dates_and_enough_launches() -> None:
    tables = _tables()
    with pytest.raises(ValueError, match="launch_ts"):
        cold_start_evaluation(
            {**tables, "products": tables["products"].drop(columns="launch_ts")}, CUTOFF
        )
    with pytest.raises(ValueError, match="2 products launch"):
        cold_start_evaluation(tables, CUTOFF)


@pytest.mark.slow
def test_on_a_world_with_launches_the_attribute_model_beats_the_merchandisers_lists(
    tmp_path: Path,
) -> None:
    world = generate_world(tmp_path, customers=3_000, seed=5, show_progress=False).out_dir
    tables = {
        t: pd.read_parquet(world / f"{t}.parquet")
        for t in ("orders", "customers", "products", "events")
    }
    table = cold_start_evaluation(tables, "2024-07-01", horizon_days=180)
    recall = table["recall@10"]
    ours = recall["attributes (category, subcategory, price band)"]
    assert table.attrs["new_products"] > 20 and table.attrs["customers"] > 200
    assert ours > recall["category popularity"] + 0.05
    assert ours > recall["days on sale"] + 0.05
