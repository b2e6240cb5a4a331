"""Ranking metrics over plain data frames, in the style of microsoft/recommenders.

Each metric takes the true frame (one row per relevant user x item) and the predicted frame
(one row per recommended user x item with a score, or a rank column) plus column names. Users
are those of the true frame: a user with no predictions counts as all misses (stricter than
recommenders, which averages over users present in both frames, and fairer when business
rules leave some lists empty).

Example::

    recall_at_k(truth, recs, col_user="customer_id", col_item="product_id",
                col_prediction="score", k=10)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from crm_ml.recsys.baselines import (
    BuyAgainRecommender,
    OracleRecommender,
    PopularityRecommender,
    buy_again_matrix,
)
from crm_ml.recsys.config import ModelConfig, ModelName, RecsysConfig
from crm_ml.recsys.interactions import (
    InteractionData,
    build_interactions,
    purchases_in_horizon,
)
from crm_ml.recsys.models import Recommender, build_model
from crm_ml.recsys.recommend import assemble_engine, recent_purchases
from crm_ml.recsys.rules import (
    Candidates,
    apply_rules,
    build_rule_context,
    drop_bought_one_off,
    drop_excluded_categories,
    drop_sensitive_outside_purpose,
    position_in_group,
)

log = logging.getLogger(__name__)

DEFAULT_USER_COL = "customer_id"
DEFAULT_ITEM_COL = "product_id"
DEFAULT_PREDICTION_COL = "score"
DEFAULT_K = 10


def _top_k(
    rating_pred: pd.DataFrame,
    col_user: str,
    col_item: str,
    col_prediction: str,
    col_rank: str | None,
    k: int,
) -> pd.DataFrame:
    """user, item, rank (1-based) of the k best predictions per user."""
    pred = rating_pred[[col_user, col_item, col_rank or col_prediction]].copy()
    for col in (col_user, col_item):
        pred[col] = pred[col].astype(str)
    if col_rank:
        pred = pred.sort_values([col_user, col_rank], kind="stable")
    else:
        pred = pred.sort_values([col_user, col_prediction], ascending=[True, False], kind="stable")
    pred = pred.drop_duplicates([col_user, col_item])
    pred["rank"] = pred.groupby(col_user, sort=False).cumcount() + 1
    return pred.loc[pred["rank"] <= k, [col_user, col_item, "rank"]]


def _hits(
    rating_true: pd.DataFrame,
    rating_pred: pd.DataFrame,
    col_user: str,
    col_item: str,
    col_prediction: str,
    col_rank: str | None,
    k: int,
) -> tuple[pd.DataFrame, pd.Series]:
    """Hit rows (user, item, rank) in the top k, and the number of true items per user."""
    true = rating_true[[col_user, col_item]].astype(str).drop_duplicates()
    n_true = true.groupby(col_user).size()
    top = _top_k(rating_pred, col_user, col_item, col_prediction, col_rank, k)
    hits = top.merge(true, on=[col_user, col_item], how="inner")
    return hits, n_true


def _per_user(values: pd.Series, n_true: pd.Series) -> float:
    """Mean over all true users; users without a hit contribute 0."""
    if len(n_true) == 0:
        return float("nan")
    return float(values.reindex(n_true.index).fillna(0.0).mean())


def precision_at_k(
    rating_true: pd.DataFrame,
    rating_pred: pd.DataFrame,
    col_user: str = DEFAULT_USER_COL,
    col_item: str = DEFAULT_ITEM_COL,
    col_prediction: str = DEFAULT_PREDICTION_COL,
    k: int = DEFAULT_K,
    col_rank: str | None = None,
) -> float:
    """Share of the k recommended slots that hold a relevant item (always divided by k)."""
    hits, n_true = _hits(rating_true, rating_pred, col_user, col_item, col_prediction, col_rank, k)
    return _per_user(hits.groupby(col_user).size() / k, n_true)


def recall_at_k(
    rating_true: pd.DataFrame,
    rating_pred: pd.DataFrame,
    col_user: str = DEFAULT_USER_COL,
    col_item: str = DEFAULT_ITEM_COL,
    col_prediction: str = DEFAULT_PREDICTION_COL,
    k: int = DEFAULT_K,
    col_rank: str | None = None,
) -> float:
    """Share of each user's relevant items found in the top k, averaged over users."""
    hits, n_true = _hits(rating_true, rating_pred, col_user, col_item, col_prediction, col_rank, k)
    return _per_user(hits.groupby(col_user).size() / n_true, n_true)


