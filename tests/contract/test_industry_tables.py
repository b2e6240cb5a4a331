"""The industry-specific tables: subscriptions, accounts (and customers.account_id), balances.

Each is optional and only some exports have it (subscription businesses, B2B, banks). A
valid file of each is accepted with its types; each row rule quarantines exactly the
corrupted row with its reason; erasure reaches them; a customer's unknown account costs
the link, not the customer; and an export without them loads as before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from crm_ml.contract import pseudonymise_ids
from crm_ml.contract.summary import read_accounting
from crm_ml.contract.tables import EVENT_TYPES

KEY = b"test-key"
INDUSTRY = ("subscriptions", "accounts", "balances")
Tables = dict[str, pd.DataFrame]


def industry_tables(tables: Tables) -> Tables:
    """`tables` (the clean export of conftest, customers C001-C006, C006 erased) plus a
    valid file of each industry table and an account per customer."""
    tables["customers"]["account_id"] = ["A1", "A1", "A2", "A2", "", "A2"]
    tables["accounts"] = pd.DataFrame(
        {
            "account_id": ["A1", "A2"],
            "industry": ["software", "logistics"],
            "size_band": ["50-249", "250+"],
            "region": ["north", ""],
        }
    )
    tables["subscriptions"] = pd.DataFrame(
        {
            "subscription_id": ["S1", "S2", "S3", "S4"],
            "customer_id": ["C001", "C002", "C003", "C006"],
            "product_id": ["P1", "P2", "P1", "P1"],
            "start_ts": ["2024-01-01T00:00:00Z", "2023-06-01T00:00:00Z"] * 2,
            "status": ["Active", "cancelled", "ENDED", "active"],
            "end_ts": ["", "2024-06-01T00:00:00Z", "2024-08-01T00:00:00Z", ""],
            "term_months": ["12", "", "12", "1"],
            # the next renewal of an active contract lies after the as-of date (2025-01-01)
            "renewal_ts": ["2025-06-01T00:00:00Z", "", "", "2025-02-01T00:00:00Z"],
            "recurring_amount": ["49.0", "9.5", "0", "10"],
            "cancel_reason": ["", "price", "", ""],
            "seats": ["10", "", "3", "1"],
        }
    )
    tables["balances"] = pd.DataFrame(
        {
            "customer_id": ["C001", "C001", "C002", "C006"],
            "product_id": ["P1", "P1", "P3", "P1"],
            "month": ["2024-11-01T00:00:00Z", "2024-12-01", "2024-12", "2024-12-01T00:00:00Z"],
            "balance": ["-120.5", "30", "1000", "5"],
        }
    )
    return tables


@pytest.fixture
def full_tables(clean_tables) -> Tables:
    return industry_tables(clean_tables())


def _pseudonym(raw: str) -> str:
    return pseudonymise_ids(pd.Series([raw]), KEY).iloc[0]


def test_valid_industry_tables_are_accepted_with_their_types(
    tmp_path: Path, load, full_tables, write_export, check_accounting
) -> None:
    result = load(write_export(tmp_path / "e", full_tables))
    check_accounting(result)
    report = result.report_frame().set_index("table")
    assert report["quarantined"].sum() == 0, result.reasons()
    assert result.notes().empty
    assert report.loc["accounts", "accepted"] == 2
    assert report.loc["subscriptions", ["accepted", "erased"]].tolist() == [3, 1]
    assert report.loc["balances", ["accepted", "erased"]].tolist() == [3, 1]

    subscriptions = result.tables["subscriptions"]
    assert subscriptions["status"].tolist() == ["active", "cancelled", "ended"]  # any case
    for column in ("start_ts", "end_ts", "renewal_ts"):
        assert str(subscriptions[column].dtype) == "datetime64[ns, UTC]", column
    assert str(subscriptions["term_months"].dtype) == "Int64"
    assert str(subscriptions["seats"].dtype) == "Int64"
    assert subscriptions["seats"].tolist()[::2] == [10, 3]
    assert subscriptions["recurring_amount"].dtype == "float64"
    assert pd.isna(subscriptions.loc[1, "term_months"])  # month to month
    assert str(subscriptions["cancel_reason"].dtype) == "string"

    balances = result.tables["balances"]
    assert str(balances["month"].dtype) == "datetime64[ns, UTC]"
    assert balances["month"].tolist() == [
        pd.Timestamp(m, tz="UTC") for m in ("2024-11-01", "2024-12-01", "2024-12-01")
    ]
    assert balances["balance"].tolist() == [-120.5, 30.0, 1000.0]  # overdrafts are balances

    accounts = result.tables["accounts"]
    assert str(accounts["account_id"].dtype) == "string"
    customers = result.tables["customers"]
    assert customers["account_id"].fillna("").tolist() == ["A1", "A1", "A2", "A2", ""]
    # customer ids are pseudonymised in the new tables as everywhere
    assert _pseudonym("C001") in set(subscriptions["customer_id"])
    assert _pseudonym("C001") in set(balances["customer_id"])


def test_a_renewal_after_the_as_of_date_is_accepted_other_timestamps_are_not(
    tmp_path: Path, load, full_tables, write_export
) -> None:
    full_tables["subscriptions"].loc[1, "end_ts"] = "2024-06-01T00:00:00Z"
    full_tables["subscriptions"].loc[0, "renewal_ts"] = "2031-01-01T00:00:00Z"
    result = load(write_export(tmp_path / "e", full_tables))
    subscriptions = result.tables["subscriptions"]
    assert subscriptions.loc[0, "renewal_ts"] == pd.Timestamp("2031-01-01", tz="UTC")
    assert result.notes().empty
    # a start or an end after the as-of date keeps being a problem
    full_tables["subscriptions"].loc[0, "start_ts"] = "2025-03-01T00:00:00Z"
    full_tables["subscriptions"].loc[2, "end_ts"] = "2025-03-01T00:00:00Z"
    full_tables["subscriptions"].loc[2, "status"] = "active"
    result = load(write_export(tmp_path / "f", full_tables))
    assert result.quarantine["subscriptions"]["reason"].tolist() == [
        "start_ts: timestamp after the export's as-of date"
    ]
    note = result.notes().set_index("column").loc["end_ts"]
    assert note["issue"] == "timestamp after the export's as-of date; set to null"
    assert note["count"] == 1
    kept = result.tables["subscriptions"].set_index("subscription_id")
    assert pd.isna(kept.loc["S3", "end_ts"])  # an active contract's planned end is not known


@dataclass(frozen=True)
class RowCase:
    name: str
    table: str
    column: str
    value: str
    reason: str
    row: int = 0


ENDED_WITHOUT_END = (
    "status cancelled or ended without an end_ts (or with one that is unparseable or after "
    "the export's as-of date)"
)
ROW_CASES = [
    RowCase(
        "end before start", "subscriptions", "end_ts", "2022-01-01", "end_ts before start_ts", 1
    ),
    RowCase(
        "renewal before start",
        "subscriptions",
        "renewal_ts",
        "2023-12-01T00:00:00Z",
        "renewal_ts before start_ts",
    ),
    RowCase("cancelled without an end", "subscriptions", "end_ts", "", ENDED_WITHOUT_END, 1),
    RowCase("ended without an end", "subscriptions", "end_ts", "", ENDED_WITHOUT_END, 2),
    # the end_ts is set to null (a note), which leaves a cancellation without an end
    RowCase(
        "cancelled with an end after the as-of date",
        "subscriptions",
        "end_ts",
        "2025-02-01T00:00:00Z",
        ENDED_WITHOUT_END,
        1,
    ),
    RowCase(
        "cancelled with an unparseable end",
        "subscriptions",
        "end_ts",
        "soon",
        ENDED_WITHOUT_END,
        1,
    ),
    RowCase(
        "active with an end",
        "subscriptions",
        "end_ts",
        "2024-10-01T00:00:00Z",
        "status active with an end_ts",
    ),
    RowCase(
        "status outside its set",
        "subscriptions",
        "status",
        "paused",
        "status: not one of active, cancelled, ended",
    ),
    RowCase("missing status", "subscriptions", "status", "", "status: missing required value"),
    RowCase(
        "subscription of an unknown product",
        "subscriptions",
        "product_id",
        "P9",
        "product_id: unknown product_id (not in products)",
    ),
    RowCase(
        "subscription of an unknown customer",
        "subscriptions",
        "customer_id",
        "C999",
        "customer_id: unknown customer_id (not in customers)",
    ),
    RowCase(
        "unparseable start",
        "subscriptions",
        "start_ts",
        "01/02/2024",
        "start_ts: cannot parse '01/02/2024' as ts",
    ),
    RowCase(
        "duplicate subscription id",
        "subscriptions",
        "subscription_id",
        "S1",
        "duplicate key (subscription_id) of an earlier row",
        1,
    ),
    RowCase(
        "month in the middle of a month",
        "balances",
        "month",
        "2024-11-15",
        "month: not the first day of a month at 00:00 UTC",
    ),
    RowCase(
        "month at midnight of another time zone",  # 2024-10-31T23:00Z: not truncated
        "balances",
        "month",
        "2024-11-01T00:00:00+01:00",
        "month: not the first day of a month at 00:00 UTC",
    ),
    RowCase(
        "month at noon of its first day",
        "balances",
        "month",
        "2024-11-01T12:00:00Z",
        "month: not the first day of a month at 00:00 UTC",
    ),
    RowCase(
        "month after the as-of date",
        "balances",
        "month",
        "2025-02-01",
        "month: timestamp after the export's as-of date",
    ),
    RowCase(
        "the same month twice",
        "balances",
        "month",
        "2024-11-01",
        "duplicate key (customer_id, product_id, month) of an earlier row",
        1,
    ),
    RowCase("missing balance", "balances", "balance", "", "balance: missing required value"),
    RowCase(
        "balance with a thousands separator",
        "balances",
        "balance",
        "1,000.00",
        "balance: cannot parse '1,000.00' as float",
    ),
    RowCase(
        "balance of an unknown product",
        "balances",
        "product_id",
        "P9",
        "product_id: unknown product_id (not in products)",
    ),
    RowCase(
        "balance of an unknown customer",
        "balances",
        "customer_id",
        "C999",
        "customer_id: unknown customer_id (not in customers)",
    ),
    RowCase(
        "duplicate account",
        "accounts",
        "account_id",
        "A1",
        "duplicate key (account_id) of an earlier row",
        1,
    ),
    RowCase(
        "account without an id",
        "accounts",
        "account_id",
        "",
        "account_id: missing required value",
        1,
    ),
]


@pytest.mark.parametrize("case", ROW_CASES, ids=lambda c: c.name)
def test_bad_row_is_quarantined_with_its_reason(
    case: RowCase, tmp_path: Path, load, full_tables, write_export, check_accounting
) -> None:
    full_tables[case.table].loc[case.row, case.column] = case.value
    result = load(write_export(tmp_path / "e", full_tables))
    check_accounting(result)
    quarantined = result.quarantine[case.table]
    assert quarantined["record"].tolist() == [case.row + 1]
    assert quarantined["reason"].tolist() == [case.reason]
    # nothing follows it elsewhere: a customer losing account A2 loses the link only
    others = [rows for name, rows in result.quarantine.items() if name != case.table]
    assert all(rows.empty for rows in others), result.reasons()


@dataclass(frozen=True)
class ValueCase:
    name: str
    column: str
    value: str
    issue: str


VALUE_CASES = [
    ValueCase("term of zero months", "term_months", "0", "term_months below 1; set to null"),
    ValueCase("fractional term", "term_months", "1.5", "cannot parse as int; set to null"),
    ValueCase("no seats", "seats", "0", "seats below 1; set to null"),
    ValueCase("negative recurring amount", "recurring_amount", "-5", "negative value; set to null"),
    ValueCase("renewal as words", "renewal_ts", "next year", "cannot parse as ts; set to null"),
]


@pytest.mark.parametrize("case", VALUE_CASES, ids=lambda c: c.name)
def test_bad_optional_value_of_a_subscription_costs_the_value(
    case: ValueCase, tmp_path: Path, load, full_tables, write_export, check_accounting
) -> None:
    full_tables["subscriptions"].loc[0, case.column] = case.value
    result = load(write_export(tmp_path / "e", full_tables))
    check_accounting(result)
    assert result.quarantine["subscriptions"].empty
    assert pd.isna(result.tables["subscriptions"].loc[0, case.column])
    notes = result.notes()
    assert notes[["table", "column", "issue", "count"]].values.tolist() == [
        ["subscriptions", case.column, case.issue, 1]
    ]


def test_erasure_removes_the_rows_of_erased_customers(
    tmp_path: Path, load, full_tables, write_export, check_accounting
) -> None:
    full_tables["erasure"].loc[0, "customer_id"] = "c006"  # matches C006 ignoring case
    result = load(write_export(tmp_path / "e", full_tables))
    check_accounting(result)
    report = result.report_frame().set_index("table")
    assert report.loc[["subscriptions", "balances"], "erased"].tolist() == [1, 1]
    assert report.loc["accounts", "erased"] == 0  # an account is a company, not a person
    erased = _pseudonym("C006")
    for table in ("subscriptions", "balances"):
        assert erased not in set(result.tables[table]["customer_id"]), table
        assert result.quarantine[table].empty, table
    assert result.tables["accounts"]["account_id"].tolist() == ["A1", "A2"]


def test_an_unknown_account_costs_the_link_not_the_customer(
    tmp_path: Path, load, full_tables, write_export, check_accounting
) -> None:
    full_tables["customers"].loc[[0, 2], "account_id"] = ["A9", " A2 "]  # stale; whitespace
    result = load(write_export(tmp_path / "e", full_tables))
    check_accounting(result)
    assert result.report_frame()["quarantined"].sum() == 0, result.reasons()
    customers = result.tables["customers"].set_index("customer_id")
    assert len(customers) == 5
    assert pd.isna(customers.loc[_pseudonym("C001"), "account_id"])
    assert customers.loc[_pseudonym("C003"), "account_id"] == "A2"
    assert _pseudonym("C001") in set(result.tables["orders"]["customer_id"])  # orders kept
    notes = result.notes()
    assert notes[["table", "column", "issue", "count"]].values.tolist() == [
        ["customers", "account_id", "unknown account_id (not in accounts); set to null", 1]
    ]


def test_without_an_accounts_file_account_links_are_kept_as_given(
    tmp_path: Path, load, full_tables, write_export, check_accounting
) -> None:
    del full_tables["accounts"]
    full_tables["customers"].loc[0, "account_id"] = "A9"
    result = load(write_export(tmp_path / "e", full_tables))
    check_accounting(result)
    assert result.notes().empty
    assert result.tables["customers"]["account_id"].fillna("").tolist() == [
        "A9",
        "A1",
        "A2",
        "A2",
        "",
    ]


def test_status_rules_need_the_end_ts_column(
    tmp_path: Path, load, full_tables, write_export, check_accounting
) -> None:
    """Without an end_ts column an export says nothing about ends: nothing to contradict."""
    full_tables["subscriptions"] = full_tables["subscriptions"].drop(columns="end_ts")
    result = load(write_export(tmp_path / "e", full_tables))
    check_accounting(result)
    assert result.quarantine["subscriptions"].empty
    assert "end_ts" not in result.tables["subscriptions"]


def test_an_export_without_the_industry_tables_loads_as_before(
    tmp_path: Path, load, clean_tables, full_tables, write_export
) -> None:
    without = load(write_export(tmp_path / "without", clean_tables()))
    assert not set(INDUSTRY) & set(without.tables)
    assert not set(INDUSTRY) & set(without.report_frame()["table"])
    assert without.notes().empty and without.report_frame()["quarantined"].sum() == 0
    # and with them, every other table is accepted exactly as without them
    with_them = load(write_export(tmp_path / "with", full_tables))
    for name, frame in without.tables.items():
        other = with_them.tables[name]
        if name == "customers":
            other = other.drop(columns="account_id")
        pd.testing.assert_frame_equal(frame, other, check_like=False)
    keep = without.report_frame().drop(columns="file")
    both = with_them.report_frame().drop(columns="file")
    pd.testing.assert_frame_equal(
        keep, both[both["table"].isin(keep["table"])].reset_index(drop=True)
    )


def test_manifest_and_report_list_the_industry_tables(
    tmp_path: Path, load, full_tables, write_export
) -> None:
    load(write_export(tmp_path / "e", full_tables), accepted_dir=tmp_path / "accepted")
    manifest = json.loads((tmp_path / "accepted" / "manifest.json").read_text())
    assert set(INDUSTRY) <= set(manifest["tables"])
    for table in INDUSTRY:
        assert (tmp_path / "accepted" / f"{table}.parquet").exists(), table
    accounting = read_accounting(tmp_path / "quarantine").set_index("table")
    assert accounting.loc["subscriptions"].tolist() == [4, 3, 0, 1]
    assert accounting.loc["balances"].tolist() == [4, 3, 0, 1]
    assert accounting.loc["accounts"].tolist() == [2, 2, 0, 0]
    # accounts are loaded before the customers that point at them
    order = list(accounting.index)
    assert order.index("accounts") < order.index("customers")


def test_parquet_industry_tables_with_native_types_are_read_like_csv(
    tmp_path: Path, load, full_tables, check_accounting
) -> None:
    folder = tmp_path / "pq"
    folder.mkdir()
    subscriptions = full_tables["subscriptions"]
    for column in ("start_ts", "end_ts", "renewal_ts"):
        subscriptions[column] = pd.to_datetime(subscriptions[column].replace("", None), utc=True)
    for column in ("term_months", "seats"):
        subscriptions[column] = pd.to_numeric(subscriptions[column]).astype("Int64")
    balances = full_tables["balances"]
    balances["month"] = pd.to_datetime(["2024-11-01", "2024-12-01", "2024-12-01", "2024-12-01"])
    balances["balance"] = balances["balance"].astype(float)
    for name, frame in full_tables.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    result = load(folder)
    check_accounting(result)
    assert result.report_frame()["quarantined"].sum() == 0, result.reasons()
    assert result.tables["subscriptions"]["seats"].tolist() == [10, pd.NA, 3]
    assert result.tables["balances"]["balance"].tolist() == [-120.5, 30.0, 1000.0]


def test_usage_is_an_event_type(
    tmp_path: Path, load, full_tables, write_export, check_accounting
) -> None:
    assert "usage" in EVENT_TYPES
    full_tables["events"].loc[0, "event_type"] = "Usage"
    full_tables["events"].loc[1, "event_type"] = "usages"
    result = load(write_export(tmp_path / "e", full_tables))
    check_accounting(result)
    assert "usage" in set(result.tables["events"]["event_type"])
    assert result.quarantine["events"]["reason"].str.startswith("event_type: not one of").all()
    assert len(result.quarantine["events"]) == 1
