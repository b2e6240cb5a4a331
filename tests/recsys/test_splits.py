"""Per-customer temporal split: each customer's last purchases held out, nothing after leaks."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_ml.recsys.splits import split_last_purchases

DAY = pd.Timedelta(days=1)
T0 = pd.Timestamp("2022-01-01", tz="UTC")


def tables() -> dict[str, pd.DataFrame]:
    # c1: five lines over five years; c2: two lines (too few to hold out)
    orders = pd.DataFrame(
        {
            "customer_id": ["c1"] * 5 + ["c2"] * 2,
            "product_id": ["a", "b", "c", "d", "e", "a", "b"],
            "ts": [T0 + d * DAY for d in (0, 400, 800, 1200, 1600)] + [T0, T0 + 10 * DAY],
        }
    )
    events = pd.DataFrame(
        {
            "customer_id": ["c1", "c1", "c2"],
            "product_id": ["x", "y", "z"],
            "event_type": "view",
            "ts": [T0 + 1100 * DAY, T0 + 1300 * DAY, T0 + 20 * DAY],
        }
    )
    return {"orders": orders, "events": events}


def test_last_share_of_each_customer_is_held_out():
    split = split_last_purchases(tables(), holdout_share=0.4, min_purchases=3)
    assert split.truth.to_dict("records") == [
        {"customer_id": "c1", "product_id": "d"},
        {"customer_id": "c1", "product_id": "e"},
    ]
    train = split.train["orders"]
    assert sorted(train.loc[train["customer_id"] == "c1", "product_id"]) == ["a", "b", "c"]
    assert (train["customer_id"] == "c2").sum() == 2
    # c1's view after their first held-out purchase is gone; earlier ones and c2's stay
    assert sorted(split.train["events"]["product_id"]) == ["x", "z"]
    assert split.cutoff > tables()["orders"]["ts"].max()


def test_at_least_one_line_is_held_out_and_share_is_checked():
    split = split_last_purchases(tables(), holdout_share=0.01)
    assert split.truth["product_id"].tolist() == ["e"]
    with pytest.raises(ValueError, match="holdout_share"):
        split_last_purchases(tables(), holdout_share=1.0)