def ndcg_at_k(
    rating_true: pd.DataFrame,
    rating_pred: pd.DataFrame,
    col_user: str = DEFAULT_USER_COL,
    col_item: str = DEFAULT_ITEM_COL,
    col_prediction: str = DEFAULT_PREDICTION_COL,
    k: int = DEFAULT_K,
    col_rank: str | None = None,
) -> float:
    """Binary-relevance NDCG: sum 1/log2(rank+1) over hits, over the ideal ordering's sum."""
    hits, n_true = _hits(rating_true, rating_pred, col_user, col_item, col_prediction, col_rank, k)
    dcg = (1.0 / np.log2(hits["rank"] + 1)).groupby(hits[col_user]).sum()
    discounts = np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))
    idcg = pd.Series(discounts[np.minimum(n_true.to_numpy(), k) - 1], index=n_true.index)
    return _per_user(dcg / idcg.reindex(dcg.index), n_true)


def map_at_k(
    rating_true: pd.DataFrame,
    rating_pred: pd.DataFrame,
    col_user: str = DEFAULT_USER_COL,
    col_item: str = DEFAULT_ITEM_COL,
    col_prediction: str = DEFAULT_PREDICTION_COL,
    k: int = DEFAULT_K,
    col_rank: str | None = None,
) -> float:
    """Mean average precision: sum of precision@rank at each hit, over min(n_true, k)."""
    hits, n_true = _hits(rating_true, rating_pred, col_user, col_item, col_prediction, col_rank, k)
    hits = hits.sort_values([col_user, "rank"])
    nth_hit = hits.groupby(col_user).cumcount() + 1
    ap = (nth_hit / hits["rank"]).groupby(hits[col_user]).sum()
    return _per_user(ap / np.minimum(n_true.reindex(ap.index), k), n_true)


def hit_rate_at_k(
    rating_true: pd.DataFrame,
    rating_pred: pd.DataFrame,
    col_user: str = DEFAULT_USER_COL,
    col_item: str = DEFAULT_ITEM_COL,
    col_prediction: str = DEFAULT_PREDICTION_COL,
    k: int = DEFAULT_K,
    col_rank: str | None = None,
) -> float:
    """Share of users with at least one relevant item in the top k."""
    hits, n_true = _hits(rating_true, rating_pred, col_user, col_item, col_prediction, col_rank, k)
    return _per_user(hits.groupby(col_user).size().clip(upper=1).astype(float), n_true)


def catalog_coverage(
    rating_pred: pd.DataFrame,
    n_items: int,
    col_user: str = DEFAULT_USER_COL,
    col_item: str = DEFAULT_ITEM_COL,
    col_prediction: str = DEFAULT_PREDICTION_COL,
    k: int = DEFAULT_K,
    col_rank: str | None = None,
) -> float:
    """Share of the catalogue's `n_items` that appear in at least one top-k list."""
    top = _top_k(rating_pred, col_user, col_item, col_prediction, col_rank, k)
    return top[col_item].nunique() / n_items if n_items else float("nan")


def novelty(
    train: pd.DataFrame,
    rating_pred: pd.DataFrame,
    col_user: str = DEFAULT_USER_COL,
    col_item: str = DEFAULT_ITEM_COL,
    col_prediction: str = DEFAULT_PREDICTION_COL,
    k: int = DEFAULT_K,
    col_rank: str | None = None,
) -> float:
    """Mean self-information -log2(p) of recommended items, p = share of train users who had it.

    Items nobody had in train get p = 1 / n_train_users (the most novel possible).
    """
    seen = train[[col_user, col_item]].astype(str).drop_duplicates()
    n_users = seen[col_user].nunique()
    if n_users == 0:
        return float("nan")
    p = seen.groupby(col_item).size() / n_users
    top = _top_k(rating_pred, col_user, col_item, col_prediction, col_rank, k)
    probs = top[col_item].map(p).fillna(1.0 / n_users).astype(float)
    return float((-np.log2(probs)).mean()) if len(probs) else float("nan")


