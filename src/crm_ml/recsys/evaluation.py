"""Ranking metrics over plain data frames, in the style of microsoft/recommenders.

Each metric takes the true frame (one row per relevant user x item) and the predicted frame
(one row per recommended user x item with a score, or a rank column) plus column names. Users
are those of the true frame: a user with no predictions counts as all misses (stricter than
recommenders, which averages over users present in both frames, and fairer when business
rules leave some lists empty).

Denominators, per user with relevant set R and top-k list L: precision |R & L| / k; recall
|R & L| / |R| by default (as recommenders' `recall_at_k`), or |R & L| / min(|R|, k) with
`denominator="min_relevant_k"` (so a user with more than k relevant items can reach 1, as
in NDCG's ideal list and in MAP); NDCG and MAP always use min(|R|, k).

Example::

    recall_at_k(truth, recs, col_user="customer_id", col_item="product_id",
                col_prediction="score", k=10)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from crm_ml.recsys.baselines import (
    BuyAgainRecommender,
    OracleRecommender,
    PopularityRecommender,
    buy_again_matrix,
)
from crm_ml.recsys.catalogue import Catalogue
from crm_ml.recsys.config import (
    MODEL_NAMES,
    InteractionConfig,
    ModelConfig,
    ModelName,
    RecsysConfig,
)
from crm_ml.recsys.interactions import (
    InteractionData,
    build_interactions,
    purchases_in_horizon,
)
from crm_ml.recsys.models import Recommender, build_model, usable_models
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
from crm_ml.recsys.timestamps import utc_tables

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
    denominator: Literal["relevant", "min_relevant_k"] = "relevant",
) -> float:
    """Share of each user's relevant items found in the top k, averaged over users.

    Parameters
    ----------
    rating_true, rating_pred : DataFrame
        Relevant (user, item) rows; recommended (user, item, score or rank) rows.
    col_user, col_item, col_prediction, col_rank : str
        Column names; `col_rank` (1 = best) replaces ordering by `col_prediction`.
    k : int
        List length.
    denominator : {"relevant", "min_relevant_k"}
        Hits over |relevant| (the default, as microsoft/recommenders: a user with 20
        relevant items scores at most k / 20) or over min(|relevant|, k) (every user can
        reach 1; "recall" as some papers and NDCG's ideal list define it).

    Returns
    -------
    float
        Mean over the users of `rating_true` (NaN when it is empty).
    """
    if denominator not in ("relevant", "min_relevant_k"):
        raise ValueError(f"denominator must be 'relevant' or 'min_relevant_k', got {denominator!r}")
    hits, n_true = _hits(rating_true, rating_pred, col_user, col_item, col_prediction, col_rank, k)
    denominators = n_true if denominator == "relevant" else n_true.clip(upper=k)
    return _per_user(hits.groupby(col_user).size() / denominators, n_true)


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


def diversity(
    rating_pred: pd.DataFrame,
    item_category: pd.Series,
    col_user: str = DEFAULT_USER_COL,
    col_item: str = DEFAULT_ITEM_COL,
    col_prediction: str = DEFAULT_PREDICTION_COL,
    k: int = DEFAULT_K,
    col_rank: str | None = None,
) -> float:
    """Intra-list diversity: the share of pairs of items in a top-k list that are of
    different categories (`item_category`: item id -> category), averaged over the lists of
    two items or more. 0: every list is one category; 1: no two items share one.

    Examples
    --------
    >>> pred = pd.DataFrame({"customer_id": ["u", "u", "u", "v", "v"],
    ...                      "product_id": ["a", "b", "c", "a", "d"],
    ...                      "score": [3.0, 2.0, 1.0, 2.0, 1.0]})
    >>> categories = pd.Series({"a": "shoes", "b": "shoes", "c": "socks", "d": "shoes"})
    >>> round(diversity(pred, categories, k=3), 4)  # u: 2 of 3 pairs differ; v: 0 of 1
    0.3333
    """
    top = _top_k(rating_pred, col_user, col_item, col_prediction, col_rank, k)
    top = top.assign(category=top[col_item].astype(str).map(item_category.astype(str)))
    per_list = top.groupby(col_user).size()
    same = top.groupby([col_user, "category"], dropna=False).size()
    same_pairs = (same * (same - 1) / 2).groupby(level=0).sum()
    pairs = per_list * (per_list - 1) / 2
    usable = pairs > 0
    if not usable.any():
        return float("nan")
    return float((1 - same_pairs[usable] / pairs[usable]).mean())


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
    item_category: pd.Series | None = None,
) -> dict[str, float]:
    """All ranking metrics at every k, plus coverage and novelty at k = 10 (or the middle k),
    and with `item_category` (item id -> category) the intra-list diversity there."""
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
    if item_category is not None:
        out[f"diversity@{k_mid}"] = diversity(
            rating_pred, item_category, k=k_mid, col_rank=col_rank, **cols
        )
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
    models: Sequence[ModelName] = MODEL_NAMES,
    ks: tuple[int, ...] = (5, 10, 20),
    affinity: pd.DataFrame | None = None,
    segments: pd.Series | None = None,
    model_configs: Mapping[str, ModelConfig] | None = None,
    interaction_configs: Mapping[str, InteractionConfig] | None = None,
    truth: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Train before `cutoff`, test on purchases in the horizon after it; one row per recommender.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Accepted tables; only orders (customer_id, product_id, ts) are required.
    cutoff : Timestamp or str
        Everything before it trains; the test starts here.
    horizon_days : int
        Test purchases are those in [cutoff, cutoff + horizon_days) (unless `truth`).
    config : RecsysConfig, optional
        Interaction weights, default model settings, rules.
    models : sequence of str
        Models to compare; EASE is left out (warned) above `model.ease_max_items`.
    ks : tuple of int
        List lengths of the metrics.
    affinity : DataFrame, optional
        True affinities (synthetic worlds) for an oracle row.
    segments : Series, optional
        customer_id -> segment for segment popularity in the served row.
    model_configs, interaction_configs : mapping of str to config, optional
        Per-model settings and interaction weighting (e.g. a search's result on a
        time-earlier window); other models use `config.model` / `config.interactions`.
    truth : DataFrame, optional
        customer_id, product_id pairs to test on instead of the horizon's purchases (e.g.
        `crm_ml.recsys.splits.split_last_purchases`).

    Returns
    -------
    DataFrame
        Rows: each model, the popularity and buy-again baselines, the oracle (with
        `affinity`) and `served:<best model>` (the full engine: rules, category cap,
        buy-again slots, cold-start). Columns: metric@k for precision/recall/ndcg/map/
        hit_rate, coverage, novelty and diversity, `recall@10_vs_popular`, fit seconds and
        `n_test_customers`. A model at or below popularity is warned about.
    """
    config = config or RecsysConfig()
    tables = utc_tables(tables)
    catalogue = Catalogue.from_tables(tables, config.offer.default_margin_rate)
    models = usable_models(models, catalogue.n_items, config.model)
    interaction_configs = interaction_configs or {}
    datasets: dict[InteractionConfig, InteractionData] = {}

    def data_for(interactions: InteractionConfig) -> InteractionData:
        if interactions not in datasets:
            datasets[interactions] = build_interactions(tables, cutoff, interactions, catalogue)
        return datasets[interactions]

    data = data_for(config.interactions)
    if truth is None:
        truth = purchases_in_horizon(tables, data.cutoff, horizon_days)
    truth = truth[[DEFAULT_USER_COL, DEFAULT_ITEM_COL]].astype(str)
    truth = truth[data.customer_index(truth[DEFAULT_USER_COL]) >= 0]
    users = np.unique(data.customer_index(truth[DEFAULT_USER_COL])).astype(np.int32)
    context = build_rule_context(data, tables, rules=config.rules)
    train = _train_frame(data)
    k_max = max(ks)
    log.info("evaluating on %d test customers, %d test purchases", len(users), len(truth))

    results: dict[str, dict[str, float]] = {}
    fitted: dict[str, Recommender] = {}

    def run(name: str, model: Recommender, fit_on, exclude_bought: bool = True, on=data) -> None:
        start = time.perf_counter()
        model.fit(fit_on)
        seconds = time.perf_counter() - start
        pred = ranked_frame(model, on, users, k_max, context, exclude_bought)
        results[name] = ranking_report(
            truth, pred, train, catalogue.n_items, ks, item_category=catalogue.item_category()
        )
        results[name]["fit_seconds"] = seconds
        fitted[name] = model

    model_configs = model_configs or {}
    for name in models:
        model_data = data_for(interaction_configs.get(name, config.interactions))
        settings = config.for_model(name, model_configs.get(name)).model
        run(name, build_model(settings), model_data.user_items, on=model_data)
    popularity_matrix = recent_purchases(data, config.rules.popularity_window_days)
    run("popular", PopularityRecommender(), popularity_matrix)
    history = buy_again_matrix(
        data.purchase_counts,
        data.days_since_purchase,
        catalogue.is_repeatable,
        config.rules.buy_again_half_life_days,
    )
    run("buy_again", BuyAgainRecommender(), history, exclude_bought=False)
    if affinity is not None:
        run("oracle", OracleRecommender(), affinity_matrix(affinity, data))
    k_ref = 10 if 10 in ks else ks[0]
    key = f"recall@{k_ref}"
    if models:
        best = max(models, key=lambda m: results[m][key])
        serving = config.for_model(
            best, model_configs.get(best), interaction_configs.get(best, config.interactions)
        )
        best_data = data_for(serving.interactions)
        engine = assemble_engine(best_data, context, fitted[best], serving, segments)
        results[f"served:{best}"] = _served_row(engine, users, truth, train, ks, results[best])
    table = pd.DataFrame.from_dict(results, orient="index")
    table.index.name = "recommender"
    table[f"{key}_vs_popular"] = table[key] / table.loc["popular", key]
    table["n_test_customers"] = len(users)
    _warn_at_or_below_popularity(table, key)
    return table


def _served_row(
    engine,
    users: np.ndarray,
    truth: pd.DataFrame,
    train: pd.DataFrame,
    ks: tuple[int, ...],
    columns: Mapping[str, float],
) -> dict[str, float]:
    """Metrics of the served lists; a list of length k is what a customer sees, so each k
    gets its own lists."""
    start = time.perf_counter()
    data = engine.data
    row: dict[str, float] = {}
    for k in sorted(ks, reverse=True):
        served = engine.recommend(data.customer_ids[users], k=k, export=False)
        served = served.astype({DEFAULT_USER_COL: str, DEFAULT_ITEM_COL: str})
        report = ranking_report(
            truth,
            served,
            train,
            data.catalogue.n_items,
            (k,),
            col_rank="rank",
            item_category=data.catalogue.item_category(),
        )
        row.update({m: v for m, v in report.items() if m.endswith(f"@{k}")})
    row = {m: row.get(m, np.nan) for m in columns}
    row["fit_seconds"] = time.perf_counter() - start
    return row


def _warn_at_or_below_popularity(table: pd.DataFrame, key: str) -> None:
    """A recommender that does not beat bestsellers must not pass unnoticed."""
    popular = table.loc["popular", key]
    baselines = {"popular", "buy_again", "oracle"}
    weak = [
        name for name in table.index if name not in baselines and table.loc[name, key] <= popular
    ]
    for name in weak:
        log.warning(
            "recommender %s scores %s %.4f, not above popularity (%.4f) on %d test customers",
            name,
            key,
            table.loc[name, key],
            popular,
            int(table["n_test_customers"].iloc[0]),
        )
