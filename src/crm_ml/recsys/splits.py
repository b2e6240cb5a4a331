"""Per-customer temporal split: each customer's last purchases are the test, the rest trains.

A time split (train before a cutoff, test on the horizon after it) judges a model on the
customers active at the end of the history only. Public multi-year data is often judged the
other way: every customer keeps their own last purchases back, whenever they were active.
Both flows then go through the same `build_interactions(train, cutoff)`: the cutoff here
is just after the last order, and the held-out lines are gone from the training tables.

Example::

    split = split_last_purchases(tables, holdout_share=0.2)
    table = compare_recommenders(split.train, split.cutoff, truth=split.truth)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crm_ml.recsys.timestamps import utc_tables


@dataclass(frozen=True)
class LastPurchaseSplit:
    """Training tables, test truth (customer_id, product_id) and the cutoff to train at."""

    train: dict[str, pd.DataFrame]
    truth: pd.DataFrame
    cutoff: pd.Timestamp


def split_last_purchases(
    tables: Mapping[str, pd.DataFrame],
    holdout_share: float = 0.2,
    min_purchases: int = 3,
) -> LastPurchaseSplit:
    """Hold out each customer's last `holdout_share` of order lines (at least one).

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Accepted tables; `orders` needs customer_id, product_id and ts.
    holdout_share : float
        Share of a customer's order lines (latest first) held out, rounded up.
    min_purchases : int
        Customers with fewer order lines keep all of them for training.

    Returns
    -------
    LastPurchaseSplit
        `train` without the held-out lines (and without the customer's events from the
        first held-out line on), `truth` with the distinct held-out (customer_id,
        product_id) pairs, `cutoff` one second after the last order of the history.

    Raises
    ------
    ValueError
        If `holdout_share` is not in (0, 1).
    """
    if not 0 < holdout_share < 1:
        raise ValueError(f"holdout_share must be in (0, 1), got {holdout_share}")
    tables = utc_tables(tables)
    orders = tables["orders"]
    if "is_return" in orders.columns:
        orders = orders.loc[~orders["is_return"].astype("boolean").fillna(False)]
    customer = orders["customer_id"].astype(str)
    ordered = orders.assign(_customer=customer).sort_values(["_customer", "ts"], kind="stable")
    sizes = ordered.groupby("_customer", sort=False)["ts"].transform("size").to_numpy()
    position = ordered.groupby("_customer", sort=False).cumcount().to_numpy()
    n_hold = np.ceil(sizes * holdout_share - 1e-9).astype(np.int64)
    held = (sizes >= min_purchases) & (position >= sizes - n_hold)
    held_rows = ordered.loc[held]
    first_held = held_rows.groupby("_customer")["ts"].min()
    train = dict(tables)
    train["orders"] = tables["orders"].drop(index=held_rows.index)
    events = tables.get("events")
    if events is not None and len(first_held):
        since = events["customer_id"].astype(str).map(first_held)
        train["events"] = events.loc[~(events["ts"] >= since).fillna(False).to_numpy(bool)]
    truth = (
        held_rows[["customer_id", "product_id"]]
        .astype(str)
        .drop_duplicates()
        .reset_index(drop=True)
    )
    cutoff = orders["ts"].max() + pd.Timedelta(seconds=1)
    return LastPurchaseSplit(train, truth, cutoff)
