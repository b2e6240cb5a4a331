"""The KPI scorecard: each service-plan target against the value this run measured.

Values come from what the notebooks recorded:
- core-customer churn: `02_features_segments` metric `core_churn_rate`;
- first response per ticket kind: `02_features_segments` table `sla_compliance`, the row of
  tier "all" when the notebook recorded one, else the ticket-weighted mean of the per-tier
  medians (an approximation of the overall median, said so on the card);
- recommendation conversion: `06_recommendations` metric `recommendation_conversion`;
- NPS: `02_features_segments` metric `nps`.
A KPI whose value is missing is shown as "not available in this run" (or, when the export
lacks the table it is measured from, says which), never as met.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from crm_ml.notebooks import Notebook
from crm_ml.pipeline.config import KpiTargets
from crm_ml.reports.formatting import Unit, finite_or_none, fmt, fmt_percent
from crm_ml.reports.run_data import RunData

Direction = Literal["max", "min"]  # max: the value must stay at or below the target
State = Literal["met", "not_met", "unavailable"]
ALL_TIERS = ("all", "overall", "total")


@dataclass(frozen=True)
class KpiSpec:
    key: str
    label: str
    target_field: str  # the KpiTargets field holding the target
    direction: Direction
    unit: Unit
    explanation: str
    needs: str | None = None  # the optional table the KPI is measured from


@dataclass(frozen=True)
class Kpi:
    spec: KpiSpec
    value: float | None
    target: float
    detail: str = ""
    why: str = "not available in this run"  # shown instead of a missing value

    @property
    def state(self) -> State:
        if self.value is None:
            return "unavailable"
        ok = (
            self.value <= self.target if self.spec.direction == "max" else self.value >= self.target
        )
        return "met" if ok else "not_met"

    @property
    def value_text(self) -> str:
        return self.why if self.value is None else fmt(self.value, self.spec.unit)

    @property
    def target_text(self) -> str:
        sign = "≤" if self.spec.direction == "max" else "≥"
        return f"{sign} {fmt(self.target, self.spec.unit)}"

    @property
    def state_text(self) -> str:
        return {"met": "Met", "not_met": "Not met", "unavailable": "No data"}[self.state]


KPI_SPECS: tuple[KpiSpec, ...] = (
    KpiSpec(
        "core_churn_rate",
        "Core-customer churn",
        "core_churn_rate_max",
        "max",
        "percent",
        "Share of core-tier customers who stopped buying in the last horizon.",
    ),
    KpiSpec(
        "complaint_first_response",
        "Complaint first response",
        "complaint_first_response_minutes",
        "max",
        "minutes",
        "Median time until a complaint gets its first answer.",
        "tickets",
    ),
    KpiSpec(
        "fault_first_response",
        "Fault first response",
        "fault_first_response_minutes",
        "max",
        "minutes",
        "Median time until a reported fault gets its first answer.",
        "tickets",
    ),
    KpiSpec(
        "consult_first_response",
        "Question first response",
        "consult_first_response_minutes",
        "max",
        "minutes",
        "Median time until a customer's question gets its first answer.",
        "tickets",
    ),
    KpiSpec(
        "recommendation_conversion",
        "Recommendation conversion",
        "recommendation_conversion_min",
        "min",
        "percent",
        "Share of customers who bought one of their top-10 recommendations (holdout).",
    ),
    KpiSpec(
        "nps",
        "Net Promoter Score",
        "nps_min",
        "min",
        "score",
        "Promoters minus detractors among survey answers, from −100 to 100.",
        "surveys",
    ),
)


def first_response(sla: pd.DataFrame | None, kind: str) -> tuple[float | None, str]:
    """Median first-response minutes of one ticket kind, and a line saying how it was read."""
    needed = {"kind", "median_first_response_minutes"}
    if sla is None or not needed <= set(sla.columns):
        return None, ""
    rows = sla[sla["kind"].astype(str) == kind]
    rows = rows[rows["median_first_response_minutes"].notna()]
    if rows.empty:
        return None, ""
    tier = next((c for c in ("tier", "service_tier") if c in rows.columns), None)
    if tier is not None:
        overall = rows[rows[tier].astype(str).str.lower().isin(ALL_TIERS)]
        rows = rows.drop(overall.index)
    else:
        overall = rows.iloc[0:0]
    if not overall.empty:
        row = overall.iloc[0]
        value = finite_or_none(row["median_first_response_minutes"])
        share = row.get("within_target_share")
        detail = f"{fmt_percent(share, 0)} within target" if finite_or_none(share) else ""
        return value, detail
    weights = rows["tickets"].astype(float) if "tickets" in rows else pd.Series(1.0, rows.index)
    if weights.sum() <= 0:
        return None, ""
    value = float((rows["median_first_response_minutes"] * weights).sum() / weights.sum())
    detail = "ticket-weighted across tiers"
    if "within_target_share" in rows:
        share = float((rows["within_target_share"] * weights).sum() / weights.sum())
        detail = f"{fmt_percent(share, 0)} within target; {detail}"
    return value, detail


def kpi_values(run: RunData) -> dict[str, tuple[float | None, str]]:
    """Each KPI's measured value (None when the run did not record it) and a detail line."""
    sla = run.table(Notebook.FEATURES_SEGMENTS, "sla_compliance")
    values: dict[str, Callable[[], tuple[float | None, str]]] = {
        "core_churn_rate": lambda: (
            finite_or_none(run.metric(Notebook.FEATURES_SEGMENTS, "core_churn_rate")),
            "",
        ),
        "complaint_first_response": lambda: first_response(sla, "complaint"),
        "fault_first_response": lambda: first_response(sla, "fault"),
        "consult_first_response": lambda: first_response(sla, "consult"),
        "recommendation_conversion": lambda: (
            finite_or_none(run.metric(Notebook.RECOMMENDATIONS, "recommendation_conversion")),
            "hit rate @ 10 of the best recommender",
        ),
        "nps": lambda: (finite_or_none(run.metric(Notebook.FEATURES_SEGMENTS, "nps")), ""),
    }
    return {key: get() for key, get in values.items()}


def build_scorecard(run: RunData, targets: KpiTargets) -> list[Kpi]:
    values = kpi_values(run)
    skipped = {"recommendation_conversion": run.skip_reason(Notebook.RECOMMENDATIONS)}
    return [
        Kpi(
            spec,
            values[spec.key][0],
            float(getattr(targets, spec.target_field)),
            values[spec.key][1] if values[spec.key][0] is not None else "",
            run.missing(spec.needs) or skipped.get(spec.key) or "not available in this run",
        )
        for spec in KPI_SPECS
    ]
