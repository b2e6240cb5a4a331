"""A small valid export, built in code, that each test corrupts in one way."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

AS_OF = "2025-01-01T00:00:00Z"
KEY = b"test-key"


def clean_tables(n_customers: int = 6) -> dict[str, pd.DataFrame]:
    """Valid raw tables as text, every table of the contract, with personal data."""
    ids = [f"C{i:03d}" for i in range(1, n_customers + 1)]
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "signup_ts": [f"2024-01-{i:02d}T10:00:00Z" for i in range(1, n_customers + 1)],
            "region": ["north", "south"] * (n_customers // 2) + ["east"] * (n_customers % 2),
            "birth_year": ["1980"] * n_customers,
            "marketing_consent": ["true", "false"] * (n_customers // 2)
            + ["true"] * (n_customers % 2),
            "name": [f"Person Number{i} Surname" for i in range(n_customers)],
            "email": [f"person{i}@mail.example.org" for i in range(n_customers)],
            "phone": [f"+44 7700 9{i:05d}" for i in range(n_customers)],
        }
    )
    products = pd.DataFrame(
        {
            "product_id": ["P1", "P2", "P3"],
            "category": ["shoes", "socks", "health"],
            "price": ["80.0", "5.5", "20"],
            "is_sensitive": ["false", "false", "true"],
            "is_repeatable": ["false", "true", "true"],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(n_customers)],
            "product_id": ["P1", "P2", "P3"] * (n_customers // 3) + ["P1"] * (n_customers % 3),
            "customer_id": ids,
            "ts": [f"2024-03-{i + 1:02d}T12:00:00Z" for i in range(n_customers)],
            "amount": ["80.0"] * n_customers,
            "quantity": ["1"] * n_customers,
            "is_return": ["false"] * n_customers,
        }
    )
    events = pd.DataFrame(
        {
            "customer_id": ids,
            "ts": ["2024-02-01T08:00:00Z"] * n_customers,
            "event_type": ["view"] * n_customers,
            "product_id": ["P1"] * n_customers,
        }
    )
    tickets = pd.DataFrame(
        {
            "ticket_id": ["T1", "T2"],
            "customer_id": ids[:2],
            "opened_ts": ["2024-04-01T10:00:00Z"] * 2,
            "kind": ["complaint", "fault"],
            "first_response_ts": ["2024-04-01T10:20:00Z"] * 2,
            "resolved_ts": ["2024-04-02T10:00:00Z", ""],
            "csat": ["4", ""],
        }
    )
    contacts = pd.DataFrame(
        {
            "contact_id": ["K1", "K2"],
            "customer_id": ids[:2],
            "campaign_id": ["CMP"] * 2,
            "sent_ts": ["2024-05-01T08:00:00Z"] * 2,
            "is_control": ["false", "true"],
            "responded_ts": ["2024-05-02T08:00:00Z", ""],
        }
    )
    surveys = pd.DataFrame(
        {"customer_id": ids[:2], "ts": ["2024-06-01T00:00:00Z"] * 2, "nps": ["9", "3"]}
    )
    exclusions = pd.DataFrame(
        {"customer_id": ids[:1], "category": ["health"], "ts": ["2024-06-02T00:00:00Z"]}
    )
    erasure = pd.DataFrame({"customer_id": [ids[-1]], "ts": ["2024-12-01T00:00:00Z"]})
    return {
        "customers": customers,
        "products": products,
        "orders": orders,
        "events": events,
        "tickets": tickets,
        "contacts": contacts,
        "surveys": surveys,
        "exclusions": exclusions,
        "erasure": erasure,
    }


def write_export(folder: Path, tables: dict[str, pd.DataFrame]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


@pytest.fixture(name="clean_tables")
def clean_tables_fixture():
    """The factory of valid raw tables (call it for a fresh copy)."""
    return clean_tables


@pytest.fixture(name="write_export")
def write_export_fixture():
    return write_export


@pytest.fixture
def export_dir(tmp_path: Path) -> Path:
    return write_export(tmp_path / "export", clean_tables())


def check_accounting(result) -> None:
    """read = accepted + quarantined + erased for every table, and the frames agree."""
    for report in result.reports:
        assert report.read == report.accepted + report.quarantined + report.erased, report
        assert len(result.tables[report.table]) == report.accepted, report
        assert len(result.quarantine[report.table]) == report.quarantined, report


@pytest.fixture(name="check_accounting")
def check_accounting_fixture():
    return check_accounting


@pytest.fixture
def load(tmp_path: Path):
    """load_tables with the test key and as-of, quarantine under tmp_path."""
    from crm_ml.contract import load_tables

    def _load(folder: Path, **kwargs):
        kwargs.setdefault("as_of", AS_OF)
        kwargs.setdefault("quarantine_dir", tmp_path / "quarantine")
        return load_tables(folder, key=KEY, progress=False, **kwargs)

    return _load
