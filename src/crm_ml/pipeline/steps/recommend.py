"""Notebook 06's work: compare recommenders on a time split, serve the best one, track it.

Evaluation trains every recommender on interactions before the holdout cutoff and scores
the purchases of the following horizon; serving refits the best model on everything up to
the export date and writes the rule-abiding lists of consenting customers to the run's
scores. The served engine is kept in the run folder for the scoring notebook's offers.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from crm_ml.pipeline.config import RunConfig
from crm_ml.pipeline.data import accepted_as_of, ensure_accepted, raw_source_dir
from crm_ml.pipeline.paths import RunPaths
from crm_ml.pipeline.promotions import RunTracking, run_tracking
from crm_ml.pipeline.steps.frames import cutoff_plan
from crm_ml.pipeline.steps.oracle import has_oracle, load_true_affinity
from crm_ml.pipeline.steps.segments import CURRENT
from crm_ml.pipeline.steps.tracked import Gate, apply_gate
from crm_ml.recsys import (
    MODEL_NAMES,
    RecommendationEngine,
    RecsysConfig,
    SearchResult,
    fit_engine,
    select_recommender,
)
from crm_ml.recsys.tuning import HALF_LIFE, SEARCH_SPACE

MODELS = MODEL_NAMES
ENGINE_FILE = "recsys_engine.pkl"
SKIPPED_FILE = "recsys_skipped.txt"  # why this run recommends nothing (scoring reads it)
GATE_METRIC = "served_recall_at_10"
GATE = Gate(GATE_METRIC, higher_is_better=True, tolerance=0.005, calibration_metric=None)
MIN_PRODUCTS = 2  # a recommender chooses between products; one product leaves no choice


@dataclass
class RecsysOutcome:
    comparison: pd.DataFrame
    best_model: str
    recommendations: pd.DataFrame
    engine: RecommendationEngine | None
    metrics: dict[str, float]
    figures: dict[str, Any] = field(default_factory=dict)
    decision: Any = None
    searched: pd.DataFrame = field(default_factory=pd.DataFrame)  # chosen settings per model
    skipped: str = ""  # why nothing was trained or recommended (empty: it was)

    def summary(self) -> str:
        """The best model and the served lists against popularity, in one line."""
        if self.skipped:
            return f"no recommendations: {self.skipped}"
        m = self.metrics

        def versus(value: float) -> str:
            popular = m["popularity_recall_at_10"]
            return f"{value / popular:.2f}x popularity" if popular > 0 else "popularity hit nothing"

        return (
            f"best model {self.best_model}: recall@10 {m['best_recall_at_10']:.3f} "
            f"({versus(m['best_recall_at_10'])}); served with rules and buy-again slots: "
            f"{m['served_recall_at_10']:.3f} ({versus(m['served_recall_at_10'])})"
        )

    def decision_summary(self) -> str:
        if self.decision is None:
            return self.skipped or "not tracked (track=False)"
        return self.decision.summary


def load_accepted(paths: RunPaths) -> dict[str, pd.DataFrame]:
    return {p.stem: pd.read_parquet(p) for p in sorted(paths.accepted.glob("*.parquet"))}


def segments_of(paths: RunPaths) -> pd.Series | None:
    """Each customer's RFM segment (from notebook 02), for segment-aware cold start."""
    current = paths.features / CURRENT
    if not current.exists():
        return None
    frame = pd.read_parquet(current, columns=["customer_id", "rfm_segment"])
    return frame.set_index("customer_id")["rfm_segment"].astype(str)


def _comparison_chart(table: pd.DataFrame) -> Figure:
    fig = Figure(figsize=(8, 3.6))
    ax = fig.subplots()
    table["recall@10"].sort_values().plot.barh(ax=ax, color="#6c8ebf")
    ax.axvline(
        table.loc["popular", "recall@10"], color="#b85450", linestyle="--", label="popularity"
    )
    ax.set_xlabel("recall@10 on purchases after the cutoff")
    ax.set_ylabel("")
    ax.legend(loc="lower right")
    return fig


def search_table(found: dict[str, SearchResult]) -> pd.DataFrame:
    """Per model: the searched settings, their recall on the validation window (and
    popularity's), the window and the interaction half-life chosen."""
    rows = []
    for name, result in found.items():
        chosen = {p: getattr(result.best, p) for p in SEARCH_SPACE[name]}
        decay = result.interactions.describe_decay() if result.interactions else "none"
        rows.append(
            {
                "model": name,
                "validation_recall": result.best_score,
                "validation_popularity_recall": result.popularity_score,
                "validation": result.validation,
                "validation_days": result.validation_days,
                "validation_customers": result.validation_customers,
                HALF_LIFE: decay,
                **chosen,
            }
        )
    return pd.DataFrame(rows)


