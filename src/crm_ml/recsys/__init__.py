"""Recommendations and next-best-offer on implicit (ALS, BPR, item-kNN), respecting what
customers told us (exclusions, consent, sensitive categories).

Flow: `build_interactions` (confidence matrix as of a cutoff) -> `build_model(...).fit` ->
`RecommendationEngine.recommend` (business rules after scoring, buy-again slots, cold-start
popularity, a `source` per row) -> `next_best_offer` (one offer with a reason) ->
`log_recommender` (MLflow pyfunc). `compare_recommenders` evaluates every model beside the
popularity / buy-again baselines (and an oracle on synthetic worlds) on a time split.

Example::

    from crm_ml.recsys import RecsysConfig, compare_recommenders, fit_engine
    table = compare_recommenders(tables, cutoff="2024-10-01", horizon_days=90)
    engine = fit_engine(tables, cutoff="2025-01-01", config=RecsysConfig())
    recs = engine.recommend(export=True)
"""

from crm_ml.recsys.catalogue import Catalogue
from crm_ml.recsys.config import (
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
from crm_ml.recsys.models import Recommender, build_model
from crm_ml.recsys.nbo import next_best_offer
from crm_ml.recsys.recommend import RecommendationEngine, assemble_engine, fit_engine
from crm_ml.recsys.rules import ANALYTICS_RULES, EXPORT_RULES, build_rule_context
from crm_ml.recsys.tuning import SearchResult, search_hyperparameters, tune_models

__all__ = [
    "ANALYTICS_RULES",
    "EXPORT_RULES",
    "Catalogue",
    "InteractionConfig",
    "InteractionData",
    "ModelConfig",
    "OfferConfig",
    "RecommendationEngine",
    "Recommender",
    "RecsysConfig",
    "RulesConfig",
    "SearchConfig",
    "SearchResult",
    "assemble_engine",
    "build_interactions",
    "build_model",
    "build_rule_context",
    "compare_recommenders",
    "explain_recommendations",
    "fit_engine",
    "next_best_offer",
    "purchases_in_horizon",
    "search_hyperparameters",
    "tune_models",
]
