"""Small synthetic frames with a known mechanism, and a fast single-thread config."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_ml.models import BinaryModelConfig, LightGBMConfig, SpendModelConfig

FAST_LGB = LightGBMConfig(
    num_threads=1, num_boost_round=300, early_stopping_rounds=30, min_child_samples=20
)


def churn_frame(n_customers: int = 1500, seed: int = 0) -> pd.DataFrame:
    """Training-frame shape (customer_id, cutoff, split, features, label) over four cutoffs:
    two train, one validation, one holdout. Churn depends on recency relative to the usual
    gap, recent orders and unresolved complaints; plus a noise column and a category."""
    rng = np.random.default_rng(seed)
    cutoffs = pd.to_datetime(["2024-01-01", "2024-04-01", "2024-07-01", "2024-10-01"], utc=True)
    splits = ["train", "train", "validation", "holdout"]
    parts = []
    for cutoff, split in zip(cutoffs, splits, strict=True):
        n = n_customers
        gap = rng.gamma(2.0, 15.0, n) + 3
        since = rng.exponential(gap)
        orders_lifetime = rng.poisson(8, n) + 1
        first = since + gap * (orders_lifetime - 1) + rng.uniform(0, 30, n)
        part = pd.DataFrame(
            {
                "customer_id": [f"{i:020x}" for i in range(n)],
                "cutoff": cutoff,
                "split": split,
                "days_since_last_order": since.round(),
                "mean_days_between_orders": gap.round(1),
                "orders_90d": rng.poisson(90 / gap).astype(float),
                "orders_365d": rng.poisson(365 / gap).astype(float),
                "orders_lifetime": orders_lifetime.astype(float),
                "days_since_first_order": first.round(),
                "net_spend_365d": rng.gamma(2, 50, n) * 365 / gap / 10,
                "net_spend_lifetime": orders_lifetime * rng.gamma(3, 20, n),
                "tenure_days": first + rng.uniform(0, 100, n),
                "complaints_unresolved": rng.poisson(0.2, n).astype(float),
                "noise": rng.normal(size=n),
                "region": pd.Categorical(rng.choice(["north", "south", "east"], n)),
            }
        )
        logit = (
            -1.5
            + 2.0 * np.log1p(since / gap)
            - 0.15 * part["orders_90d"]
            + 1.0 * part["complaints_unresolved"]
            + 0.3 * (part["region"] == "north")
        )
        part["label"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="session")
def churn() -> pd.DataFrame:
    return churn_frame()


@pytest.fixture(scope="session")
def binary_config() -> BinaryModelConfig:
    return BinaryModelConfig(lightgbm=FAST_LGB)


@pytest.fixture(scope="session")
def spend_config() -> SpendModelConfig:
    return SpendModelConfig(lightgbm=FAST_LGB)


@pytest.fixture(scope="session")
def churn_result(churn: pd.DataFrame, binary_config: BinaryModelConfig):
    from crm_ml.models import train_binary_model

    return train_binary_model(churn, "label", binary_config)