def skipped_outcome(reason: str) -> RecsysOutcome:
    """What a run without recommendations shows: empty tables with their columns, the reason."""
    fig = Figure(figsize=(8, 1.2))
    fig.text(0.5, 0.5, f"No recommendations: {reason}", ha="center", va="center", wrap=True)
    return RecsysOutcome(
        comparison=pd.DataFrame(columns=COMPARISON_COLUMNS).rename_axis("recommender"),
        best_model="",
        recommendations=pd.DataFrame(columns=["customer_id", "product_id", "rank", "source"]),
        engine=None,
        metrics={},
        figures={"recsys": fig},
        skipped=reason,
    )


def run_recommendations(paths: RunPaths, config: RunConfig, track: bool = True) -> RecsysOutcome:
    ensure_accepted(paths, config)
    tables = load_accepted(paths)
    products = tables["orders"]["product_id"].nunique()
    (paths.root / SKIPPED_FILE).unlink(missing_ok=True)
    if products < MIN_PRODUCTS:
        reason = (
            f"the orders hold {products} product(s), so there is nothing to choose between: "
            "no recommender was trained and no offers are made"
        )
        (paths.root / SKIPPED_FILE).write_text(reason)
        return skipped_outcome(reason)
    rconfig = RecsysConfig.model_validate(config.recsys)
    raw_dir = raw_source_dir(config)
    affinity = load_true_affinity(raw_dir) if has_oracle(raw_dir) else None
    segments = segments_of(paths)
    holdout_cutoff = cutoff_plan(paths, config).holdout
    # hyper-parameters chosen on the window just before the holdout cutoff, never on it
    chosen = select_recommender(
        tables,
        holdout_cutoff,
        rconfig,
        MODELS,
        horizon_days=rconfig.eval_horizon_days,
        affinity=affinity,
        segments=segments,
    )
    comparison, best = chosen.comparison, chosen.best_model
    served_name = f"served:{best}"
    engine = fit_engine(tables, pd.Timestamp(accepted_as_of(paths)), chosen.serving, segments)
    recommendations = engine.recommend(export=True)
    recommendations.to_parquet(paths.scores / "recommendations.parquet", index=False)
    with (paths.root / ENGINE_FILE).open("wb") as fh:
        pickle.dump(engine, fh)
    metrics = {
        "best_recall_at_10": float(comparison.loc[best, "recall@10"]),
        "served_recall_at_10": float(comparison.loc[served_name, "recall@10"]),
        "popularity_recall_at_10": float(comparison.loc["popular", "recall@10"]),
        "recommendation_conversion": float(comparison.loc[served_name, "hit_rate@10"]),
    }
    outcome = RecsysOutcome(
        comparison,
        best,
        recommendations,
        engine,
        metrics,
        {"recsys": _comparison_chart(comparison)},
        searched=search_table(chosen.searched),
    )
    if track:
        outcome.decision = _track(
            engine, comparison, metrics, run_tracking(paths, config), paths.run_id
        )
    return outcome


def _track(
    engine,
    comparison: pd.DataFrame,
    metrics: dict[str, float],
    tracking: RunTracking,
    run_name: str,
):
    from mlflow import MlflowClient

    from crm_ml.recsys.pyfunc import log_recommender
    from crm_ml.tracking import configure_tracking
    from crm_ml.tracking.registry import register_challenger
    from crm_ml.tracking.store import ensure_experiment

    configure_tracking()
    logged = log_recommender(
        engine, comparison, run_name=run_name, experiment_id=ensure_experiment("recsys")
    )
    client = MlflowClient()
    for name, value in metrics.items():
        client.log_metric(logged.run_id, name, value)
    for tag, value in tracking.scope.tags.items():
        client.set_tag(logged.run_id, tag, value)
    name = tracking.registry_name("recsys")
    version = register_challenger(
        name, logged.model_uri, run_id=logged.run_id, tags=tracking.scope.tags
    )
    return apply_gate(name, str(version.version), GATE, tracking)


COMPARISON_COLUMNS = [
    f"{metric}@10"
    for metric in ("precision", "recall", "ndcg", "map", "hit_rate", "coverage", "novelty")
] + ["recall@10_vs_popular"]


def load_engine(paths: RunPaths) -> RecommendationEngine:
    with (paths.root / ENGINE_FILE).open("rb") as fh:
        return pickle.load(fh)
