"""RFM scores, named segments, lifecycle stages and service tiers from a feature table.

RFM scores are quintiles (1 = worst, 5 = best) among customers with a purchase in the last
365 days: R from `days_since_last_order` (more recent is better), F from `orders_365d`,
M from `net_spend_365d`. Ties get the same score. Customers without a purchase in the last
year have no scores.

Named segments (`rfm_segment`), first matching rule wins:
    new               tenure below `new_customer_days` (default 90)
    prospect          never placed a purchase order
    lost              no purchase in the last 365 days
    high_value_loyal  R >= 4 and F >= 4 and M >= 4
    at_risk           R <= 2 and (F >= 4 or M >= 4): valuable customers slipping away
    sleeping          R <= 2: infrequent, low-value and not recent
    potential_growth  R >= 4 and F <= 3: bought recently, not yet often
    steady            everyone else (middle recency, or frequent but lower value)

Lifecycle stage (`lifecycle_stage`), first matching rule wins:
    churned      bought before but not in the last 365 days, or never bought within 365
                 days of signing up
    acquisition  signed up less than `new_customer_days` ago, or not yet bought
    decline      overdue: days since the last order >= `overdue_ratio` (default 2) times the
                 usual gap, or bought in the previous 90 days but not in the last 90
    growth       still in the first `growth_tenure_days` (default 365) after signup
    mature       everyone else

Service tier (`service_tier`) comes from the feature table, where
`sql/groups/service_tier.sql` computes it as of the cutoff (it picks first-response
targets, so the service groups read it): core = top `FeatureConfig.core_tier_share` (20%)
of last-year spenders by net spend, regular = any other customer with a purchase in the
last 365 days, potential = no purchase in the last 365 days.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from crm_ml.features.config import SERVICE_TIERS

RFM_SEGMENTS = (
    "new",
    "prospect",
    "lost",
    "high_value_loyal",
    "at_risk",
    "sleeping",
    "potential_growth",
    "steady",
)
LIFECYCLE_STAGES = ("acquisition", "growth", "mature", "decline", "churned")
RULES: dict[str, dict[str, str]] = {
    "rfm_segment": {
        "new": "signed up less than {new_customer_days} days ago",
        "prospect": "never placed a purchase order",
        "lost": "no purchase in the last 365 days",
        "high_value_loyal": "R, F and M scores all 4 or 5",
        "at_risk": "R score 1-2 with F or M score 4-5",
        "sleeping": "R score 1-2, lower frequency and value",
        "potential_growth": "R score 4-5 with F score 1-3",
        "steady": "all other recent buyers",
    },
    "lifecycle_stage": {
        "acquisition": "signed up less than {new_customer_days} days ago or not yet bought",
        "growth": "first {growth_tenure_days} days after signup, buying on rhythm",
        "mature": "past the first {growth_tenure_days} days, buying on rhythm",
        "decline": "overdue ({overdue_ratio}x the usual gap) or stopped buying in the last 90 days",
        "churned": "no purchase in the last 365 days",
    },
    "service_tier": {
        "core": "top share of last-year spenders (FeatureConfig.core_tier_share)",
        "regular": "other customers with a purchase in the last 365 days",
        "potential": "no purchase in the last 365 days",
    },
}
NEEDED = (
    "customer_id",
    "tenure_days",
    "days_since_last_order",
    "orders_90d",
    "orders_365d",
    "orders_lifetime",
    "net_spend_365d",
    "order_count_change_90d",
    "days_since_last_order_vs_usual_gap",
)


@dataclass(frozen=True)
class SegmentConfig:
    """Thresholds of the segment and lifecycle rules (see the module docstring)."""

    new_customer_days: int = 90
    growth_tenure_days: int = 365
    overdue_ratio: float = 2.0


def _quintile(values: pd.Series) -> pd.Series:
    """1..5 by percentile rank; tied values share a score."""
    pct = values.rank(method="average", pct=True)
    return np.ceil(pct * 5).clip(1, 5).astype("Int64")


def rfm_scores(features: pd.DataFrame) -> pd.DataFrame:
    """r_score, f_score, m_score (Int64, NA without a purchase in 365 days), same index."""
    _require(features, NEEDED)
    buyers = features["orders_365d"] > 0
    scores = pd.DataFrame(
        index=features.index, columns=["r_score", "f_score", "m_score"], dtype="Int64"
    )
    scores.loc[buyers, "r_score"] = _quintile(-features.loc[buyers, "days_since_last_order"])
    scores.loc[buyers, "f_score"] = _quintile(features.loc[buyers, "orders_365d"])
    scores.loc[buyers, "m_score"] = _quintile(features.loc[buyers, "net_spend_365d"])
    return scores


def assign_segments(features: pd.DataFrame, config: SegmentConfig | None = None) -> pd.DataFrame:
    """customer_id, cutoff, r/f/m scores, rfm_segment, lifecycle_stage, service_tier."""
    config = config or SegmentConfig()
    scores = rfm_scores(features)
    r, f, m = (scores[c].fillna(0).astype(int) for c in ("r_score", "f_score", "m_score"))
    tenure = features["tenure_days"]
    never_bought = features["orders_lifetime"] == 0
    no_recent = features["orders_365d"] == 0
    segment = np.select(
        [
            tenure < config.new_customer_days,
            never_bought,
            no_recent,
            (r >= 4) & (f >= 4) & (m >= 4),
            (r <= 2) & ((f >= 4) | (m >= 4)),
            r <= 2,
            (r >= 4) & (f <= 3),
        ],
        RFM_SEGMENTS[:-1],
        default=RFM_SEGMENTS[-1],
    )
    overdue = features["days_since_last_order_vs_usual_gap"] >= config.overdue_ratio
    stopped = (features["orders_90d"] == 0) & (features["order_count_change_90d"] < 0)
    stage = np.select(
        [
            (~never_bought & no_recent) | (never_bought & (tenure >= 365)),
            (tenure < config.new_customer_days) | never_bought,
            overdue | stopped,
            tenure < config.growth_tenure_days,
        ],
        ["churned", "acquisition", "decline", "growth"],
        default="mature",
    )
    out = features[[c for c in ("customer_id", "cutoff") if c in features]].copy()
    out = out.join(scores)
    out["rfm_segment"] = pd.Categorical(segment, categories=RFM_SEGMENTS)
    out["lifecycle_stage"] = pd.Categorical(stage, categories=LIFECYCLE_STAGES)
    if "service_tier" in features:
        out["service_tier"] = pd.Categorical(features["service_tier"], categories=SERVICE_TIERS)
    return out


def segment_summary(
    features: pd.DataFrame,
    labels: pd.DataFrame | None = None,
    config: SegmentConfig | None = None,
) -> pd.DataFrame:
    """Notebook-ready table: per segment, lifecycle stage and service tier, the rule,
    customers, share of customers, last-year revenue (net spend) and its share, and - when
    `labels` (with customer_id and churned, e.g. from labels.compute_labels) are given - the
    churn rate among active customers.
    """
    config = config or SegmentConfig()
    segments = assign_segments(features, config)
    segments["revenue_365d"] = features["net_spend_365d"].to_numpy()
    segments["churned"] = np.nan
    if labels is not None:
        keys = [k for k in ("customer_id", "cutoff") if k in labels and k in segments]
        churn = segments[keys].merge(labels[[*keys, "churned"]], on=keys, how="left")["churned"]
        segments["churned"] = churn.astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
    total_customers = len(segments)
    total_revenue = segments["revenue_365d"].sum()
    rows = []
    for dimension, rules in RULES.items():
        if dimension not in segments:
            continue
        grouped = segments.groupby(dimension, observed=False)
        table = pd.DataFrame(
            {
                "customers": grouped.size(),
                "revenue_365d": grouped["revenue_365d"].sum(),
                "churn_rate": grouped["churned"].mean(),
            }
        )
        table["customer_share"] = table["customers"] / max(total_customers, 1)
        table["revenue_share"] = table["revenue_365d"] / total_revenue if total_revenue else np.nan
        table["rule"] = [rules[name].format(**vars(config)) for name in table.index]
        rows.append(table.rename_axis("group").reset_index().assign(dimension=dimension))
    columns = [
        "dimension",
        "group",
        "rule",
        "customers",
        "customer_share",
        "revenue_365d",
        "revenue_share",
        "churn_rate",
    ]
    out = pd.concat(rows, ignore_index=True)[columns]
    out["group"] = out["group"].astype(str)
    return out


def _require(features: pd.DataFrame, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in features]
    if missing:
        raise ValueError(
            f"segments need feature columns {missing} (groups rfm and purchase_rhythm of "
            "crm_ml.features.build_features)"
        )
