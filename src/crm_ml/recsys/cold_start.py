"""Cold-start products: rank products nobody has bought yet by what the products table says.

A product launched after the training cutoff has an empty column in every interaction
matrix, so collaborative filtering cannot rank it. `attribute_scores` ranks it by how a
customer's own history spreads over its attributes:

    P(category) x P(subcategory | category) x P(price band | category)

each share the posterior mean under a Dirichlet prior centred on the whole base's shares,
its concentration estimated from how much customers' tastes differ (empirical Bayes), so
a customer with a short history gets the base's taste and a long history their own. It is written
here rather than taken from a hybrid-model library because it needs nothing but the
products table and the interactions we already build, trains in one sparse product, and
explains itself ("you buy beauty / serums in the mid price band").

`cold_start_evaluation` judges it where it matters: on the purchases, in the horizon, of
products launched after the cutoff, against the lists a merchandiser would send without a
model (the new products by their category's popularity, newest first), in the same run.

Example::

    table = cold_start_evaluation(tables, cutoff="2024-07-01", horizon_days=180)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp

from crm_ml.recsys.catalogue import Catalogue
from crm_ml.recsys.evaluation import ndcg_at_k, recall_at_k
from crm_ml.recsys.interactions import InteractionData, build_interactions, purchases_in_horizon
from crm_ml.recsys.timestamps import as_utc, utc_tables

PRICE_BANDS = 3  # low, mid, high within the product's category
DEFAULT_SHRINKAGE = 5.0  # pseudo-interactions of the base's taste where nothing estimates it


def price_bands(catalogue: Catalogue, bands: int = PRICE_BANDS) -> np.ndarray:
    """Each product's price band (0 = cheapest) by price quantile within its category;
    one band for all where prices are missing."""
    price = pd.Series(catalogue.price)
    if price.isna().all():
        return np.zeros(catalogue.n_items, dtype=np.int64)
    rank = price.groupby(catalogue.category_codes).rank(pct=True, method="average")
    return np.minimum((rank.fillna(0.5).to_numpy() * bands).astype(np.int64), bands - 1)


def dirichlet_concentration(counts: np.ndarray, parent: np.ndarray | None = None) -> float:
    """Empirical-Bayes concentration alpha of a Dirichlet prior on customers' shares.

    Moment estimator of the Dirichlet-multinomial: across customers with n >= 2 counts,
    sum (x / n - m)^2 = sum (n + alpha) / (n (1 + alpha)) * sum m (1 - m), solved for alpha.
    Large alpha: customers' tastes barely differ (trust the base); small: they differ a
    lot (trust the customer). `parent` nests the columns in groups (subcategories in
    categories); each customer's counts then split per group, with one alpha for all.
    """
    parent = np.zeros(counts.shape[1], dtype=np.int64) if parent is None else parent
    observed, groups = 0.0, []
    for group in np.unique(parent):
        x = counts[:, parent == group]
        n = x.sum(axis=1)
        keep = n >= 2
        if x.shape[1] < 2 or not keep.any():
            continue
        x, n = x[keep], n[keep]
        m = x.sum(axis=0) / x.sum()
        observed += float(((x / n[:, None] - m[None, :]) ** 2).sum())
        groups.append((n, float((m * (1.0 - m)).sum())))
    if not groups:
        return DEFAULT_SHRINKAGE

    def expected(alpha: float) -> float:
        return sum(float(((n + alpha) / (n * (1.0 + alpha))).sum()) * v for n, v in groups)

    low, high = 1e-3, 1e6
    if observed >= expected(low):
        return low
    if observed <= expected(high):
        return high
    for _ in range(60):  # expected() falls as alpha grows: bisect on a log scale
        mid = float(np.sqrt(low * high))
        low, high = (mid, high) if expected(mid) > observed else (low, mid)
    return float(np.sqrt(low * high))


def attribute_scores(
    data: InteractionData,
    items: np.ndarray,
    shrinkage: float | None = None,
) -> np.ndarray:
    """(customers, len(items)) taste for the products `items` (catalogue positions), from
    the customers' interactions with every product sharing their attributes.

    Parameters
    ----------
    data : InteractionData
        Interactions as of the cutoff: the confidence the recommenders train on (purchases
        and browsing, decayed), whose values stand in for the counts of the Dirichlet.
    items : ndarray of int
        Catalogue positions of the products to score, typically those not yet launched.
    shrinkage : float, optional
        Pseudo-interactions of the whole base's taste added to every customer; by default
        estimated per attribute from the data (`dirichlet_concentration`).

    Returns
    -------
    ndarray
        Estimated P(category) x P(subcategory | category) x P(price band | category); a
        customer without interactions gets the base's shares.
    """
    catalogue = data.catalogue
    category = catalogue.category_codes.astype(np.int64)
    subcategory = pd.factorize(
        pd.Series(catalogue.labels).astype(str) + "|" + category.astype(str)
    )[0]
    band = category * PRICE_BANDS + price_bands(catalogue)
    counts = data.user_items.astype(np.float64)
    scores = np.ones((data.n_users, len(items)))
    category_counts = None
    for codes in (category, subcategory, band):
        levels, column = np.unique(codes, return_inverse=True)
        onehot = sp.csr_matrix(
            (np.ones(len(codes)), (np.arange(len(codes)), column)),
            shape=(len(codes), len(levels)),
        )
        x = (counts @ onehot).toarray()
        if category_counts is None:  # the categories themselves: one group
            parent = np.zeros(len(levels), dtype=np.int64)
            n = x.sum(axis=1, keepdims=True)
            category_counts = x
        else:
            parent = _parent_of_levels(codes, category)
            n = category_counts[:, parent]
        base = x.sum(axis=0)
        m = base / np.maximum(np.bincount(parent, weights=base)[parent], 1e-12)
        alpha = dirichlet_concentration(x, parent) if shrinkage is None else shrinkage
        scores *= ((x + alpha * m[None, :]) / (n + alpha))[:, column[items]]
    return scores


def _parent_of_levels(codes: np.ndarray, category: np.ndarray) -> np.ndarray:
    """The category of each level of `codes` (levels nest in categories)."""
    levels, first = np.unique(codes, return_index=True)
    parent = np.empty(len(levels), dtype=np.int64)
    parent[np.searchsorted(levels, codes[first])] = category[first]
    return parent


def launched_between(
    products: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """product_id and launch_ts of the products launched in [start, end)."""
    if "launch_ts" not in products.columns:
        return pd.DataFrame(
            {
                "product_id": pd.Series(dtype=str),
                "launch_ts": pd.Series(dtype="datetime64[ns, UTC]"),
            }
        )
    launch = pd.to_datetime(products["launch_ts"], utc=True)
    keep = (launch >= start) & (launch < end)
    return pd.DataFrame(
        {"product_id": products.loc[keep, "product_id"].astype(str), "launch_ts": launch[keep]}
    ).reset_index(drop=True)


def cold_start_evaluation(
    tables: Mapping[str, pd.DataFrame],
    cutoff: pd.Timestamp | str,
    horizon_days: int = 180,
    k: int = 10,
    shrinkage: float | None = None,
) -> pd.DataFrame:
    """recall@k and ndcg@k over the products launched in the horizon after `cutoff`.

    Every list ranks only those new products, so the figures say how well each approach
    finds the customers for a launch, not how new products compete with old favourites.
    The truth is each customer's purchases of them in the horizon; the customers are those
    known at the cutoff. A product launched late in the horizon has little time to sell,
    so every list but the last weighs a product by its days on sale in the horizon (the
    launch plan is known at the cutoff). Rows: the attribute model; the new products by
    their category's popularity at the cutoff (the merchandiser's list); by days on sale
    alone (earliest launch first); and (marked) by their purchases in the horizon itself,
    a hindsight ceiling for any list that is the same for everyone.

    Raises
    ------
    ValueError
        If `products` has no `launch_ts` column or at most 2k products launch in the horizon
        (a top k of little more than k candidates would say nothing).
    """
    tables = utc_tables(tables)
    cutoff = as_utc(cutoff)
    products = tables.get("products")
    if products is None or "launch_ts" not in products.columns:
        raise ValueError("cold-start evaluation needs table 'products' with column 'launch_ts'")
    new = launched_between(products, cutoff, cutoff + pd.Timedelta(days=horizon_days))
    if len(new) <= 2 * k:
        raise ValueError(
            f"table 'products': {len(new)} products launch in the {horizon_days} days after "
            f"{cutoff.date()}; judging a top {k} needs more than {2 * k}"
        )
    data = build_interactions(tables, cutoff)
    items = data.catalogue.product_ids.get_indexer(new["product_id"])
    truth = purchases_in_horizon(tables, cutoff, horizon_days)
    truth = truth[
        truth["product_id"].isin(new["product_id"]) & truth["customer_id"].isin(data.customer_ids)
    ]
    ids = new["product_id"].to_numpy()
    # every list weighs a product by its days on sale in the horizon, known from the plan
    end = cutoff + pd.Timedelta(days=horizon_days)
    on_sale = ((end - new["launch_ts"]) / pd.Timedelta(days=1)).to_numpy()
    category_taste = np.asarray(data.customer_category().sum(axis=0)).ravel()
    hindsight = truth["product_id"].value_counts().reindex(ids, fill_value=0).to_numpy()
    lists = {
        "attributes (category, subcategory, price band)": attribute_scores(data, items, shrinkage)
        * on_sale,
        "category popularity": category_taste[data.catalogue.category_codes[items]] * on_sale,
        "days on sale": on_sale,
        "hindsight popularity (not known at the cutoff)": hindsight + on_sale / (on_sale.max() + 1),
    }
    users = data.customer_index(truth["customer_id"].unique())
    rows = []
    for name, scores in lists.items():
        scores = np.broadcast_to(scores, (data.n_users, len(ids)))[users]
        pred = _top_frame(data.customer_ids[users], ids, scores, k)
        rows.append(
            {
                "list": name,
                f"recall@{k}": recall_at_k(truth, pred, k=k),
                f"ndcg@{k}": ndcg_at_k(truth, pred, k=k),
            }
        )
    table = pd.DataFrame(rows).set_index("list")
    table.attrs |= {"customers": len(users), "new_products": len(ids), "cutoff": cutoff}
    return table


def _top_frame(customers: pd.Index, ids: np.ndarray, scores: np.ndarray, k: int) -> pd.DataFrame:
    """customer_id, product_id, score of each customer's k best."""
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return pd.DataFrame(
        {
            "customer_id": np.repeat(customers.to_numpy(), top.shape[1]),
            "product_id": ids[top].ravel(),
            "score": np.take_along_axis(scores, top, axis=1).ravel(),
        }
    )
