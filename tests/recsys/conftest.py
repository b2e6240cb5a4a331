"""A small simulated retail world with latent low-rank affinities, shaped like accepted tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

START = pd.Timestamp("2024-01-01", tz="UTC")
CUTOFF = START + pd.Timedelta(days=300)


def _ids(prefix: str, n: int) -> pd.Series:
    return pd.Series([f"{prefix}{i:05d}" for i in range(n)], dtype="string[pyarrow]")


def make_world(
    n_customers: int = 600,
    n_products: int = 200,
    n_categories: int = 10,
    rank: int = 4,
    orders_per_customer: float = 14.0,
    days: int = 365,
    seed: int = 0,
) -> tuple[dict[str, pd.DataFrame], np.ndarray]:
    """Tables plus the true customer x product affinity matrix that generated the orders."""
    rng = np.random.default_rng(seed)
    # products cluster by category in latent space, so taste is about categories and items
    cat_of = rng.integers(0, n_categories, n_products)
    cat_vec = rng.normal(0, 1.0, (n_categories, rank))
    item_vec = cat_vec[cat_of] + rng.normal(0, 0.5, (n_products, rank))
    user_vec = rng.normal(0, 1.0, (n_customers, rank))
    item_bias = rng.normal(0, 0.5, n_products)
    logits = 1.5 * user_vec @ item_vec.T / np.sqrt(rank) + item_bias
    affinity = np.exp(logits - logits.max(axis=1, keepdims=True))
    affinity /= affinity.sum(axis=1, keepdims=True)

    customers = pd.DataFrame(
        {
            "customer_id": _ids("c", n_customers),
            "signup_ts": START - pd.to_timedelta(rng.integers(1, 400, n_customers), unit="D"),
            "marketing_consent": pd.array(rng.random(n_customers) < 0.8, dtype="boolean"),
        }
    )
    products = pd.DataFrame(
        {
            "product_id": _ids("p", n_products),
            "category": pd.Series([f"cat{c:02d}" for c in cat_of], dtype="string[pyarrow]"),
            "price": rng.gamma(2.0, 20.0, n_products).round(2),
            "is_sensitive": pd.array(cat_of == 0, dtype="boolean"),
            "is_repeatable": pd.array(rng.random(n_products) < 0.3, dtype="boolean"),
        }
    )
    n_orders = rng.poisson(orders_per_customer, n_customers)
    cust = np.repeat(np.arange(n_customers), n_orders)
    cum = affinity.cumsum(axis=1)
    prod = (cum[cust] < rng.random(len(cust))[:, None]).sum(axis=1).clip(0, n_products - 1)
    ts = START + pd.to_timedelta(rng.uniform(0, days, len(cust)), unit="D")
    orders = pd.DataFrame(
        {
            "order_id": _ids("o", len(cust)),
            "product_id": products["product_id"].to_numpy()[prod],
            "customer_id": customers["customer_id"].to_numpy()[cust],
            "ts": ts,
            "amount": products["price"].to_numpy()[prod],
            "is_return": pd.array(np.zeros(len(cust), bool), dtype="boolean"),
        }
    ).astype({"product_id": "string[pyarrow]", "customer_id": "string[pyarrow]"})
    n_views = len(cust) * 2
    vcust = rng.integers(0, n_customers, n_views)
    vprod = (cum[vcust] < rng.random(n_views)[:, None]).sum(axis=1).clip(0, n_products - 1)
    events = pd.DataFrame(
        {
            "customer_id": customers["customer_id"].to_numpy()[vcust],
            "ts": START + pd.to_timedelta(rng.uniform(0, days, n_views), unit="D"),
            "event_type": np.where(rng.random(n_views) < 0.8, "view", "cart_add"),
            "product_id": products["product_id"].to_numpy()[vprod],
        }
    ).astype({"customer_id": "string[pyarrow]", "product_id": "string[pyarrow]"})
    n_excl = n_customers // 10
    exclusions = pd.DataFrame(
        {
            "customer_id": customers["customer_id"].sample(n_excl, random_state=seed).to_numpy(),
            "category": [f"cat{c:02d}" for c in rng.integers(0, n_categories, n_excl)],
            "ts": START + pd.to_timedelta(rng.uniform(0, 250, n_excl), unit="D"),
        }
    )
    tables = {
        "customers": customers,
        "products": products,
        "orders": orders,
        "events": events,
        "exclusions": exclusions,
    }
    return tables, affinity


@pytest.fixture(scope="session")
def world() -> tuple[dict[str, pd.DataFrame], np.ndarray]:
    return make_world()
