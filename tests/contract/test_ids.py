"""Identifiers: how they are normalised, how erasure matches them, near-duplicates noted.

Ids are text, stripped of surrounding whitespace and put in Unicode NFC, then compared
exactly (some CRMs' ids are case-sensitive). Erasure alone matches ignoring case, because
missing a request to be forgotten is worse than erasing a case-variant id too. Ids that
differ from another only in case or surrounding whitespace are counted in a note; raw ids
never appear in a log line or a note.
"""

from __future__ import annotations

import logging
import unicodedata
from pathlib import Path

import pandas as pd

from crm_ml.contract import pseudonymise_ids

KEY = b"test-key"
NEAR_DUPLICATE = "differ from another id only in case or surrounding whitespace"


def _pseudonym(raw: str) -> str:
    return pseudonymise_ids(pd.Series([raw]), KEY).iloc[0]


def test_erasure_matches_ids_ignoring_case(
    tmp_path: Path, load, clean_tables, write_export, check_accounting, caplog
) -> None:
    tables = clean_tables()
    tables["erasure"].loc[0, "customer_id"] = "c006"  # the customer is C006
    with caplog.at_level(logging.INFO, logger="crm_ml.contract"):
        result = load(write_export(tmp_path / "e", tables))
    check_accounting(result)
    report = result.report_frame().set_index("table")
    assert report.loc["customers", "erased"] == 1
    assert report.loc["orders", "erased"] == 1 and report.loc["events", "erased"] == 1
    assert _pseudonym("C006") not in set(result.tables["customers"]["customer_id"])
    notes = result.notes().set_index(["table", "column"])
    assert "ignoring case" in notes.loc[("customers", "customer_id"), "issue"]
    assert notes.loc[("customers", "customer_id"), "count"] == 1
    assert "c006" not in caplog.text and "C006" not in caplog.text


def test_erasure_matches_ids_with_surrounding_whitespace(
    tmp_path: Path, load, clean_tables, write_export, check_accounting
) -> None:
    tables = clean_tables()
    tables["erasure"].loc[0, "customer_id"] = "  C006\t"
    tables["orders"].loc[5, "customer_id"] = " C006"
    result = load(write_export(tmp_path / "e", tables))
    check_accounting(result)
    report = result.report_frame().set_index("table")
    assert report.loc["customers", "erased"] == 1 and report.loc["orders", "erased"] == 1
    assert result.notes().empty  # whitespace alone is normalisation, not a near-duplicate


def test_erasure_matches_ids_in_another_unicode_normal_form(
    tmp_path: Path, load, clean_tables, write_export, check_accounting
) -> None:
    tables = clean_tables()
    composed = unicodedata.normalize("NFC", "CÉ06")
    tables["customers"].loc[5, "customer_id"] = composed
    for table in ("orders", "events"):
        tables[table].loc[5, "customer_id"] = composed
    tables["erasure"].loc[0, "customer_id"] = unicodedata.normalize("NFD", "cé06")
    result = load(write_export(tmp_path / "e", tables))
    check_accounting(result)
    assert (
        result.report_frame().set_index("table").loc[["customers", "orders"], "erased"].eq(1).all()
    )


def test_ids_in_another_unicode_normal_form_join(
    tmp_path: Path, load, clean_tables, write_export, check_accounting
) -> None:
    tables = clean_tables()
    tables["customers"].loc[0, "customer_id"] = unicodedata.normalize("NFC", "Zoë-1")
    tables["orders"].loc[0, "customer_id"] = unicodedata.normalize("NFD", "Zoë-1")
    result = load(write_export(tmp_path / "e", tables))
    check_accounting(result)
    assert result.quarantine["orders"].empty
    assert _pseudonym(unicodedata.normalize("NFC", "Zoë-1")) in set(
        result.tables["orders"]["customer_id"]
    )


def test_whitespace_around_references_is_stripped(
    tmp_path: Path, load, clean_tables, write_export, check_accounting
) -> None:
    tables = clean_tables()
    tables["orders"].loc[0, ["customer_id", "product_id"]] = ["  C001 ", "\tP1"]
    result = load(write_export(tmp_path / "e", tables))
    check_accounting(result)
    assert result.quarantine["orders"].empty
    assert (result.tables["orders"]["product_id"] == "P1").sum() == 2


def test_near_duplicate_ids_are_counted_not_merged(
    tmp_path: Path, load, clean_tables, write_export, check_accounting, caplog
) -> None:
    tables = clean_tables()
    extra = tables["products"].iloc[[0, 1]].assign(product_id=["p1", "P2 "])
    tables["products"] = pd.concat([tables["products"], extra], ignore_index=True)
    with caplog.at_level(logging.INFO, logger="crm_ml.contract"):
        result = load(write_export(tmp_path / "e", tables))
    check_accounting(result)
    # "p1" is a product of its own; "P2 " is P2 again once stripped: a duplicate key
    assert set(result.tables["products"]["product_id"]) == {"P1", "P2", "P3", "p1"}
    assert result.quarantine["products"]["reason"].tolist() == [
        "duplicate key (product_id) of an earlier row"
    ]
    notes = result.notes().set_index(["table", "column"])
    assert NEAR_DUPLICATE in notes.loc[("products", "product_id"), "issue"]
    assert notes.loc[("products", "product_id"), "count"] == 4  # P1, p1, P2, "P2 "
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("4 ids" in w and "product_id" in w for w in warnings), warnings
    assert "p1" not in caplog.text and "P2 " not in caplog.text


def test_near_duplicate_customer_ids_never_reach_the_logs(
    tmp_path: Path, load, clean_tables, write_export, check_accounting, caplog
) -> None:
    tables = clean_tables()
    tables["customers"].loc[1, "customer_id"] = "c001"  # beside C001
    with caplog.at_level(logging.DEBUG, logger="crm_ml"):
        result = load(write_export(tmp_path / "e", tables))
    check_accounting(result)
    notes = result.notes().set_index(["table", "column"])
    assert notes.loc[("customers", "customer_id"), "count"] == 2
    assert "c001" not in caplog.text and "C001" not in caplog.text
    assert "c001" not in notes.to_string() and "C001" not in notes.to_string()


def test_a_very_long_id_is_accepted_and_pseudonymised(
    tmp_path: Path, load, clean_tables, write_export, check_accounting
) -> None:
    long_id = "C" + "7" * 10_000
    tables = clean_tables()
    for table in ("customers", "orders", "events"):
        tables[table].loc[0, "customer_id"] = long_id
    result = load(write_export(tmp_path / "e", tables))
    check_accounting(result)
    assert result.quarantine["orders"].empty
    assert _pseudonym(long_id) in set(result.tables["orders"]["customer_id"])
    assert result.tables["customers"]["customer_id"].str.len().eq(20).all()
