"""Every kind of bad input ends as a clear error or a quarantined row with its reason.

Each case corrupts a valid export in one way. Row problems must quarantine exactly the
corrupted row(s) with the expected reason and no other (a NaN amount is "cannot parse",
not also "negative") while the accounting still balances; fatal problems must raise one
ContractError, one line long, whose message names the file and the column. Bad values in
optional columns are test_optional_values.py; files, links and Parquet types are
test_hostile_files.py; identifiers and erasure are test_ids.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from crm_ml.contract import ContractError

Tables = dict[str, pd.DataFrame]


@dataclass(frozen=True)
class RowCase:
    name: str
    corrupt: Callable[[Tables], None]
    table: str
    reason: str
    quarantined: int = 1
    reasons_per_row: int = 1


def _set(table: str, column: str, value: str, row: int = 0) -> Callable[[Tables], None]:
    def corrupt(tables: Tables) -> None:
        tables[table].loc[row, column] = value

    return corrupt


def _duplicate_row(table: str, row: int = 0) -> Callable[[Tables], None]:
    def corrupt(tables: Tables) -> None:
        frame = tables[table]
        tables[table] = pd.concat([frame, frame.iloc[[row]]], ignore_index=True)

    return corrupt


def _append(table: str, **values: str) -> Callable[[Tables], None]:
    def corrupt(tables: Tables) -> None:
        frame = tables[table]
        row = frame.iloc[[0]].copy().assign(**values)
        tables[table] = pd.concat([frame, row], ignore_index=True)

    return corrupt


def _both(*steps: Callable[[Tables], None]) -> Callable[[Tables], None]:
    def corrupt(tables: Tables) -> None:
        for step in steps:
            step(tables)

    return corrupt


ROW_CASES = [
    RowCase(
        "unparseable order timestamp",
        _set("orders", "ts", "last tuesday"),
        "orders",
        "ts: cannot parse 'last tuesday' as ts",
    ),
    RowCase(
        "impossible calendar date",
        _set("orders", "ts", "2024-02-30T10:00:00Z"),
        "orders",
        "ts: cannot parse",
    ),
    RowCase(
        "epoch-number timestamp",
        _set("orders", "ts", "1709294400"),
        "orders",
        "ts: cannot parse '1709294400' as ts",
    ),
    RowCase(
        "NULL written as text in a required timestamp",
        _set("orders", "ts", "NULL"),
        "orders",
        "ts: cannot parse 'NULL' as ts",
    ),
    RowCase(
        "timestamp outside the representable range",
        _set("orders", "ts", "0001-01-01T00:00:00Z"),
        "orders",
        "ts: cannot parse",
    ),
    RowCase(
        "a 9999-12-31 'never' order date",
        _set("orders", "ts", "9999-12-31"),
        "orders",
        "ts: cannot parse '9999-12-31' as ts",
    ),
    RowCase(
        "impossible timezone offset",
        _set("orders", "ts", "2024-03-01T12:00:00+25:00"),
        "orders",
        "ts: cannot parse",
    ),
    RowCase(
        "whitespace-only required timestamp",
        _set("orders", "ts", "   "),
        "orders",
        "ts: missing required value",
    ),
    RowCase(
        "signup after the as-of date",
        _set("customers", "signup_ts", "2030-01-01T00:00:00Z", row=2),
        "customers",
        "signup_ts: timestamp after the export's as-of date",
    ),
    RowCase(
        "unparseable signup date",
        _set("customers", "signup_ts", "01/02/2024"),
        "customers",
        "signup_ts: cannot parse",
    ),
    RowCase("negative price", _set("products", "price", "-3"), "products", "price: negative value"),
    RowCase(
        "non-numeric price",
        _set("products", "price", "free"),
        "products",
        "price: cannot parse 'free' as float",
    ),
    RowCase(
        "negative amount on a sale",
        _set("orders", "amount", "-80"),
        "orders",
        "negative amount on a line that is not a return",
    ),
    RowCase(
        "non-numeric amount",
        _set("orders", "amount", "eighty"),
        "orders",
        "amount: cannot parse 'eighty' as float",
    ),
    RowCase("infinite amount", _set("orders", "amount", "inf"), "orders", "amount: cannot parse"),
    RowCase(
        "NaN amount",
        _set("orders", "amount", "NaN"),
        "orders",
        "amount: cannot parse 'NaN' as float",
    ),
    RowCase("negative infinite amount", _set("orders", "amount", "-inf"), "orders", "cannot parse"),
    RowCase(
        "amount beyond the float range",
        _set("orders", "amount", "1e309"),
        "orders",
        "amount: cannot parse '1e309'",
    ),
    RowCase(
        "amount with a thousands separator",
        _set("orders", "amount", "1,234.50"),
        "orders",
        "amount: cannot parse '1,234.50' as float",
    ),
    RowCase(
        "amount with a currency sign",
        _set("orders", "amount", "\u20ac80"),
        "orders",
        "amount: cannot parse",
    ),
    RowCase(
        "duplicate customer",
        _duplicate_row("customers"),
        "customers",
        "duplicate key (customer_id)",
    ),
    RowCase(
        "duplicate order line",
        _duplicate_row("orders"),
        "orders",
        "duplicate key (order_id, product_id)",
    ),
    RowCase(
        "duplicate ticket id",
        _append("tickets", kind="fault"),
        "tickets",
        "duplicate key (ticket_id)",
    ),
    RowCase(
        "order of an unknown customer",
        _set("orders", "customer_id", "C999"),
        "orders",
        "unknown customer_id (not in customers)",
    ),
    RowCase(
        # identifiers are case-sensitive (some CRMs' are); only erasure ignores case
        "order of a customer id differing only in case",
        _set("orders", "customer_id", "c001"),
        "orders",
        "unknown customer_id (not in customers)",
    ),
    RowCase(
        "duplicate customer differing only by surrounding whitespace",
        _append("customers", customer_id=" C001 "),
        "customers",
        "duplicate key (customer_id)",
    ),
    RowCase(
        "order of an unknown product",
        _set("orders", "product_id", "P404"),
        "orders",
        "unknown product_id (not in products)",
    ),
    RowCase(
        "event of an unknown customer",
        _set("events", "customer_id", "nobody"),
        "events",
        "unknown customer_id",
    ),
    RowCase(
        "view of an unknown product",
        _set("events", "product_id", "P404"),
        "events",
        "unknown product_id",
    ),
    RowCase(
        "order of a quarantined customer",
        _both(_set("customers", "signup_ts", "garbage", row=1)),
        "orders",
        "its row in customers was quarantined",
    ),
    RowCase(
        "order after the as-of date",
        _set("orders", "ts", "2030-01-01T00:00:00Z"),
        "orders",
        "ts: timestamp after the export's as-of date",
    ),
    RowCase(
        "survey after the as-of date",
        _set("surveys", "ts", "2026-01-01T00:00:00Z"),
        "surveys",
        "timestamp after the export's as-of date",
    ),
    RowCase(
        "unknown ticket kind",
        _set("tickets", "kind", "praise"),
        "tickets",
        "kind: not one of consult, fault, complaint",
    ),
    RowCase(
        "unknown event type",
        _set("events", "event_type", "teleport"),
        "events",
        "event_type: not one of",
    ),
    RowCase("nps above 10", _set("surveys", "nps", "11"), "surveys", "nps: outside 0..10"),
    RowCase(
        "fractional nps", _set("surveys", "nps", "7.5"), "surveys", "nps: cannot parse '7.5' as int"
    ),
    RowCase(
        "integer beyond int64",
        _set("surveys", "nps", "99999999999999999999"),
        "surveys",
        "nps: cannot parse",
    ),
    RowCase(
        "missing customer id",
        _set("orders", "customer_id", ""),
        "orders",
        "customer_id: missing required value",
    ),
    RowCase(
        "blank required id",
        _set("products", "category", "   "),
        "products",
        "category: missing required value",
    ),
    RowCase(
        "response before the first contact",
        _set("tickets", "first_response_ts", "2024-03-01T00:00:00Z"),
        "tickets",
        "first_response_ts before opened_ts",
    ),
    RowCase(
        "resolved before opened",
        _set("tickets", "resolved_ts", "2024-03-01T00:00:00Z"),
        "tickets",
        "resolved_ts before opened_ts",
    ),
    RowCase(
        "responded before sent",
        _set("contacts", "responded_ts", "2024-04-01T00:00:00Z"),
        "contacts",
        "responded_ts before sent_ts",
    ),
]


@pytest.mark.parametrize("case", ROW_CASES, ids=lambda c: c.name)
def test_bad_row_is_quarantined_with_reason(
    case: RowCase, tmp_path: Path, load, clean_tables, write_export, check_accounting
) -> None:
    tables = clean_tables()
    case.corrupt(tables)
    result = load(write_export(tmp_path / "e", tables))
    check_accounting(result)
    quarantined = result.quarantine[case.table]
    assert len(quarantined) == case.quarantined, quarantined["reason"].tolist()
    assert quarantined["reason"].str.contains(case.reason, regex=False).all(), quarantined["reason"]
    # only the true reasons: nothing derived from a value that did not parse
    n_reasons = quarantined["reason"].str.split("; ").str.len()
    assert (n_reasons == case.reasons_per_row).all(), quarantined["reason"].tolist()
    # elsewhere only rows pointing at a quarantined customer or product may follow it
    for name, rows in result.quarantine.items():
        if name not in (case.table, "customers", "products"):
            assert rows["reason"].str.contains("was quarantined").all(), name


def test_negative_amount_on_a_return_is_accepted(
    tmp_path: Path, load, clean_tables, write_export, check_accounting
) -> None:
    tables = clean_tables()
    tables["orders"].loc[0, ["amount", "is_return"]] = ["-80", "true"]
    result = load(write_export(tmp_path / "e", tables))
    check_accounting(result)
    assert len(result.quarantine["orders"]) == 0


def test_line_with_extra_fields_is_quarantined_with_its_record_number(
    tmp_path: Path, load, export_dir: Path, check_accounting
) -> None:
    path = export_dir / "orders.csv"
    lines = path.read_text().splitlines()
    lines.insert(3, lines[2] + ",surplus")
    path.write_text("\n".join(lines) + "\n")
    result = load(export_dir)
    check_accounting(result)
    quarantined = result.quarantine["orders"]
    assert quarantined["reason"].tolist() == ["malformed line: expected 7 fields, saw 8"]
    assert quarantined["record"].tolist() == [3]
    report = result.report_frame().set_index("table").loc["orders"]
    assert report["read"] == 7 and report["accepted"] + report["erased"] == 6


# ---- fatal problems: one clear error naming the file (and the column where there is one)


def _drop_file(name: str) -> Callable[[Path], None]:
    return lambda folder: (folder / f"{name}.csv").unlink()


def _rewrite(name: str, text: str | bytes) -> Callable[[Path], None]:
    def corrupt(folder: Path) -> None:
        path = folder / f"{name}.csv"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())

    return corrupt


def _drop_column(name: str, column: str) -> Callable[[Path], None]:
    def corrupt(folder: Path) -> None:
        path = folder / f"{name}.csv"
        pd.read_csv(path, dtype=str).drop(columns=column).to_csv(path, index=False)

    return corrupt


def _to_delimiter(name: str, sep: str) -> Callable[[Path], None]:
    def corrupt(folder: Path) -> None:
        path = folder / f"{name}.csv"
        pd.read_csv(path, dtype=str).to_csv(path, index=False, sep=sep)

    return corrupt


def _latin1(folder: Path) -> None:
    path = folder / "customers.csv"
    text = path.read_text().replace("Person Number1", "Jos\u00e9 M\u00fcller")
    path.write_bytes(text.encode("latin-1"))


def _garbage_parquet(folder: Path) -> None:
    (folder / "products.csv").unlink()
    (folder / "products.parquet").write_bytes(b"PAR1 this is not really parquet")


def _twice(folder: Path) -> None:
    pd.read_csv(folder / "orders.csv", dtype=str).to_parquet(folder / "orders.parquet")


def _bad_manifest(folder: Path) -> None:
    (folder / "manifest.json").write_text('{"as_of": "the day before yesterday"}')


def _rewrite_manifest(text: str) -> Callable[[Path], None]:
    return lambda folder: (folder / "manifest.json").write_text(text)


def _manifest_folder(folder: Path) -> None:
    (folder / "manifest.json").mkdir()


def _header_only(name: str) -> Callable[[Path], None]:
    def corrupt(folder: Path) -> None:
        path = folder / f"{name}.csv"
        path.write_text(path.read_text().splitlines()[0] + "\n")

    return corrupt


def _utf16(folder: Path) -> None:
    path = folder / "orders.csv"
    path.write_bytes(path.read_text().encode("utf-16"))


def _csv_and_gzip(folder: Path) -> None:
    import gzip

    (folder / "events.csv.gz").write_bytes(gzip.compress((folder / "events.csv").read_bytes()))


FATAL_CASES = [
    ("missing customers table", _drop_file("customers"), ["customers.csv or customers.parquet"]),
    ("missing orders table", _drop_file("orders"), ["orders.csv or orders.parquet"]),
    ("missing required column", _drop_column("orders", "amount"), ["orders.csv", "'amount'"]),
    ("missing key column", _drop_column("tickets", "kind"), ["tickets.csv", "'kind'"]),
    ("empty file", _rewrite("products", b""), ["products.csv", "empty"]),
    ("semicolon delimited", _to_delimiter("orders", ";"), ["orders.csv", "semicolon-delimited"]),
    ("tab delimited", _to_delimiter("customers", "\t"), ["customers.csv", "tab-delimited"]),
    ("latin-1 encoding", _latin1, ["customers.csv", "not UTF-8", "line 3"]),
    ("unreadable parquet", _garbage_parquet, ["products.parquet", "not a readable Parquet"]),
    (
        "duplicate header",
        _rewrite("surveys", "customer_id,ts,nps,nps\nC001,2024-01-01,1,2\n"),
        ["surveys.csv", "more than once"],
    ),
    ("table in two files", _twice, ["orders", "more than one file"]),
    ("table in a CSV and a gzip CSV", _csv_and_gzip, ["events.csv.gz", "more than one file"]),
    ("header-only customers", _header_only("customers"), ["customers.csv", "no data rows"]),
    ("header-only orders", _header_only("orders"), ["orders.csv", "no data rows"]),
    ("header-only products", _header_only("products"), ["products.csv", "no data rows"]),
    ("pipe delimited", _to_delimiter("products", "|"), ["products.csv", "pipe-delimited"]),
    ("UTF-16 export", _utf16, ["orders.csv", "not UTF-8"]),
    (
        "unnamed column inside the header",
        _rewrite("surveys", "customer_id,,ts,nps\nC001,x,2024-01-01,1\n"),
        ["surveys.csv", "[2] have no name"],
    ),
    (
        "header column repeated with spaces",
        _rewrite("surveys", "customer_id,ts,nps, nps\nC001,2024-01-01,1,2\n"),
        ["surveys.csv", "'nps'", "more than once"],
    ),
    ("bad manifest", _bad_manifest, ["manifest.json", "as_of"]),
    (
        "manifest as_of a number",
        _rewrite_manifest('{"as_of": 1735689600}'),
        ["manifest.json", "int"],
    ),
    ("manifest as a folder", _manifest_folder, ["manifest.json", "Is a directory"]),
]


@pytest.mark.parametrize(
    ("name", "corrupt", "phrases"), FATAL_CASES, ids=[c[0] for c in FATAL_CASES]
)
def test_fatal_problem_raises_one_clear_error(name, corrupt, phrases, export_dir: Path) -> None:
    from crm_ml.contract import load_tables

    corrupt(export_dir)
    with pytest.raises(ContractError) as info:
        load_tables(
            export_dir,
            key=b"k",
            quarantine_dir=None,
            progress=False,
            as_of=None if "manifest" in name else "2025-01-01T00:00:00Z",
        )
    message = str(info.value)
    for phrase in phrases:
        assert phrase in message, message
    assert "\n" not in message, message


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    from crm_ml.contract import load_tables

    with pytest.raises(ContractError, match="no such folder"):
        load_tables(tmp_path / "nowhere", key=b"k", quarantine_dir=None, progress=False)


def test_cli_reports_fatal_error_without_traceback(export_dir: Path, capsys) -> None:
    from crm_ml.cli import main

    (export_dir / "orders.csv").unlink()
    assert main(["validate", str(export_dir), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "orders.csv or orders.parquet" in err and "Traceback" not in err
