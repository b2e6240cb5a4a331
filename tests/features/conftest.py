"""Small random worlds shaped like accepted contract tables, for the feature tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

START = pd.Timestamp("2022-01-01", tz="UTC")
END = pd.Timestamp("2024-01-01", tz="UTC")
CUTOFF = pd.Timestamp("2023-07-01", tz="UTC")
CATEGORIES = ("books", "garden", "toys", "tech", "food")
STRING = "string[pyarrow]"


def _ids(prefix: str, n: int, offset: int = 0) -> pd.Series:
    return pd.Series([f"{prefix}{i + offset:06d}" for i in range(n)], dtype=STRING)


def _times(rng: np.random.Generator, n: int, lo: pd.Timestamp, hi: pd.Timestamp) -> pd.Series:
    seconds = rng.integers(0, int((hi - lo).total_seconds()), size=n)
    return pd.Series(lo + pd.to_timedelta(seconds, unit="s"), dtype="datetime64[ns, UTC]")


def _maybe_after(
    rng: np.random.Generator, base: pd.Series, max_minutes: float, missing: float
) -> pd.Series:
    """base + a random delay; a share `missing` left empty (never happened)."""
    delay = pd.to_timedelta(rng.exponential(max_minutes / 3, size=len(base)), unit="min")
    out = (base + delay).astype("datetime64[ns, UTC]")
    return out.mask(rng.random(len(base)) < missing)


def make_world(
    seed: int = 0,
    customers: int = 120,
    orders: int = 900,
    events: int = 3000,
    start: pd.Timestamp = START,
    end: pd.Timestamp = END,
) -> dict[str, pd.DataFrame]:
    """Accepted-contract-shaped tables with every optional table and column present."""
    rng = np.random.default_rng(seed)
    customer_ids = pd.Series(
        [f"{i:020x}" for i in rng.choice(16**8, customers, False)], dtype=STRING
    )
    consent_updated = _times(rng, customers, start, end).mask(rng.random(customers) < 0.3)
    table_customers = pd.DataFrame(
        {
            "customer_id": customer_ids,
            "signup_ts": _times(rng, customers, start - pd.Timedelta(days=400), end),
            "region": pd.Series(rng.choice(["north", "south"], customers), dtype=STRING),
            "birth_year": pd.array(rng.integers(1940, 2005, customers), dtype="Int64"),
            "marketing_consent": pd.array(rng.random(customers) < 0.7, dtype="boolean"),
            "consent_updated_ts": consent_updated,
        }
    )
    n_products = 25
    products = pd.DataFrame(
        {
            "product_id": _ids("p", n_products),
            "category": pd.Series(rng.choice(CATEGORIES, n_products), dtype=STRING),
            "price": rng.uniform(2, 200, n_products).round(2),  # money: whole cents
        }
    )
    # Orders: a few lines each, some lines returned through a separate return order.
    n_headers = max(orders // 2, 1)
    header_customer = rng.integers(0, customers, n_headers)
    header_ts = _times(rng, n_headers, start, end)
    lines_per_order = rng.integers(1, 4, n_headers)
    line_header = np.repeat(np.arange(n_headers), lines_per_order)
    line_product = np.concatenate(
        [rng.choice(n_products, k, replace=False) for k in lines_per_order]
    )
    quantity = rng.integers(1, 4, len(line_header))
    amount = products["price"].to_numpy()[line_product] * quantity
    purchases = pd.DataFrame(
        {
            "order_id": _ids("o", n_headers).to_numpy()[line_header],
            "product_id": products["product_id"].to_numpy()[line_product],
            "customer_id": customer_ids.to_numpy()[header_customer[line_header]],
            "ts": header_ts.to_numpy()[line_header],
            "amount": amount,
            "quantity": quantity,
            "channel": rng.choice(["web", "store", "app"], n_headers)[line_header],
            "is_return": False,
        }
    )
    returned = purchases.sample(frac=0.08, random_state=seed).reset_index(drop=True)
    returned["order_id"] = _ids("r", len(returned)).to_numpy()
    returned["ts"] = returned["ts"] + pd.to_timedelta(rng.integers(1, 40, len(returned)), unit="D")
    returned["amount"] = -returned["amount"]
    returned["is_return"] = True
    table_orders = _typed_orders(pd.concat([purchases, returned], ignore_index=True))

    def customer_sample(n: int) -> pd.Series:
        return pd.Series(customer_ids.to_numpy()[rng.integers(0, customers, n)], dtype=STRING)

    event_types = ["session", "app_open", "view", "search", "cart_add"]
    table_events = pd.DataFrame(
        {
            "customer_id": customer_sample(events),
            "ts": _times(rng, events, start, end),
            "event_type": pd.Series(rng.choice(event_types, events), dtype=STRING),
            "product_id": pd.Series(
                products["product_id"].to_numpy()[rng.integers(0, n_products, events)], dtype=STRING
            ),
            "channel": pd.Series(rng.choice(["web", "app"], events), dtype=STRING),
        }
    )
    n_tickets = customers * 2
    opened = _times(rng, n_tickets, start, end)
    first_response = _maybe_after(rng, opened, 300, 0.1)
    resolved = _maybe_after(rng, opened, 60 * 24 * 30, 0.15)
    table_tickets = pd.DataFrame(
        {
            "ticket_id": _ids("t", n_tickets),
            "customer_id": customer_sample(n_tickets),
            "opened_ts": opened,
            "kind": pd.Series(
                rng.choice(["consult", "fault", "complaint"], n_tickets), dtype=STRING
            ),
            "first_response_ts": first_response,
            "resolved_ts": resolved,
            "channel": pd.Series(rng.choice(["phone", "chat"], n_tickets), dtype=STRING),
            "csat": pd.array(rng.integers(1, 6, n_tickets), dtype="Int64"),
        }
    )
    table_tickets["csat"] = table_tickets["csat"].mask(resolved.isna())
    n_contacts = customers * 4
    sent = _times(rng, n_contacts, start, end)
    table_contacts = pd.DataFrame(
        {
            "contact_id": _ids("c", n_contacts),
            "customer_id": customer_sample(n_contacts),
            "campaign_id": pd.Series(
                rng.choice(["spring", "summer", "winter"], n_contacts), dtype=STRING
            ),
            "sent_ts": sent,
            "channel": pd.Series(rng.choice(["email", "sms"], n_contacts), dtype=STRING),
            "is_control": pd.array(rng.random(n_contacts) < 0.1, dtype="boolean"),
            "offer_category": pd.Series(rng.choice(CATEGORIES, n_contacts), dtype=STRING),
            "responded_ts": _maybe_after(rng, sent, 60 * 24 * 20, 0.75),
        }
    )
    n_surveys = customers
    table_surveys = pd.DataFrame(
        {
            "customer_id": customer_sample(n_surveys),
            "ts": _times(rng, n_surveys, start, end),
            "nps": pd.array(rng.integers(0, 11, n_surveys), dtype="Int64"),
        }
    )
    n_exclusions = customers // 3
    table_exclusions = pd.DataFrame(
        {
            "customer_id": customer_sample(n_exclusions),
            "category": pd.Series(rng.choice(CATEGORIES, n_exclusions), dtype=STRING),
            "ts": _times(rng, n_exclusions, start, end),
            "source": pd.Series(rng.choice(["dismissed", "complaint"], n_exclusions), dtype=STRING),
        }
    )
    return {
        "customers": table_customers,
        "products": products,
        "orders": table_orders,
        "events": table_events,
        "tickets": table_tickets,
        "contacts": table_contacts,
        "surveys": table_surveys,
        "exclusions": table_exclusions,
    }


def _typed_orders(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(
        {
            "order_id": STRING,
            "product_id": STRING,
            "customer_id": STRING,
            "ts": "datetime64[ns, UTC]",
            "amount": "float64",
            "quantity": "Int64",
            "channel": STRING,
            "is_return": "boolean",
        }
    )


@pytest.fixture(scope="session")
def world() -> dict[str, pd.DataFrame]:
    return make_world(seed=7)


@pytest.fixture(scope="session")
def cutoff() -> pd.Timestamp:
    return CUTOFF


@pytest.fixture(scope="session")
def world_factory():
    """`make_world` itself, for tests that need several worlds (e.g. property tests)."""
    return make_world
