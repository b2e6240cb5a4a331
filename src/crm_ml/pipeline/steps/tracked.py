"""Logging a trained model to MLflow and passing it through the champion gate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

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
    register_as: str | None = None,
) -> tuple[RunInfo, GateDecision]:
    """Log the run (model with signature, metrics, baselines, plots) and apply the gate.

    The model registers as `register_as` (default: the family), e.g. one registered
    model per category within the propensity family."""
    register_as = register_as or family
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
    )
    decision = promote_if_better(
        register_as,
        info.registered_version,
        metric=gate.metric,
        higher_is_better=gate.higher_is_better,
        tolerance=gate.tolerance,
        calibration_metric=gate.calibration_metric,
        calibration_bound=gate.calibration_bound,
    )
    return info, decision
