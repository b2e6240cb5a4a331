"""Point-in-time customer 360 features, labels, training snapshots and segments (DuckDB SQL).

features = build_features(tables_or_dir, cutoff)          # one row per customer
labels = build_labels(tables_or_dir, cutoff)              # churn, spend, response
plan = plan_cutoffs(as_of, horizon_days=90, n_train=6)    # train < validation < holdout
frame = build_training_frame(tables_or_dir, plan, label="churn")
summary = segment_summary(features, labels)
"""

from crm_ml.features.builder import FeatureEngine, build_features, write_features
from crm_ml.features.catalog import CATALOG, FeatureSpec, describe
from crm_ml.features.config import FeatureConfig
from crm_ml.features.labels import (
    LabelConfig,
    build_category_labels,
    build_labels,
    compute_category_labels,
    compute_labels,
)
from crm_ml.features.segments import SegmentConfig, assign_segments, segment_summary
from crm_ml.features.snapshots import (
    CutoffPlan,
    attach_label,
    build_snapshots,
    build_training_frame,
    plan_cutoffs,
)

__all__ = [
    "CATALOG",
    "CutoffPlan",
    "FeatureConfig",
    "FeatureEngine",
    "FeatureSpec",
    "LabelConfig",
    "SegmentConfig",
    "assign_segments",
    "attach_label",
    "build_category_labels",
    "build_features",
    "build_labels",
    "build_snapshots",
    "build_training_frame",
    "compute_category_labels",
    "compute_labels",
    "describe",
    "plan_cutoffs",
    "segment_summary",
    "write_features",
]
