"""The churn notebook's work: train, compare with baselines and the oracle, explain, track."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from crm_ml.models import (
    BinaryModelConfig,
    TrainingResult,
    compare_to_baselines,
    default_baselines,
    global_drivers,
    train_binary_model,
)
from crm_ml.models.explain import plot_shap_summary
from crm_ml.models.plots import plot_cumulative_gain, plot_reliability, plot_roc
from crm_ml.pipeline.config import RunConfig
from crm_ml.pipeline.data import raw_source_dir
from crm_ml.pipeline.paths import RunPaths
from crm_ml.pipeline.promotions import run_tracking
from crm_ml.pipeline.steps.frames import (
    feature_columns,
    holdout,
    training_frame,
    typed_config,
)
from crm_ml.pipeline.steps.oracle import churn_gap_closure, has_oracle
from crm_ml.pipeline.steps.run_models import forget_run_model, keep_in_run
from crm_ml.pipeline.steps.tracked import Gate, flat_metrics, sample_sized, track_and_gate
from crm_ml.tracking.registry import GateDecision

log = logging.getLogger(__name__)
LABEL = "churn"
TARGET = "label"  # build_training_frame names the label column `label`
GATE = Gate(
    metric="holdout_roc_auc",
    higher_is_better=True,
    tolerance=0.005,
    calibration_metric="holdout_ece",
)


@dataclass
class ChurnOutcome:
    result: TrainingResult
    comparison: pd.DataFrame  # model + baselines on the same holdout
    not_beaten: list[str]
    oracle: dict[str, float]  # empty without ground truth
    drivers: pd.DataFrame
    figures: dict[str, Any] = field(default_factory=dict)
    decision: GateDecision | None = None


def model_config(config: RunConfig) -> BinaryModelConfig:
    return typed_config(BinaryModelConfig, config.models.get("churn", {}))


def churn_frame(paths: RunPaths, config: RunConfig) -> pd.DataFrame:
    """Features at every rolling cutoff with the churn label (`label`) and the split."""
    return training_frame(paths, config, LABEL)


def churn_baselines(config: RunConfig) -> list:
    """The rules a churn model must beat: recency, a logistic RFM model, BG/NBD."""
    return default_baselines("churn", horizon_days=config.horizon_days)


def churn_oracle(
    config: RunConfig, frame: pd.DataFrame, result: TrainingResult
) -> dict[str, float]:
    """Gap closure to the history and latent-trait oracles (empty without ground truth)."""
    raw_dir = raw_source_dir(config)
    if not has_oracle(raw_dir):
        return {}
    return churn_gap_closure(result.predictions, holdout(frame), raw_dir, config.horizon_days)


def holdout_features(frame: pd.DataFrame) -> pd.DataFrame:
    """The holdout rows' feature columns: what the explanation and the logged example use."""
    return holdout(frame)[feature_columns(frame, TARGET)]


def binary_figures(result: TrainingResult, X: pd.DataFrame | None = None) -> dict[str, Any]:
    """ROC, reliability and cumulative gain on the holdout (and a SHAP summary of `X`)."""
    y, p = result.predictions["y_true"], result.predictions["y_pred"]
    figures = {
        "roc": plot_roc(y, {"LightGBM": p}),
        "calibration": plot_reliability(y, {"LightGBM": p}),
        "gain": plot_cumulative_gain(y, {"LightGBM": p}),
    }
    if X is not None:
        figures["shap_summary"] = plot_shap_summary(result.model, X)
    return figures


def track_churn(
    paths: RunPaths,
    config: RunConfig,
    frame: pd.DataFrame,
    result: TrainingResult,
    comparison: pd.DataFrame,
    figures: dict[str, Any],
    oracle: dict[str, float],
) -> GateDecision:
    """Log the model to MLflow and pass it through the champion gate (staged under the
    pipeline, see `crm_ml.pipeline.promotions`)."""
    forget_run_model(paths, "churn")
    _, decision = track_and_gate(
        "churn",
        result.model,
        features=holdout_features(frame),
        params={"horizon_days": config.horizon_days, **vars(model_config(config))},
        metrics={**flat_metrics(result.metrics), **oracle},
        baseline_table=comparison,
        figures=figures,
        gate=sample_sized(GATE, float(config.models.get("calibration_bound", 0.02)), result),
        run_name=paths.run_id,
        tracking=run_tracking(paths, config),
    )
    return decision


def run_churn(paths: RunPaths, config: RunConfig, track: bool = True) -> ChurnOutcome:
    """Every step of notebook 03 in one call (the benchmarks' direct run and the tests);
    the notebook shows the same steps cell by cell. Untracked, the model is kept in the
    run folder for scoring (`keep_in_run`)."""
    frame = churn_frame(paths, config)
    result = train_binary_model(frame, TARGET, model_config(config))
    comparison = compare_to_baselines(result.model, frame, TARGET, churn_baselines(config))
    oracle = churn_oracle(config, frame, result)
    X = holdout_features(frame)
    outcome = ChurnOutcome(
        result=result,
        comparison=comparison.table,
        not_beaten=comparison.not_beaten,
        oracle=oracle,
        drivers=global_drivers(result.model, X),
        figures=binary_figures(result, X),
    )
    if track:
        outcome.decision = track_churn(
            paths, config, frame, result, comparison.table, outcome.figures, oracle
        )
    else:
        keep_in_run(paths, "churn", result.model)
    return outcome
