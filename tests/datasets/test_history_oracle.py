"""The history oracle is a calibrated posterior that sits between recency and the latent oracle."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from crm_ml.datasets.synthetic import (
    PROFILES,
    WorldSummary,
    generate_world,
    history_oracle_churn_probability,
    oracle_churn_probability,
)

from .conftest import recency_days


@pytest.fixture(scope="module")
def both(synthetic_world: WorldSummary) -> pd.DataFrame:
    """History and latent oracle with the simulated outcome, at three default cutoffs."""
    stored = pd.read_parquet(synthetic_world.out_dir / "truth" / "oracle_churn.parquet")
    frames = []
    for cutoff in synthetic_world.default_cutoffs[::2]:
        history = history_oracle_churn_probability(synthetic_world.out_dir, cutoff)
        truth = stored[stored["cutoff"] == cutoff]
        merged = truth.merge(history, on="customer_id", how="outer", suffixes=("", "_history"))
        frames.append(merged.assign(cutoff=cutoff))
    return pd.concat(frames, ignore_index=True)


def _assert_calibrated(p: pd.Series, y: pd.Series, label: str) -> None:
    """Mean within four standard errors (customers recur across cutoffs: x sqrt 2)."""
    sd = np.sqrt((p * (1 - p)).sum()) / len(p) * np.sqrt(2)
    assert abs(p.mean() - y.mean()) < 4 * sd + 0.005, (label, p.mean(), y.mean())


def test_equals_the_latent_oracle_when_the_priors_leave_nothing_to_learn(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """With priors this narrow every customer has the same purchase rate, dropout chance
    and event multiplier, so integrating them out must give the latent oracle's answer:
    this checks the contact, event, ticket and campaign terms against its derivation."""
    narrow = 1e6
    profile = PROFILES["retail"].with_overrides(
        purchase_shape=narrow,
        purchase_rate_days=narrow * 30,
        dropout_a=narrow / 7,
        dropout_b=narrow * 6 / 7,
        event_rate_shape=narrow,
    )
    world = generate_world(
        tmp_path_factory.mktemp("narrow_world"),
        customers=3_000,
        months=12,
        industry=profile,
        seed=3,
        show_progress=False,
    )
    cutoff = world.default_cutoffs[-1]
    latent = oracle_churn_probability(world.out_dir, cutoff)
    history = history_oracle_churn_probability(world.out_dir, cutoff)
    merged = latent.merge(history, on="customer_id", suffixes=("", "_history"))
    assert len(merged) == len(latent) == len(history) > 1_000
    for column in ("p_no_order", "p_alive"):
        assert (merged[column] - merged[f"{column}_history"]).abs().max() < 0.01, column


def test_same_customers_as_the_latent_oracle(both: pd.DataFrame) -> None:
    assert both["p_no_order"].notna().all() and both["p_no_order_history"].notna().all()
    assert both["p_no_order_history"].between(0, 1).all()


def test_history_oracle_is_calibrated(both: pd.DataFrame) -> None:
    p, y = both["p_no_order_history"], both["no_order_in_horizon"].astype(float)
    _assert_calibrated(p, y, "all")
    bins = pd.cut(p, np.linspace(0, 1, 11), include_lowest=True)
    for interval, rows in both.groupby(bins, observed=True):
        if len(rows) >= 300:
            _assert_calibrated(
                rows["p_no_order_history"], rows["no_order_in_horizon"].astype(float), interval
            )
    # the posterior alive probability is calibrated against the hidden state
    alive = both["p_alive_history"].mean() - both["alive_at_cutoff"].mean()
    assert abs(alive) < 0.01


def _count_before(frame: pd.DataFrame, ts: str, both: pd.DataFrame, days: int) -> pd.Series:
    """Each oracle row's number of `frame` rows in the `days` before its cutoff."""
    counts = []
    for cutoff, rows in both.groupby("cutoff", sort=False):
        window = frame[(frame[ts] < cutoff) & (frame[ts] >= cutoff - pd.Timedelta(days=days))]
        per = window.groupby("customer_id").size()
        counts.append(pd.Series(per.reindex(rows["customer_id"]).fillna(0).to_numpy(), rows.index))
    return pd.concat(counts).reindex(both.index)


def test_calibrated_within_what_the_integrated_traits_explain(
    synthetic_world: WorldSummary,
    both: pd.DataFrame,
    signal_strata: Callable[[pd.DataFrame], dict[str, pd.Series]],
) -> None:
    """A posterior that integrated lambda, p or the event rate wrongly would be off among
    frequent buyers, unhappy customers or active browsers. Strata may only use what the
    oracle conditions on: the history and the revealed traits (here the NPS bias)."""
    folder = synthetic_world.out_dir
    orders = pd.read_parquet(folder / "orders.parquet", columns=["customer_id", "ts", "is_return"])
    events = pd.read_parquet(folder / "events.parquet", columns=["customer_id", "ts"])
    latent = pd.read_parquet(folder / "truth" / "customers.parquet")
    nps_bias = both["customer_id"].map(latent.set_index("customer_id")["nps_bias"])
    purchases = _count_before(orders[~orders["is_return"]], "ts", both, 365)
    browsing = _count_before(events, "ts", both, 30)
    strata = {
        "orders in the year before": purchases.rank(method="first"),
        "NPS bias": nps_bias,
        "events in the 30 days before": browsing.rank(method="first"),
    }
    for name, flag in signal_strata(both).items():
        strata[name] = flag.astype(int)
    for name, values in strata.items():
        groups = values if values.nunique() <= 2 else pd.qcut(values, 4, labels=False)
        for quartile, rows in both.groupby(groups):
            label = (name, quartile)
            assert len(rows) > 2_000, label
            _assert_calibrated(
                rows["p_no_order_history"], rows["no_order_in_horizon"].astype(float), label
            )
            # against the hidden state itself, which is less noisy than the outcome
            _assert_calibrated(
                rows["p_alive_history"], rows["alive_at_cutoff"].astype(float), label
            )


def test_history_oracle_is_between_recency_and_the_latent_oracle(
    synthetic_world: WorldSummary, both: pd.DataFrame
) -> None:
    orders = pd.read_parquet(synthetic_world.out_dir / "orders.parquet")
    orders = orders[~orders["is_return"]]
    y = both["no_order_in_horizon"]
    auc_recency = roc_auc_score(y, recency_days(both, orders))
    auc_history = roc_auc_score(y, both["p_no_order_history"])
    auc_latent = roc_auc_score(y, both["p_no_order"])
    # not knowing lambda and p costs about 0.015 AUC; recency is far behind
    assert auc_recency + 0.05 < auc_history < auc_latent - 0.005


def test_history_oracle_on_a_dirty_world_and_a_bad_cutoff(
    synthetic_dirty_world: WorldSummary,
) -> None:
    cutoff = synthetic_dirty_world.default_cutoffs[-1]
    history = history_oracle_churn_probability(synthetic_dirty_world.out_dir, cutoff)
    latent = oracle_churn_probability(synthetic_dirty_world.out_dir, cutoff)
    assert list(history.columns) == ["customer_id", "p_no_order", "p_alive"]
    assert set(history["customer_id"]) == set(latent["customer_id"])
    with pytest.raises(ValueError, match="midnight"):
        history_oracle_churn_probability(synthetic_dirty_world.out_dir, "2024-06-01 12:00")
