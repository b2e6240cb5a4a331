"""Why an item was recommended: the customer's items that contributed most to its score.

ALS uses implicit's exact `explain` (Hu, Koren & Volinsky 2008, section 5); item-kNN sums
`confidence(j) * similarity(j, item)` over the customer's items j, so each term is exactly
j's share (EASE likewise, with its weights B[j, item]); BPR has no exact decomposition and falls back to item-factor cosine x confidence.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_ml.recsys.interactions import InteractionData
from crm_ml.recsys.models import Recommender

EXPLAINED_SOURCES = ("als", "bpr", "item_knn", "ease")
EXPLANATION_COLUMNS = [
    "customer_id",
    "product_id",
    "contributor_product_id",
    "contribution",
    "contributor_rank",
    "contributor_purchased",
    "days_since_purchase",
]


def explain_recommendations(
    model: Recommender,
    data: InteractionData,
    recommendations: pd.DataFrame,
    *,
    n_contributors: int = 3,
) -> pd.DataFrame:
    """One row per (recommended item, contributing item), strongest contributor first.

    `recommendations` needs customer_id, product_id and source; only rows produced by a model
    (als / bpr / item_knn / ease) are explained. `contributor_purchased` tells whether the contributor
    was bought (rather than only viewed), and `days_since_purchase` how long ago.

    Parameters
    ----------
    model : Recommender
        The fitted model that produced the lists (``engine.model``).
    data : InteractionData
        The interactions it was fitted on (``engine.data``).
    recommendations : pandas.DataFrame
        Lists from `RecommendationEngine.recommend` (customer_id, product_id, source).
    n_contributors : int, default 3
        At most this many contributing items per recommended item.

    Returns
    -------
    pandas.DataFrame
        customer_id, product_id, contributor_product_id, contribution, contributor_rank
        (1 = strongest), contributor_purchased, days_since_purchase.

    Examples
    --------
    >>> from crm_ml.datasets.interaction_worlds import InteractionWorld, simulate_interactions
    >>> tables = simulate_interactions(InteractionWorld("tiny", customers=200, products=40,
    ...                                                 groups=4, history_days=180))
    >>> from crm_ml.recsys import ModelConfig, RecsysConfig, fit_engine
    >>> engine = fit_engine(tables, "2020-06-01", RecsysConfig(model=ModelConfig(name="item_knn")))
    >>> recs = engine.recommend(["c000000"], k=2, export=False)
    >>> why = explain_recommendations(engine.model, engine.data, recs, n_contributors=2)
    >>> why.columns.tolist()[:4]
    ['customer_id', 'product_id', 'contributor_product_id', 'contribution']
    >>> bool(why["contributor_rank"].le(2).all())
    True
    """
    rows = recommendations.loc[recommendations["source"].astype(str).isin(EXPLAINED_SOURCES)]
    users = data.customer_index(rows["customer_id"].astype(str))
    items = data.catalogue.product_ids.get_indexer(rows["product_id"].astype(str))
    records = []
    for user, item in zip(users, items, strict=True):
        if user < 0 or item < 0:
            continue
        contributions = model.explain(
            int(user), data.user_items[[user]], int(item), N=n_contributors
        )
        for position, (other, value) in enumerate(contributions, start=1):
            days = data.days_since_purchase[user, other]
            records.append(
                (
                    data.customer_ids[user],
                    data.catalogue.product_ids[item],
                    data.catalogue.product_ids[other],
                    value,
                    position,
                    bool(days > 0),
                    float(days) if days > 0 else np.nan,
                )
            )
    return pd.DataFrame.from_records(records, columns=EXPLANATION_COLUMNS)
