"""Product-to-product lists: exact counts on a hand-made history, and the two promises (no
sensitive product, no pair bought by fewer than min_customers customers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_ml.recsys import also_bought, best_seller, build_interactions, similar_products

CUTOFF = pd.Timestamp("2024-06-01", tz="UTC")
# who bought what (product -> customers); "care" is sensitive
BOUGHT = {
    "tent": range(0, 10),
    "stove": range(0, 8),  # 8 of the 10 tent buyers
    "lamp": [*range(0, 5), *range(10, 40)],  # 5 tent buyers, and 30 more
    "mug": range(7, 12),  # 3 tent buyers only
    "care": range(0, 9),  # sensitive: 9 tent buyers
    "book": range(40, 60),  # no tent buyer
    "after": range(0, 10),  # bought by every tent buyer, but only after the cutoff
}


def _tables() -> dict[str, pd.DataFrame]:
    rows = []
    for product, customers in BOUGHT.items():
        ts = CUTOFF + pd.Timedelta(days=3) if product == "after" else CUTOFF - pd.Timedelta(days=30)
        rows += [{"customer_id": f"c{c:03d}", "product_id": product, "ts": ts} for c in customers]
    orders = pd.DataFrame(rows)
    orders["order_id"] = [f"o{i:04d}" for i in range(len(orders))]
    orders["quantity"], orders["amount"] = 1, 10.0
    products = pd.DataFrame(
        {
            "product_id": list(BOUGHT),
            "category": ["outdoor", "outdoor", "outdoor", "kitchen", "health", "books", "outdoor"],
            "price": 10.0,
            "is_sensitive": [p == "care" for p in BOUGHT],
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": [f"c{c:03d}" for c in range(100)],
            "signup_ts": CUTOFF - pd.Timedelta(days=400),
        }
    )
    return {"orders": orders, "products": products, "customers": customers}


@pytest.fixture(scope="module")
def data():
    return build_interactions(_tables(), CUTOFF)


def test_also_bought_counts_the_anchor_buyers_who_bought_each_product(data) -> None:
    lists = also_bought(data, "tent", min_customers=5)
    assert lists["product_id"].tolist() == ["stove", "lamp"]  # mug: 3 co-buyers; care: sensitive
    assert lists["customers"].tolist() == [8, 5]
    np.testing.assert_allclose(lists["share_of_buyers"], [0.8, 0.5])
    # lift: share of tent buyers over the share of all 100 customers (stove 8, lamp 35)
    np.testing.assert_allclose(lists["lift"], [0.8 / 0.08, 0.5 / 0.35])
    assert lists["rank"].tolist() == [1, 2]
    assert lists["category"].tolist() == ["outdoor", "outdoor"]


def test_similar_products_takes_popularity_out(data) -> None:
    similar = similar_products(data, "tent", min_customers=3)
    # cosine: stove 8/sqrt(10*8), mug 3/sqrt(10*5), lamp 5/sqrt(10*35)
    assert similar["product_id"].tolist() == ["stove", "mug", "lamp"]
    np.testing.assert_allclose(
        similar["similarity"], [8 / np.sqrt(80), 3 / np.sqrt(50), 5 / np.sqrt(350)]
    )


def test_a_pair_needs_min_customers_co_buyers(data) -> None:
    assert also_bought(data, "tent", min_customers=3)["product_id"].tolist() == [
        "stove",
        "lamp",
        "mug",
    ]
    assert also_bought(data, "tent", min_customers=9).empty
    assert also_bought(data, "book").empty  # nobody bought books with anything else


def test_sensitive_products_never_appear_and_never_anchor(data) -> None:
    for lists in (also_bought(data, "tent", min_customers=1), similar_products(data, "stove", 1)):
        assert "care" not in set(lists["product_id"])
    assert also_bought(data, "care", min_customers=1).empty
    assert similar_products(data, "care", min_customers=1).empty


def test_only_purchases_before_the_cutoff_count(data) -> None:
    assert "after" not in set(also_bought(data, "tent", min_customers=1)["product_id"])


def test_an_unknown_product_is_a_clear_error(data) -> None:
    with pytest.raises(KeyError, match="'kayak' is not in the catalogue"):
        also_bought(data, "kayak")


def test_the_best_seller_is_the_product_most_customers_bought_sensitive_aside(data) -> None:
    assert best_seller(data) == "lamp"  # 35 buyers; "after" was bought after the cutoff
