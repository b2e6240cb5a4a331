"""A straightforward pandas implementation of the RFM and engagement feature groups.

This is what a data scientist would write without DuckDB: read the Parquet files with
`pd.read_parquet` (only the needed columns), filter to the cutoff, group by customer. It
follows the definitions of `src/crm_ml/features/sql/staging/order_headers.sql` and
`src/crm_ml/features/sql/groups/{rfm,engagement}.sql`, so the benchmark can check that both
produce the same numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

DAY = pd.Timedelta(days=1)
EVENT_NAMES = {
    "session": "sessions",
    "app_open": "app_opens",
    "view": "views",
    "search": "searches",
    "cart_add": "cart_adds",
}


def _days_before(cutoff: pd.Timestamp, ts: pd.Series) -> pd.Series:
    return (cutoff - ts) / DAY


def rfm_features(orders: pd.DataFrame, population: pd.Index, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Recency, frequency and net spend over 30/90/365 days and the whole history."""
    lines = orders[orders["ts"] < cutoff]
    lines = lines.assign(
        purchase=lines["amount"].where(~lines["is_return"], 0.0),
        returned=(-lines["amount"]).where(lines["is_return"], 0.0),
        purchase_line=~lines["is_return"],
    )
    headers = (
        lines.groupby(["customer_id", "order_id"], sort=False)
        .agg(
            ts=("ts", "min"),
            purchase=("purchase", "sum"),
            returned=("returned", "sum"),
            is_purchase=("purchase_line", "any"),
        )
        .reset_index()
    )
    age_days = _days_before(cutoff, headers["ts"])
    net = headers["purchase"] - headers["returned"]
    by_customer = headers["customer_id"]
    out = pd.DataFrame(index=population)
    purchases = headers[headers["is_purchase"]]
    last = purchases.groupby("customer_id")["ts"].max()
    first = purchases.groupby("customer_id")["ts"].min()
    out["days_since_last_order"] = _days_before(cutoff, last).reindex(population)
    out["days_since_first_order"] = _days_before(cutoff, first).reindex(population)
    for days in (30, 90, 365):
        in_window = age_days <= days
        counts = (headers["is_purchase"] & in_window).groupby(by_customer).sum()
        out[f"orders_{days}d"] = counts.reindex(population, fill_value=0)
    out["orders_lifetime"] = (
        purchases.groupby("customer_id").size().reindex(population, fill_value=0)
    )
    for days in (30, 90, 365):
        spend = net.where(age_days <= days, 0.0).groupby(by_customer).sum()
        out[f"net_spend_{days}d"] = spend.reindex(population, fill_value=0.0)
    out["net_spend_lifetime"] = net.groupby(by_customer).sum().reindex(population, fill_value=0.0)
    return out.astype("float64")


def engagement_features(
    events: pd.DataFrame, orders_90d: pd.Series, population: pd.Index, cutoff: pd.Timestamp
) -> pd.DataFrame:
    """Event counts by type over 30/90 days, cart-to-order ratio, recency and visit trend."""
    events = events[events["ts"] < cutoff]
    age_days = _days_before(cutoff, events["ts"])
    out = pd.DataFrame(index=population)
    for days in (30, 90):
        recent = events[age_days <= days]
        counts = recent.groupby(["customer_id", "event_type"]).size().unstack(fill_value=0)
        for event_type, name in EVENT_NAMES.items():
            if event_type == "search" and days == 30:
                continue
            column = counts[event_type] if event_type in counts else pd.Series(dtype="int64")
            out[f"{name}_{days}d"] = column.reindex(population, fill_value=0)
    visit = events["event_type"].isin(["session", "app_open"])
    previous = events[visit & (age_days > 90) & (age_days <= 180)].groupby("customer_id").size()
    out["orders_per_cart_add_90d"] = orders_90d / out["cart_adds_90d"].replace(0, np.nan)
    last = events.groupby("customer_id")["ts"].max()
    out["days_since_last_event"] = _days_before(cutoff, last).reindex(population)
    visits_prev = previous.reindex(population, fill_value=0)
    out["visits_change_90d"] = out["sessions_90d"] + out["app_opens_90d"] - visits_prev
    return out.astype("float64")


def pandas_rfm_engagement(data_dir: Path, cutoff: pd.Timestamp) -> pd.DataFrame:
    """RFM + engagement features for customers signed up before `cutoff`, read from Parquet."""
    customers = pd.read_parquet(
        data_dir / "customers.parquet", columns=["customer_id", "signup_ts"]
    )
    population = pd.Index(
        customers.loc[customers["signup_ts"] < cutoff, "customer_id"], name="customer_id"
    )
    orders = pd.read_parquet(
        data_dir / "orders.parquet",
        columns=["order_id", "customer_id", "ts", "amount", "is_return"],
    )
    rfm = rfm_features(orders, population, cutoff)
    del orders
    events = pd.read_parquet(
        data_dir / "events.parquet", columns=["customer_id", "ts", "event_type"]
    )
    engagement = engagement_features(events, rfm["orders_90d"], population, cutoff)
    return rfm.join(engagement).reset_index()
