"""Each customer's own history in one product category, point in time.

The customer 360 has no per-category columns; the propensity models (a purchase in the
category) and the uplift models (a response to an offer in the category) both add these
three columns, computed from order lines before each cutoff only.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

HISTORY_DAYS = 365
CATEGORY_HISTORY = (
    "category_orders_365d",
    "category_spend_share_365d",
    "days_since_category_order",
)


def purchase_lines(accepted: Path) -> pd.DataFrame:
    """Purchase order lines (returns dropped) with their product category:
    customer_id, order_id, ts, amount, category."""
    orders = pd.read_parquet(accepted / "orders.parquet")
    if "is_return" in orders.columns:
        orders = orders[~orders["is_return"].fillna(False).astype(bool)]
    products = pd.read_parquet(accepted / "products.parquet", columns=["product_id", "category"])
    lines = orders.merge(products, on="product_id", how="inner")
    return pd.DataFrame(
        {
            "customer_id": lines["customer_id"].astype(str).to_numpy(),
            "order_id": lines["order_id"].astype(str).to_numpy(),
            "ts": lines["ts"].to_numpy(),
            "amount": lines["amount"].astype(float).to_numpy(),
            "category": lines["category"].astype(str).to_numpy(),
        }
    ).assign(ts=lambda f: pd.to_datetime(f["ts"], utc=True))


def category_history(lines: pd.DataFrame, cutoffs: Iterable[pd.Timestamp]) -> pd.DataFrame:
    """Each customer's history per category as of each cutoff (lines with ts < cutoff only):
    customer_id, cutoff, category, category_orders_365d (orders with a line in the category
    in the last year), category_spend_share_365d (share of last-year spend), and
    days_since_category_order (lifetime). Only customer x category pairs ever bought."""
    frames = []
    for cutoff in sorted(set(pd.Timestamp(c) for c in cutoffs)):
        before = lines[lines["ts"] < cutoff]
        year = before[before["ts"] >= cutoff - pd.Timedelta(days=HISTORY_DAYS)]
        keys = ["customer_id", "category"]
        ever = before.groupby(keys, observed=True)["ts"].max()
        orders = year.groupby(keys, observed=True)["order_id"].nunique()
        spend = year.groupby(keys, observed=True)["amount"].sum()
        total = year.groupby("customer_id")["amount"].sum()
        frame = (
            pd.DataFrame({"last": ever}).join(orders.rename("orders")).join(spend.rename("spend"))
        )
        frame = frame.reset_index()
        # float: mapping through an empty total (no spend that year) keeps the key's text
        # dtype on pandas 3
        share = frame["spend"].astype(float) / frame["customer_id"].map(total).astype(float)
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": frame["customer_id"],
                    "cutoff": cutoff,
                    "category": frame["category"],
                    "category_orders_365d": frame["orders"].fillna(0.0).astype(float),
                    "category_spend_share_365d": share.where(np.isfinite(share)).fillna(0.0),
                    "days_since_category_order": (cutoff - frame["last"]).dt.days.astype(float),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def attach_category_history(
    frame: pd.DataFrame, history: pd.DataFrame, categories: str | pd.Series
) -> pd.DataFrame:
    """`frame` (customer_id, cutoff, ...) plus the CATEGORY_HISTORY columns of one category
    per row (a name, or a column such as the offered category). Never bought: 0 orders,
    0 share, days since missing."""
    names = (
        np.full(len(frame), categories)
        if isinstance(categories, str)
        else categories.astype(str).to_numpy()
    )
    keys = pd.DataFrame(
        {
            "customer_id": frame["customer_id"].astype(str).to_numpy(),
            "cutoff": pd.to_datetime(frame["cutoff"], utc=True).to_numpy(),
            "category": names,
        }
    ).assign(cutoff=lambda f: pd.to_datetime(f["cutoff"], utc=True))
    joined = keys.merge(history, on=["customer_id", "cutoff", "category"], how="left")
    out = frame.drop(columns=[c for c in CATEGORY_HISTORY if c in frame.columns]).copy()
    out["category_orders_365d"] = joined["category_orders_365d"].fillna(0.0).to_numpy()
    out["category_spend_share_365d"] = joined["category_spend_share_365d"].fillna(0.0).to_numpy()
    out["days_since_category_order"] = joined["days_since_category_order"].to_numpy()
    return out
