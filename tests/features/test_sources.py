"""Every contract table is a DuckDB view with every contract column, present or not.

The industry-specific tables (subscriptions, accounts, balances) are absent from most
exports: the feature SQL must still see them as empty, correctly typed views, and the
registered sources must say they were absent.
"""

from __future__ import annotations

import pandas as pd
import pytest

from crm_ml.contract.tables import PERSONAL_COLUMNS, TABLES
from crm_ml.features.sources import (
    FEATURE_TABLES,
    SQL_TYPES,
    open_connection,
    register_sources,
)

INDUSTRY = ("subscriptions", "accounts", "balances")


def _view_types(con, table: str) -> dict[str, str]:
    return {row[0]: row[1] for row in con.execute(f"DESCRIBE {table}").fetchall()}


def _contract_types(table: str) -> dict[str, str]:
    spelled = {"TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE"}  # as DESCRIBE names it
    return {
        column: spelled.get(SQL_TYPES[kind], SQL_TYPES[kind])
        for column, kind in TABLES[table].columns.items()
        if column not in PERSONAL_COLUMNS
    }


@pytest.fixture
def con():
    connection = open_connection(threads=1, memory_limit="1GB", temp_directory=None)
    yield connection
    connection.close()


def test_absent_industry_tables_are_empty_typed_views(con, world) -> None:
    required = {name: world[name] for name in ("customers", "products", "orders")}
    sources = register_sources(con, required)
    assert set(INDUSTRY) <= set(FEATURE_TABLES)
    for table in INDUSTRY:
        assert not sources.has(table)
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,), table
        assert _view_types(con, table) == _contract_types(table), table
    # customers without an account column get it as NULL, and the sources say it was absent
    assert _view_types(con, "customers")["account_id"] == "VARCHAR"
    assert con.execute("SELECT count(account_id) FROM customers").fetchone() == (0,)
    assert not sources.has("customers", "account_id")


def test_present_industry_tables_are_views_with_their_rows(con, world) -> None:
    tables = dict(world)
    customer = tables["customers"]["customer_id"].iloc[0]
    product = tables["products"]["product_id"].iloc[0]
    utc = "datetime64[ns, UTC]"
    tables["accounts"] = pd.DataFrame({"account_id": pd.Series(["A1"], dtype="string")})
    tables["balances"] = pd.DataFrame(
        {
            "customer_id": [customer],
            "product_id": [product],
            "month": pd.Series([pd.Timestamp("2023-01-01", tz="UTC")], dtype=utc),
            "balance": [-5.0],
        }
    )
    tables["subscriptions"] = pd.DataFrame(
        {
            "subscription_id": ["S1"],
            "customer_id": [customer],
            "product_id": [product],
            "start_ts": pd.Series([pd.Timestamp("2023-01-01", tz="UTC")], dtype=utc),
            "status": ["active"],
            "seats": pd.array([4], dtype="Int64"),
        }
    )
    sources = register_sources(con, tables)
    for table in INDUSTRY:
        assert sources.has(table)
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone() == (1,), table
        assert _view_types(con, table) == _contract_types(table), table
    assert con.execute("SELECT seats, renewal_ts FROM subscriptions").fetchone() == (4, None)
    assert con.execute("SELECT balance FROM balances").fetchone() == (-5.0,)
    assert sources.has("subscriptions", "seats") and not sources.has("subscriptions", "end_ts")
