"""Customer x product confidence matrix as of a cutoff, the input of every implicit model.

Only rows with ts < cutoff are used (point in time). Each interaction kind has a weight;
old interactions may fade with an exponential half-life (none by default; "auto" scales it
to the median age of the interactions, see `InteractionConfig`); optional BM25 / TF-IDF
weighting follows implicit's own examples (weight the item x user matrix, then transpose).
Orders with customer_id, product_id and ts are enough; customers (signup_ts), products and
events add cold-start rows, the catalogue and browsing signals when present. Naive
timestamps are read as UTC (`crm_ml.recsys.timestamps`).

Example::

    data = build_interactions(tables, cutoff=pd.Timestamp("2024-06-01", tz="UTC"))
    model.fit(data.user_items)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from implicit.nearest_neighbours import bm25_weight, tfidf_weight

from crm_ml.recsys.catalogue import Catalogue
from crm_ml.recsys.config import InteractionConfig
from crm_ml.recsys.timestamps import as_utc, utc_tables

log = logging.getLogger(__name__)

_DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class InteractionData:
    """Matrices aligned on `customer_ids` (rows) and `catalogue.product_ids` (columns).

    - `user_items`: float32 confidence (decayed, weighted) for the models;
    - `purchase_counts`: order lines per customer x product before the cutoff (any age), the
      basis of "already bought" and "buy again";
    - `days_since_purchase`: days from the last purchase to the cutoff (> 0 where bought).
    """

    user_items: sp.csr_matrix
    purchase_counts: sp.csr_matrix
    days_since_purchase: sp.csr_matrix
    customer_ids: pd.Index
    catalogue: Catalogue
    cutoff: pd.Timestamp

    @property
    def n_users(self) -> int:
        return len(self.customer_ids)

    def customer_category(self) -> sp.csr_matrix:
        """customers x categories confidence (the category-level view of `user_items`)."""
        return (self.user_items @ self.catalogue.category_onehot()).tocsr()

    def bought_categories(self) -> sp.csr_matrix:
        """customers x categories purchase counts: where a customer has bought before."""
        return (self.purchase_counts @ self.catalogue.category_onehot()).tocsr()

    def customer_index(self, customer_ids: pd.Series | list[str] | np.ndarray) -> np.ndarray:
        """Row numbers for customer ids; -1 for customers unknown at the cutoff."""
        return self.customer_ids.get_indexer(pd.Index(customer_ids).astype(str))


def _decay(age_days: np.ndarray, half_life_days: float | None) -> np.ndarray:
    if half_life_days is None:
        return np.ones_like(age_days)
    return np.power(0.5, age_days / half_life_days)


def resolve_half_life(config: InteractionConfig, age_days: np.ndarray) -> float | None:
    """The half-life in days: the configured number, None (no decay), or for "auto"
    `config.auto_half_life` x the median age of the interactions (at least one day)."""
    if config.half_life_days != "auto":
        return config.half_life_days
    if len(age_days) == 0:
        return None
    return max(config.auto_half_life * float(np.median(age_days)), 1.0)


def _require(table: pd.DataFrame, name: str, columns: list[str]) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"table '{name}' lacks column(s) {missing} needed by recsys")


def _customer_index(tables: Mapping[str, pd.DataFrame], cutoff: pd.Timestamp) -> pd.Index:
    """Customers with an order before the cutoff, and those signed up before it (when the
    customers table says when: they get an empty row, served by the cold-start path)."""
    active = tables["orders"].loc[tables["orders"]["ts"] < cutoff, "customer_id"].astype(str)
    known = set(active)
    customers = tables.get("customers")
    if customers is not None and "signup_ts" in customers.columns:
        _require(customers, "customers", ["customer_id"])
        known |= set(customers.loc[customers["signup_ts"] < cutoff, "customer_id"].astype(str))
    return pd.Index(sorted(known), name="customer_id")


def _interaction_rows(
    tables: Mapping[str, pd.DataFrame], cutoff: pd.Timestamp, config: InteractionConfig
) -> pd.DataFrame:
    """customer_id, product_id, weight (before decay), ts of every usable interaction."""
    orders = tables["orders"]
    start = cutoff - config.lookback_days * _DAY if config.lookback_days else None
    keep = orders["ts"] < cutoff
    if start is not None:
        keep &= orders["ts"] >= start
    if "is_return" in orders.columns:
        keep &= ~orders["is_return"].astype("boolean").fillna(False)
    parts = [orders.loc[keep, ["customer_id", "product_id", "ts"]].assign(w=config.purchase_weight)]
    events = tables.get("events")
    if events is not None and "product_id" in events.columns:
        weights = {"view": config.view_weight, "cart_add": config.cart_add_weight}
        keep = (
            (events["ts"] < cutoff)
            & events["product_id"].notna()
            & events["event_type"].isin(list(weights))
        )
        if start is not None:
            keep &= events["ts"] >= start
        ev = events.loc[keep, ["customer_id", "product_id", "ts", "event_type"]]
        ev = ev.assign(w=ev["event_type"].astype(str).map(weights).astype("float64"))
        parts.append(ev.drop(columns="event_type"))
    return pd.concat(parts, ignore_index=True)


def _to_csr(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple[int, int]):
    matrix = sp.coo_matrix((values, (rows, cols)), shape=shape).tocsr()
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


def _weigh(matrix: sp.csr_matrix, config: InteractionConfig) -> sp.csr_matrix:
    if config.log_scale:
        matrix = matrix.copy()
        matrix.data = np.log1p(matrix.data)
    if config.weighting == "bm25":
        matrix = bm25_weight(matrix.T, K1=config.bm25_k1, B=config.bm25_b).T
    elif config.weighting == "tfidf":
        matrix = tfidf_weight(matrix.T).T
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    matrix.eliminate_zeros()
    matrix.sort_indices()
    return matrix


def _purchase_matrices(
    orders: pd.DataFrame,
    customer_ids: pd.Index,
    catalogue: Catalogue,
    cutoff: pd.Timestamp,
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    past = orders.loc[orders["ts"] < cutoff]
    rows = customer_ids.get_indexer(past["customer_id"].astype(str))
    cols = catalogue.product_ids.get_indexer(past["product_id"].astype(str))
    age = ((cutoff - past["ts"]) / _DAY).to_numpy(dtype=np.float64)
    ok = (rows >= 0) & (cols >= 0)
    grouped = (
        pd.DataFrame({"r": rows[ok], "c": cols[ok], "age": age[ok]})
        .groupby(["r", "c"], sort=True)["age"]
        .agg(["size", "min"])
    )
    r = grouped.index.get_level_values(0).to_numpy()
    c = grouped.index.get_level_values(1).to_numpy()
    shape = (len(customer_ids), catalogue.n_items)
    counts = _to_csr(r, c, grouped["size"].to_numpy(np.float32), shape)
    days = _to_csr(r, c, np.maximum(grouped["min"].to_numpy(np.float32), 1e-3), shape)
    return counts, days


def build_interactions(
    tables: Mapping[str, pd.DataFrame],
    cutoff: pd.Timestamp | str,
    config: InteractionConfig | None = None,
    catalogue: Catalogue | None = None,
) -> InteractionData:
    """Build the confidence matrix and purchase history from accepted tables, as of `cutoff`.

    Rows: customers signed up before the cutoff (or with an order before it), so cold-start
    customers have an empty row. Columns: every product of the catalogue.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        `orders` (customer_id, product_id, ts) is required; `customers`, `products` and
        `events` are used when present.
    cutoff : Timestamp or str
        Point in time; a naive value is read as UTC.
    config : InteractionConfig, optional
        Weights per kind, decay, scaling.
    catalogue : Catalogue, optional
        The products' order; by default from `products` (or the ids seen in orders).

    Returns
    -------
    InteractionData
        Confidence, purchase counts and days since purchase, aligned on customers x products.

    Raises
    ------
    ValueError
        If orders lack customer_id, product_id or ts (the message names them).
    """
    config = config or InteractionConfig()
    cutoff = as_utc(cutoff)
    _require(tables["orders"], "orders", ["customer_id", "product_id", "ts"])
    tables = utc_tables(tables)
    catalogue = catalogue or Catalogue.from_tables(tables)
    customer_ids = _customer_index(tables, cutoff)
    rows = _interaction_rows(tables, cutoff, config)
    age = ((cutoff - rows["ts"]) / _DAY).to_numpy(dtype=np.float64)
    half_life = resolve_half_life(config, age)
    values = rows["w"].to_numpy(dtype=np.float64) * _decay(age, half_life)
    r = customer_ids.get_indexer(rows["customer_id"].astype(str))
    c = catalogue.product_ids.get_indexer(rows["product_id"].astype(str))
    ok = (r >= 0) & (c >= 0) & (values > 0)
    shape = (len(customer_ids), catalogue.n_items)
    user_items = _weigh(_to_csr(r[ok], c[ok], values[ok], shape), config)
    counts, days = _purchase_matrices(tables["orders"], customer_ids, catalogue, cutoff)
    log.info(
        "interactions as of %s: %d customers x %d products, %d non-zeros, half-life %s",
        cutoff.date(),
        shape[0],
        shape[1],
        user_items.nnz,
        "none" if half_life is None else f"{half_life:.0f} days",
    )
    return InteractionData(user_items, counts, days, customer_ids, catalogue, cutoff)


def purchases_in_horizon(
    tables: Mapping[str, pd.DataFrame], cutoff: pd.Timestamp | str, horizon_days: int
) -> pd.DataFrame:
    """Distinct (customer_id, product_id) bought in [cutoff, cutoff + horizon): the test truth."""
    cutoff = as_utc(cutoff)
    orders = utc_tables({"orders": tables["orders"]})["orders"]
    keep = (orders["ts"] >= cutoff) & (orders["ts"] < cutoff + horizon_days * _DAY)
    if "is_return" in orders.columns:
        keep &= ~orders["is_return"].astype("boolean").fillna(False)
    truth = orders.loc[keep, ["customer_id", "product_id"]].astype(str).drop_duplicates()
    return truth.reset_index(drop=True)
