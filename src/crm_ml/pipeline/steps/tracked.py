"""Logging a trained model to MLflow and passing it through the champion gate."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from crm_ml.models import TrainingResult
from crm_ml.models.evaluation import ece_noise_bound
from crm_ml.pipeline.promotions import RunTracking, stage
from crm_ml.tracking import configure_tracking, fingerprint_frame, log_model_run, promote_if_better
from crm_ml.tracking.registry import GateDecision
from crm_ml.tracking.runs import RunInfo


@dataclass(frozen=True)
class Gate:
    metric: str
    higher_is_better: bool
    tolerance: float
    calibration_metric: str | None = "ece"
    calibration_bound: float = 0.02


def sample_sized(gate: Gate, configured: float, result: TrainingResult) -> Gate:
    """`gate` with a calibration bound that the data's size can show: the configured bound,
    or the 95% quantile of the ECE a well calibrated model would have on these holdout
    predictions with a calibrator fitted on as many rows as this one was
    (`ece_noise_bound`), whichever is larger."""
    fitted_on = int(result.rows.calibration.sum()) if result.rows is not None else None
    noise = ece_noise_bound(result.predictions["y_pred"].to_numpy(dtype=float), fitted_on)
    bound = configured if np.isnan(noise) else max(configured, noise)  # NaN: no rows
    return replace(gate, calibration_bound=float(bound))


def flat_metrics(metrics: pd.DataFrame) -> dict[str, float]:
    """The trainer's metrics table (one row per part) as `<part>_<metric>` numbers."""
    out = {}
    for part, row in metrics.iterrows():
        for name, value in row.items():
            if isinstance(value, int | float) and pd.notna(value):
                out[f"{part}_{name}"] = float(value)
    return out


def track_and_gate(
    family: str,
    model: Any,
    *,
    features: pd.DataFrame,
    params: dict[str, Any],
    metrics: dict[str, float],
    baseline_table: pd.DataFrame | None,
    figures: dict[str, Any],
    gate: Gate,
    run_name: str,
    tracking: RunTracking,
    register_as: str | None = None,
) -> tuple[RunInfo, GateDecision]:
    """Log the run (model with signature, metrics, baselines, plots) and apply the gate.

    The model registers as `register_as` (default: the family; e.g. one registered model
    per category within the propensity family), qualified by the run's data source and
    tagged with its scope (`crm_ml.tracking.scope`); under the pipeline the promotion is
    staged until the run publishes (`crm_ml.pipeline.promotions`)."""
    register_as = tracking.registry_name(register_as or family)
    configure_tracking()
    info = log_model_run(
        family,
        model,
        params=params,
        metrics=metrics,
        input_example=features,
        baseline_table=baseline_table,
        figures=figures,
        feature_names=list(model.feature_names),
        data_fingerprint=fingerprint_frame(features),
        register_as=register_as,
        run_name=run_name,
        tags=tracking.scope.tags,
    )
    return info, apply_gate(register_as, str(info.registered_version), gate, tracking)


def apply_gate(name: str, version: str, gate: Gate, tracking: RunTracking) -> GateDecision:
    """The gate for one registered version, like with like, staged under the pipeline."""
    decision = promote_if_better(
        name,
        version,
        metric=gate.metric,
        higher_is_better=gate.higher_is_better,
        tolerance=gate.tolerance,
        calibration_metric=gate.calibration_metric,
        calibration_bound=gate.calibration_bound,
        scope=tracking.scope,
        apply=tracking.staging is None,
    )
    stage(tracking, decision)
    return decision
