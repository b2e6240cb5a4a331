"""Training frames of contract churn: one row per subscription active at each cutoff.

Contract churn is DESIGN.md's second kind: a subscription active at the cutoff that is
cancelled, not renewed or closed in the horizon, or (financial services) whose balance
halves in a month of it. A row holds the contract's own columns (`sql/contract_table.yaml`:
terms and renewal cycle, the holder's contracts and contacts, usage, bills, service,
balances) and the customer 360 of the contract's customer as of the same cutoff, so a model
sees both the contract and the relationship around it. Cutoffs and splits are those of the
customer frames (`plan_cutoffs`): every feature is computed before its cutoff, every label
in the horizon after it.
"""

from __future__ import annotations

import logging

import pandas as pd
from tqdm.auto import tqdm

from crm_ml.features.builder import FeatureEngine
from crm_ml.features.config import FeatureConfig
from crm_ml.features.snapshots import SPLITS, CutoffPlan
from crm_ml.features.sources import TablesInput

log = logging.getLogger(__name__)

CONTRACT_TARGET = "contract_churned"


def build_contract_frame(
    tables: TablesInput,
    plan: CutoffPlan,
    config: FeatureConfig | None = None,
    *,
    customer_features: bool = True,
    progress: bool = True,
) -> pd.DataFrame:
    """Contract features, the holder's customer 360 and the contract churn label, stacked
    over the cutoffs of `plan`.

    Parameters
    ----------
    tables : mapping, ContractResult, str or pathlib.Path
        Accepted contract tables with a `subscriptions` table (see `build_features`).
    plan : CutoffPlan
        Cutoffs per split and the horizon of the label.
    config : FeatureConfig, optional
        Feature settings (windows, DuckDB resources).
    customer_features : bool, default True
        Join the customer 360 of each contract's customer as of the cutoff.
    progress : bool, default True
        A progress bar over the cutoffs.

    Returns
    -------
    pandas.DataFrame
        subscription_id, customer_id, holder_id, product_id, cutoff, split, the contract
        columns, the
        customer columns (with `customer_features`), ended_in_horizon,
        balance_drop_in_horizon and contract_churned (0/1). ``attrs["skipped_groups"]``
        says which groups the input could not feed.

    Raises
    ------
    ValueError
        When the tables have no subscriptions table.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from crm_ml.contract import load_tables
    >>> from crm_ml.datasets import get_source
    >>> from crm_ml.features.snapshots import plan_cutoffs
    >>> world = get_source("synthetic").write(Path(tempfile.mkdtemp()), customers=300,
    ...                                       months=18, industry="b2b", seed=3,
    ...                                       show_progress=False)
    >>> tables = load_tables(world, quarantine_dir=None, progress=False)
    >>> plan = plan_cutoffs(tables.as_of, horizon_days=90, n_train=2)
    >>> frame = build_contract_frame(tables, plan, progress=False)
    >>> frame.columns[:6].tolist()
    ['subscription_id', 'customer_id', 'holder_id', 'product_id', 'cutoff', 'split']
    >>> bool(frame["contract_churned"].isin([0, 1]).all()), frame["split"].nunique()
    (True, 3)
    """
    frames = []
    with FeatureEngine(tables, config) as engine:
        for cutoff, split in tqdm(
            plan.items(), desc="contracts", unit="cutoff", disable=not progress
        ):
            frames.append(_at_cutoff(engine, cutoff, split, plan.horizon_days, customer_features))
        skipped = dict(engine.skipped_groups)
    out = pd.concat(frames, ignore_index=True)
    out["split"] = pd.Categorical(out["split"], categories=list(SPLITS))
    out.attrs = {"skipped_groups": skipped}
    return out


def _at_cutoff(
    engine: FeatureEngine, cutoff: pd.Timestamp, split: str, horizon_days: int, customers: bool
) -> pd.DataFrame:
    frame = engine.contract_features(cutoff)
    frame.insert(5, "split", split)
    if customers:
        customer = engine.features(cutoff).drop(columns="cutoff")
        frame = frame.merge(customer, on="customer_id", how="left", validate="many_to_one")
    labels = engine.contract_labels(cutoff, cutoff + pd.Timedelta(days=horizon_days))
    frame = frame.merge(labels, on="subscription_id", how="left", validate="one_to_one")
    frame[CONTRACT_TARGET] = frame[CONTRACT_TARGET].astype("int64")
    log.info(
        "cutoff %s (%s): %d contracts, %.1f%% churn",
        cutoff.date(),
        split,
        len(frame),
        100 * frame[CONTRACT_TARGET].mean() if len(frame) else 0.0,
    )
    return frame
