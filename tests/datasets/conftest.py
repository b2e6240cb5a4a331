"""Synthetic worlds shared by the tests of crm_ml.datasets.synthetic (generated once)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from crm_ml.datasets.synthetic import WorldSummary, generate_world


@pytest.fixture(scope="session")
def synthetic_world(tmp_path_factory: pytest.TempPathFactory) -> WorldSummary:
    """A clean retail world large enough for statistics and oracle calibration (~5 s)."""
    return generate_world(
        tmp_path_factory.mktemp("synthetic_world"),
        customers=10_000,
        months=24,
        seed=11,
        chunk_customers=4_000,
        show_progress=False,
    )


@pytest.fixture(scope="session")
def synthetic_dirty_world(tmp_path_factory: pytest.TempPathFactory) -> WorldSummary:
    """A small retail world with injected dirt, in several chunks."""
    return generate_world(
        tmp_path_factory.mktemp("synthetic_dirty"),
        customers=1_500,
        months=12,
        seed=5,
        dirt=True,
        chunk_customers=600,
        show_progress=False,
    )


def recency_days(oracle: pd.DataFrame, purchases: pd.DataFrame) -> pd.Series:
    """Days from each oracle row's last purchase to its cutoff: the recency rule's score."""
    recency = []
    for cutoff, rows in oracle.groupby("cutoff", sort=False):
        last = purchases[purchases["ts"] < cutoff].groupby("customer_id")["ts"].max()
        days = (cutoff - last.reindex(rows["customer_id"])).dt.total_seconds() / 86_400
        recency.append(pd.Series(days.to_numpy(), index=rows.index))
    return pd.concat(recency).reindex(oracle.index)


def _since_last_purchase(
    oracle: pd.DataFrame, purchases: pd.DataFrame, points: pd.DataFrame, ts: str, days: int | None
) -> pd.Series:
    """Whether each oracle row's customer has a point after their last purchase (or in the
    `days` before the cutoff) and before the cutoff."""
    flags = []
    for cutoff, rows in oracle.groupby("cutoff", sort=False):
        last = purchases[purchases["ts"] < cutoff].groupby("customer_id")["ts"].max()
        seen = points[points[ts] < cutoff].merge(last.rename("last"), on="customer_id")
        start = seen["last"] if days is None else cutoff - pd.Timedelta(days=days)
        hit = set(seen.loc[seen[ts] > start, "customer_id"])
        flags.append(rows["customer_id"].isin(hit))
    return pd.concat(flags).reindex(oracle.index)


@pytest.fixture(scope="session")
def signal_strata(
    synthetic_world: WorldSummary,
) -> Callable[[pd.DataFrame], dict[str, pd.Series]]:
    """Strata of oracle rows (customer_id, cutoff) by the signals an oracle must use: a
    posterior that ignored events, tickets or unanswered contacts would be off in them."""
    folder = synthetic_world.out_dir
    orders = pd.read_parquet(folder / "orders.parquet")
    purchases = orders[~orders["is_return"]]
    events = pd.read_parquet(folder / "events.parquet", columns=["customer_id", "ts"])
    tickets = pd.read_parquet(folder / "tickets.parquet", columns=["customer_id", "opened_ts"])
    contacts = pd.read_parquet(folder / "contacts.parquet")
    persuadable = pd.read_parquet(folder / "truth" / "customers.parquet").query("is_persuadable")
    # both oracles know who is persuadable, so strata may use it
    treated = contacts.loc[
        ~contacts["is_control"] & contacts["customer_id"].isin(persuadable["customer_id"]),
        ["customer_id", "sent_ts"],
    ]

    def strata(oracle: pd.DataFrame) -> dict[str, pd.Series]:
        return {
            "events in the last 14 days": _since_last_purchase(oracle, purchases, events, "ts", 14),
            "ticket since last purchase": _since_last_purchase(
                oracle, purchases, tickets, "opened_ts", None
            ),
            "persuadable and treated since last purchase": _since_last_purchase(
                oracle, purchases, treated, "sent_ts", None
            ),
        }

    return strata
