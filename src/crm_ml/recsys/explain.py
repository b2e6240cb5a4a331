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
    n_contributors: int = 3,
) -> pd.DataFrame:
    """One row per (recommended item, contributing item), strongest contributor first.

    `recommendations` needs customer_id, product_id and source; only rows produced by a model
    (als / bpr / item_knn / ease) are explained. `contributor_purchased` tells whether the contributor
    was bought (rather than only viewed), and `days_since_purchase` how long ago.
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
