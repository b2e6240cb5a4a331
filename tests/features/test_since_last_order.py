"""The churn signals read relative to the last purchase, on one hand-made customer whose
values can be worked out by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from crm_ml.features import build_features

STRING = "string[pyarrow]"
CUTOFF = pd.Timestamp("2023-07-01", tz="UTC")
SIGNUP = pd.Timestamp("2023-01-01", tz="UTC")
LAST_ORDER = pd.Timestamp("2023-06-01 10:00", tz="UTC")
CUSTOMER = "f" * 20


def _rows(table: pd.DataFrame, values: list[dict]) -> pd.DataFrame:
    """Rows shaped like `table` (same columns and dtypes) with `values` filled in."""
    base = table.iloc[[0] * len(values)].reset_index(drop=True)
    for column in values[0]:
        base[column] = pd.Series([v[column] for v in values]).astype(table[column].dtype)
    return base


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


@pytest.fixture(scope="module")
def row(world) -> pd.Series:
    customer = _rows(world["customers"], [{"customer_id": CUSTOMER, "signup_ts": SIGNUP}])
    orders = _rows(
        world["orders"],
        [
            {"order_id": "own-1", "customer_id": CUSTOMER, "ts": _ts("2023-03-01 10:00")},
            {"order_id": "own-2", "customer_id": CUSTOMER, "ts": LAST_ORDER},
        ],
    ).assign(is_return=pd.array([False, False], dtype="boolean"), amount=10.0)
    events = _rows(
        world["events"],
        [
            {"customer_id": CUSTOMER, "ts": _ts("2023-05-01 12:00"), "event_type": "view"},
            # around the first order (10:00): 61 minutes before is background; 50 minutes
            # before (the previous clock hour) and the same instant lead to the order
            {"customer_id": CUSTOMER, "ts": _ts("2023-03-01 08:59"), "event_type": "view"},
            {"customer_id": CUSTOMER, "ts": _ts("2023-03-01 09:10"), "event_type": "view"},
            {"customer_id": CUSTOMER, "ts": _ts("2023-03-01 10:00"), "event_type": "cart_add"},
            # browsing in the hour before the last order led to it: not background
            {"customer_id": CUSTOMER, "ts": _ts("2023-06-01 09:30"), "event_type": "session"},
            {"customer_id": CUSTOMER, "ts": _ts("2023-06-11 10:00"), "event_type": "session"},
            {"customer_id": CUSTOMER, "ts": _ts("2023-06-21 10:00"), "event_type": "view"},
        ],
    )
    never = pd.NaT
    tickets = _rows(
        world["tickets"],
        [
            # complaint still open at the last order (resolved after it)
            {
                "ticket_id": "own-t1",
                "customer_id": CUSTOMER,
                "kind": "complaint",
                "opened_ts": _ts("2023-05-20 10:00"),
                "first_response_ts": _ts("2023-05-20 10:10"),
                "resolved_ts": _ts("2023-06-05 10:00"),
            },
            # consult answered after 3 hours against a 60-minute target: a visible breach
            {
                "ticket_id": "own-t2",
                "customer_id": CUSTOMER,
                "kind": "consult",
                "opened_ts": _ts("2023-05-10 10:00"),
                "first_response_ts": _ts("2023-05-10 13:00"),
                "resolved_ts": _ts("2023-05-10 14:00"),
            },
            {
                "ticket_id": "own-t3",
                "customer_id": CUSTOMER,
                "kind": "fault",
                "opened_ts": _ts("2023-06-15 10:00"),
                "first_response_ts": never,
                "resolved_ts": never,
            },
        ],
    )
    contacts = _rows(
        world["contacts"],
        [
            {
                "contact_id": "own-c1",
                "customer_id": CUSTOMER,
                "sent_ts": _ts("2023-06-10 08:00"),
                "is_control": False,
                "responded_ts": never,
            },
            {  # control contacts received nothing
                "contact_id": "own-c2",
                "customer_id": CUSTOMER,
                "sent_ts": _ts("2023-06-12 08:00"),
                "is_control": True,
                "responded_ts": never,
            },
            {
                "contact_id": "own-c3",
                "customer_id": CUSTOMER,
                "sent_ts": _ts("2023-02-28 08:00"),
                "is_control": False,
                "responded_ts": _ts("2023-03-01 10:00"),
            },
        ],
    )
    tables = dict(world)
    for name, extra in [
        ("customers", customer),
        ("orders", orders),
        ("events", events),
        ("tickets", tickets),
        ("contacts", contacts),
    ]:
        tables[name] = pd.concat([world[name], extra], ignore_index=True)
    features = build_features(tables, CUTOFF)
    return features.set_index("customer_id").loc[CUSTOMER]


def test_engagement_since_the_last_order(row):
    g = (CUTOFF - LAST_ORDER).total_seconds() / 86400
    rate = 2 / ((LAST_ORDER - SIGNUP).total_seconds() / 86400)  # two background events
    summed = 10.0 + 20.0  # events 10 and 20 days after the last order
    fade = 21.0
    score = -rate * g + summed / fade + rate * fade * (1 - math.exp(-g / fade))
    assert row["events_since_last_order"] == 2
    assert row["visits_since_last_order"] == 1
    assert row["background_events_per_day"] == pytest.approx(rate)
    assert row["expected_events_since_last_order"] == pytest.approx(rate * g)
    assert row["engagement_silence_score"] == pytest.approx(score)


def test_service_seen_at_the_last_order(row):
    assert row["open_complaints_at_last_order"] == 1
    assert row["sla_breaches_before_last_order"] == 1
    assert row["tickets_since_last_order"] == 1
    assert row["tickets_year_before_last_order"] == 2


def test_campaigns_ignored_since_the_last_order(row):
    assert row["contacts_unanswered_since_last_order"] == 1
    assert row["response_rate_before_last_order"] == pytest.approx(1.0)


def test_purchase_rate(row):
    days = (CUTOFF - SIGNUP).total_seconds() / 86400
    assert row["orders_per_day"] == pytest.approx(2 / days)
    g = (CUTOFF - LAST_ORDER).total_seconds() / 86400
    assert row["expected_orders_since_last_order"] == pytest.approx(
        row["repeat_orders_per_day"] * g
    )
    assert row["repeat_orders_per_day"] < 2 / 92  # shrunk below the raw 2 orders in 92 days
