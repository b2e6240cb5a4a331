"""The contract layer of the b2b, finance and subscription worlds, and its oracles."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import roc_auc_score

from crm_ml.datasets.synthetic import PROFILES, WorldSummary, generate_world
from crm_ml.datasets.synthetic.catalog import build_catalog
from crm_ml.datasets.synthetic.contract_oracle import (
    contract_churn_probability,
    layer_history,
)
from crm_ml.datasets.synthetic.contracts import MonthGrid, simulate_contracts
from crm_ml.datasets.synthetic.population import NEVER

DESIGN_COLUMNS = {
    "subscriptions": {
        "subscription_id",
        "customer_id",
        "product_id",
        "start_ts",
        "status",
        "end_ts",
        "term_months",
        "renewal_ts",
        "recurring_amount",
        "cancel_reason",
        "seats",
    },
    "accounts": {"account_id", "industry", "size_band", "region"},
    "balances": {"customer_id", "product_id", "month", "balance"},
}
KINDS = ("b2b", "finance", "subscription")


@pytest.fixture(scope="module", params=KINDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> WorldSummary:
    return generate_world(
        tmp_path_factory.mktemp(request.param),
        customers=3_000,
        months=24,
        industry=request.param,
        seed=21,
        show_progress=False,
    )


def _read(world: WorldSummary, table: str) -> pd.DataFrame:
    return pd.read_parquet(world.out_dir / f"{table}.parquet")


def _truth(world: WorldSummary) -> pd.DataFrame:
    return pd.read_parquet(world.out_dir / "truth" / "contract_churn.parquet")


def test_contract_tables_have_the_design_columns_and_consistent_states(
    world: WorldSummary,
) -> None:
    as_of = world.as_of
    subs = _read(world, "subscriptions")
    assert set(subs.columns) <= DESIGN_COLUMNS["subscriptions"]
    assert subs["subscription_id"].is_unique
    assert set(subs["status"]) <= {"active", "cancelled", "ended"}
    active = subs["status"] == "active"
    assert subs.loc[active, "end_ts"].isna().all()
    assert subs.loc[~active, "end_ts"].notna().all()
    assert (subs["end_ts"].dropna() <= as_of).all() and (subs["start_ts"] <= as_of).all()
    assert (subs["end_ts"].dropna() > subs.loc[subs["end_ts"].notna(), "start_ts"]).all()
    assert (subs["start_ts"].dt.day <= 28).all()
    term = subs["term_months"]
    if world.industry == "finance":
        assert term.isna().all() and subs["renewal_ts"].isna().all()
        assert (subs.loc[~active, "status"] == "cancelled").all()
    else:
        due = subs[active]
        assert (due["renewal_ts"] > as_of).all()
        step = due["term_months"].fillna(1).astype(int)
        months = (due["renewal_ts"].dt.year - due["start_ts"].dt.year) * 12 + (
            due["renewal_ts"].dt.month - due["start_ts"].dt.month
        )
        assert (months % step == 0).all() and (months > 0).all()
        renewal = [
            s + pd.DateOffset(months=int(m)) for s, m in zip(due["start_ts"], months, strict=True)
        ]
        assert (pd.Series(renewal, index=due.index) == due["renewal_ts"]).all()
        # non-renewal ("ended") only at a renewal date of a term contract
        ended = subs[subs["status"] == "ended"]
        assert ended["term_months"].notna().all()
        gap = (ended["end_ts"].dt.year - ended["start_ts"].dt.year) * 12 + (
            ended["end_ts"].dt.month - ended["start_ts"].dt.month
        )
        assert (gap % ended["term_months"].astype(int) == 0).all()
        assert (ended["end_ts"].dt.day == ended["start_ts"].dt.day).all()
    events = _read(world, "events")
    assert (events["ts"] <= as_of).all()
    if world.industry == "b2b":
        assert (subs["seats"] >= 1).all() and term.isin([12, 24, 36]).sum() > 0.5 * len(subs)
        products = _read(world, "products").set_index("product_id")["price"]
        assert np.allclose(
            subs["recurring_amount"], subs["seats"] * subs["product_id"].map(products)
        )
        accounts = _read(world, "accounts")
        assert set(accounts.columns) <= DESIGN_COLUMNS["accounts"]
        customers = _read(world, "customers")
        assert customers["account_id"].isin(accounts["account_id"]).all()
        assert customers.groupby("account_id").size().between(1, 6).all()
        usage = events[events["event_type"] == "usage"]
        assert len(usage) > 10 * len(subs)
        assert usage["customer_id"].isin(customers["customer_id"]).all()
    if world.industry == "finance":
        balances = _read(world, "balances")
        assert set(balances.columns) == DESIGN_COLUMNS["balances"]
        assert not balances.duplicated(["customer_id", "product_id", "month"]).any()
        assert (balances["month"].dt.is_month_start & (balances["month"].dt.hour == 0)).all()
        assert (balances["month"] < as_of).all()
    if world.industry == "subscription":
        bills = _read(world, "orders").query("channel == 'billing'")
        assert len(bills) > 5 * len(subs)
        assert bills.groupby("customer_id")["product_id"].nunique().max() > 1  # plan changes


def test_churn_rates_are_believable(world: WorldSummary) -> None:
    truth = _truth(world)
    rate = truth["churned"].mean()  # within 90 days of a cutoff
    subs = _read(world, "subscriptions")
    if world.industry == "subscription":
        assert 0.01 < 1 - (1 - rate) ** (1 / 3) < 0.04  # a month
    elif world.industry == "finance":
        assert 0.01 < rate < 0.08  # a quarter
    else:
        term = subs[subs["term_months"].notna()]
        stop = term["end_ts"].fillna(world.as_of)
        months = (stop.dt.year - term["start_ts"].dt.year) * 12 + (
            stop.dt.month - term["start_ts"].dt.month
        )
        renewal_dates = (months // term["term_months"]).sum()
        non_renewal = (term["status"] == "ended").sum() / renewal_dates
        assert 0.08 < non_renewal < 0.2, non_renewal
        monthly = subs[subs["term_months"].isna()]
        assert 0.3 * len(monthly) > (monthly["status"] == "cancelled").sum() > 0


def test_history_oracle_is_below_the_latent_oracle_and_calibrated(world: WorldSummary) -> None:
    truth = _truth(world)
    y = truth["churned"]
    auc_history = roc_auc_score(y, truth["p_churn_history"])
    auc_latent = roc_auc_score(y, truth["p_churn"])
    assert 0.62 < auc_history < auc_latent, (auc_history, auc_latent)
    for column in ("p_churn", "p_churn_history"):
        p = truth[column]
        # holders recur across cutoffs and share a state across contracts: x 2
        sd = np.sqrt((p * (1 - p)).sum()) / len(p) * 2
        assert abs(p.mean() - y.mean()) < 4 * sd + 0.002, (column, p.mean(), y.mean())
    by_state = truth.groupby("state")["churned"].mean()
    assert by_state["healthy"] < by_state["cooling"] < by_state["at_risk"]


@pytest.mark.parametrize("kind", KINDS)
def test_history_oracle_sees_only_the_history_before_the_cutoff(kind: str) -> None:
    profile = PROFILES[kind]
    spec = profile.contracts
    origin = pd.Timestamp("2023-01-01", tz="UTC")
    grid = MonthGrid.build(origin, 731)
    catalog = build_catalog(profile, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    signup = (rng.random(2_000) * 700 * 86_400).astype(np.int64)
    layer = simulate_contracts(spec, grid, catalog, signup, 731 * 86_400, rng)
    n_plans = int(layer.bill_rank.max()) + 1 if len(layer.bill_rank) else 0
    history = layer_history(layer, grid, n_plans)
    cutoff = int(grid.starts_s[18])
    active, p, _ = contract_churn_probability(spec, grid, history, cutoff, 90)

    later = np.random.default_rng(2)
    changed = history.__class__(
        **{
            **history.__dict__,
            # the future rewritten: other ends, usage, bills and balances after the cutoff
            "end_s": np.where(
                history.end_s >= cutoff,
                np.where(later.random(len(history.end_s)) < 0.5, NEVER, cutoff + 86_400),
                history.end_s,
            ),
            "usage_s": np.where(history.usage_s >= cutoff, cutoff + 5, history.usage_s),
            "bill_rank": np.where(history.bill_s >= cutoff, 0, history.bill_rank),
            "log_balance": np.where(
                grid.starts_s[history.balance_month + 1] > cutoff, 0.0, history.log_balance
            ),
        }
    )
    active_changed, p_changed, _ = contract_churn_probability(spec, grid, changed, cutoff, 90)
    assert np.array_equal(active, active_changed)
    np.testing.assert_array_equal(p, p_changed)
    # and the history before the cutoff does move it
    earlier = history.__class__(
        **{
            **history.__dict__,
            "usage_s": np.where(
                history.usage_s < cutoff,
                history.usage_s[:1].repeat(len(history.usage_s)),
                history.usage_s,
            )
            if kind != "finance"
            else history.usage_s,
            "log_balance": np.where(
                grid.starts_s[history.balance_month + 1] <= cutoff, 0.0, history.log_balance
            ),
        }
    )
    _, p_earlier, _ = contract_churn_probability(spec, grid, earlier, cutoff, 90)
    assert np.abs(p_earlier - p).max() > 0.01


def test_cutoff_must_be_a_month_start() -> None:
    profile = PROFILES["subscription"]
    grid = MonthGrid.build(pd.Timestamp("2023-01-01", tz="UTC"), 365)
    layer = simulate_contracts(
        profile.contracts,
        grid,
        build_catalog(profile, np.random.default_rng(0)),
        np.arange(50) * 86_400,
        365 * 86_400,
        np.random.default_rng(1),
    )
    with pytest.raises(ValueError, match="first day of a month"):
        contract_churn_probability(
            profile.contracts,
            grid,
            layer_history(layer, grid, 6),
            int(grid.starts_s[5]) + 3_600,
            90,
        )


# A retail world must not change with the contract layer: a digest of its data (values
# and Arrow types, not file bytes, so a pyarrow upgrade that rewrites file metadata does
# not trip it) and of its manifest. Update it only for an intended change of retail.
RETAIL_DIGEST = "5d3906318610a58cdf7631e6e3df372d0bd03e70d07ce424475388e7110bffb7"


def _content_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        digest.update(str(path.relative_to(folder)).encode())
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            for name in table.column_names:
                column = table[name]
                digest.update(f"{name}:{column.type}".encode())
                digest.update(json.dumps(column.to_pylist(), default=str).encode())
        else:
            digest.update(path.read_bytes())
    return digest.hexdigest()


def test_retail_world_is_unchanged(tmp_path: Path) -> None:
    world = generate_world(
        tmp_path / "retail",
        customers=400,
        months=12,
        seed=9,
        chunk_customers=250,
        show_progress=False,
    )
    assert not (world.out_dir / "subscriptions.parquet").exists()
    assert _content_digest(world.out_dir) == RETAIL_DIGEST
