"""Timestamps in UTC: naive ones read as UTC with one warning, others converted, text parsed."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_ml.recsys.timestamps import as_utc, utc_tables


def test_naive_columns_become_utc_with_one_warning_naming_them(caplog):
    tables = {
        "orders": pd.DataFrame({"ts": pd.to_datetime(["2024-01-01 10:00"]), "amount": [1.0]}),
        "customers": pd.DataFrame({"signup_ts": pd.to_datetime(["2023-05-01"])}),
    }
    with caplog.at_level("WARNING", logger="crm_ml.recsys"):
        out = utc_tables(tables)
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        "timestamps without a timezone in orders.ts, customers.signup_ts are read as UTC; "
        "give them a timezone (DESIGN.md: timestamps are UTC) to silence this"
    ]
    assert out["orders"]["ts"].iloc[0] == pd.Timestamp("2024-01-01 10:00", tz="UTC")
    assert str(out["customers"]["signup_ts"].dt.tz) == "UTC"
    assert out["orders"]["amount"].tolist() == [1.0]


def test_utc_tables_are_kept_and_other_zones_converted_quietly(caplog):
    utc = pd.DataFrame({"ts": pd.to_datetime(["2024-01-01 10:00"], utc=True)})
    paris = pd.DataFrame({"ts": pd.to_datetime(["2024-01-01 11:00"]).tz_localize("Europe/Paris")})
    with caplog.at_level("WARNING", logger="crm_ml.recsys"):
        out = utc_tables({"orders": utc, "events": paris})
    assert out["orders"] is utc
    assert out["events"]["ts"].iloc[0] == pd.Timestamp("2024-01-01 10:00", tz="UTC")
    assert not caplog.records


def test_text_timestamps_are_parsed_and_bad_text_is_named():
    out = utc_tables({"orders": pd.DataFrame({"ts": ["2024-01-01T10:00:00Z"]})})
    assert out["orders"]["ts"].iloc[0] == pd.Timestamp("2024-01-01 10:00", tz="UTC")
    with pytest.raises(ValueError, match=r"table 'orders' column 'ts'"):
        utc_tables({"orders": pd.DataFrame({"ts": ["yesterday-ish"]})})
    assert as_utc("2024-01-01") == pd.Timestamp("2024-01-01", tz="UTC")
