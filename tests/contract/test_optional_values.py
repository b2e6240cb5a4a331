"""A bad value in an optional column costs that value, not the row (or the customer).

The value becomes null and a counted note says how many values of which column were
set to null and why; required columns keep quarantining (test_bad_inputs.py). Notes
count, and never quote, the values: they go to logs and report.json.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest


@dataclass(frozen=True)
class OptionalCase:
    name: str
    table: str
    column: str
    value: str
    issue: str
    row: int = 0


OPTIONAL_CASES = [
    OptionalCase("N/A birth year", "customers", "birth_year", "N/A", "cannot parse as int"),
    OptionalCase("implausible birth year", "customers", "birth_year", "1700", "implausible"),
    OptionalCase("fractional birth year", "customers", "birth_year", "1980.5", "cannot parse"),
    OptionalCase("unparseable consent", "customers", "marketing_consent", "maybe", "as bool"),
    OptionalCase(
        "unparseable consent date", "customers", "consent_updated_ts", "yesterday", "as ts"
    ),
    OptionalCase("csat out of range", "tickets", "csat", "9", "outside 1..5"),
    OptionalCase("csat as words", "tickets", "csat", "good", "cannot parse as int"),
    OptionalCase("quantity zero", "orders", "quantity", "0", "quantity below 1"),
    OptionalCase("quantity with a separator", "orders", "quantity", "1,000", "cannot parse"),
    OptionalCase("unparseable control flag", "contacts", "is_control", "maybe", "as bool"),
    OptionalCase("return flag on/off", "orders", "is_return", "off", "cannot parse as bool"),
    OptionalCase(
        "resolution after the as-of date",
        "tickets",
        "resolved_ts",
        "2030-01-01T00:00:00Z",
        "after the export's as-of date",
    ),
    OptionalCase(
        "a 9999-12-31 'never' resolution",
        "tickets",
        "resolved_ts",
        "9999-12-31T00:00:00Z",
        "cannot parse as ts",
    ),
    OptionalCase(
        "unparseable response time", "contacts", "responded_ts", "soon", "cannot parse as ts"
    ),
    OptionalCase("repeatable as 'sometimes'", "products", "is_repeatable", "sometimes", "bool"),
]


@pytest.mark.parametrize("case", OPTIONAL_CASES, ids=lambda c: c.name)
def test_bad_optional_value_becomes_null_with_a_note(
    case: OptionalCase,
    tmp_path: Path,
    load,
    clean_tables,
    write_export,
    check_accounting,
    caplog,
) -> None:
    tables = clean_tables()
    if case.column not in tables[case.table]:
        tables[case.table][case.column] = ""
    tables[case.table].loc[case.row, case.column] = case.value
    with caplog.at_level(logging.INFO, logger="crm_ml.contract"):
        result = load(write_export(tmp_path / "e", tables))
    check_accounting(result)
    quarantined = {name: len(rows) for name, rows in result.quarantine.items() if len(rows)}
    assert not quarantined, {n: result.quarantine[n]["reason"].tolist() for n in quarantined}
    accepted = result.tables[case.table]
    assert len(accepted) == result.report_frame().set_index("table").loc[case.table, "accepted"]
    assert accepted[case.column].isna().iloc[case.row] or case.column == "marketing_consent"
    notes = result.notes()
    mine = notes[(notes["table"] == case.table) & (notes["column"] == case.column)]
    assert len(mine) == 1, notes
    assert case.issue in mine["issue"].iloc[0] and "null" in mine["issue"].iloc[0]
    assert mine["count"].iloc[0] == 1
    # the warning counts and names the column; it never quotes the value
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any(case.column in w and "1 value" in w for w in warnings), warnings
    if len(case.value) >= 3:  # shorter ones ("9") may occur in the file's path
        assert not any(case.value in w for w in warnings), warnings


def test_unknown_consent_after_a_bad_value_is_no_consent(
    tmp_path: Path, load, clean_tables, write_export
) -> None:
    tables = clean_tables()
    tables["customers"].loc[0, "marketing_consent"] = "maybe"  # customer 0 said "true" before
    consent = load(write_export(tmp_path / "e", tables)).tables["customers"]["marketing_consent"]
    assert consent.notna().all()
    assert not consent.iloc[0]


def test_notes_count_every_value_and_only_accepted_rows(
    tmp_path: Path, load, clean_tables, write_export, check_accounting
) -> None:
    tables = clean_tables()
    tables["customers"]["birth_year"] = ["N/A", "unknown", "1980", "", "n.a.", "N/A"]
    tables["customers"].loc[3, "signup_ts"] = "garbage"  # quarantined: its value is not noted
    result = load(write_export(tmp_path / "e", tables))
    check_accounting(result)
    notes = result.notes().set_index(["table", "column"])
    # rows 0, 1, 4 accepted with a bad birth year; row 3 quarantined; row 5 erased
    assert notes.loc[("customers", "birth_year"), "count"] == 3
    assert result.tables["customers"]["birth_year"].isna().sum() == 3
    assert result.quarantine["customers"]["reason"].tolist() == [
        "signup_ts: cannot parse 'garbage' as ts"
    ]


def test_a_required_column_still_quarantines(
    tmp_path: Path, load, clean_tables, write_export
) -> None:
    tables = clean_tables()
    tables["surveys"].loc[0, "nps"] = "N/A"  # nps is required in surveys
    result = load(write_export(tmp_path / "e", tables))
    assert result.quarantine["surveys"]["reason"].tolist() == ["nps: cannot parse 'N/A' as int"]
    assert result.notes().empty


def test_row_rules_judge_the_values_that_remain(
    tmp_path: Path, load, clean_tables, write_export
) -> None:
    # a response "after the as-of date" is dropped to null, so "responded before sent"
    # cannot fire on it; an unparseable return flag leaves a negative amount unexplained
    tables = clean_tables()
    tables["contacts"].loc[0, "responded_ts"] = "2030-01-01T00:00:00Z"
    tables["orders"].loc[1, ["amount", "is_return"]] = ["-80", "perhaps"]
    result = load(write_export(tmp_path / "e", tables))
    assert result.quarantine["contacts"].empty
    assert result.quarantine["orders"]["reason"].tolist() == [
        "negative amount on a line that is not a return"
    ]
    notes = result.notes().set_index(["table", "column"])
    assert notes.loc[("contacts", "responded_ts"), "count"] == 1
    assert ("orders", "is_return") not in notes.index  # its row was quarantined


def test_notes_reach_report_json_and_the_summary(
    tmp_path: Path, load, clean_tables, write_export
) -> None:
    tables = clean_tables()
    tables["customers"].loc[0, "birth_year"] = "N/A"
    tables["tickets"].loc[0, "csat"] = "9"
    from crm_ml.contract.summary import read_notes

    load(write_export(tmp_path / "e", tables))
    quarantine_dir = tmp_path / "quarantine"
    report = json.loads((quarantine_dir / "report.json").read_text())
    by_table = {t["table"]: t["notes"] for t in report["tables"]}
    assert [n["column"] for n in by_table["customers"]] == ["birth_year"]
    notes = read_notes(quarantine_dir)
    assert list(notes.columns) == ["table", "column", "issue", "count", "unit"]
    assert sorted(zip(notes["table"], notes["column"], strict=True)) == [
        ("customers", "birth_year"),
        ("tickets", "csat"),
    ]
    assert "N/A" not in (quarantine_dir / "report.json").read_text()


def test_summary_of_a_clean_export_has_no_notes(export_dir: Path, tmp_path: Path, load) -> None:
    from crm_ml.contract.summary import read_notes

    load(export_dir)
    notes = read_notes(tmp_path / "quarantine")
    assert notes.empty and list(notes.columns) == ["table", "column", "issue", "count", "unit"]
    assert isinstance(notes, pd.DataFrame)
