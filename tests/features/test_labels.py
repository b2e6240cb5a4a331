"""Labels: definitions on hand-made customers, and they never look before the cutoff."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_ml.features import LabelConfig, build_category_labels, build_labels
from crm_ml.features.builder import FeatureEngine
from crm_ml.features.labels import label_series

STRING = "string[pyarrow]"
CUTOFF = pd.Timestamp("2023-07-01", tz="UTC")
DAY = pd.Timedelta(days=1)


def _s(values, dtype=STRING):
    return pd.Series(values, dtype=dtype)


def _tables(orders, contacts=()):
    """Customers a..g signed up long ago; orders as (customer, order, product, ts, amount)."""
    ids = list("abcdefg")
    customers = pd.DataFrame(
        {
            "customer_id": _s(ids),
            "signup_ts": _s([CUTOFF - 900 * DAY] * len(ids), "datetime64[ns, UTC]"),
            "marketing_consent": pd.array([True] * len(ids), dtype="boolean"),
        }
    )
    products = pd.DataFrame(
        {"product_id": _s(["p1", "p2"]), "category": _s(["tech", "food"]), "price": [10.0, 5.0]}
    )
    o = pd.DataFrame(orders, columns=["customer_id", "order_id", "product_id", "ts", "amount"])
    o = o.astype({"customer_id": STRING, "order_id": STRING, "product_id": STRING})
    o["ts"] = o["ts"].astype("datetime64[ns, UTC]")
    o["is_return"] = pd.array(o["amount"] < 0, dtype="boolean")
    c = pd.DataFrame(
        contacts, columns=["contact_id", "customer_id", "sent_ts", "responded_ts", "is_control"]
    )
    c = c.astype({"contact_id": STRING, "customer_id": STRING})
    c["campaign_id"] = _s(["spring"] * len(c))
    c["sent_ts"] = c["sent_ts"].astype("datetime64[ns, UTC]")
    c["responded_ts"] = c["responded_ts"].astype("datetime64[ns, UTC]")
    c["is_control"] = c["is_control"].astype("boolean")
    return {"customers": customers, "products": products, "orders": o, "contacts": c}


ORDERS = [
    ("a", "a1", "p1", CUTOFF - 100 * DAY, 10.0),  # active, silent in horizon -> churned
    ("b", "b1", "p1", CUTOFF - 10 * DAY, 10.0),  # active, buys in horizon -> not churned
    ("b", "b2", "p2", CUTOFF + 10 * DAY, 5.0),
    ("b", "b3", "p1", CUTOFF + 20 * DAY, -10.0),  # returns the earlier purchase in the horizon
    ("c", "c1", "p1", CUTOFF - 400 * DAY, 10.0),  # inactive -> churn undefined
    ("c", "c2", "p2", CUTOFF + 5 * DAY, 5.0),
    ("d", "d1", "p1", CUTOFF - 30 * DAY, 10.0),  # an order exactly at the cutoff is the horizon
    ("d", "d2", "p1", CUTOFF, 10.0),
    ("e", "e1", "p1", CUTOFF - 30 * DAY, 10.0),  # an order exactly at horizon end is not in it
    ("e", "e2", "p1", CUTOFF + 90 * DAY, 10.0),
    ("f", "f1", "p1", CUTOFF - 365 * DAY, 10.0),  # exactly 365 days before: still active
    ("g", "g1", "p1", CUTOFF - 20 * DAY, -10.0),  # only a return: not active
]
CONTACTS = [
    ("k1", "a", CUTOFF + 1 * DAY, CUTOFF + 3 * DAY, False),  # responded in the horizon
    ("k2", "b", CUTOFF + 1 * DAY, pd.NaT, False),  # no response
    ("k3", "c", CUTOFF - 5 * DAY, CUTOFF + 1 * DAY, False),  # sent before the cutoff: not counted
    ("k4", "d", CUTOFF + 1 * DAY, CUTOFF + 2 * DAY, True),  # control group: not a contact
    ("k5", "e", CUTOFF + 80 * DAY, CUTOFF + 95 * DAY, False),  # response after the horizon
]


@pytest.fixture(scope="module")
def labels() -> pd.DataFrame:
    return build_labels(_tables(ORDERS, CONTACTS), CUTOFF).set_index("customer_id")


def test_churn_is_defined_for_active_customers_only(labels):
    assert labels["is_active"].to_dict() == {
        "a": True,
        "b": True,
        "c": False,
        "d": True,
        "e": True,
        "f": True,
        "g": False,
    }
    churned = labels["churned"]
    assert churned["a"] and churned["e"] and churned["f"]
    assert not churned["b"] and not churned["d"]
    assert churned[["c", "g"]].isna().all()


def test_spend_in_horizon_is_net_of_returns(labels):
    assert labels.loc["b", "spend_horizon"] == pytest.approx(5.0 - 10.0)
    assert labels.loc["c", "spend_horizon"] == pytest.approx(5.0)
    assert labels.loc["e", "spend_horizon"] == 0.0
    assert labels.loc["b", "orders_horizon"] == 1  # the return is not an order


def test_campaign_response_counts_contacts_sent_in_the_horizon(labels):
    responded = labels["campaign_responded"]
    assert responded["a"] and not responded["b"] and not responded["e"]
    assert responded[["c", "d", "f", "g"]].isna().all()
    assert labels["campaign_contacts_horizon"].to_dict() == {
        "a": 1,
        "b": 1,
        "c": 0,
        "d": 0,
        "e": 1,
        "f": 0,
        "g": 0,
    }


def test_horizon_length_is_configurable():
    longer = build_labels(_tables(ORDERS), CUTOFF, LabelConfig(horizon_days=91)).set_index(
        "customer_id"
    )
    assert not longer.loc["e", "churned"]


def test_category_labels_are_long_with_every_category():
    frame = build_category_labels(_tables(ORDERS), CUTOFF)
    assert len(frame) == 7 * 2
    bought = frame[frame["purchased"]].set_index("customer_id")["category"].to_dict()
    assert bought == {"b": "food", "c": "food", "d": "tech"}


def test_label_series_drops_undefined_rows_and_rejects_unknown_labels():
    with FeatureEngine(_tables(ORDERS, CONTACTS)) as engine:
        churn = label_series(engine, CUTOFF, "churn")
        assert set(churn.index) == {"a", "b", "d", "e", "f"}
        assert label_series(engine, CUTOFF, "category:food").sum() == 2
        with pytest.raises(ValueError, match="unknown label"):
            label_series(engine, CUTOFF, "happiness")
        with pytest.raises(ValueError, match="not in products"):
            label_series(engine, CUTOFF, "category:garden")


def test_campaign_response_needs_response_times():
    tables = _tables(ORDERS, CONTACTS)
    tables["contacts"] = tables["contacts"].drop(columns=["responded_ts"])
    assert build_labels(tables, CUTOFF)["campaign_responded"].isna().all()
    with FeatureEngine(tables) as engine, pytest.raises(ValueError, match="responded_ts"):
        label_series(engine, CUTOFF, "campaign_response")


def _shift_before(frame: pd.DataFrame, columns, latest: pd.Timestamp, rng) -> pd.DataFrame:
    """Copies of `frame`'s rows with every timestamp moved to before `latest`."""
    rows = frame.copy()
    start = latest - pd.to_timedelta(rng.integers(1, 700 * 86400, len(rows)), unit="s")
    for column in columns:
        rows[column] = start.where(rows[column].notna().to_numpy())
    return rows


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rows_before_the_cutoff_change_labels_only_through_activity(world_factory, seed):
    """Past rows in every table leave every label unchanged, except that orders in the
    prior 365 days may make a customer active (so churn becomes defined)."""
    tables = world_factory(seed=seed, customers=80, orders=600, events=500)
    rng = np.random.default_rng(seed)
    baseline = build_labels(tables, CUTOFF)
    past = dict(tables)
    for name, columns in {
        "events": ["ts"],
        "tickets": ["opened_ts", "first_response_ts", "resolved_ts"],
        "surveys": ["ts"],
        "exclusions": ["ts"],
        "contacts": ["sent_ts", "responded_ts"],
    }.items():
        extra = _shift_before(tables[name], columns, CUTOFF, rng)
        if "contact_id" in extra:
            extra["contact_id"] = _s([f"past-{i}" for i in range(len(extra))])
        if "ticket_id" in extra:
            extra["ticket_id"] = _s([f"past-{i}" for i in range(len(extra))])
        past[name] = pd.concat([tables[name], extra], ignore_index=True)
    old = _shift_before(tables["orders"], ["ts"], CUTOFF - 366 * DAY, rng)
    old["order_id"] = _s([f"old-{i}" for i in range(len(old))])
    past["orders"] = pd.concat([tables["orders"], old], ignore_index=True)
    pd.testing.assert_frame_equal(build_labels(past, CUTOFF), baseline)

    recent = tables["orders"].copy()
    recent["ts"] = CUTOFF - pd.to_timedelta(rng.integers(1, 364 * 86400, len(recent)), unit="s")
    recent["order_id"] = _s([f"recent-{i}" for i in range(len(recent))])
    with_recent = build_labels({**past, "orders": pd.concat([past["orders"], recent])}, CUTOFF)
    activity = ["is_active", "churned"]
    pd.testing.assert_frame_equal(
        with_recent.drop(columns=activity), baseline.drop(columns=activity)
    )
    became_active = with_recent["is_active"] & ~baseline["is_active"]
    assert became_active.any()
    # A customer who became active has a defined churn label that reflects the horizon only.
    assert (
        with_recent.loc[became_active, "churned"]
        == (baseline.loc[became_active, "orders_horizon"] == 0)
    ).all()


def test_labels_do_not_depend_on_row_order(world_factory, cutoff):
    """The spend label is an exact sum: shuffling the orders changes no bit of it."""
    tables = world_factory(seed=4, customers=200, orders=8_000, events=100)
    shuffled = {
        name: frame.sample(frac=1.0, random_state=2).reset_index(drop=True)
        for name, frame in tables.items()
    }
    early = cutoff - pd.Timedelta(days=120)
    pd.testing.assert_frame_equal(
        build_labels(tables, early), build_labels(shuffled, early), check_exact=True
    )
