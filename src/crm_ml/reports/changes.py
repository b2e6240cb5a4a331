"""What changed since the previous run: KPI and headline-metric deltas, better or worse."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from crm_ml.notebooks import Notebook
from crm_ml.reports.formatting import MISSING, Unit, finite_or_none, fmt, fmt_pp, fmt_score
from crm_ml.reports.run_data import RunData
from crm_ml.reports.scorecard import KPI_SPECS, kpi_values

Better = Literal["higher", "lower", "neutral"]
Trend = Literal["better", "worse", "same", "unknown"]


@dataclass(frozen=True)
class Headline:
    notebook: str
    metric: str
    label: str
    unit: Unit
    better: Better


HEADLINES: tuple[Headline, ...] = (
    Headline(Notebook.DATA_QUALITY, "rows_accepted", "Rows accepted", "count", "neutral"),
    Headline(Notebook.DATA_QUALITY, "rows_quarantined", "Rows quarantined", "count", "lower"),
    Headline(
        Notebook.CHURN, "holdout_roc_auc", "Churn model ROC AUC (holdout)", "decimal", "higher"
    ),
    Headline(Notebook.CHURN, "ece", "Churn calibration error (ECE)", "decimal", "lower"),
    Headline(
        Notebook.CHURN, "baselines_not_beaten", "Churn baselines not beaten", "count", "lower"
    ),
    Headline(
        Notebook.PROPENSITY_UPLIFT,
        "qini_coefficient",
        "Uplift Qini coefficient",
        "decimal",
        "higher",
    ),
    Headline(
        Notebook.RECOMMENDATIONS,
        "best_recall_at_10",
        "Best recommender recall @ 10",
        "percent",
        "higher",
    ),
    Headline(Notebook.SCORING, "drift_alerts", "Drift alerts", "count", "lower"),
)


@dataclass(frozen=True)
class Change:
    label: str
    previous: str
    current: str
    delta: str
    trend: Trend


def _delta_text(delta: float, unit: Unit) -> str:
    if unit == "percent":
        return fmt_pp(delta)
    if unit == "minutes":
        return f"{delta:+,.0f} min"
    if unit == "count":
        return f"{round(delta):+,}"
    if unit == "score":
        return ("+" if delta > 0 else "") + fmt_score(delta)
    return f"{delta:+,.3f}"


def _change(
    label: str, prev: float | None, cur: float | None, unit: Unit, better: Better
) -> Change:
    if prev is None or cur is None:
        trend: Trend = "unknown"
        delta = MISSING
    else:
        diff = cur - prev
        delta = _delta_text(diff, unit)
        if abs(diff) < 1e-12 or better == "neutral":
            trend = "same"
        else:
            trend = "better" if (diff > 0) == (better == "higher") else "worse"
    cur_text = MISSING if cur is None else fmt(cur, unit)
    prev_text = MISSING if prev is None else fmt(prev, unit)
    return Change(label, prev_text, cur_text, delta, trend)


def compare_runs(current: RunData, previous: RunData) -> list[Change]:
    """KPI and headline-metric changes from `previous` to `current`."""
    cur_kpis, prev_kpis = kpi_values(current), kpi_values(previous)
    changes = [
        _change(
            spec.label,
            prev_kpis[spec.key][0],
            cur_kpis[spec.key][0],
            spec.unit,
            "lower" if spec.direction == "max" else "higher",
        )
        for spec in KPI_SPECS
    ]
    for h in HEADLINES:
        prev = finite_or_none(previous.metric(h.notebook, h.metric))
        cur = finite_or_none(current.metric(h.notebook, h.metric))
        if prev is not None or cur is not None:
            changes.append(_change(h.label, prev, cur, h.unit, h.better))
    return changes
