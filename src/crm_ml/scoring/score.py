"""Scoring every current customer with the registered models.

One table per customer: segment, lifecycle stage, tier, consent, churn probability with
its three reasons, 12-month CLV (with the chance of spending in the horizon and the
amount's 80% interval if they do), campaign uplift and the next best offer. Everything comes
from registered models (`champion`), so a scheduled refresh trains nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crm_ml.models import reason_codes
from crm_ml.scoring.champions import ScoringModel, scoring_model
from crm_ml.scoring.drift import drift_table
from crm_ml.tracking.scope import ModelScope

log = logging.getLogger(__name__)

PROFILE_COLUMNS = [
    "customer_id",
    "rfm_segment",
    "lifecycle_stage",
    "service_tier",
    "marketing_consent",
    "net_spend_365d",
    "days_since_last_order",
]
CLV_MONTHS_PER_HORIZON = 12 / 3  # the spend model predicts a 90-day horizon
SPEND_INTERVAL_COLUMNS = {"p_spend": "p_spend", "low": "spend_low", "high": "spend_high"}


@dataclass
class ScoringResult:
    scores: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # family -> "champion v3"


def score_customers(
    current: pd.DataFrame,
    scope: ModelScope,
    allow_challenger: bool = False,
    progress: bool = False,
    staged: Mapping[str, str] | None = None,
    unregistered: Mapping[str, Any] | None = None,
) -> ScoringResult:
    """Churn with reasons, CLV and uplift for every row of `current` (features + segments),
    with the models of `scope` (`crm_ml.scoring.champions.scoring_model`). The column
    `scored_with` says which model of each family scored the row (champion or challenger,
    and its version), so challenger scores are marked in the file itself. `unregistered`:
    family -> a model this run trained without registering (a dev run), used first."""
    unregistered = unregistered or {}
    result = ScoringResult(
        current[[c for c in PROFILE_COLUMNS if c in current]]
        .rename(columns={"rfm_segment": "segment", "net_spend_365d": "total_spend_365d"})
        .reset_index(drop=True)
    )
    if "marketing_consent" in result.scores:
        # unknown consent is no consent
        consent = result.scores["marketing_consent"].astype("Float64").fillna(0)
        result.scores["marketing_consent"] = consent.astype(bool).to_numpy()
    churn = scoring_model(
        "churn", allow_challenger, scope, staged=staged, unregistered=unregistered.get("churn")
    )
    if churn is None:
        raise LookupError("no churn model is registered for this data: run `crm-ml run` first")
    _remember(result, "churn", churn)
    X = churn.model.prepare(current)
    reasons = reason_codes(churn.model.python_model, X, progress=progress).reset_index(drop=True)
    result.scores["churn_probability"] = reasons["score"].to_numpy()
    for i in (1, 2, 3):
        result.scores[f"reason_{i}"] = reasons[f"reason_{i}"].astype(str).to_numpy()
    for family, column, scale in (
        ("clv", "clv_12m", CLV_MONTHS_PER_HORIZON),
        ("uplift", "uplift", 1),
    ):
        found = scoring_model(
            family,
            allow_challenger,
            scope,
            required=False,
            staged=staged,
            unregistered=unregistered.get(family),
        )
        if found is None:
            result.scores[column] = np.nan
            result.notes.append(
                f"No usable {family} model for this data (no champion yet): {column} is not scored."
            )
            continue
        _remember(result, family, found)
        result.scores[column] = np.asarray(found.model.predict(current), dtype=float) * scale
        if family == "clv":
            _add_spend_interval(result.scores, current, found)
    result.scores["scored_with"] = "; ".join(f"{f} {s}" for f, s in result.labels.items())
    return result


def _add_spend_interval(scores: pd.DataFrame, current: pd.DataFrame, found: ScoringModel) -> None:
    """The chance of spending in the horizon and the amount's interval if they do
    (`crm_ml.models.intervals`), where the spend model carries one (models of earlier
    releases do not: the columns are then missing, not guessed)."""
    spend_model = found.model.python_model
    if getattr(spend_model, "interval", None) is None:
        return
    interval = spend_model.predict_interval(found.model.prepare(current))
    for source, column in SPEND_INTERVAL_COLUMNS.items():
        scores[column] = interval[source].to_numpy()


def _remember(result: ScoringResult, family: str, found: ScoringModel) -> None:
    result.versions[family] = found.model.version
    result.labels[family] = found.label
    if found.note:
        result.notes.append(found.note)


def risk_by_segment(scores: pd.DataFrame, high_risk: float = 0.5) -> pd.DataFrame:
    """Customers, mean churn probability and the share above `high_risk`, per segment."""
    active = scores
    if "lifecycle_stage" in scores:  # the lapsed are already gone
        active = scores[scores["lifecycle_stage"].astype(str) != "churned"]
    table = active.groupby("segment", observed=True).agg(
        customers=("churn_probability", "size"),
        mean_churn_probability=("churn_probability", "mean"),
        high_risk_share=("churn_probability", lambda p: float((p >= high_risk).mean())),
    )
    return table.reset_index().astype({"segment": str})


def score_drift(previous: pd.DataFrame, current: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """PSI of every numeric feature and score between the previous and this run."""
    numeric = [
        c
        for c in current.columns
        if c in previous.columns and pd.api.types.is_numeric_dtype(current[c])
    ]
    return drift_table(previous[numeric], current[numeric], threshold=threshold)
