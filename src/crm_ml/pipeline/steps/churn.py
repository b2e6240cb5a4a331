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


def run_churn(paths: RunPaths, config: RunConfig, track: bool = True) -> ChurnOutcome:
    frame = training_frame(paths, config, LABEL)
    result = train_binary_model(frame, TARGET, model_config(config))
    comparison = compare_to_baselines(
        result.model, frame, TARGET, default_baselines("churn", horizon_days=config.horizon_days)
    )
    held = holdout(frame)
    raw_dir = raw_source_dir(config)
    oracle = (
        churn_gap_closure(result.predictions, held, raw_dir, config.horizon_days)
        if has_oracle(raw_dir)
        else {}
    )
    X = held[feature_columns(frame, TARGET)]
    drivers = global_drivers(result.model, X)
    y, p = result.predictions["y_true"], result.predictions["y_pred"]
    figures = {
        "roc": plot_roc(y, {"LightGBM": p}),
        "calibration": plot_reliability(y, {"LightGBM": p}),
        "gain": plot_cumulative_gain(y, {"LightGBM": p}),
        "shap_summary": plot_shap_summary(result.model, X),
    }
    outcome = ChurnOutcome(
        result=result,
        comparison=comparison.table,
        not_beaten=comparison.not_beaten,
        oracle=oracle,
        drivers=drivers,
        figures=figures,
    )
    if track:
        metrics = {**flat_metrics(result.metrics), **oracle}
        _, outcome.decision = track_and_gate(
            "churn",
            result.model,
            features=X,
            params={"horizon_days": config.horizon_days, **vars(model_config(config))},
            metrics=metrics,
            baseline_table=comparison.table,
            figures=figures,
            gate=sample_sized(GATE, float(config.models.get("calibration_bound", 0.02)), result),
            run_name=paths.run_id,
            tracking=run_tracking(paths, config),
        )
    return outcome
