"""Segment, lifecycle and tier rules on hand-made feature rows, and the summary table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_ml.features import assign_segments, build_features, build_labels, segment_summary
from crm_ml.features.segments import LIFECYCLE_STAGES, RFM_SEGMENTS, SegmentConfig, rfm_scores

NAN = np.nan
COLUMNS = [
    "customer_id",
    "tenure_days",
    "days_since_last_order",
    "orders_90d",
    "orders_365d",
    "orders_lifetime",
    "net_spend_365d",
    "order_count_change_90d",
    "days_since_last_order_vs_usual_gap",
    "service_tier",
]


def _frame(rows):
    return pd.DataFrame(rows, columns=COLUMNS)


# Ten recent buyers spread evenly so quintiles are exact: buyer i has recency 10*i days,
# i+1 orders and spend 100*(i+1); buyer 0 is the most recent, buyer 9 the most frequent.
BUYERS = [
    (f"b{i}", 800.0, 10.0 * i + 1, 1.0, i + 1.0, i + 1.0, 100.0 * (i + 1), 0.0, 0.5, "regular")
    for i in range(10)
]


def test_rfm_scores_are_quintiles_among_recent_buyers():
    frame = _frame([*BUYERS, ("x", 800.0, 500.0, 0.0, 0.0, 3.0, 0.0, 0.0, NAN, "potential")])
    scores = rfm_scores(frame)
    assert scores["r_score"].tolist()[:10] == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert scores["f_score"].tolist()[:10] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert scores.iloc[10].isna().all()


def test_tied_values_share_a_score():
    tied = [(f"t{i}", 800.0, 5.0, 1.0, 2.0, 2.0, 50.0, 0.0, 0.5, "regular") for i in range(7)]
    scores = rfm_scores(_frame(tied))
    assert scores.nunique().tolist() == [1, 1, 1]


def test_named_segments_follow_the_rules():
    rows = [
        ("recent_frequent_rich", 800.0, 1.0, 3.0, 30.0, 40.0, 9000.0, 0.0, 0.1, "core"),
        ("old_frequent_rich", 800.0, 300.0, 0.0, 30.0, 40.0, 9000.0, -2.0, 3.0, "core"),
        ("old_rare_poor", 800.0, 300.0, 0.0, 1.0, 5.0, 1.0, 0.0, 1.1, "regular"),
        ("recent_rare", 800.0, 1.0, 1.0, 1.0, 1.0, 9000.0, 1.0, NAN, "regular"),
        ("lapsed", 800.0, 400.0, 0.0, 0.0, 4.0, 0.0, 0.0, 2.0, "potential"),
        ("never", 800.0, NAN, 0.0, 0.0, 0.0, 0.0, 0.0, NAN, "potential"),
        ("fresh", 20.0, 5.0, 1.0, 1.0, 1.0, 10.0, 1.0, NAN, "regular"),
    ]
    segments = assign_segments(_frame([*BUYERS, *rows])).set_index("customer_id")
    assert segments.loc["recent_frequent_rich", "rfm_segment"] == "high_value_loyal"
    assert segments.loc["old_frequent_rich", "rfm_segment"] == "at_risk"
    assert segments.loc["old_rare_poor", "rfm_segment"] == "sleeping"
    assert segments.loc["recent_rare", "rfm_segment"] == "potential_growth"
    assert segments.loc["lapsed", "rfm_segment"] == "lost"
    assert segments.loc["never", "rfm_segment"] == "prospect"
    assert segments.loc["fresh", "rfm_segment"] == "new"
    assert segments.loc["b5", "rfm_segment"] == "steady"


def test_lifecycle_stages_follow_the_rules():
    rows = [
        ("lapsed", 800.0, 400.0, 0.0, 0.0, 4.0, 0.0, 0.0, 2.0, "potential"),
        ("never_old", 400.0, NAN, 0.0, 0.0, 0.0, 0.0, 0.0, NAN, "potential"),
        ("never_young", 200.0, NAN, 0.0, 0.0, 0.0, 0.0, 0.0, NAN, "potential"),
        ("fresh", 20.0, 5.0, 1.0, 1.0, 1.0, 10.0, 1.0, NAN, "regular"),
        ("overdue", 800.0, 100.0, 0.0, 3.0, 9.0, 90.0, 0.0, 2.5, "regular"),
        ("stopped", 800.0, 100.0, 0.0, 3.0, 9.0, 90.0, -2.0, 1.2, "regular"),
        ("first_year", 200.0, 10.0, 2.0, 4.0, 4.0, 90.0, 1.0, 0.5, "regular"),
        ("steady_old", 800.0, 10.0, 2.0, 8.0, 20.0, 90.0, 0.0, 0.5, "regular"),
    ]
    stages = assign_segments(_frame(rows)).set_index("customer_id")["lifecycle_stage"]
    assert stages.to_dict() == {
        "lapsed": "churned",
        "never_old": "churned",
        "never_young": "acquisition",
        "fresh": "acquisition",
        "overdue": "decline",
        "stopped": "decline",
        "first_year": "growth",
        "steady_old": "mature",
    }
    tighter = SegmentConfig(overdue_ratio=3.0)
    assert (
        assign_segments(_frame(rows), tighter)
        .set_index("customer_id")
        .loc["overdue", "lifecycle_stage"]
        == "mature"
    )


def test_segments_need_rfm_columns():
    with pytest.raises(ValueError, match="orders_365d"):
        assign_segments(pd.DataFrame({"customer_id": ["a"], "tenure_days": [1.0]}))


def test_summary_counts_revenue_and_churn(world, cutoff):
    features = build_features(world, cutoff)
    labels = build_labels(world, cutoff)
    summary = segment_summary(features, labels)
    assert list(summary.columns) == [
        "dimension",
        "group",
        "rule",
        "customers",
        "customer_share",
        "revenue_365d",
        "revenue_share",
        "churn_rate",
    ]
    for dimension, groups in {
        "rfm_segment": RFM_SEGMENTS,
        "lifecycle_stage": LIFECYCLE_STAGES,
        "service_tier": ("core", "regular", "potential"),
    }.items():
        part = summary[summary["dimension"] == dimension]
        assert part["group"].tolist() == list(groups)
        assert part["customers"].sum() == len(features)
        assert part["revenue_365d"].sum() == pytest.approx(features["net_spend_365d"].sum())
        assert part["revenue_share"].sum() == pytest.approx(1.0)
        assert part["rule"].str.len().gt(5).all()
    lost = summary[(summary["dimension"] == "rfm_segment") & (summary["group"] == "lost")]
    assert np.isnan(lost["churn_rate"].iloc[0])  # not active: churn undefined
    tiers = summary[summary["dimension"] == "service_tier"].set_index("group")
    merged = features.merge(labels, on=["customer_id", "cutoff"])
    core = merged[merged["service_tier"] == "core"]
    assert tiers.loc["core", "churn_rate"] == pytest.approx(core["churned"].astype(float).mean())
    assert np.isnan(segment_summary(features)["churn_rate"]).all()
