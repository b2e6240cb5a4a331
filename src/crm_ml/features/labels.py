"""Labels as of a cutoff, looking only at the horizon [cutoff, cutoff + horizon).

A row dated exactly at the cutoff belongs to the horizon (features use ts < cutoff), so
features and labels never share a row. The only look before the cutoff is churn's
"active in the 365 days before" condition. Definitions are in `sql/labels/labels.sql`:

- churn: among active customers (a purchase in the prior 365 days), no purchase order in
  the horizon; undefined (NA) for inactive customers, who are dropped from churn frames.
- spend_horizon (CLV target): net of returns - all order lines dated in the horizon,
  purchases minus returns; a return of an earlier purchase lowers it.
- campaign_responded: for customers contacted in the horizon, whether any such contact got
  a response before the horizon ends; NA when not contacted (dropped from response frames).
- category purchase (propensity / cross-sell): long format, one row per customer and
  category (`sql/labels/category_labels.sql`), because the category list differs between
  datasets and a long frame needs no data-dependent column names; pivot it for a wide view.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from crm_ml.features.builder import FeatureEngine, as_utc_timestamp
from crm_ml.features.config import FeatureConfig
from crm_ml.features.groups import STEPS
from crm_ml.features.sources import TablesInput

log = logging.getLogger(__name__)

LABELS = STEPS["labels"]
CATEGORY_LABELS = STEPS["category_labels"]
LABEL_COLUMNS = {
    "churn": "churned",
    "spend": "spend_horizon",
    "campaign_response": "campaign_responded",
}
CATEGORY_PREFIX = "category:"


@dataclass(frozen=True)
class LabelConfig:
    """horizon_days: length of the label window after the cutoff."""

    horizon_days: int = 90

    def __post_init__(self) -> None:
        if self.horizon_days <= 0:
            raise ValueError(f"LabelConfig.horizon_days must be positive, got {self.horizon_days}")

    def horizon_end(self, cutoff: pd.Timestamp) -> pd.Timestamp:
        return cutoff + pd.Timedelta(days=self.horizon_days)


def compute_labels(
    engine: FeatureEngine, cutoff: str | datetime | pd.Timestamp, config: LabelConfig | None = None
) -> pd.DataFrame:
    """Customer-level labels for every customer signed up before `cutoff`.

    Columns: customer_id, cutoff, is_active, churned, orders_horizon, spend_horizon,
    campaign_contacts_horizon, campaign_responded (nullable booleans where undefined).
    """
    config = config or LabelConfig()
    cutoff = as_utc_timestamp(cutoff)
    params = engine.stage(
        cutoff, LABELS.inputs, horizon_end=config.horizon_end(cutoff).to_pydatetime()
    )
    frame = engine.run(LABELS.sql + "\nORDER BY customer_id", params).df()
    out = pd.DataFrame(
        {
            "customer_id": frame["customer_id"].astype("string[pyarrow]"),
            "cutoff": pd.Series(cutoff, index=frame.index, dtype="datetime64[ns, UTC]"),
            "is_active": frame["is_active"].astype("boolean"),
            "churned": frame["churned"].astype("boolean"),
            "orders_horizon": frame["orders_horizon"].astype("int64"),
            "spend_horizon": frame["spend_horizon"].astype("float64"),
            "campaign_contacts_horizon": frame["campaign_contacts_horizon"].astype("int64"),
            "campaign_responded": frame["campaign_responded"].astype("boolean"),
        }
    )
    if not engine.sources.has("contacts", "responded_ts"):
        # Without response times every contact would look unanswered.
        out["campaign_responded"] = pd.array([pd.NA] * len(out), dtype="boolean")
    return out


def compute_category_labels(
    engine: FeatureEngine, cutoff: str | datetime | pd.Timestamp, config: LabelConfig | None = None
) -> pd.DataFrame:
    """Long category-purchase labels: customer_id, cutoff, category, purchased (bool)."""
    config = config or LabelConfig()
    cutoff = as_utc_timestamp(cutoff)
    params = engine.stage(
        cutoff, CATEGORY_LABELS.inputs, horizon_end=config.horizon_end(cutoff).to_pydatetime()
    )
    frame = engine.run(CATEGORY_LABELS.sql + "\nORDER BY customer_id, category", params).df()
    frame.insert(1, "cutoff", pd.Series(cutoff, index=frame.index, dtype="datetime64[ns, UTC]"))
    return frame.astype(
        {"customer_id": "string[pyarrow]", "category": "string[pyarrow]", "purchased": bool}
    )


def label_series(
    engine: FeatureEngine, cutoff: pd.Timestamp, label: str, config: LabelConfig | None = None
) -> pd.Series:
    """One label by name, indexed by customer_id, only where it is defined.

    `label` is "churn", "spend", "campaign_response" or "category:<category>".
    """
    if label.startswith(CATEGORY_PREFIX):
        category = label.removeprefix(CATEGORY_PREFIX)
        frame = compute_category_labels(engine, cutoff, config)
        chosen = frame[frame["category"] == category]
        if chosen.empty and not frame.empty:
            known = sorted(frame["category"].unique())
            raise ValueError(f"label {label!r}: category {category!r} not in products ({known})")
        return chosen.set_index("customer_id")["purchased"].astype("int64").rename("label")
    if label not in LABEL_COLUMNS:
        raise ValueError(
            f"unknown label {label!r}; use one of {sorted(LABEL_COLUMNS)} or 'category:<name>'"
        )
    if label == "campaign_response" and not engine.sources.has("contacts", "responded_ts"):
        raise ValueError(
            "label 'campaign_response' needs contacts.responded_ts, absent from the input"
        )
    labels = compute_labels(engine, cutoff, config).set_index("customer_id")
    values = labels[LABEL_COLUMNS[label]].dropna()
    return values.astype("float64" if label == "spend" else "int64").rename("label")


def build_labels(
    tables_or_dir: TablesInput,
    cutoff: str | datetime | pd.Timestamp,
    config: LabelConfig | None = None,
    feature_config: FeatureConfig | None = None,
) -> pd.DataFrame:
    """Customer-level labels as of `cutoff` from tables or a Parquet directory."""
    with FeatureEngine(tables_or_dir, feature_config) as engine:
        return compute_labels(engine, cutoff, config)


def build_category_labels(
    tables_or_dir: TablesInput,
    cutoff: str | datetime | pd.Timestamp,
    config: LabelConfig | None = None,
    feature_config: FeatureConfig | None = None,
) -> pd.DataFrame:
    """Long category-purchase labels as of `cutoff` (see `compute_category_labels`)."""
    with FeatureEngine(tables_or_dir, feature_config) as engine:
        return compute_category_labels(engine, cutoff, config)
