"""Rolling monthly cutoffs split by time, and the stacked training frame."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_ml.features import (
    attach_label,
    build_features,
    build_labels,
    build_snapshots,
    build_training_frame,
    plan_cutoffs,
)


@settings(max_examples=200, deadline=None)
@given(
    as_of=st.datetimes(min_value=pd.Timestamp("2015-01-01"), max_value=pd.Timestamp("2030-01-01")),
    horizon_days=st.integers(1, 200),
    n_train=st.integers(1, 12),
    separate=st.booleans(),
)
def test_plan_is_time_ordered_and_holdout_horizon_observed(as_of, horizon_days, n_train, separate):
    as_of = pd.Timestamp(as_of, tz="UTC")
    plan = plan_cutoffs(as_of, horizon_days, n_train, separate_horizons=separate)
    horizon = pd.Timedelta(days=horizon_days)
    cutoffs = [c for c, _ in plan.items()]
    assert len(plan.train) == n_train
    assert cutoffs == sorted(cutoffs) and len(set(cutoffs)) == len(cutoffs)
    assert all(c.day == 1 and c == c.normalize() for c in cutoffs)
    assert plan.holdout + horizon <= as_of
    assert plan.holdout + pd.DateOffset(months=1) + horizon > as_of, "holdout is not the latest"
    if separate:
        assert plan.validation + horizon <= plan.holdout
        assert plan.train[-1] + horizon <= plan.validation
    frame = plan.as_frame()
    assert frame["split"].tolist() == ["train"] * n_train + ["validation", "holdout"]


def test_plan_example():
    plan = plan_cutoffs("2024-01-15", horizon_days=90, n_train=3)
    assert plan.holdout == pd.Timestamp("2023-10-01", tz="UTC")
    assert plan.validation == pd.Timestamp("2023-07-01", tz="UTC")
    assert [c.month for c in plan.train] == [2, 3, 4]


def test_training_frame_stacks_features_and_labels(world):
    plan = plan_cutoffs("2024-01-01", horizon_days=90, n_train=2)
    frame = build_training_frame(world, plan, label="churn")
    assert set(frame["split"]) == {"train", "validation", "holdout"}
    assert frame.groupby("split", observed=True)["cutoff"].nunique().to_dict() == {
        "train": 2,
        "validation": 1,
        "holdout": 1,
    }
    assert set(frame["label"].unique()) <= {0, 1}
    assert frame.attrs["label"] == "churn"
    # One cutoff of the stack equals the stand-alone feature and label builders.
    holdout = frame[frame["split"] == "holdout"].set_index("customer_id")
    features = build_features(world, plan.holdout).set_index("customer_id")
    labels = build_labels(world, plan.holdout).set_index("customer_id")
    active = labels.index[labels["is_active"]]
    assert set(holdout.index) == set(active)
    pd.testing.assert_frame_equal(
        holdout[features.columns], features.loc[holdout.index], check_categorical=False, rtol=1e-9
    )
    assert (holdout["label"] == labels.loc[holdout.index, "churned"].astype(int)).all()


def test_training_frame_accepts_a_mapping_and_checks_time_order(world):
    frame = build_training_frame(
        world, {"train": ["2023-01-01"], "validation": ["2023-04-01"]}, label="spend"
    )
    assert set(frame["split"]) == {"train", "validation"}
    assert frame["label"].dtype == float
    with pytest.raises(ValueError, match="train cutoffs must come before"):
        build_training_frame(world, {"train": ["2023-05-01"], "validation": ["2023-04-01"]})
    with pytest.raises(ValueError, match="unknown split"):
        build_training_frame(world, {"test": ["2023-05-01"]})


def test_one_stack_of_snapshots_serves_every_label(world):
    """Features are computed once; each label keeps its own rows, in time order."""
    plan = plan_cutoffs("2024-01-01", horizon_days=90, n_train=2)
    stack = build_snapshots(world, plan)
    assert "label" not in stack and len(stack) > 0
    churn = attach_label(world, stack, "churn", horizon_days=90)
    spend = attach_label(world, stack, "spend", horizon_days=90)
    assert len(churn) < len(spend) <= len(stack)  # churn is defined for active customers only
    assert churn["cutoff"].is_monotonic_increasing
    for label, frame in (("churn", churn), ("spend", spend)):
        expected = build_training_frame(world, plan, label=label)
        pd.testing.assert_frame_equal(frame, expected)
        assert frame.attrs["label"] == label
