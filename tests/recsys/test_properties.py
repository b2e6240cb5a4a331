"""Property: whatever customers told us, an export never breaks it."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_ml.recsys.config import ModelConfig, RecsysConfig, RulesConfig
from crm_ml.recsys.recommend import fit_engine

CUTOFF = pd.Timestamp("2024-06-01", tz="UTC")


@st.composite
def worlds(draw):
    n_customers = draw(st.integers(2, 7))
    n_products = draw(st.integers(3, 9))
    n_categories = draw(st.integers(1, 3))
    customer = st.integers(0, n_customers - 1)
    product = st.integers(0, n_products - 1)
    category = st.integers(0, n_categories - 1)
    day = st.integers(1, 200)
    orders = draw(st.lists(st.tuples(customer, product, day), max_size=25))
    views = draw(st.lists(st.tuples(customer, product, day), max_size=15))
    exclusions = draw(st.lists(st.tuples(customer, category, day), max_size=6))
    products = pd.DataFrame(
        {
            "product_id": [f"p{i}" for i in range(n_products)],
            "category": [f"k{draw(category)}" for _ in range(n_products)],
            "price": 10.0,
            "is_sensitive": pd.array(
                draw(st.lists(st.booleans(), min_size=n_products, max_size=n_products)),
                dtype="boolean",
            ),
            "is_repeatable": pd.array(
                draw(st.lists(st.booleans(), min_size=n_products, max_size=n_products)),
                dtype="boolean",
            ),
        }
    )
    ago = lambda d: CUTOFF - pd.Timedelta(days=d)  # noqa: E731
    tables = {
        "customers": pd.DataFrame(
            {
                "customer_id": [f"c{i}" for i in range(n_customers)],
                "signup_ts": ago(400),
                "marketing_consent": pd.array(
                    draw(st.lists(st.booleans(), min_size=n_customers, max_size=n_customers)),
                    dtype="boolean",
                ),
            }
        ),
        "products": products,
        "orders": pd.DataFrame(
            {
                "order_id": [f"o{i}" for i in range(len(orders))],
                "customer_id": [f"c{c}" for c, _, _ in orders],
                "product_id": [f"p{p}" for _, p, _ in orders],
                "ts": pd.to_datetime([ago(d) for _, _, d in orders], utc=True),
                "amount": 10.0,
            }
        ),
        "events": pd.DataFrame(
            {
                "customer_id": [f"c{c}" for c, _, _ in views],
                "ts": pd.to_datetime([ago(d) for _, _, d in views], utc=True),
                "event_type": "view",
                "product_id": [f"p{p}" for _, p, _ in views],
            }
        ),
        "exclusions": pd.DataFrame(
            {
                "customer_id": [f"c{c}" for c, _, _ in exclusions],
                "category": [f"k{k}" for _, k, _ in exclusions],
                "ts": pd.to_datetime([ago(d) for _, _, d in exclusions], utc=True),
            }
        ),
    }
    model = draw(st.sampled_from(["als", "bpr", "item_knn"]))
    cap = draw(st.sampled_from([None, 1, 2]))
    return tables, model, cap


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_export_never_contains_excluded_refused_or_rebought(world):
    tables, model, cap = world
    config = RecsysConfig(
        k=4,
        model=ModelConfig(name=model, factors=2, iterations=2, bpr_iterations=3, num_threads=1),
        rules=RulesConfig(category_cap=cap, min_segment_buyers=1),
    )
    recs = fit_engine(tables, CUTOFF, config).recommend(export=True)
    recs = recs.astype({"customer_id": str, "product_id": str, "category": str})
    customers = tables["customers"]
    consenting = set(customers.loc[customers["marketing_consent"].astype(bool), "customer_id"])
    assert set(recs["customer_id"]) <= consenting

    shown = set(zip(recs["customer_id"], recs["category"], strict=True))
    excluded = set(
        zip(tables["exclusions"]["customer_id"], tables["exclusions"]["category"], strict=True)
    )
    assert not shown & excluded

    products = tables["products"].set_index("product_id")
    one_off = set(products.index[~products["is_repeatable"].astype(bool)])
    bought = set(zip(tables["orders"]["customer_id"], tables["orders"]["product_id"], strict=True))
    offered = set(zip(recs["customer_id"], recs["product_id"], strict=True))
    assert not {(c, p) for c, p in offered & bought if p in one_off}

    bought_categories = {(c, products.at[p, "category"]) for c, p in bought}
    sensitive = set(products.index[products["is_sensitive"].astype(bool)])
    for c, p in offered:
        if p in sensitive:
            assert (c, products.at[p, "category"]) in bought_categories
    if cap is not None and len(recs):
        assert recs.groupby(["customer_id", "category"]).size().max() <= cap
