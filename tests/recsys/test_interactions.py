"""Confidence matrix: point in time, weights, decay, returns, cold-start rows, BM25."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_ml.recsys.config import InteractionConfig
from crm_ml.recsys.interactions import build_interactions, purchases_in_horizon

CUTOFF = pd.Timestamp("2024-07-01", tz="UTC")
PLAIN = InteractionConfig(half_life_days=None, log_scale=False)


def tiny_tables(extra_orders: list[dict] | None = None) -> dict[str, pd.DataFrame]:
    ts = lambda days: CUTOFF - pd.Timedelta(days=days)  # noqa: E731
    orders = [
        {"order_id": "o1", "product_id": "p1", "customer_id": "c1", "ts": ts(10), "amount": 5.0},
        {"order_id": "o2", "product_id": "p2", "customer_id": "c1", "ts": ts(180), "amount": 5.0},
        {
            "order_id": "o3",
            "product_id": "p1",
            "customer_id": "c2",
            "ts": ts(5),
            "amount": -5.0,
            "is_return": True,
        },
    ] + (extra_orders or [])
    return {
        "customers": pd.DataFrame(
            {
                "customer_id": ["c1", "c2", "c3", "c4"],
                "signup_ts": [ts(400), ts(400), ts(30), CUTOFF + pd.Timedelta(days=3)],
            }
        ),
        "products": pd.DataFrame(
            {"product_id": ["p1", "p2", "p3"], "category": ["a", "b", "b"], "price": [1.0, 2, 3]}
        ),
        "orders": pd.DataFrame(orders).assign(
            is_return=lambda f: f["is_return"].astype("boolean").fillna(False)
        ),
        "events": pd.DataFrame(
            {
                "customer_id": ["c1", "c3", "c3", "c1"],
                "ts": [ts(1), ts(2), ts(2), CUTOFF + pd.Timedelta(hours=1)],
                "event_type": ["view", "cart_add", "search", "view"],
                "product_id": ["p3", "p2", None, "p1"],
            }
        ),
    }


def cell(data, customer: str, product: str) -> float:
    i = data.customer_ids.get_loc(customer)
    j = data.catalogue.product_ids.get_loc(product)
    return float(data.user_items[i, j])


def test_weights_per_kind_and_rows():
    data = build_interactions(tiny_tables(), CUTOFF, PLAIN)
    assert list(data.customer_ids) == ["c1", "c2", "c3"]  # c4 signs up after the cutoff
    assert cell(data, "c1", "p1") == 4.0  # purchase
    assert cell(data, "c1", "p3") == 0.5  # view
    assert cell(data, "c3", "p2") == 2.0  # cart add
    assert cell(data, "c2", "p1") == 0.0  # a return is not a positive signal
    assert data.purchase_counts[data.customer_ids.get_loc("c2")].nnz == 1  # but was bought


def test_half_life_decay():
    data = build_interactions(
        tiny_tables(), CUTOFF, InteractionConfig(half_life_days=180, log_scale=False)
    )
    assert cell(data, "c1", "p2") == pytest.approx(4.0 * 0.5, rel=1e-5)
    assert cell(data, "c1", "p1") == pytest.approx(4.0 * 0.5 ** (10 / 180), rel=1e-5)


def test_auto_half_life_is_a_multiple_of_the_median_age():
    tables = tiny_tables()
    # interactions before the cutoff: orders 10, 180 and 5 (a return, not counted) days old,
    # events 1, 2 and 2 days old (the search event has no weight): ages 10, 180, 1, 2
    config = InteractionConfig(half_life_days="auto", auto_half_life=2.0, log_scale=False)
    data = build_interactions(tables, CUTOFF, config)
    median_age = np.median([10, 180, 1, 2])  # 6 days
    assert cell(data, "c1", "p2") == pytest.approx(4.0 * 0.5 ** (180 / (2 * median_age)), rel=1e-4)
    assert cell(data, "c1", "p1") == pytest.approx(4.0 * 0.5 ** (10 / (2 * median_age)), rel=1e-4)
    # the same history on a 100 times longer time scale decays the same way
    stretched = {
        name: table.assign(
            **{c: CUTOFF - (CUTOFF - table[c]) * 100 for c in ("ts", "signup_ts") if c in table}
        )
        for name, table in tables.items()
    }
    slow = build_interactions(stretched, CUTOFF, config)
    np.testing.assert_allclose(slow.user_items.toarray(), data.user_items.toarray(), rtol=1e-4)


def test_rows_at_or_after_cutoff_are_invisible():
    later = {"order_id": "o9", "product_id": "p3", "customer_id": "c1", "ts": CUTOFF, "amount": 3.0}
    before = build_interactions(tiny_tables(), CUTOFF, PLAIN)
    after = build_interactions(tiny_tables([later]), CUTOFF, PLAIN)
    assert (before.user_items != after.user_items).nnz == 0
    assert (before.purchase_counts != after.purchase_counts).nnz == 0
    truth = purchases_in_horizon(tiny_tables([later]), CUTOFF, 30)
    assert truth.to_dict("records") == [{"customer_id": "c1", "product_id": "p3"}]


def test_days_since_purchase_and_categories():
    data = build_interactions(tiny_tables(), CUTOFF, PLAIN)
    c1 = data.customer_ids.get_loc("c1")
    assert data.days_since_purchase[c1, data.catalogue.product_ids.get_loc("p2")] == 180
    cats = data.customer_category().toarray()[c1]
    assert cats.tolist() == [4.0, 4.5]  # a: p1 purchase; b: p2 purchase + p3 view


def test_bm25_and_tfidf_keep_the_pattern():
    tables = tiny_tables()
    plain = build_interactions(tables, CUTOFF)
    for weighting in ("bm25", "tfidf"):
        weighted = build_interactions(tables, CUTOFF, InteractionConfig(weighting=weighting))
        assert weighted.user_items.dtype == np.float32
        assert weighted.user_items.nnz <= plain.user_items.nnz
        assert not np.allclose(weighted.user_items.toarray(), plain.user_items.toarray())


def test_missing_column_names_table_and_column():
    tables = tiny_tables()
    tables["orders"] = tables["orders"].drop(columns="product_id")
    with pytest.raises(ValueError, match=r"orders.*product_id"):
        build_interactions(tables, CUTOFF)


def test_orders_alone_are_enough():
    """customer, product, timestamp: customers come from orders, products from orders and
    events, with one category and no price."""
    orders = tiny_tables()["orders"][["customer_id", "product_id", "ts"]]
    data = build_interactions({"orders": orders}, CUTOFF, PLAIN)
    assert list(data.customer_ids) == ["c1", "c2"]
    assert list(data.catalogue.product_ids) == ["p1", "p2"]
    assert not data.catalogue.has_category and not data.catalogue.has_margin
    assert cell(data, "c1", "p1") == 4.0


def test_naive_timestamps_are_read_as_utc_with_one_warning(caplog):
    aware = tiny_tables()
    naive = {
        name: table.assign(
            **{c: table[c].dt.tz_localize(None) for c in ("ts", "signup_ts") if c in table}
        )
        for name, table in aware.items()
    }
    with caplog.at_level("WARNING", logger="crm_ml.recsys"):
        data = build_interactions(naive, CUTOFF.tz_localize(None), PLAIN)
    warnings = [r for r in caplog.records if "without a timezone" in r.getMessage()]
    assert len(warnings) == 1
    assert (
        "orders.ts" in warnings[0].getMessage()
        and "customers.signup_ts" in warnings[0].getMessage()
    )
    expected = build_interactions(aware, CUTOFF, PLAIN)
    assert (data.user_items != expected.user_items).nnz == 0
    assert data.cutoff == CUTOFF
