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


def _usage_reference(tables: dict, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Per holder: uses and seat-months in each calendar month k back from the cutoff's month
    (k = 0: its part before the cutoff), computed row by row in pandas."""
    customers = tables["customers"].set_index("customer_id")
    account = customers.get("account_id", pd.Series(pd.NA, index=customers.index))
    holder_of = account.astype(object).where(account.notna(), customers.index.to_series())
    subs = tables["subscriptions"]
    subs = subs[subs["start_ts"] < cutoff]
    run_end = subs["end_ts"].where(subs["end_ts"] < cutoff, cutoff)
    seats = subs.get("seats", pd.Series(pd.NA, index=subs.index))
    seats = seats.astype("Float64").fillna(1.0).to_numpy(dtype=float)
    events = tables["events"]
    usage = events[(events["event_type"] == "usage") & (events["ts"] < cutoff)]
    month0 = cutoff.tz_convert(None).to_period("M").to_timestamp().tz_localize("UTC")
    rows = []
    for k in range(13):
        start = month0 - pd.DateOffset(months=k)
        full_end = month0 - pd.DateOffset(months=k - 1)
        end = min(full_end, cutoff)
        if end <= start:
            continue
        overlap = (run_end.clip(upper=end) - subs["start_ts"].clip(lower=start)).dt.total_seconds()
        share = overlap.clip(lower=0).to_numpy() / (full_end - start).total_seconds()
        exposure = pd.Series(seats * share).groupby(holder_of.loc[subs["customer_id"]].to_numpy())
        in_month = usage[(usage["ts"] >= start) & (usage["ts"] < end)]
        uses = in_month.groupby(holder_of.loc[in_month["customer_id"]].to_numpy()).size()
        month = exposure.sum().rename("seat_months").to_frame()
        month = month[month["seat_months"] > 0]
        rows.append(month.assign(k=k, uses=uses.reindex(month.index).fillna(0)))
    return pd.concat(rows).rename_axis("holder_id").reset_index()


@pytest.mark.parametrize("mid_month", [False, True], ids=["month_start", "mid_month"])
def test_usage_is_set_against_the_seat_months_that_produced_it(world, mid_month) -> None:
    industry, summary, tables = world
    if industry == "finance":
        pytest.skip("finance holdings have no usage events")
    cutoff = summary.default_cutoffs[-2] + pd.Timedelta(days=13 if mid_month else 0)
    with FeatureEngine(tables.tables, None) as engine:
        got = engine.contract_features(cutoff)
    ref = _usage_reference(tables.tables, cutoff)
    weight = 0.8 ** ref["k"]
    ref = ref.assign(w_uses=ref["uses"] * weight, w_seats=ref["seat_months"] * weight)
    per_holder = ref.groupby("holder_id")[["w_uses", "w_seats"]].sum()
    last = ref[ref["k"] == 1].set_index("holder_id")
    expected_ew = per_holder["w_uses"] / per_holder["w_seats"]
    expected_m1 = last["uses"] / last["seat_months"]
    holders = tables.tables["customers"].set_index("customer_id")
    holder = holders.get("account_id", pd.Series(pd.NA, index=holders.index))
    subs = tables.tables["subscriptions"].set_index("subscription_id")["customer_id"]
    got_holder = subs.loc[got["subscription_id"]].map(
        lambda c: holder.loc[c] if pd.notna(holder.loc[c]) else c
    )
    np.testing.assert_allclose(
        got["usage_per_seat_ew"], expected_ew.reindex(got_holder).to_numpy(), rtol=1e-9
    )
    np.testing.assert_allclose(
        got["usage_per_seat_m1"], expected_m1.reindex(got_holder).to_numpy(), rtol=1e-9
    )
    np.testing.assert_allclose(
        got["seat_months_ew"], per_holder["w_seats"].reindex(got_holder).to_numpy(), rtol=1e-9
    )
    assert got["usage_per_seat_ew"].notna().mean() > 0.9
