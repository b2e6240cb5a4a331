"""Notebook 02's work: the customer 360 now, segments, SLA compliance and NPS.

Two cutoffs serve two questions: the export date (who is where now, for scoring and the
report) and the holdout cutoff, whose horizon is observed, for the churn rate of each
segment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from crm_ml.features import FeatureEngine, assign_segments, compute_labels, segment_summary
from crm_ml.pipeline.config import RunConfig
from crm_ml.pipeline.data import accepted_as_of, ensure_accepted
from crm_ml.pipeline.paths import RunPaths
from crm_ml.pipeline.steps.frames import cutoff_plan, feature_config

SLA_WINDOW_DAYS = 365
CURRENT = "current.parquet"


@dataclass
class SegmentsOutcome:
    current: pd.DataFrame  # features + segments at the export date, one row per customer
    summary: pd.DataFrame  # segment_summary at the holdout cutoff (observed churn)
    sla: pd.DataFrame
    nps: float | None
    core_churn_rate: float | None
    figures: dict[str, Any] = field(default_factory=dict)
    nps_why: str = ""  # why nps is None

    def headline(self) -> str:
        """NPS and the core tier's churn rate in words, saying why either is missing."""
        nps = (
            f"NPS {self.nps:.0f}" if self.nps is not None else f"NPS not measured ({self.nps_why})"
        )
        core = (
            f"churn rate of core customers {self.core_churn_rate:.1%}"
            if self.core_churn_rate is not None
            else "no core-tier customers at the holdout cutoff"
        )
        sla = "" if not self.sla.empty else "; service levels not measured (no tickets table)"
        return f"{nps}; {core}{sla}"

    def table(self, dimension: str, name: str) -> pd.DataFrame:
        """One dimension of the summary, with the columns the report reads."""
        rows = self.summary[self.summary["dimension"] == dimension]
        return rows.rename(columns={"group": name})[
            [name, "rule", "customers", "customer_share", "revenue_share", "churn_rate"]
        ].reset_index(drop=True)


def sla_compliance(
    tickets: pd.DataFrame,
    tiers: pd.Series,
    targets: dict[str, dict[str, float]],
    as_of: pd.Timestamp,
) -> pd.DataFrame:
    """First-response compliance per ticket kind x service tier (plus tier "all").

    A ticket still unanswered at the export date counts as a breach once it has been open
    longer than its target, and is left out while its target has not yet passed.
    """
    window = tickets[tickets["opened_ts"] >= as_of - pd.Timedelta(days=SLA_WINDOW_DAYS)].copy()
    window["tier"] = window["customer_id"].map(tiers).astype("string").fillna("potential")
    window["target_minutes"] = [
        targets.get(tier, targets["regular"]).get(kind, np.nan)
        for tier, kind in zip(window["tier"], window["kind"], strict=True)
    ]
    answered = window["first_response_ts"].notna()
    minutes = (window["first_response_ts"] - window["opened_ts"]).dt.total_seconds() / 60
    waiting = (as_of - window["opened_ts"]).dt.total_seconds() / 60
    window["response_minutes"] = minutes
    window["within"] = np.where(answered, minutes <= window["target_minutes"], np.nan)
    overdue = ~answered & (waiting > window["target_minutes"])
    window.loc[overdue, "within"] = 0.0
    judged = window[window["within"].notna()]
    frames = [judged, judged.assign(tier="all")]
    stacked = pd.concat(frames, ignore_index=True)
    table = (
        stacked.groupby(["kind", "tier"], observed=True)
        .agg(
            tickets=("within", "size"),
            within_target_share=("within", "mean"),
            median_first_response_minutes=("response_minutes", "median"),
            target_minutes=("target_minutes", "median"),
        )
        .reset_index()
    )
    return table.astype({"kind": str, "tier": str})


def net_promoter_score(surveys: pd.DataFrame, as_of: pd.Timestamp) -> float | None:
    """NPS of each customer's latest answer in the last year: % promoters - % detractors."""
    recent = surveys[surveys["ts"] >= as_of - pd.Timedelta(days=365)]
    if recent.empty:
        return None
    latest = recent.sort_values("ts").groupby("customer_id").tail(1)["nps"].astype(float)
    return float(100 * ((latest >= 9).mean() - (latest <= 6).mean()))


