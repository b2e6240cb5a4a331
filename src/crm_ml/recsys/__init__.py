"""Recommendations and next-best-offer on implicit (ALS, BPR, item-kNN) and EASE, respecting
what customers told us (exclusions, consent, sensitive categories).

Flow: `build_interactions` (confidence matrix as of a cutoff) -> `build_model(...).fit` ->
`RecommendationEngine.recommend` (business rules after scoring, buy-again slots, cold-start
popularity, a `source` per row) -> `next_best_offer` (one offer with a reason) ->
`log_recommender` (MLflow pyfunc). `compare_recommenders` evaluates every model beside the
popularity / buy-again baselines (and an oracle on synthetic worlds) on a time split or a
per-customer split (`split_last_purchases`); `select_recommender` searches each model,
compares them and says which to serve. Orders with customer_id, product_id and ts are all
it needs; other columns only serve the rules that use them.

Example::

    from crm_ml.recsys import fit_engine, select_recommender
    chosen = select_recommender(tables, cutoff="2024-10-01", horizon_days=30)
    engine = fit_engine(tables, cutoff="2025-01-01", config=chosen.serving)
    recs = engine.recommend(export=True)
"""

from crm_ml.recsys.catalogue import Catalogue
from crm_ml.recsys.config import (
    MODEL_NAMES,
    InteractionConfig,
    ModelConfig,
    OfferConfig,
    RecsysConfig,
    RulesConfig,
    SearchConfig,
)
from crm_ml.recsys.evaluation import compare_recommenders
from crm_ml.recsys.explain import explain_recommendations
from crm_ml.recsys.interactions import InteractionData, build_interactions, purchases_in_horizon
from crm_ml.recsys.models import CatalogueTooLargeError, EaseRecommender, Recommender, build_model
from crm_ml.recsys.nbo import next_best_offer
from crm_ml.recsys.recommend import RecommendationEngine, assemble_engine, fit_engine
from crm_ml.recsys.related import also_bought, best_seller, similar_products
from crm_ml.recsys.rules import ANALYTICS_RULES, EXPORT_RULES, build_rule_context
from crm_ml.recsys.selection import Selection, select_recommender
from crm_ml.recsys.splits import LastPurchaseSplit, split_last_purchases
from crm_ml.recsys.tuning import SearchResult, search_hyperparameters, tune_models

__all__ = [
    "ANALYTICS_RULES",
    "EXPORT_RULES",
    "MODEL_NAMES",
    "Catalogue",
    "CatalogueTooLargeError",
    "EaseRecommender",
    "InteractionConfig",
    "InteractionData",
    "LastPurchaseSplit",
    "ModelConfig",
    "OfferConfig",
    "RecommendationEngine",
    "Recommender",
    "RecsysConfig",
    "RulesConfig",
    "SearchConfig",
    "SearchResult",
    "Selection",
    "also_bought",
    "assemble_engine",
    "best_seller",
    "build_interactions",
    "build_model",
    "build_rule_context",
    "compare_recommenders",
    "explain_recommendations",
    "fit_engine",
    "next_best_offer",
    "purchases_in_horizon",
    "search_hyperparameters",
    "select_recommender",
    "similar_products",
    "split_last_purchases",
    "tune_models",
]
