"""The interaction worlds: seeded, on their own time scales, with only the columns asked for."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from crm_ml.datasets.interaction_worlds import WORLDS, simulate_interactions


def _median_gap_days(orders: pd.DataFrame) -> float:
    """Median days between a customer's consecutive orders."""
    times = orders.drop_duplicates("order_id").sort_values(["customer_id", "ts"])
    gaps = times.groupby("customer_id")["ts"].diff().dropna() / pd.Timedelta(days=1)
    return float(gaps.median())


def test_same_seed_same_tables_other_seed_other_tables():
    world = replace(WORLDS["grocery_2m"], customers=200)
    first, again = simulate_interactions(world), simulate_interactions(world)
    for name in first:
        pd.testing.assert_frame_equal(first[name], again[name])
    other = simulate_interactions(replace(world, seed=world.seed + 1))
    assert not other["orders"].equals(first["orders"])


def test_time_scales_differ_as_named():
    grocery = simulate_interactions(replace(WORLDS["grocery_2m"], customers=300))["orders"]
    electronics = simulate_interactions(replace(WORLDS["electronics_5y"], customers=600))["orders"]
    assert _median_gap_days(grocery) < 14
    assert _median_gap_days(electronics) > 90
    span = lambda o: (o["ts"].max() - o["ts"].min()) / pd.Timedelta(days=1)  # noqa: E731
    assert span(grocery) <= 61 and span(electronics) > 4 * 365
    # grocery customers buy their staples again; electronics customers never twice
    assert grocery.duplicated(["customer_id", "product_id"]).mean() > 0.3
    assert not electronics.duplicated(["customer_id", "product_id"]).any()


def test_minimal_worlds_carry_orders_and_product_ids_only():
    minimal = simulate_interactions(replace(WORLDS["electronics_5y"], customers=100))
    assert set(minimal) == {"orders", "products"}
    assert list(minimal["orders"].columns) == ["order_id", "customer_id", "product_id", "ts"]
    assert list(minimal["products"].columns) == ["product_id"]
    assert str(minimal["orders"]["ts"].dt.tz) == "UTC"
    full = simulate_interactions(replace(WORLDS["grocery_2m"], customers=100))
    assert {"category", "is_repeatable"} <= set(full["products"].columns)
    assert set(full["orders"]["customer_id"]) <= set(full["customers"]["customer_id"])
