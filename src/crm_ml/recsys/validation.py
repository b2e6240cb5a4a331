"""The search's validation set: a time window before the cutoff big enough to judge on, or
each customer's last purchases when no window is.

A fixed 30-day window held 3 customers on five years of yearly purchases (issue #17), and
every trial scored 0. The window here starts at `SearchConfig.validation_days` and doubles
until it holds `min_validation_customers` customers who buy in it and had bought before it,
up to `max_validation_share` of the history. When even the longest window falls short (a
history whose customers were active at different times), every customer with enough
purchases before the cutoff keeps their last ones back instead
(`crm_ml.recsys.splits.split_last_purchases`), if that holds more customers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from crm_ml.recsys.config import RecsysConfig
from crm_ml.recsys.interactions import purchases_in_horizon
from crm_ml.recsys.splits import split_last_purchases
from crm_ml.recsys.timestamps import as_utc, utc_tables

log = logging.getLogger(__name__)

HOLDOUT_SHARE = 0.2
MIN_PURCHASES = 3  # a customer needs two purchases left to learn from and one to guess


@dataclass(frozen=True)
class ValidationWindow:
    """The last `days` before a cutoff; `customers` bought in it and had bought before it."""

    days: int
    customers: int


@dataclass(frozen=True)
class ValidationSet:
    """Train on `train` before `cutoff`, score on `truth` (customer_id, product_id).

    `kind` is "window" (the last `days` before the caller's cutoff) or "last_purchases"
    (each customer's last purchases, `days` 0); `customers` is how many customers with a
    history before their validation purchases it holds.
    """

    train: Mapping[str, pd.DataFrame]
    cutoff: pd.Timestamp
    truth: pd.DataFrame
    kind: Literal["window", "last_purchases"]
    days: int
    customers: int

    def describe(self) -> str:
        if self.kind == "window":
            return f"the last {self.days} days before {(self.cutoff + pd.Timedelta(days=self.days)).date()}"
        return "each customer's last purchases"


def validation_window(
    tables: Mapping[str, pd.DataFrame], cutoff: pd.Timestamp | str, config: RecsysConfig
) -> ValidationWindow:
    """The shortest window, doubling from `validation_days`, with enough validation customers.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Accepted tables (orders with customer_id and ts in UTC).
    cutoff : Timestamp or str
        The window ends here.
    config : RecsysConfig
        `search.validation_days` (first window), `search.min_validation_customers` (enough)
        and `search.max_validation_share` (longest window, as a share of the history).

    Returns
    -------
    ValidationWindow
        The window and how many customers bought in it after buying before it.
    """
    search = config.search
    cutoff = as_utc(cutoff)
    orders = tables["orders"]
    orders = orders.loc[orders["ts"] < cutoff, ["customer_id", "ts"]]
    if orders.empty:
        return ValidationWindow(search.validation_days, 0)
    by_customer = orders.groupby(orders["customer_id"].astype(str), sort=False)["ts"]
    first, last = by_customer.min(), by_customer.max()
    history_days = (cutoff - first.min()) / pd.Timedelta(days=1)
    longest = max(search.validation_days, int(history_days * search.max_validation_share))
    days = search.validation_days
    while True:
        start = cutoff - pd.Timedelta(days=days)
        customers = int(((first < start) & (last >= start)).sum())
        if customers >= search.min_validation_customers or days >= longest:
            return ValidationWindow(days, customers)
        days = min(2 * days, longest)


def _before(tables: Mapping[str, pd.DataFrame], cutoff: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """Orders and events before the cutoff (the split must not see the caller's test)."""
    out = dict(tables)
    for name in ("orders", "events"):
        if name in out:
            out[name] = out[name].loc[out[name]["ts"] < cutoff]
    return out


def validation_set(
    tables: Mapping[str, pd.DataFrame], cutoff: pd.Timestamp | str, config: RecsysConfig
) -> ValidationSet:
    """The window of `validation_window` when it holds enough customers, else each
    customer's last purchases when they hold more.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Accepted tables.
    cutoff : Timestamp or str
        Nothing at or after it is used (the caller tests there).
    config : RecsysConfig
        The search settings (see `validation_window`).

    Returns
    -------
    ValidationSet
        Training tables, training cutoff and validation truth.
    """
    tables = utc_tables(tables)
    cutoff = as_utc(cutoff)
    search = config.search
    window = validation_window(tables, cutoff, config)
    start = cutoff - pd.Timedelta(days=window.days)
    if window.customers < search.min_validation_customers:
        before = _before(tables, cutoff)
        lines = before["orders"]["customer_id"].astype(str).value_counts()
        if int((lines >= MIN_PURCHASES).sum()) > window.customers:
            split = split_last_purchases(before, HOLDOUT_SHARE, MIN_PURCHASES)
            customers = split.truth["customer_id"].nunique()
            log.info(
                "validation on each customer's last purchases (%d customers): the longest "
                "window, %d days, holds only %d",
                customers,
                window.days,
                window.customers,
            )
            return ValidationSet(
                split.train, split.cutoff, split.truth, "last_purchases", 0, customers
            )
    truth = purchases_in_horizon(tables, start, window.days)
    return ValidationSet(tables, start, truth, "window", window.days, window.customers)
