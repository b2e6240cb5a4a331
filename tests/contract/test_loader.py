"""load_tables: accepted tables, quarantine with reasons, fatal errors that name file and column."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from crm_ml.contract import load_tables, pseudonymise_ids

KEY = b"test-key"


def assert_balanced(result) -> None:
    for report in result.reports:
        assert report.read == report.accepted + report.quarantined + report.erased, report


def test_clean_export_is_accepted_whole(export_dir: Path, tmp_path: Path, load) -> None:
    result = load(export_dir)
    assert_balanced(result)
    report = result.report_frame().set_index("table")
    assert report["quarantined"].sum() == 0
    # the last customer asked to be forgotten: gone from customers, orders and events
    assert report.loc["customers", "erased"] == 1
    assert report.loc["orders", "erased"] == 1
    assert len(result.tables["customers"]) == 5


def test_accepted_tables_are_typed(export_dir: Path, tmp_path: Path, load) -> None:
    tables = load(export_dir).tables
    assert str(tables["orders"]["ts"].dtype) == "datetime64[ns, UTC]"
    assert tables["orders"]["amount"].dtype == "float64"
    assert str(tables["orders"]["quantity"].dtype) == "Int64"
    assert str(tables["customers"]["marketing_consent"].dtype) == "boolean"
    assert str(tables["customers"]["customer_id"].dtype) == "string"


def test_customer_ids_are_pseudonymised_consistently(
    export_dir: Path, tmp_path: Path, load
) -> None:
    tables = load(export_dir).tables
    expected = pseudonymise_ids(pd.Series(["C001"]), KEY).iloc[0]
    assert expected in set(tables["customers"]["customer_id"])
    assert expected in set(tables["orders"]["customer_id"])
    assert not tables["customers"]["customer_id"].str.startswith("C").any()
    assert {"name", "email", "phone"}.isdisjoint(tables["customers"].columns)


def test_pseudonyms_depend_on_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = pd.Series(["C001", None, "C001"])
    a = pseudonymise_ids(ids, b"one")
    assert a.iloc[0] == a.iloc[2] and pd.isna(a.iloc[1])
    assert a.iloc[0] != pseudonymise_ids(ids, b"two").iloc[0]
    monkeypatch.setenv("CRM_ML_PSEUDONYM_KEY", "one")
    assert pseudonymise_ids(ids).iloc[0] == a.iloc[0]


def test_development_key_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    from crm_ml.contract.privacy import DevelopmentKeyWarning

    monkeypatch.delenv("CRM_ML_PSEUDONYM_KEY", raising=False)
    with pytest.warns(DevelopmentKeyWarning, match="CRM_ML_PSEUDONYM_KEY"):
        pseudonymise_ids(pd.Series(["C001"]))


def test_missing_consent_means_no_consent(tmp_path: Path, load, clean_tables, write_export) -> None:
    tables = clean_tables()
    tables["customers"]["marketing_consent"] = ""
    result = load(write_export(tmp_path / "e", tables))
    assert not result.tables["customers"]["marketing_consent"].any()
    tables["customers"] = tables["customers"].drop(columns="marketing_consent")
    result = load(write_export(tmp_path / "f", tables))
    assert result.tables["customers"]["marketing_consent"].eq(False).all()


def test_optional_tables_and_columns_may_be_absent(
    tmp_path: Path, load, clean_tables, write_export
) -> None:
    tables = {k: v for k, v in clean_tables().items() if k in ("customers", "products", "orders")}
    tables["orders"] = tables["orders"].drop(columns=["quantity", "is_return"])
    result = load(write_export(tmp_path / "e", tables))
    assert set(result.tables) == {"customers", "products", "orders"}
    assert len(result.tables["orders"]) == 6


def test_parquet_input_is_read_like_csv(tmp_path: Path, load, clean_tables, write_export) -> None:
    folder = tmp_path / "pq"
    folder.mkdir()
    for name, frame in clean_tables().items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    result = load(folder)
    assert_balanced(result)
    assert result.report_frame()["quarantined"].sum() == 0


def test_quarantine_written_with_reason_and_stale_files_removed(
    tmp_path: Path, load, clean_tables, write_export
) -> None:
    tables = clean_tables()
    tables["orders"].loc[0, "ts"] = "yesterday"
    folder = write_export(tmp_path / "e", tables)
    load(folder)
    written = pd.read_parquet(tmp_path / "quarantine" / "orders.parquet")
    assert list(written["reason"]) == ["ts: cannot parse 'yesterday' as ts"]
    assert (tmp_path / "quarantine" / "report.json").exists()
    write_export(folder, clean_tables())
    load(folder)
    assert not (tmp_path / "quarantine" / "orders.parquet").exists()


def test_as_of_comes_from_the_manifest(tmp_path: Path, load, clean_tables, write_export) -> None:
    tables = clean_tables()
    tables["orders"].loc[0, "ts"] = "2024-12-30T00:00:00Z"
    folder = write_export(tmp_path / "e", tables)
    (folder / "manifest.json").write_text('{"as_of": "2024-12-01T00:00:00Z"}')
    result = load_tables(folder, key=KEY, quarantine_dir=None, progress=False)
    assert result.as_of == pd.Timestamp("2024-12-01", tz="UTC")
    assert result.report_frame().set_index("table").loc["orders", "quarantined"] == 1


def test_accepted_tables_written_as_parquet(export_dir: Path, tmp_path: Path, load) -> None:
    load(export_dir, accepted_dir=tmp_path / "accepted")
    orders = pd.read_parquet(tmp_path / "accepted" / "orders.parquet")
    assert len(orders) == 5 and str(orders["ts"].dtype).startswith("datetime64")