def _share_chart(table: pd.DataFrame, name: str, title: str) -> Figure:
    fig = Figure(figsize=(8, 3.6))
    ax = fig.subplots()
    shown = table.set_index(name)[["customer_share", "revenue_share"]].clip(lower=0)
    shown.plot.barh(ax=ax, color=["#6c8ebf", "#d79b00"])
    ax.set_xlabel("share")
    ax.set_ylabel("")
    ax.set_title(title)
    ax.legend(["customers", "revenue (last 365 days)"], loc="lower right")
    ax.invert_yaxis()
    return fig


def with_segments(features: pd.DataFrame) -> pd.DataFrame:
    """Features plus each customer's RFM segment and lifecycle stage."""
    segments = assign_segments(features).drop(columns=["cutoff", "service_tier"], errors="ignore")
    return features.merge(segments, on="customer_id")


def build_current(paths: RunPaths, config: RunConfig) -> pd.DataFrame:
    """Features and segments of every customer at the export date (what scoring reads)."""
    ensure_accepted(paths, config)
    as_of = pd.Timestamp(accepted_as_of(paths))
    with FeatureEngine(paths.accepted, feature_config(config)) as engine:
        current = with_segments(engine.features(as_of))
    current.to_parquet(paths.features / CURRENT, index=False)
    return current


def run_segments(paths: RunPaths, config: RunConfig) -> SegmentsOutcome:
    """The customer 360 now, with segments, and what each segment did after the holdout
    cutoff: notebook 02's tables in one call.

    Validates the raw exports first if the run has no accepted tables yet, and writes the
    current features and segments to ``current.parquet`` in ``paths.features`` (what
    scoring and the recommenders read).

    Parameters
    ----------
    paths : RunPaths
        The run's folders.
    config : RunConfig
        The run configuration: the data source, the feature settings (with the SLA
        targets per service tier) and the cutoff plan.

    Returns
    -------
    SegmentsOutcome
        ``current`` (features + segments at the export date), ``summary`` (per segment,
        lifecycle stage and service tier at the holdout cutoff, with its observed churn
        rate; read one dimension with ``outcome.table(dimension, name)``), ``sla``
        (first-response compliance; empty without a tickets table), ``nps`` (None without
        survey answers in the last year, ``nps_why`` says why), ``core_churn_rate`` and
        the ``"segments"`` and ``"lifecycle"`` figures.

    Raises
    ------
    ContractError
        When the raw exports cannot be taken (see `crm_ml.pipeline.data.ensure_accepted`).

    Examples
    --------
    >>> outcome = run_segments(ctx.paths, ctx.config)  # doctest: +SKIP
    >>> outcome.table("rfm_segment", "segment")  # doctest: +SKIP
    >>> print(outcome.headline())  # doctest: +SKIP
    """
    ensure_accepted(paths, config)
    as_of = pd.Timestamp(accepted_as_of(paths))
    holdout_cutoff = cutoff_plan(paths, config).holdout
    fconfig = feature_config(config)
    with FeatureEngine(paths.accepted, fconfig) as engine:
        current = with_segments(engine.features(as_of))
        then = engine.features(holdout_cutoff)
        labels = compute_labels(engine, holdout_cutoff)
    current.to_parquet(paths.features / CURRENT, index=False)
    summary = segment_summary(then, labels)
    tiers = current.set_index("customer_id")["service_tier"]
    sla = pd.DataFrame()
    tickets_file = paths.accepted / "tickets.parquet"
    if tickets_file.exists():
        targets = {t: dict(k) for t, k in fconfig.sla_target_minutes.items()}
        sla = sla_compliance(pd.read_parquet(tickets_file), tiers, targets, as_of)
    surveys_file = paths.accepted / "surveys.parquet"
    nps, nps_why = None, "the export has no surveys table"
    if surveys_file.exists():
        nps = net_promoter_score(pd.read_parquet(surveys_file), as_of)
        nps_why = "no survey answers in the last 365 days"
    core = summary[(summary["dimension"] == "service_tier") & (summary["group"] == "core")]
    core_churn = float(core["churn_rate"].iloc[0]) if len(core) else None
    outcome = SegmentsOutcome(current, summary, sla, nps, core_churn, nps_why=nps_why)
    outcome.figures = {
        "segments": _share_chart(
            outcome.table("rfm_segment", "segment"), "segment", "RFM segments"
        ),
        "lifecycle": _share_chart(
            outcome.table("lifecycle_stage", "lifecycle_stage"),
            "lifecycle_stage",
            "Lifecycle stages",
        ),
    }
    return outcome
