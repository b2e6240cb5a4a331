"""The contract table: one row per subscription active at a cutoff, point in time, with the
labels the generator's truth says.

Worlds of the three contract profiles are generated small; their history oracle's truth
file holds, per default cutoff and active contract, the realised outcome, which the SQL
labels must reproduce exactly. Point in time: rewriting everything the export knows only
after the cutoff (later rows, the end, status and renewal date of contracts still running
at it, later balances) must leave every contract feature as it was.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crm_ml.contract import load_tables
from crm_ml.datasets.synthetic import generate_world
from crm_ml.features.builder import FeatureEngine
from crm_ml.features.catalog import CATALOG
from crm_ml.features.contracts import CONTRACT_TARGET, build_contract_frame
from crm_ml.features.groups import CONTRACTS
from crm_ml.features.snapshots import plan_cutoffs

INDUSTRIES = ("b2b", "finance", "subscription")
HORIZON = pd.Timedelta(days=90)


@pytest.fixture(scope="module", params=INDUSTRIES)
def world(request, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp(request.param)
    summary = generate_world(
        folder, customers=1200, months=18, industry=request.param, seed=7, dirt=False
    )
    tables = load_tables(folder, quarantine_dir=None, progress=False, key=b"k")
    return request.param, summary, tables


def test_labels_are_the_outcomes_the_truth_records(world) -> None:
    _, summary, tables = world
    truth = pd.read_parquet(summary.out_dir / "truth" / "contract_churn.parquet")
    kept = set(tables.tables["subscriptions"]["subscription_id"])  # erased customers' go
    truth = truth[truth["subscription_id"].isin(kept)]
    with FeatureEngine(tables, None) as engine:
        for cutoff in summary.default_cutoffs[-3:]:
            labels = engine.contract_labels(cutoff, cutoff + HORIZON)
            expected = truth[truth["cutoff"] == cutoff].set_index("subscription_id")
            assert set(labels["subscription_id"]) == set(expected.index), cutoff
            got = labels.set_index("subscription_id")[CONTRACT_TARGET]
            assert (got.to_numpy() == expected.loc[got.index, "churned"].to_numpy()).all(), cutoff
    assert truth["churned"].any()


def _after(cutoff: pd.Timestamp, rng: np.random.Generator, n: int) -> pd.Series:
    seconds = rng.integers(0, 300 * 86400, n)
    return pd.Series(cutoff + pd.to_timedelta(seconds, unit="s"), dtype="datetime64[ns, UTC]")


def _rewrite_the_future(tables: dict, cutoff: pd.Timestamp, seed: int) -> dict:
    """The same past, another future: every row and value the export knows only from the
    cutoff on is changed."""
    rng = np.random.default_rng(seed)
    out = dict(tables)
    for name, column in (("events", "ts"), ("orders", "ts"), ("tickets", "opened_ts")):
        frame = out[name]
        later = frame[column] >= cutoff
        moved = frame[~later]
        extra = frame[~later].sample(min(len(moved), 500), random_state=seed).copy()
        extra[column] = _after(cutoff, rng, len(extra)).to_numpy()
        if "order_id" in extra:
            extra["order_id"] = "F" + extra["order_id"].astype(str)
        if "ticket_id" in extra:
            extra["ticket_id"] = "F" + extra["ticket_id"].astype(str)
            extra["resolved_ts"] = pd.NaT
        out[name] = pd.concat([moved, extra], ignore_index=True)
    tickets = out["tickets"]  # a ticket open at the cutoff may be resolved any time later
    still_open = tickets["resolved_ts"] >= cutoff
    tickets.loc[still_open, "resolved_ts"] = _after(cutoff, rng, int(still_open.sum())).to_numpy()
    subs = out["subscriptions"].copy()
    running = subs["end_ts"].isna() | (subs["end_ts"] >= cutoff)
    ends = _after(cutoff, rng, len(subs)).where(rng.random(len(subs)) < 0.5)
    subs.loc[running, "end_ts"] = ends[running.to_numpy()].to_numpy()
    subs.loc[running, "status"] = np.where(subs.loc[running, "end_ts"].isna(), "active", "ended")
    subs.loc[running, "renewal_ts"] = _after(cutoff, rng, int(running.sum())).to_numpy()
    subs.loc[running, "cancel_reason"] = "price"
    out["subscriptions"] = subs
    if "balances" in out:
        balances = out["balances"].copy()
        later = balances["month"] >= cutoff
        balances.loc[later, "balance"] = rng.uniform(0, 1e5, int(later.sum()))
        out["balances"] = balances
    return out


def test_nothing_known_only_after_the_cutoff_changes_a_contract_feature(world) -> None:
    _, summary, tables = world
    cutoff = summary.default_cutoffs[-2]
    with FeatureEngine(tables.tables, None) as engine:
        before = engine.contract_features(cutoff)
    changed = _rewrite_the_future(tables.tables, cutoff, seed=3)
    assert not changed["subscriptions"].equals(tables.tables["subscriptions"])
    with FeatureEngine(changed, None) as engine:
        after = engine.contract_features(cutoff)
    pd.testing.assert_frame_equal(before, after)


def test_the_contract_frame_has_every_catalogued_column_of_its_groups(world) -> None:
    industry, summary, tables = world
    plan = plan_cutoffs(summary.as_of, horizon_days=90, n_train=2)
    frame = build_contract_frame(tables, plan, progress=False)
    skipped = frame.attrs["skipped_groups"]
    for group in CONTRACTS.groups:
        columns = list(group.columns)
        if group.name in skipped:
            assert not set(columns) & set(frame.columns), group.name
        else:
            assert set(columns) <= set(frame.columns), group.name
            assert all(c in CATALOG for c in columns)
    assert ("contract_balances" in skipped) == (industry != "finance")
    assert frame["subscription_id"].is_unique is False  # one row per contract and cutoff
    assert not frame.duplicated(["subscription_id", "cutoff"]).any()
    assert {"tenure_days", "days_since_last_order"} <= set(frame.columns)  # the customer 360
    assert frame.groupby("split", observed=True)[CONTRACT_TARGET].mean().between(0, 0.5).all()


def test_a_world_without_subscriptions_has_no_contract_table(tmp_path: Path) -> None:
    summary = generate_world(tmp_path, customers=200, months=12, seed=1)
    tables = load_tables(tmp_path, quarantine_dir=None, progress=False, key=b"k")
    with FeatureEngine(tables, None) as engine:
        assert engine.contract_groups == ()
        with pytest.raises(ValueError, match="need the subscriptions table"):
            engine.contract_features(summary.default_cutoffs[-1])
