"""What an export without the optional tables switches off, said in one place."""

from crm_ml.contract import TABLES
from crm_ml.contract.coverage import (
    INDUSTRY_TABLES,
    WITHOUT,
    missing_table_notes,
    table_coverage,
)

REQUIRED = ["customers", "products", "orders"]


def test_every_optional_table_says_what_it_switches_off():
    optional = {name for name, spec in TABLES.items() if not spec.required_table}
    # a new optional table must say what it feeds, or be one only some industries export
    assert optional <= set(WITHOUT) | INDUSTRY_TABLES
    assert not INDUSTRY_TABLES & set(WITHOUT)
    assert set(TABLES) >= INDUSTRY_TABLES


def test_coverage_of_an_export_with_only_the_required_tables():
    table = table_coverage(REQUIRED).set_index("table")
    assert table.loc[REQUIRED, "present"].all() and table.loc[REQUIRED, "required"].all()
    missing = table[~table["present"]]
    assert set(missing.index) == set(TABLES) - set(REQUIRED) - INDUSTRY_TABLES
    assert (missing["without_it"] != "").all()
    assert (table.loc[REQUIRED, "without_it"] == "").all()
    notes = missing_table_notes(REQUIRED)
    assert len(notes) == len(missing)
    assert "No surveys table in the export: no net promoter score." in notes


def test_industry_tables_are_listed_when_present_and_never_a_gap():
    retail = set(TABLES) - INDUSTRY_TABLES
    assert missing_table_notes(retail) == []
    assert set(table_coverage(retail)["table"]) == retail
    with_balances = table_coverage(retail | {"balances"}).set_index("table")
    assert with_balances.loc["balances", "present"]
    assert with_balances.loc["balances", "without_it"] == ""
    assert list(with_balances.index) == [t for t in TABLES if t in retail | {"balances"}]


def test_a_full_export_has_nothing_to_note():
    assert missing_table_notes(TABLES) == []
    assert table_coverage(TABLES)["present"].all()