RANKING_METRICS = {
    "precision": precision_at_k,
    "recall": recall_at_k,
    "ndcg": ndcg_at_k,
    "map": map_at_k,
    "hit_rate": hit_rate_at_k,
}


def ranking_report(
    rating_true: pd.DataFrame,
    rating_pred: pd.DataFrame,
    train: pd.DataFrame,
    n_items: int,
    ks: tuple[int, ...] = (5, 10, 20),
    col_user: str = DEFAULT_USER_COL,
    col_item: str = DEFAULT_ITEM_COL,
    col_prediction: str = DEFAULT_PREDICTION_COL,
    col_rank: str | None = None,
) -> dict[str, float]:
    """All ranking metrics at every k, plus coverage and novelty at k = 10 (or the middle k)."""
    cols = dict(col_user=col_user, col_item=col_item, col_prediction=col_prediction)
    out: dict[str, float] = {}
    for k in ks:
        for name, metric in RANKING_METRICS.items():
            out[f"{name}@{k}"] = metric(rating_true, rating_pred, k=k, col_rank=col_rank, **cols)
    k_mid = 10 if 10 in ks else ks[len(ks) // 2]
    out[f"coverage@{k_mid}"] = catalog_coverage(
        rating_pred, n_items, k=k_mid, col_rank=col_rank, **cols
    )
    out[f"novelty@{k_mid}"] = novelty(train, rating_pred, k=k_mid, col_rank=col_rank, **cols)
    return out


# ---- one-call comparison on a time split ---------------------------------------------------


# what any list may show; the category cap and slots are judged in the "served" row
EVALUATION_RULES = (drop_bought_one_off, drop_excluded_categories, drop_sensitive_outside_purpose)


def ranked_frame(
    model: Recommender,
    data: InteractionData,
    users: np.ndarray,
    k: int,
    context,
    exclude_bought: bool = True,
    overfetch: int = 20,
) -> pd.DataFrame:
    """Top-k of one recommender for user rows, after `EVALUATION_RULES`, as a tidy frame."""
    exclude = data.purchase_counts[users] if exclude_bought else None
    ids, scores = model.recommend(users, data.user_items[users], N=k + overfetch, exclude=exclude)
    c = Candidates.from_arrays(users, ids, scores, model.row_sources(users))
    c = apply_rules(c, context, EVALUATION_RULES)
    c = c.subset(position_in_group(c.user) < k)
    return pd.DataFrame(
        {
            DEFAULT_USER_COL: data.customer_ids[c.user],
            DEFAULT_ITEM_COL: data.catalogue.product_ids[c.item],
            DEFAULT_PREDICTION_COL: c.score,
        }
    )


def affinity_matrix(affinity: pd.DataFrame, data: InteractionData) -> sp.csr_matrix:
    """customers x products true affinity from a long frame.

    `affinity` has customer_id, affinity and either product_id or category; a category-level
    affinity is spread to its products, with a tiny popularity tie-break inside the category.
    """
    if "affinity" not in affinity.columns or "customer_id" not in affinity.columns:
        raise ValueError(
            "affinity frame needs columns customer_id, affinity and product_id|category"
        )
    cat = data.catalogue
    rows = data.customer_index(affinity["customer_id"])
    values = affinity["affinity"].to_numpy(dtype=np.float64)
    if "product_id" in affinity.columns:
        cols = cat.product_ids.get_indexer(affinity["product_id"].astype(str))
        ok = (rows >= 0) & (cols >= 0)
        return sp.csr_matrix((values[ok], (rows[ok], cols[ok])), shape=data.user_items.shape)
    cols = cat.categories.get_indexer(affinity["category"].astype(str))
    ok = (rows >= 0) & (cols >= 0)
    by_cat = sp.csr_matrix(
        (values[ok], (rows[ok], cols[ok])), shape=(data.n_users, len(cat.categories))
    )
    popularity = np.asarray((data.purchase_counts > 0).sum(axis=0)).ravel()
    tie = 1e-6 * popularity / max(popularity.max(), 1)
    spread = (by_cat @ cat.category_onehot().T).tocsr()
    spread.data += tie[spread.indices]
    return spread


def _train_frame(data: InteractionData) -> pd.DataFrame:
    coo = data.purchase_counts.tocoo()
    return pd.DataFrame(
        {
            DEFAULT_USER_COL: data.customer_ids[coo.row],
            DEFAULT_ITEM_COL: data.catalogue.product_ids[coo.col],
        }
    )


def compare_recommenders(
    tables: Mapping[str, pd.DataFrame],
    cutoff: pd.Timestamp | str,
    horizon_days: int = 30,
    config: RecsysConfig | None = None,
    models: Sequence[ModelName] = ("als", "bpr", "item_knn"),
    ks: tuple[int, ...] = (5, 10, 20),
    affinity: pd.DataFrame | None = None,
    segments: pd.Series | None = None,
    model_configs: Mapping[str, ModelConfig] | None = None,
) -> pd.DataFrame:
    """Train before `cutoff`, test on purchases in the horizon after it; one row per recommender.

    `model_configs` overrides the settings of individual models (e.g. the result of a search
    on a time-earlier validation window); the others use `config.model` with their name.

    Rows: each implicit model, the popularity and buy-again baselines, the oracle (when a true
    `affinity` frame is given) and `served:<best model>` (the full engine: rules, category
    cap, buy-again slots, cold-start). Columns: metric@k for precision/recall/ndcg/map/
    hit_rate, coverage and novelty, `recall@10_vs_popular` and fit seconds.
    """
    config = config or RecsysConfig()
    data = build_interactions(tables, cutoff, config.interactions)
    truth = purchases_in_horizon(tables, data.cutoff, horizon_days)
    truth = truth[data.customer_index(truth[DEFAULT_USER_COL]) >= 0]
    users = np.unique(data.customer_index(truth[DEFAULT_USER_COL])).astype(np.int32)
    context = build_rule_context(data, tables, config.rules.category_cap)
    train = _train_frame(data)
    k_max = max(ks)
    log.info("evaluating on %d test customers, %d test purchases", len(users), len(truth))

    results: dict[str, dict[str, float]] = {}
    fitted: dict[str, Recommender] = {}

    def run(name: str, model: Recommender, fit_on, exclude_bought: bool = True) -> None:
        start = time.perf_counter()
        model.fit(fit_on)
        seconds = time.perf_counter() - start
        pred = ranked_frame(model, data, users, k_max, context, exclude_bought)
        results[name] = {**ranking_report(truth, pred, train, data.catalogue.n_items, ks)}
        results[name]["fit_seconds"] = seconds
        fitted[name] = model

    model_configs = model_configs or {}
    for name in models:
        run(
            name,
            build_model(config.for_model(name, model_configs.get(name)).model),
            data.user_items,
        )
    popularity_matrix = recent_purchases(data, config.rules.popularity_window_days)
    run("popular", PopularityRecommender(), popularity_matrix)
    history = buy_again_matrix(
        data.purchase_counts,
        data.days_since_purchase,
        data.catalogue.is_repeatable,
        config.interactions.half_life_days,
    )
    run("buy_again", BuyAgainRecommender(), history, exclude_bought=False)
    if affinity is not None:
        run("oracle", OracleRecommender(), affinity_matrix(affinity, data))
    if models:
        key = f"recall@{10 if 10 in ks else ks[0]}"
        best = max(models, key=lambda m: results[m][key])
        engine = assemble_engine(data, context, fitted[best], config, segments)
        start = time.perf_counter()
        served_row: dict[str, float] = {}
        # a served list of length k is what a customer sees, so each k gets its own lists
        for k in sorted(ks, reverse=True):
            served = engine.recommend(data.customer_ids[users], k=k, export=False)
            served = served.astype({DEFAULT_USER_COL: str, DEFAULT_ITEM_COL: str})
            report = ranking_report(
                truth, served, train, data.catalogue.n_items, (k,), col_rank="rank"
            )
            served_row.update({m: v for m, v in report.items() if m.endswith(f"@{k}")})
        served_row = {m: served_row.get(m, np.nan) for m in results[best]}
        served_row["fit_seconds"] = time.perf_counter() - start
        results[f"served:{best}"] = served_row
    table = pd.DataFrame.from_dict(results, orient="index")
    table.index.name = "recommender"
    k_ref = 10 if 10 in ks else ks[0]
    table[f"recall@{k_ref}_vs_popular"] = (
        table[f"recall@{k_ref}"] / table.loc["popular", f"recall@{k_ref}"]
    )
    table["n_test_customers"] = len(users)
    return table
