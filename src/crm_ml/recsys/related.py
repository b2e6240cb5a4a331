"""Product-to-product lists for a product page, from the purchases before the cutoff.

- `also_bought`: "customers who bought X also bought", ranked by the share of X's buyers who
  bought the other product (what a shop page shows; popular products rank high), with the
  lift over that product's share of all buyers beside it.
- `similar_products`: products with a similar audience, ranked by the cosine of the two
  sets of buyers (co-buyers / sqrt(buyers of X x buyers of Y)), which takes popularity out:
  the item-item similarity of item-kNN. The lists are our own sparse algebra rather than
  implicit's `similar_items`, because the counts behind each pair are needed for the rules.

Both lists are aggregates over customers and keep two promises. A sensitive product never
appears in them and never anchors one: what its buyers also bought stays with its purpose.
A pair is shown only when at least `min_customers` customers bought both (5 by default),
so no list reveals what one customer bought.

Example::

    engine = fit_engine(tables, cutoff="2024-06-01")
    also_bought(engine.data, "p000012")       # product_id, category, customers, share, lift
    similar_products(engine.data, "p000012")  # product_id, category, customers, similarity
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from crm_ml.recsys.interactions import InteractionData


def _buyers(data: InteractionData) -> sp.csc_matrix:
    """customers x products, 1 where the customer bought the product before the cutoff."""
    bought = sp.csc_matrix(data.purchase_counts, dtype=np.float64, copy=True)
    bought.data[:] = 1.0
    bought.eliminate_zeros()
    return bought


def _pairs(data: InteractionData, product_id: str, min_customers: int) -> pd.DataFrame:
    """Every other product with its co-buyers, buyers and the anchor's buyers; rows that
    break a rule (sensitive, too few co-buyers) are left out."""
    catalogue = data.catalogue
    item = catalogue.product_ids.get_indexer([str(product_id)])[0]
    if item < 0:
        raise KeyError(f"product {product_id!r} is not in the catalogue of the recommender")
    if min_customers < 1:
        raise ValueError(f"min_customers must be at least 1, got {min_customers}")
    empty = pd.DataFrame(columns=["item", "customers", "buyers", "anchor_buyers"])
    if catalogue.is_sensitive[item]:
        return empty  # a sensitive purchase anchors nothing
    bought = _buyers(data)
    anchor = bought[:, item]
    co = np.asarray((bought.T @ anchor).todense()).ravel()
    buyers = np.asarray(bought.sum(axis=0)).ravel()
    keep = (co >= min_customers) & ~catalogue.is_sensitive
    keep[item] = False
    rows = np.flatnonzero(keep)
    if not len(rows):
        return empty
    return pd.DataFrame(
        {"item": rows, "customers": co[rows], "buyers": buyers[rows], "anchor_buyers": co[item]}
    )


def _frame(data: InteractionData, pairs: pd.DataFrame, order: list[str], n: int) -> pd.DataFrame:
    catalogue = data.catalogue
    top = pairs.sort_values([*order, "item"], ascending=[False] * len(order) + [True]).head(n)
    items = top["item"].to_numpy(dtype=int)
    out = pd.DataFrame(
        {
            "rank": np.arange(1, len(top) + 1),
            "product_id": catalogue.product_ids[items].astype(str),
            "category": catalogue.categories[catalogue.category_codes[items]].astype(str),
            "customers": top["customers"].to_numpy(dtype=int),
        }
    )
    for column in order:
        out[column] = top[column].to_numpy(dtype=float)
    return out


def best_seller(data: InteractionData) -> str | None:
    """The product most customers bought before the cutoff, sensitive products aside (the
    anchor of a sample product page); None when nothing was bought."""
    buyers = np.asarray(_buyers(data).sum(axis=0)).ravel()
    buyers[data.catalogue.is_sensitive] = 0
    if not len(buyers) or buyers.max() <= 0:
        return None
    return str(data.catalogue.product_ids[int(np.argmax(buyers))])


def also_bought(
    data: InteractionData, product_id: str, n: int = 10, min_customers: int = 5
) -> pd.DataFrame:
    """ "Customers who bought `product_id` also bought": the `n` products most of its buyers
    also bought.

    Parameters
    ----------
    data : InteractionData
        The purchases as of the cutoff (`RecommendationEngine.data`).
    product_id : str
        The anchor product.
    n : int, default 10
        Length of the list.
    min_customers : int, default 5
        Fewest customers who must have bought both products for a pair to be shown.

    Returns
    -------
    pandas.DataFrame
        rank, product_id, category, customers (who bought both), share_of_buyers (of the
        anchor's buyers), lift (share_of_buyers over the product's share of all customers);
        empty for a sensitive anchor or one without enough co-buyers.

    Raises
    ------
    KeyError
        When the product is not in the catalogue.

    Examples
    --------
    >>> from crm_ml.datasets.interaction_worlds import InteractionWorld, simulate_interactions
    >>> from crm_ml.recsys import fit_engine
    >>> tables = simulate_interactions(InteractionWorld("tiny", customers=300, products=30,
    ...                                                 groups=3, history_days=180))
    >>> engine = fit_engine(tables, "2020-06-01")
    >>> anchor = tables["products"]["product_id"].iloc[0]
    >>> lists = also_bought(engine.data, anchor, n=5)
    >>> list(lists.columns)
    ['rank', 'product_id', 'category', 'customers', 'share_of_buyers', 'lift']
    >>> bool(lists["share_of_buyers"].is_monotonic_decreasing), bool(anchor in set(lists["product_id"]))
    (True, False)
    """
    pairs = _pairs(data, product_id, min_customers)
    if pairs.empty:
        return _frame(
            data, pairs.assign(share_of_buyers=[], lift=[]), ["share_of_buyers", "lift"], n
        )
    share = pairs["customers"] / pairs["anchor_buyers"]
    base = pairs["buyers"] / max(data.n_users, 1)
    pairs = pairs.assign(share_of_buyers=share, lift=share / base)
    return _frame(data, pairs, ["share_of_buyers", "lift"], n)


def similar_products(
    data: InteractionData, product_id: str, n: int = 10, min_customers: int = 5
) -> pd.DataFrame:
    """The `n` products whose buyers most resemble those of `product_id` (cosine of the two
    sets of buyers).

    Parameters
    ----------
    data : InteractionData
        The purchases as of the cutoff (`RecommendationEngine.data`).
    product_id : str
        The anchor product.
    n : int, default 10
        Length of the list.
    min_customers : int, default 5
        Fewest customers who must have bought both products for a pair to be shown.

    Returns
    -------
    pandas.DataFrame
        rank, product_id, category, customers (who bought both), similarity (in (0, 1]);
        empty for a sensitive anchor or one without enough co-buyers.

    Raises
    ------
    KeyError
        When the product is not in the catalogue.

    Examples
    --------
    >>> from crm_ml.datasets.interaction_worlds import InteractionWorld, simulate_interactions
    >>> from crm_ml.recsys import fit_engine
    >>> tables = simulate_interactions(InteractionWorld("tiny", customers=300, products=30,
    ...                                                 groups=3, history_days=180))
    >>> engine = fit_engine(tables, "2020-06-01")
    >>> anchor = tables["products"]["product_id"].iloc[0]
    >>> similar = similar_products(engine.data, anchor, n=5)
    >>> list(similar.columns), bool(similar["similarity"].between(0, 1).all())
    (['rank', 'product_id', 'category', 'customers', 'similarity'], True)
    """
    pairs = _pairs(data, product_id, min_customers)
    if pairs.empty:
        return _frame(data, pairs.assign(similarity=[]), ["similarity"], n)
    similarity = pairs["customers"] / np.sqrt(pairs["buyers"] * pairs["anchor_buyers"])
    return _frame(data, pairs.assign(similarity=similarity), ["similarity"], n)
