"""End to end on the synthetic world: generator -> contract loader -> features, labels, segments."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_ml.features import (
    build_features,
    build_labels,
    build_training_frame,
    plan_cutoffs,
    segment_summary,
)
from crm_ml.features.catalog import CUSTOMER_COLUMNS

synthetic = pytest.importorskip("crm_ml.datasets.synthetic")
contract = pytest.importorskip("crm_ml.contract")
# The tests load with the public development pseudonym key on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:CRM_ML_PSEUDONYM_KEY is not set")


@pytest.fixture(scope="module")
def accepted(tmp_path_factory):
    source = tmp_path_factory.mktemp("world")
    summary = synthetic.generate_world(
        source, customers=400, months=24, seed=1, show_progress=False
    )
    result = contract.load_tables(source, quarantine_dir=None, progress=False)
    return summary, result


def test_synthetic_world_gives_a_full_feature_table(accepted):
    summary, result = accepted
    cutoff = summary.default_cutoffs[-1]
    features = build_features(result, cutoff)
    assert features.attrs["skipped_groups"] == {}
    assert set(features.columns) - {"customer_id", "cutoff"} == set(CUSTOMER_COLUMNS)
    assert features["orders_lifetime"].gt(0).mean() > 0.5
    labels = build_labels(result, cutoff)
    churn = labels["churned"].dropna().astype(float).mean()
    assert 0.05 < churn < 0.95
    summary_table = segment_summary(features, labels)
    segments = summary_table[summary_table["dimension"] == "rfm_segment"].set_index("group")
    # Recent, frequent, valuable customers churn less than valuable ones who went quiet.
    assert segments.loc["high_value_loyal", "churn_rate"] < segments.loc["at_risk", "churn_rate"]


def test_synthetic_world_training_frame(accepted):
    summary, result = accepted
    plan = plan_cutoffs(summary.as_of, horizon_days=90, n_train=2)
    frame = build_training_frame(result, plan, label="churn")
    assert set(frame["split"]) == {"train", "validation", "holdout"}
    assert frame.groupby("split", observed=True)["cutoff"].max()["train"] < pd.Timestamp(
        plan.validation
    )
