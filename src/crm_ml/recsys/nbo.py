"""Next-best-offer: one offer per customer from category propensity, item scores and margin.

offer_score = propensity(customer, category) x rank_weight(rank in the rule-abiding list)
x margin, where rank_weight = 1 / log2(rank + 1) (the NDCG discount) turns the recommender's
ranking into a relevance weight comparable across sources. Without a propensity frame the
propensity term is 1. The offer carries a plain-language reason built from the purchased item
that contributed most ("bought running shoes 3 weeks ago; customers like you also buy socks").
Without products.price (or margin) the margin term is left out (margin NaN), with one note;
an offer margin rate configured explicitly without prices is an error.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from crm_ml.recsys.explain import EXPLAINED_SOURCES, explain_recommendations
from crm_ml.recsys.recommend import RecommendationEngine

log = logging.getLogger(__name__)

OFFER_COLUMNS = [
    "customer_id",
    "product_id",
    "category",
    "offer_score",
    "propensity",
    "margin",
    "rank",
    "source",
    "reason",
]


def propensity_long(propensity: pd.DataFrame) -> pd.DataFrame:
    """customer_id, category, propensity from a long frame or a wide customer x category one."""
    if {"customer_id", "category"} <= set(propensity.columns):
        value = "probability" if "probability" in propensity.columns else "propensity"
        if value not in propensity.columns:
            raise ValueError("propensity frame needs a 'probability' column next to category")
        out = propensity[["customer_id", "category", value]].rename(columns={value: "propensity"})
    else:
        wide = propensity.copy()
        wide.index = wide.index.astype(str).rename("customer_id")
        out = wide.rename_axis(columns="category").stack().rename("propensity").reset_index()
    return out.astype({"customer_id": str, "category": str, "propensity": float})


def time_ago(days: float) -> str:
    """Human wording of an age in days: '5 days', '3 weeks', '4 months'."""
    if days < 14:
        n, unit = max(round(days), 1), "day"
    elif days < 60:
        n, unit = round(days / 7), "week"
    else:
        n, unit = round(days / 30.4), "month"
    return f"{n} {unit}{'s' if n != 1 else ''}"


def _reason(row: pd.Series) -> str:
    label = row["label"]
    if row["source"] == "buy_again":
        text = f"bought {label} {time_ago(row['own_days'])} ago; time to stock up again"
    elif row.get("anchor_label") == label:
        text = (
            f"bought {label} {time_ago(row['anchor_days'])} ago; "
            f"customers like you often buy another {label}"
        )
    elif isinstance(row.get("anchor_label"), str):
        text = (
            f"bought {row['anchor_label']} {time_ago(row['anchor_days'])} ago; "
            f"customers like you also buy {label}"
        )
    elif row["source"] == "popular_segment":
        text = f"{label} is popular with similar customers"
    elif row["source"] in EXPLAINED_SOURCES:
        text = f"matches what you browsed; customers like you buy {label}"
    else:
        text = f"{label} is popular right now"
    if pd.notna(row["propensity_given"]):
        text += f"; {row['propensity_given']:.0%} likely to buy {row['category']} soon"
    return text


def _margin_weight(engine: RecommendationEngine, margin: np.ndarray) -> np.ndarray:
    """The margin term of the offer score: the margin, or 1 when products carry no price."""
    if engine.data.catalogue.has_margin:
        return margin
    if "default_margin_rate" in engine.config.offer.model_fields_set:
        raise ValueError(
            "recsys.offer.default_margin_rate needs column 'price' (or 'margin') in table "
            "'products'; add it, or leave the rate unset to rank offers without margin"
        )
    log.info("table 'products' has no 'price' or 'margin': offers are ranked without margin")
    return np.ones_like(margin)


def next_best_offer(
    engine: RecommendationEngine,
    recommendations: pd.DataFrame,
    propensity: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Pick the best offer per customer among `recommendations` (output of engine.recommend).

    Only listed items can be offered, so every business rule the list obeyed still holds.
    Columns: customer_id, product_id, category, offer_score, propensity, margin, rank, source,
    reason.

    Raises
    ------
    ValueError
        If an offer margin rate is configured explicitly but products have no price.
    """
    recs = recommendations.astype(
        {"customer_id": str, "product_id": str, "category": str, "source": str}
    )
    catalogue = engine.data.catalogue
    item = catalogue.product_ids.get_indexer(recs["product_id"])
    recs = recs.assign(margin=catalogue.margin[item], label=catalogue.labels[item])
    margin_weight = _margin_weight(engine, recs["margin"].to_numpy(dtype=float))
    if propensity is not None:
        recs = recs.merge(propensity_long(propensity), on=["customer_id", "category"], how="left")
        recs["propensity_given"] = recs["propensity"]
        recs["propensity"] = recs["propensity"].fillna(0.0)
    else:
        recs["propensity_given"] = np.nan
        recs["propensity"] = 1.0
    rank_weight = 1.0 / np.log2(recs["rank"].astype(float) + 1.0)
    recs["offer_score"] = recs["propensity"] * rank_weight * margin_weight
    best = recs.sort_values(["customer_id", "offer_score"], ascending=[True, False])
    best = best.drop_duplicates("customer_id").reset_index(drop=True)

    users = engine.data.customer_index(best["customer_id"])
    best["own_days"] = [
        engine.data.days_since_purchase[u, i] if u >= 0 else np.nan
        for u, i in zip(users, catalogue.product_ids.get_indexer(best["product_id"]), strict=True)
    ]
    why = explain_recommendations(engine.model, engine.data, best, n_contributors=5)
    anchors = (
        why.loc[why["contributor_purchased"]]
        .sort_values("contributor_rank")
        .drop_duplicates(["customer_id", "product_id"])
    )
    anchors = anchors.assign(
        anchor_label=catalogue.labels[
            catalogue.product_ids.get_indexer(anchors["contributor_product_id"])
        ],
        anchor_days=anchors["days_since_purchase"],
    )[["customer_id", "product_id", "anchor_label", "anchor_days"]]
    best = best.merge(anchors, on=["customer_id", "product_id"], how="left")
    best["reason"] = best.apply(_reason, axis=1)
    return best[OFFER_COLUMNS]
