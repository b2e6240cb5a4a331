"""Training frames over rolling monthly cutoffs, split by time.

The holdout is the latest month start whose label horizon is fully observed
(holdout + horizon <= as_of); validation comes before it and the training cutoffs before
that. With `separate_horizons` (the default) each split's cutoffs are at least one horizon
apart from the next split's, so no training label window overlaps the validation horizon
and no validation label window overlaps the holdout horizon.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

import pandas as pd
from tqdm.auto import tqdm

from crm_ml.features.builder import FeatureEngine, as_utc_timestamp
from crm_ml.features.config import FeatureConfig
from crm_ml.features.labels import LabelConfig, label_series
from crm_ml.features.sources import TablesInput

log = logging.getLogger(__name__)

SPLITS = ("train", "validation", "holdout")


@dataclass(frozen=True)
class CutoffPlan:
    """Cutoffs per split; all train < validation < holdout."""

    train: tuple[pd.Timestamp, ...]
    validation: pd.Timestamp
    holdout: pd.Timestamp
    horizon_days: int

    def items(self) -> list[tuple[pd.Timestamp, str]]:
        """(cutoff, split) pairs in time order."""
        return [(c, "train") for c in self.train] + [
            (self.validation, "validation"),
            (self.holdout, "holdout"),
        ]

    def as_frame(self) -> pd.DataFrame:
        """cutoff, split, horizon_end - for a notebook to show the plan."""
        rows = [(c, s, c + pd.Timedelta(days=self.horizon_days)) for c, s in self.items()]
        return pd.DataFrame(rows, columns=["cutoff", "split", "horizon_end"])


def _month_start(ts: pd.Timestamp) -> pd.Timestamp:
    return ts.normalize().replace(day=1)


def plan_cutoffs(
    as_of: str | datetime | pd.Timestamp,
    horizon_days: int = 90,
    n_train: int = 6,
    step_months: int = 1,
    separate_horizons: bool = True,
) -> CutoffPlan:
    """Month-start cutoffs: `n_train` training cutoffs `step_months` apart, then validation,
    then the holdout, the latest month start with holdout + horizon <= as_of.

    With `separate_horizons`, validation <= holdout - horizon and the last training cutoff
    <= validation - horizon; otherwise consecutive splits are `step_months` apart.
    """
    if n_train < 1 or step_months < 1 or horizon_days < 1:
        raise ValueError("plan_cutoffs needs n_train >= 1, step_months >= 1, horizon_days >= 1")
    as_of = as_utc_timestamp(as_of)
    horizon = pd.Timedelta(days=horizon_days)
    holdout = _month_start(as_of - horizon)
    step = pd.DateOffset(months=step_months)

    def before(cutoff: pd.Timestamp) -> pd.Timestamp:
        earlier = cutoff - step
        while separate_horizons and earlier + horizon > cutoff:
            earlier -= step
        return earlier

    validation = before(holdout)
    train = [before(validation)]
    while len(train) < n_train:
        train.insert(0, train[0] - step)
    return CutoffPlan(tuple(train), validation, holdout, horizon_days)


def _check_time_order(pairs: list[tuple[pd.Timestamp, str]]) -> None:
    """Every train cutoff < every validation cutoff < every holdout cutoff."""
    by_split = {s: [c for c, split in pairs if split == s] for s in SPLITS}
    present = [s for s in SPLITS if by_split[s]]
    for earlier, later in pairwise(present):
        if max(by_split[earlier]) >= min(by_split[later]):
            raise ValueError(f"all {earlier} cutoffs must come before every {later} cutoff")


def _pairs(
    cutoffs: CutoffPlan | Mapping[str, Sequence[str | datetime | pd.Timestamp]],
) -> list[tuple[pd.Timestamp, str]]:
    """(cutoff, split) pairs of a plan or a mapping split -> cutoffs, checked for time order."""
    if isinstance(cutoffs, CutoffPlan):
        return cutoffs.items()
    unknown = set(cutoffs) - set(SPLITS)
    if unknown:
        raise ValueError(f"unknown split(s) {sorted(unknown)}; use {SPLITS}")
    pairs = [(as_utc_timestamp(c), split) for split, cs in cutoffs.items() for c in cs]
    _check_time_order(pairs)
    return pairs


def build_snapshots(
    tables: TablesInput,
    cutoffs: CutoffPlan | Mapping[str, Sequence[str | datetime | pd.Timestamp]],
    config: FeatureConfig | None = None,
) -> pd.DataFrame:
    """Features at every cutoff, stacked: customer_id, cutoff, split, features...

    Computed once and shared by every label of a run (churn, categories, spend): the
    features do not depend on the label, only the rows kept do (see `attach_label`).
    """
    frames = []
    with FeatureEngine(tables, config) as engine:
        for cutoff, split in tqdm(_pairs(cutoffs), desc="snapshots", unit="cutoff"):
            frame = engine.features(cutoff)
            frame.insert(2, "split", split)
            frames.append(frame)
            log.info("cutoff %s (%s): %d customers", cutoff.date(), split, len(frame))
        skipped = dict(engine.skipped_groups)
    out = pd.concat(frames, ignore_index=True)
    out["split"] = pd.Categorical(out["split"], categories=list(SPLITS))
    out.attrs = {"skipped_groups": skipped}
    return out


def attach_label(
    tables: TablesInput,
    snapshots: pd.DataFrame,
    label: str = "churn",
    label_config: LabelConfig | None = None,
    horizon_days: int | None = None,
    config: FeatureConfig | None = None,
) -> pd.DataFrame:
    """`snapshots` with `label` joined per cutoff; rows where the label is undefined dropped.

    `horizon_days` sets the label horizon when `label_config` is not given.
    """
    if label_config is None:
        label_config = LabelConfig() if horizon_days is None else LabelConfig(horizon_days)
    frames = []
    with FeatureEngine(tables, config) as engine:
        for cutoff, rows in snapshots.groupby("cutoff", sort=True, observed=True):
            labels = label_series(engine, pd.Timestamp(cutoff), label, label_config)
            frames.append(rows.join(labels, on="customer_id", how="inner"))
    out = pd.concat(frames, ignore_index=True)
    out.attrs = {**snapshots.attrs, "label": label}
    return out


def build_training_frame(
    tables: TablesInput,
    cutoffs: CutoffPlan | Mapping[str, Sequence[str | datetime | pd.Timestamp]],
    label: str = "churn",
    config: FeatureConfig | None = None,
    label_config: LabelConfig | None = None,
) -> pd.DataFrame:
    """Features + `label` + `split`, stacked over the cutoffs.

    `label` is "churn", "spend", "campaign_response" or "category:<name>" (see labels.py);
    rows where the label is undefined (inactive customers for churn, customers not
    contacted for campaign response) are dropped. `cutoffs` is a plan or a mapping
    split -> cutoffs. Columns: customer_id, cutoff, split, features..., label.
    """
    horizon = cutoffs.horizon_days if isinstance(cutoffs, CutoffPlan) else None
    snapshots = build_snapshots(tables, cutoffs, config)
    return attach_label(tables, snapshots, label, label_config, horizon, config)
