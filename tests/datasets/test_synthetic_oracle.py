"""The oracle churn probability is calibrated, beats recency and is what the files give."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.metrics import roc_auc_score

from crm_ml.datasets.synthetic import WorldSummary, oracle_churn_probability
from crm_ml.datasets.synthetic.oracle import read_world_table

from .conftest import recency_days


@pytest.fixture(scope="module")
def oracle(synthetic_world: WorldSummary) -> pd.DataFrame:
    return pd.read_parquet(synthetic_world.out_dir / "truth" / "oracle_churn.parquet")


@pytest.fixture(scope="module")
def purchases(synthetic_world: WorldSummary) -> pd.DataFrame:
    orders = pd.read_parquet(synthetic_world.out_dir / "orders.parquet")
    return orders[~orders["is_return"]]


def test_population_is_customers_who_ordered_in_the_year_before(
    oracle: pd.DataFrame, purchases: pd.DataFrame
) -> None:
    for cutoff, rows in oracle.groupby("cutoff"):
        window = purchases[
            (purchases["ts"] < cutoff) & (purchases["ts"] >= cutoff - pd.Timedelta(days=365))
        ]
        assert set(rows["customer_id"]) == set(window["customer_id"])
        later = purchases[
            (purchases["ts"] > cutoff) & (purchases["ts"] <= cutoff + pd.Timedelta(days=90))
        ]
        outcome = ~rows["customer_id"].isin(later["customer_id"])
        assert (outcome.to_numpy() == rows["no_order_in_horizon"].to_numpy()).all()


def test_oracle_is_calibrated_against_simulated_outcomes(oracle: pd.DataFrame) -> None:
    p, y = oracle["p_no_order"], oracle["no_order_in_horizon"]
    assert abs(p.mean() - y.mean()) < 0.01
    bins = pd.cut(p, np.linspace(0, 1, 11), include_lowest=True)
    table = (
        pd.DataFrame({"p": p, "y": y, "bin": bins})
        .groupby("bin", observed=True)
        .agg(p=("p", "mean"), y=("y", "mean"), n=("y", "size"))
    )
    table = table[table["n"] >= 200]
    assert len(table) >= 8
    # customers recur across the six cutoffs, so allow twice the binomial standard error
    sd = np.sqrt(table["p"] * (1 - table["p"]) / table["n"]) * np.sqrt(2)
    assert ((table["y"] - table["p"]).abs() <= 3.5 * sd + 0.005).all(), table
    # the posterior alive probability is calibrated against the hidden state too
    alive_gap = oracle["p_alive"].mean() - oracle["alive_at_cutoff"].mean()
    assert abs(alive_gap) < 0.01


def test_oracle_is_calibrated_within_every_observable_signal(
    oracle: pd.DataFrame, signal_strata: Callable[[pd.DataFrame], dict[str, pd.Series]]
) -> None:
    """Conditioning on a signal means being calibrated within its strata."""
    strata = signal_strata(oracle)
    for name, flag in strata.items():
        for value in (True, False):
            rows = oracle[flag == value]
            assert len(rows) > 1_000, name
            gap = rows["p_no_order"].mean() - rows["no_order_in_horizon"].mean()
            sd = np.sqrt((rows["p_no_order"] * (1 - rows["p_no_order"])).sum()) / len(rows)
            assert abs(gap) < 4 * sd * np.sqrt(2) + 0.005, (name, value, gap)


def test_oracle_beats_the_recency_rule(oracle: pd.DataFrame, purchases: pd.DataFrame) -> None:
    y = oracle["no_order_in_horizon"]
    auc_recency = roc_auc_score(y, recency_days(oracle, purchases))
    auc_oracle = roc_auc_score(y, oracle["p_no_order"])
    assert auc_oracle > auc_recency + 0.05
    # a perfect model of the history still cannot see the future: not a leak
    assert auc_oracle < 0.99


def test_oracle_from_files_matches_the_precomputed_truth(
    synthetic_world: WorldSummary, oracle: pd.DataFrame
) -> None:
    cutoff = synthetic_world.default_cutoffs[2]
    fresh = oracle_churn_probability(synthetic_world.out_dir, cutoff).set_index("customer_id")
    stored = oracle[oracle["cutoff"] == cutoff].set_index("customer_id")
    assert set(fresh.index) == set(stored.index)
    gap = (fresh["p_no_order"] - stored.loc[fresh.index, "p_no_order"]).abs().max()
    assert gap < 1e-6
    assert list(fresh.columns) == ["p_no_order", "p_alive"]


def test_oracle_ignores_dirt(synthetic_dirty_world: WorldSummary) -> None:
    cutoff = synthetic_dirty_world.default_cutoffs[-1]
    fresh = oracle_churn_probability(synthetic_dirty_world.out_dir, cutoff).set_index("customer_id")
    stored = pd.read_parquet(synthetic_dirty_world.out_dir / "truth" / "oracle_churn.parquet")
    stored = stored[stored["cutoff"] == cutoff].set_index("customer_id")
    assert len(fresh) == len(stored) > 100
    assert (fresh["p_no_order"] - stored.loc[fresh.index, "p_no_order"]).abs().max() < 1e-6


def test_oracle_for_another_horizon_and_a_bad_cutoff(synthetic_world: WorldSummary) -> None:
    cutoff = synthetic_world.default_cutoffs[0]
    short = oracle_churn_probability(synthetic_world.out_dir, cutoff, horizon_days=30)
    long = oracle_churn_probability(synthetic_world.out_dir, cutoff, horizon_days=90)
    merged = short.merge(long, on="customer_id", suffixes=("_30", "_90"))
    assert (merged["p_no_order_30"] >= merged["p_no_order_90"] - 1e-12).all()
    assert (merged["p_no_order_30"] > merged["p_no_order_90"]).mean() > 0.3
    with pytest.raises(ValueError, match="midnight"):
        oracle_churn_probability(synthetic_world.out_dir, "2024-06-01 12:00")


def test_flags_of_a_csv_world_are_read_as_booleans(tmp_path) -> None:
    # CSV text is object on pandas 2 and str on pandas 3; "false" must never count as true
    path = tmp_path / "campaign_contacts.csv"
    path.write_text(
        "customer_id,sent_ts,is_treated\n"
        "C1,2024-01-02T00:00:00Z,true\nC2,2024-01-03T00:00:00Z,false\n"
    )
    origin = pd.Timestamp("2024-01-01", tz="UTC")
    out = read_world_table(
        path, ["customer_id", "sent_ts", "is_treated"], "sent_ts", pa.array(["C1", "C2"]), origin
    )
    assert out["is_treated"].tolist() == [True, False]
    assert out["sent_ts"].tolist() == [86_400, 2 * 86_400]
