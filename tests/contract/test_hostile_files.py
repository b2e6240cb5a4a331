"""Hostile export files: what a nightly run meets in production, and what it does with each.

Each case edits one file of a valid export. It is either accepted (with the normalisation,
or exactly the quarantined rows and reasons, the case names, and the accounting balanced)
or stops the run with one ContractError, one line long, that names the file (and the
column where there is one). Row-level problems are in test_bad_inputs.py. The battery
keeps at least BATTERY_MINIMUM cases (issue #18), checked by a test.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crm_ml.contract import ContractError, ContractResult, pseudonymise_ids
from crm_ml.contract.reading import REPEATED_HEADER

Edit = Callable[[Path], None]
BIG = 10_000_000  # characters in one field: ten times pyarrow's default block
BATTERY_MINIMUM = 70  # hostile cases in ACCEPTED + FATAL (issue #18): grow it, never shrink it
KEY = b"test-key"  # the key conftest's `load` pseudonymises with
UINT64_MAX = 2**64 - 1
UNKNOWN_CUSTOMER = "customer_id: unknown customer_id (not in customers)"
QUARANTINED_CUSTOMER = "customer_id: its row in customers was quarantined"
DUPLICATE_LINE = "duplicate key (order_id, product_id) of an earlier row"


def _csv(folder: Path, table: str) -> Path:
    return folder / f"{table}.csv"


def _text(table: str, change: Callable[[str], str]) -> Edit:
    def edit(folder: Path) -> None:
        path = _csv(folder, table)
        path.write_bytes(change(path.read_bytes().decode()).encode())

    return edit


def _frame(folder: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(_csv(folder, table), dtype=str, keep_default_na=False)


def _rewrite(table: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> Edit:
    def edit(folder: Path) -> None:
        change(_frame(folder, table)).to_csv(_csv(folder, table), index=False)

    return edit


def _parquet(
    table: str, change: Callable[[pd.DataFrame], pd.DataFrame | pa.Table], **options: object
) -> Edit:
    """Replace `<table>.csv` by `<table>.parquet` holding `change(frame)` (blanks as null);
    `options` go to pyarrow's write_table."""

    def edit(folder: Path) -> None:
        frame = _frame(folder, table).replace("", None)
        data = change(frame)
        table_ = (
            data if isinstance(data, pa.Table) else pa.Table.from_pandas(data, preserve_index=False)
        )
        pq.write_table(table_, folder / f"{table}.parquet", **options)
        _csv(folder, table).unlink()

    return edit


def _int96(table: str, change: Callable[[pd.DataFrame], pd.DataFrame | pa.Table]) -> Edit:
    """`_parquet` with timestamps in the legacy INT96 layout of Spark, Hive and Impala."""

    def edit(folder: Path) -> None:
        _parquet(table, change, use_deprecated_int96_timestamps=True)(folder)
        schema = pq.ParquetFile(folder / f"{table}.parquet").schema
        assert "INT96" in {schema.column(i).physical_type for i in range(len(schema))}

    return edit


def _string_views(table: str) -> Edit:
    """Every column of `table` as Arrow string_view (the text layout of Polars, DuckDB)."""

    def views(frame: pd.DataFrame) -> pa.Table:
        return pa.table({c: pa.array(frame[c], pa.string_view()) for c in frame.columns})

    def edit(folder: Path) -> None:
        _parquet(table, views)(folder)
        assert pq.read_schema(folder / f"{table}.parquet").field(0).type == pa.string_view()

    return edit


def _parquet_without_row_groups(table: str) -> Edit:
    """`<table>.parquet` with the table's schema and no row group at all."""

    def edit(folder: Path) -> None:
        path = folder / f"{table}.parquet"
        schema = pa.Table.from_pandas(_frame(folder, table), preserve_index=False).schema
        pq.ParquetWriter(path, schema).close()
        _csv(folder, table).unlink()
        assert pq.ParquetFile(path).metadata.num_row_groups == 0

    return edit


def _lines(table: str, change: Callable[[list[str]], list[str]]) -> Edit:
    """Edit the CSV as a list of lines, each with its line break."""
    return _text(table, lambda t: "".join(change(t.splitlines(keepends=True))))


def _renamed(column: str, old: str, new: str) -> Edit:
    """Id `old` becomes `new` in `column` of every CSV that has the column."""

    def edit(folder: Path) -> None:
        for path in folder.glob("*.csv"):
            frame = _frame(folder, path.stem)
            if column in frame:
                frame[column] = frame[column].replace(old, new)
                frame.to_csv(path, index=False)

    return edit


def _wide(table: str, extra: int, name: Callable[[int], str]) -> Edit:
    """`extra` empty columns outside the contract, named `name(i)`, on every line."""

    def change(lines: list[str]) -> list[str]:
        header = lines[0].rstrip("\n") + "".join(f",{name(i)}" for i in range(extra)) + "\n"
        return [header, *(line.rstrip("\n") + "," * extra + "\n" for line in lines[1:])]

    return _lines(table, change)


def _gzip_members(table: str, split: int) -> Edit:
    """`<table>.csv.gz` of two gzip members, the first `split` lines and the rest,
    compressed apart and joined (how parallel or rotated exports get concatenated)."""

    def edit(folder: Path) -> None:
        lines = _csv(folder, table).read_bytes().splitlines(keepends=True)
        parts = [b"".join(lines[:split]), b"".join(lines[split:])]
        (folder / f"{table}.csv.gz").write_bytes(b"".join(gzip.compress(p) for p in parts))
        _csv(folder, table).unlink()

    return edit


def _line_endings(text: str) -> str:
    """CRLF, LF and a bare CR in turn, as in a file edited on several systems."""
    endings = ("\r\n", "\n", "\r")
    return "".join(line + endings[i % 3] for i, line in enumerate(text.splitlines()))


def _quoted_header(lines: list[str]) -> list[str]:
    names = lines[0].rstrip("\n").split(",")
    return [",".join(f'"{name}"' for name in names) + "\n", *lines[1:]]


def _numbered_products(folder: Path) -> None:
    """Products P1..P3 become 1..3 in every CSV that names them (for numeric-id cases)."""
    for table in ("products", "orders", "events"):
        frame = _frame(folder, table)
        frame["product_id"] = frame["product_id"].str.removeprefix("P")
        frame.to_csv(_csv(folder, table), index=False)


def _then(*edits: Edit) -> Edit:
    def edit(folder: Path) -> None:
        for step in edits:
            step(folder)

    return edit


def _column(name: str, values: list | pa.Array) -> Callable[[pd.DataFrame], pa.Table]:
    """The frame as an Arrow table with column `name` replaced by `values`."""

    def change(frame: pd.DataFrame) -> pa.Table:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        array = values if isinstance(values, pa.Array) else pa.array(values)
        if name in table.column_names:
            return table.set_column(table.column_names.index(name), name, array)
        return table.append_column(name, array)

    return change


# ---- accepted, with a normalisation --------------------------------------------------


@dataclass(frozen=True)
class Accepted:
    name: str
    edit: Edit
    expect: Callable[[ContractResult], None]


def _clean(result: ContractResult) -> None:
    assert all(q.empty for q in result.quarantine.values()), result.reasons()
    assert result.notes().empty, result.notes()


def _accepted(table: str, n: int) -> Callable[[ContractResult], None]:
    def expect(result: ContractResult) -> None:
        _clean(result)
        assert len(result.tables[table]) == n

    return expect


def _utc(table: str, column: str, *stamps: str) -> Callable[[ContractResult], None]:
    def expect(result: ContractResult) -> None:
        _clean(result)
        got = result.tables[table][column].iloc[: len(stamps)].tolist()
        assert got == [pd.Timestamp(s) for s in stamps], got

    return expect


def _values(table: str, column: str, values: list) -> Callable[[ContractResult], None]:
    def expect(result: ContractResult) -> None:
        _clean(result)
        got = result.tables[table][column].iloc[: len(values)].tolist()
        assert got == values, got

    return expect


def _region_kept(value: str) -> Callable[[ContractResult], None]:
    def expect(result: ContractResult) -> None:
        _clean(result)
        assert result.tables["customers"]["region"].iloc[0] == value

    return expect


def _malformed_record(record: int) -> Callable[[ContractResult], None]:
    def expect(result: ContractResult) -> None:
        quarantined = result.quarantine["customers"]
        assert quarantined["record"].tolist() == [record], quarantined
        assert quarantined["reason"].str.startswith("malformed line").all()
        assert result.tables["customers"]["region"].iloc[0] == "north\nwest"

    return expect


def _ignored(table: str, column: str) -> Callable[[ContractResult], None]:
    def expect(result: ContractResult) -> None:
        _clean(result)
        report = next(r for r in result.reports if r.table == table)
        assert column in report.ignored_columns, report.ignored_columns
        assert column not in result.tables[table]

    return expect


def _empty_events(result: ContractResult) -> None:
    report = next(r for r in result.reports if r.table == "events")
    assert report.read == 0 and result.tables["events"].empty
    assert list(result.tables["events"].columns)[:3] == ["customer_id", "ts", "event_type"]


def _text_amounts_parsed(result: ContractResult) -> None:
    assert result.quarantine["orders"]["reason"].tolist() == [
        "amount: cannot parse 'eighty' as float"
    ]
    assert result.tables["orders"]["amount"].dtype == "float64"


def _products_numbered(result: ContractResult) -> None:
    _clean(result)
    assert result.tables["products"]["product_id"].tolist() == ["1", "2", "3"]
    assert set(result.tables["orders"]["product_id"]) == {"1", "2", "3"}


def _event_products(result: ContractResult) -> None:
    _clean(result)
    products = result.tables["events"]["product_id"]
    assert products.iloc[0] == "1" and products.iloc[1:].isna().all()


def _csat_missing(result: ContractResult) -> None:
    _clean(result)
    tickets = result.tables["tickets"]
    assert tickets["csat"].iloc[0] == 4 and pd.isna(tickets["csat"].iloc[1])
    assert pd.isna(tickets["resolved_ts"].iloc[1])


def _never_resolved(result: ContractResult) -> None:
    assert all(q.empty for q in result.quarantine.values()), result.reasons()
    assert pd.isna(result.tables["tickets"]["resolved_ts"].iloc[0])
    notes = result.notes()
    assert notes[["table", "column", "count"]].values.tolist() == [["tickets", "resolved_ts", 1]]


def _all(*expects: Callable[[ContractResult], None]) -> Callable[[ContractResult], None]:
    def expect(result: ContractResult) -> None:
        for check in expects:
            check(result)

    return expect


def _read(table: str, n: int) -> Callable[[ContractResult], None]:
    """The table's report counts `n` rows read: no line lost, none counted twice."""

    def expect(result: ContractResult) -> None:
        report = next(r for r in result.reports if r.table == table)
        assert report.read == n, report

    return expect


def _quarantined(**expected: list[str]) -> Callable[[ContractResult], None]:
    """Exactly these reasons (one per row, any order) per table, none elsewhere, no notes."""

    def expect(result: ContractResult) -> None:
        got = {t: sorted(q["reason"]) for t, q in result.quarantine.items() if len(q)}
        assert got == {t: sorted(reasons) for t, reasons in expected.items()}, got
        assert result.notes().empty, result.notes()

    return expect


def _only_row(table: str, record: int, reason: str) -> Callable[[ContractResult], None]:
    """One quarantined row in the whole export: record `record` of `table`, for `reason`."""

    def expect(result: ContractResult) -> None:
        _quarantined(**{table: [reason]})(result)
        assert result.quarantine[table]["record"].tolist() == [record]

    return expect


def _pseudonym(raw: str) -> str:
    return pseudonymise_ids(pd.Series([raw]), KEY).iloc[0]


def _joined(raw_id: str) -> Callable[[ContractResult], None]:
    """Customer `raw_id`, exactly as written, is accepted and has its orders."""

    def expect(result: ContractResult) -> None:
        pseudonym = _pseudonym(raw_id)
        assert pseudonym in set(result.tables["customers"]["customer_id"])
        assert pseudonym in set(result.tables["orders"]["customer_id"])

    return expect


def _products_are(*ids: str) -> Callable[[ContractResult], None]:
    def expect(result: ContractResult) -> None:
        _clean(result)
        assert result.tables["products"]["product_id"].tolist() == list(ids)
        assert set(result.tables["orders"]["product_id"]) == set(ids)

    return expect


def _many_ignored(table: str, n: int) -> Callable[[ContractResult], None]:
    def expect(result: ContractResult) -> None:
        _clean(result)
        report = next(r for r in result.reports if r.table == table)
        assert len(report.ignored_columns) == n, len(report.ignored_columns)
        assert report.accepted == 5 and report.read == 6, report

    return expect


def _only_customer_quarantined(result: ContractResult) -> None:
    """Customer C001 alone, and quarantined: its rows elsewhere say so, the others' rows
    are of unknown customers (C006's are erased by the erasure table)."""
    q, u = QUARANTINED_CUSTOMER, UNKNOWN_CUSTOMER
    _quarantined(
        customers=["signup_ts: cannot parse 'garbage' as ts"],
        orders=[q, u, u, u, u],
        events=[q, u, u, u, u],
        tickets=[q, u],
        contacts=[q, u],
        surveys=[q, u],
        exclusions=[q],
    )(result)
    assert all(result.tables[t].empty for t in ("customers", "orders", "events", "tickets"))


def _padded(line: str) -> str:
    return ",".join(f" {cell} " for cell in line.split(","))


ACCEPTED = [
    Accepted(
        "UTF-8 byte-order mark", _text("customers", "\ufeff".__add__), _accepted("customers", 5)
    ),
    Accepted(
        "CRLF line endings",
        _text("orders", lambda t: t.replace("\n", "\r\n")),
        _values("orders", "is_return", [False] * 5),
    ),
    Accepted(
        "bare CR line endings (old Mac exports)",
        _text("exclusions", lambda t: t.replace("\n", "\r")),
        _accepted("exclusions", 1),
    ),
    Accepted(
        "quoted line break in a text field",
        _rewrite("customers", lambda f: f.assign(region=["north\nwest", *f["region"][1:]])),
        _region_kept("north\nwest"),
    ),
    Accepted(
        "quoted line break before a malformed line",
        _then(
            _rewrite("customers", lambda f: f.assign(region=["north\nwest", *f["region"][1:]])),
            _text("customers", lambda t: t.replace("\nC003,", "\nC003,extra,", 1)),
        ),
        _malformed_record(3),
    ),
    Accepted(
        "trailing delimiter on every line",
        _text("products", lambda t: t.replace("\n", ",\n")),
        _accepted("products", 3),
    ),
    Accepted(
        "mixed timezone offsets",
        _rewrite(
            "orders",
            lambda f: f.assign(
                ts=[
                    "2024-03-01T14:00:00+02:00",
                    "2024-03-02T12:00:00Z",
                    "2024-03-03T07:00:00-05:00",
                    *f["ts"][3:],
                ]
            ),
        ),
        _utc(
            "orders",
            "ts",
            "2024-03-01T12:00:00Z",
            "2024-03-02T12:00:00Z",
            "2024-03-03T12:00:00Z",
        ),
    ),
    Accepted(
        "timestamps without an offset are UTC",
        _rewrite("orders", lambda f: f.assign(ts=["2024-03-01 12:00:00", *f["ts"][1:]])),
        _utc("orders", "ts", "2024-03-01T12:00:00Z"),
    ),
    Accepted(
        "date-only timestamps are midnight UTC",
        _rewrite("customers", lambda f: f.assign(signup_ts=["2024-01-01", *f["signup_ts"][1:]])),
        _utc("customers", "signup_ts", "2024-01-01T00:00:00Z"),
    ),
    Accepted(
        "gzip-compressed CSV",
        lambda folder: (
            (folder / "orders.csv.gz").write_bytes(
                gzip.compress(_csv(folder, "orders").read_bytes())
            ),
            _csv(folder, "orders").unlink(),
        ),
        _accepted("orders", 5),
    ),
    Accepted(
        "header-only optional table",
        _text("events", lambda t: t.splitlines()[0] + "\n"),
        _empty_events,
    ),
    Accepted(
        "columns outside the contract",
        _rewrite("customers", lambda f: f.assign(loyalty_tier="gold")),
        _ignored("customers", "loyalty_tier"),
    ),
    Accepted(
        "columns in another order",
        _rewrite("orders", lambda f: f[f.columns[::-1]]),
        _accepted("orders", 5),
    ),
    Accepted(
        "spaces around header names and values",
        _text("orders", lambda t: "\n".join(_padded(line) for line in t.splitlines()) + "\n"),
        _accepted("orders", 5),
    ),
    Accepted(
        "ticket kinds in capitals",
        _rewrite("tickets", lambda f: f.assign(kind=["Complaint", " FAULT "])),
        _values("tickets", "kind", ["complaint", "fault"]),
    ),
    Accepted(
        "booleans as yes/no/1/0/Y/N",
        _rewrite(
            "products",
            lambda f: f.assign(is_sensitive=["yes", "No", "0"], is_repeatable=["Y", "n", "1"]),
        ),
        _values("products", "is_repeatable", [True, False, True]),
    ),
    Accepted(
        "a 10 MB field",
        _rewrite("customers", lambda f: f.assign(region=["r" * BIG, *f["region"][1:]])),
        _region_kept("r" * BIG),
    ),
    Accepted(
        "a 10 MB field outside the contract",
        _rewrite("orders", lambda f: f.assign(notes=["n" * BIG, *[""] * (len(f) - 1)])),
        _ignored("orders", "notes"),
    ),
    Accepted(
        "quoted empty string is a missing value",
        _text("tickets", lambda t: t.replace(",,\n", ',"",""\n')),
        _csat_missing,
    ),
    Accepted(
        "blank lines at the end",
        _text("orders", lambda t: t + "\n\n"),
        _accepted("orders", 5),
    ),
    Accepted(
        "no line break after the last line",
        _text("orders", str.rstrip),
        _accepted("orders", 5),
    ),
    Accepted(
        "non-Latin text",
        _rewrite("customers", lambda f: f.assign(region=["Škoda ✓ 日本", *f["region"][1:]])),
        _region_kept("Škoda ✓ 日本"),
    ),
    Accepted(
        "a table reached through a symbolic link",
        lambda folder: (
            _csv(folder, "orders").rename(folder / "orders-2024-12-31.txt"),
            _csv(folder, "orders").symlink_to(folder / "orders-2024-12-31.txt"),
        ),
        _accepted("orders", 5),
    ),
    Accepted(
        # pandas keeps the index in its metadata; the contract reads the stored columns
        "Parquet written from a frame indexed by its key",
        _parquet("customers", lambda f: pa.Table.from_pandas(f.set_index("customer_id"))),
        _accepted("customers", 5),
    ),
    Accepted(
        "Parquet categorical text",
        _parquet("customers", lambda f: f.astype({"region": "category"})),
        _accepted("customers", 5),
    ),
    Accepted(
        "Parquet integer ids",
        _then(
            _numbered_products, _parquet("products", lambda f: f.astype({"product_id": "int64"}))
        ),
        _products_numbered,
    ),
    Accepted(
        "Parquet whole-number float ids (an integer column with a null)",
        _then(
            _numbered_products,
            _parquet("events", _column("product_id", [1.0, *[None] * 5])),
        ),
        _event_products,
    ),
    Accepted(
        "Parquet text amounts are parsed like CSV",
        _parquet("orders", lambda f: f.assign(amount=["eighty", *f["amount"][1:]])),
        _text_amounts_parsed,
    ),
    Accepted(
        "Parquet decimal amounts",
        _parquet(
            "orders",
            _column("amount", pa.array([Decimal("80.00")] * 6, pa.decimal128(10, 2))),
        ),
        _values("orders", "amount", [80.0] * 5),
    ),
    Accepted(
        "Parquet timestamps in another time zone",
        _parquet(
            "orders",
            lambda f: f.assign(ts=pd.to_datetime(f["ts"], utc=True).dt.tz_convert("Europe/Berlin")),
        ),
        _utc("orders", "ts", "2024-03-01T12:00:00Z"),
    ),
    Accepted(
        "Parquet timestamps without a time zone are UTC",
        _parquet(
            "orders", lambda f: f.assign(ts=pd.to_datetime(f["ts"], utc=True).dt.tz_localize(None))
        ),
        _utc("orders", "ts", "2024-03-01T12:00:00Z"),
    ),
    Accepted(
        "Parquet 9999-12-31 'never' timestamp in an optional column",
        _parquet(
            "tickets",
            _column(
                "resolved_ts",
                pa.array([datetime(9999, 12, 31), None], pa.timestamp("us", tz="UTC")),
            ),
        ),
        _never_resolved,
    ),
    Accepted(
        "Parquet dates for timestamps",
        _parquet("customers", lambda f: f.assign(signup_ts=pd.to_datetime(f["signup_ts"]).dt.date)),
        _utc("customers", "signup_ts", "2024-01-01T00:00:00Z"),
    ),
    Accepted(
        "Parquet text stored as binary (legacy writers)",
        _parquet(
            "products",
            _column("category", pa.array([b"shoes", b"socks", b"health"], pa.binary())),
        ),
        _values("products", "category", ["shoes", "socks", "health"]),
    ),
    Accepted(
        "Parquet booleans and integer flags",
        _parquet(
            "products",
            lambda f: f.assign(
                is_sensitive=[False, False, True], is_repeatable=pd.array([0, 1, 1], "Int64")
            ),
        ),
        _values("products", "is_repeatable", [False, True, True]),
    ),
    # ---- issue #18: what production exports bring besides --------------------------
    Accepted(
        "a header repeated mid-file (two exports concatenated)",
        _lines("orders", lambda ls: [*ls[:4], ls[0], *ls[4:]]),
        _all(_only_row("orders", 4, REPEATED_HEADER), _read("orders", 7)),
    ),
    Accepted(
        "a NUL byte inside a text field is kept",
        _rewrite("customers", lambda f: f.assign(region=["no\x00rth", *f["region"][1:]])),
        _region_kept("no\x00rth"),
    ),
    Accepted(
        "a delimiter at the end of only some lines",
        _lines("orders", lambda ls: [*ls[:2], ls[2].replace("\n", ",\n"), *ls[3:]]),
        _only_row("orders", 2, "malformed line: expected 7 fields, saw 8"),
    ),
    Accepted(
        "a DOS end-of-file mark (Ctrl-Z) after the last line",
        _text("orders", lambda t: t + "\x1a"),
        _all(
            _only_row("orders", 7, "malformed line: expected 7 fields, saw 1"), _read("orders", 7)
        ),
    ),
    Accepted(
        "rows of bare delimiters (spreadsheet exports)",
        _text("orders", lambda t: t + ",,,,,,\n,,,,,,\n"),
        _quarantined(
            orders=[
                "; ".join(
                    f"{column}: missing required value"
                    for column in ("order_id", "product_id", "customer_id", "ts", "amount")
                )
            ]
            * 2
        ),
    ),
    Accepted(
        "mixed line endings in one file",
        _text("orders", _line_endings),
        _all(_values("orders", "is_return", [False] * 5), _read("orders", 6)),
    ),
    Accepted("quoted header names", _lines("orders", _quoted_header), _accepted("orders", 5)),
    Accepted(
        "quoted numbers",
        _text("orders", lambda t: t.replace(",80.0,", ',"12.50",', 1)),
        _values("orders", "amount", [12.5, 80.0]),
    ),
    Accepted(
        "amounts with a leading plus sign",
        _rewrite("orders", lambda f: f.assign(amount=["+12.50", *f["amount"][1:]])),
        _values("orders", "amount", [12.5, 80.0]),
    ),
    Accepted(
        "amounts in scientific notation",
        _rewrite("orders", lambda f: f.assign(amount=["1e3", "1.5E+2", *f["amount"][2:]])),
        _values("orders", "amount", [1000.0, 150.0, 80.0]),
    ),
    Accepted(
        "booleans as TRUE/False and 1.0/0.0 (a pandas flag column with gaps)",
        _rewrite(
            "products",
            lambda f: f.assign(
                is_sensitive=["TRUE", "1.0", "0.0"], is_repeatable=["False", "0.0", "1.0"]
            ),
        ),
        _all(
            _values("products", "is_sensitive", [True, True, False]),
            _values("products", "is_repeatable", [False, False, True]),
        ),
    ),
    Accepted(
        "Z, +00:00, +05:30 and no offset in one column",
        _rewrite(
            "orders",
            lambda f: f.assign(
                ts=[
                    "2024-03-01 12:00:00",
                    "2024-03-02T12:00:00Z",
                    "2024-03-03T12:00:00+00:00",
                    "2024-03-04T17:30:00+05:30",
                    *f["ts"][4:],
                ]
            ),
        ),
        _utc(
            "orders",
            "ts",
            "2024-03-01T12:00:00Z",
            "2024-03-02T12:00:00Z",
            "2024-03-03T12:00:00Z",
            "2024-03-04T12:00:00Z",
        ),
    ),
    Accepted(
        "nanosecond fractions (nine digits)",
        _rewrite(
            "orders",
            lambda f: f.assign(
                ts=["2024-03-01T12:00:00.123456789Z", "2024-03-02T12:00:00.5+01:00", *f["ts"][2:]]
            ),
        ),
        _utc("orders", "ts", "2024-03-01T12:00:00.123456789Z", "2024-03-02T11:00:00.5Z"),
    ),
    Accepted(
        "timestamps before 1970",
        _rewrite(
            "customers",
            lambda f: f.assign(
                signup_ts=["1969-07-20T20:17:40Z", "1900-01-01", *f["signup_ts"][2:]]
            ),
        ),
        _utc("customers", "signup_ts", "1969-07-20T20:17:40Z", "1900-01-01T00:00:00Z"),
    ),
    Accepted(
        "an order line repeated with whitespace around its ids",
        _lines("orders", lambda ls: [*ls, ls[2].replace("O1,P2,", " O1\t,\tP2 ,")]),
        _only_row("orders", 7, DUPLICATE_LINE),
    ),
    Accepted(
        "ids with leading zeros stay text: 007 is not 7",
        _then(
            _renamed("customer_id", "C001", "007"),
            _rewrite("orders", lambda f: f.assign(customer_id=["007", "7", *f["customer_id"][2:]])),
        ),
        _all(_only_row("orders", 2, UNKNOWN_CUSTOMER), _joined("007")),
    ),
    Accepted(
        "every order of an unknown customer",
        _rewrite("orders", lambda f: f.assign(customer_id=[f"X{i}" for i in range(len(f))])),
        _all(_quarantined(orders=[UNKNOWN_CUSTOMER] * 6), _read("orders", 6)),
    ),
    Accepted(
        "customers whose only row is quarantined",
        _rewrite("customers", lambda f: f.iloc[:1].assign(signup_ts="garbage")),
        _only_customer_quarantined,
    ),
    Accepted(
        "gzip of several members (parts compressed apart, then joined)",
        _gzip_members("orders", 4),
        _all(_accepted("orders", 5), _read("orders", 6)),
    ),
    Accepted(
        "a 50,000-column header",
        _wide("customers", 50_000, lambda i: f"x{i}"),
        _many_ignored("customers", 50_000),
    ),
    Accepted(
        "a 1 MB column name",
        _wide("customers", 1, lambda _: "h" * (1 << 20)),
        _many_ignored("customers", 1),
    ),
    Accepted(
        "Parquet text ids with leading zeros",
        _then(_renamed("customer_id", "C001", "007"), _parquet("customers", lambda f: f)),
        _all(_clean, _joined("007")),
    ),
    Accepted(
        "Parquet unsigned 64-bit ids beyond int64",
        _then(
            _numbered_products,
            _renamed("product_id", "3", str(UINT64_MAX)),
            _parquet("products", _column("product_id", pa.array([1, 2, UINT64_MAX], pa.uint64()))),
        ),
        _products_are("1", "2", str(UINT64_MAX)),
    ),
    Accepted(
        "Parquet 8-bit integers for ids and counts",
        _then(
            _numbered_products,
            _parquet("orders", lambda f: f.astype({"product_id": "int8", "quantity": "int8"})),
        ),
        _all(_products_are("1", "2", "3"), _values("orders", "quantity", [1] * 5)),
    ),
    Accepted(
        "Parquet dictionary-encoded integer ids",
        _then(
            _numbered_products,
            _parquet(
                "products",
                _column("product_id", pa.array([1, 2, 3], pa.int16()).dictionary_encode()),
            ),
        ),
        _products_numbered,
    ),
    Accepted(
        "Parquet string_view text (Polars, DuckDB)",
        _string_views("customers"),
        _all(_accepted("customers", 5), _joined("C001")),
    ),
    Accepted(
        "Parquet INT96 timestamps (Spark, Impala)",
        _int96("orders", lambda f: f.assign(ts=pd.to_datetime(f["ts"], utc=True))),
        _utc("orders", "ts", "2024-03-01T12:00:00Z", "2024-03-02T12:00:00Z"),
    ),
    Accepted(
        "Parquet INT96 9999-12-31 'never' is not wrapped to another date",
        _int96(
            "tickets",
            _column(
                "resolved_ts",
                pa.array([datetime(9999, 12, 31), None], pa.timestamp("us", tz="UTC")),
            ),
        ),
        _never_resolved,
    ),
    Accepted(
        "Parquet optional table with no row group",
        _parquet_without_row_groups("events"),
        _empty_events,
    ),
]


@pytest.mark.parametrize("case", ACCEPTED, ids=lambda c: c.name)
def test_hostile_file_is_accepted(case: Accepted, export_dir: Path, load, check_accounting) -> None:
    case.edit(export_dir)
    result = load(export_dir)
    check_accounting(result)
    case.expect(result)


# ---- fatal: one line naming the file -------------------------------------------------


@dataclass(frozen=True)
class Fatal:
    name: str
    edit: Edit
    phrases: tuple[str, ...]


def _truncate(name: str, keep: float) -> Edit:
    def edit(folder: Path) -> None:
        path = folder / name
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * keep)])

    return edit


def _scribble_footer(folder: Path) -> None:
    path = folder / "orders.parquet"
    data = bytearray(path.read_bytes())
    data[-40:-8] = b"\xff" * 32  # the footer's metadata, before its length and magic
    path.write_bytes(bytes(data))


def _gzip(table: str) -> Edit:
    def edit(folder: Path) -> None:
        path = _csv(folder, table)
        (folder / f"{table}.csv.gz").write_bytes(gzip.compress(path.read_bytes()))
        path.unlink()

    return edit


def _replace_with(table: str, make: Callable[[Path], None]) -> Edit:
    def edit(folder: Path) -> None:
        path = _csv(folder, table)
        path.unlink()
        make(path)

    return edit


def _rename(table: str, new_name: str) -> Edit:
    return lambda folder: _csv(folder, table).rename(folder / new_name)


def _encoded(table: str, encoding: str) -> Edit:
    def edit(folder: Path) -> None:
        path = _csv(folder, table)
        path.write_bytes(path.read_text(encoding="utf-8").encode(encoding))

    return edit


def _empty_gzip(table: str) -> Edit:
    def make(path: Path) -> None:
        path.with_name(f"{table}.csv.gz").write_bytes(gzip.compress(b""))

    return _replace_with(table, make)


def _link_to_device(path: Path) -> None:
    device = Path("/dev/zero")  # endless: a run reading it would never finish
    if not device.exists():
        pytest.skip("no /dev/zero on this system")
    path.symlink_to(device)


FATAL = [
    Fatal(
        "Parquet fractional floats in an id column",
        _parquet("customers", lambda f: f.assign(customer_id=[1.5 + i for i in range(len(f))])),
        ("customers.parquet", "'customer_id'", "fractional"),
    ),
    Fatal(
        "Parquet fractional floats in a text column",
        _parquet("customers", lambda f: f.assign(region=[1.5] * len(f))),
        ("customers.parquet", "'region'", "fractional"),
    ),
    Fatal(
        "Parquet epoch numbers in a timestamp column",
        _parquet("orders", lambda f: f.assign(ts=[1_709_294_400] * len(f))),
        ("orders.parquet", "'ts'", "int64"),
    ),
    Fatal(
        "Parquet timestamps in an amount column",
        _parquet("orders", lambda f: f.assign(amount=pd.to_datetime(f["ts"], utc=True))),
        ("orders.parquet", "'amount'", "timestamp"),
    ),
    Fatal(
        "Parquet booleans in an id column",
        _parquet("products", lambda f: f.assign(category=[True, False, True])),
        ("products.parquet", "'category'", "bool"),
    ),
    Fatal(
        "Parquet list column",
        _parquet("customers", lambda f: f.assign(region=[["north", "east"]] * len(f))),
        ("customers.parquet", "'region'", "list"),
    ),
    Fatal(
        "Parquet binary that is not UTF-8",
        _parquet("products", _column("category", pa.array([b"\xff\xfe", b"a", b"b"], pa.binary()))),
        ("products.parquet", "'category'", "not UTF-8"),
    ),
    Fatal(
        "Parquet with a repeated column name",
        _parquet(
            "products",
            lambda f: pa.Table.from_arrays(
                [pa.array(f[c]) for c in ["product_id", "category", "price", "price"]],
                names=["product_id", "category", "price", "price"],
            ),
        ),
        ("products.parquet", "['price']", "more than once"),
    ),
    Fatal(
        "zero-row Parquet required table",
        _parquet("customers", lambda f: f.iloc[:0]),
        ("customers.parquet", "no data rows"),
    ),
    Fatal(
        "truncated Parquet",
        _then(_parquet("orders", lambda f: f), _truncate("orders.parquet", 0.6)),
        ("orders.parquet", "not a readable Parquet file"),
    ),
    Fatal(
        "corrupted Parquet footer",
        _then(_parquet("orders", lambda f: f), _scribble_footer),
        ("orders.parquet", "not a readable Parquet file"),
    ),
    Fatal(
        "symbolic link loop",
        _replace_with("orders", lambda path: path.symlink_to(path)),
        ("orders.csv", "cannot be read", "symbolic links"),
    ),
    Fatal(
        "dangling symbolic link",
        _replace_with("orders", lambda path: path.symlink_to(path.with_name("gone.csv"))),
        ("orders.csv", "cannot be read", "No such file"),
    ),
    Fatal(
        "folder named like a table",
        _replace_with("events", lambda path: path.mkdir()),
        ("events.csv", "is a folder"),
    ),
    Fatal(
        "truncated gzip CSV",
        _then(_gzip("orders"), _truncate("orders.csv.gz", 0.5)),
        ("orders.csv.gz", "cannot be read"),
    ),
    Fatal(
        "gzip content under a .csv name",
        lambda folder: _csv(folder, "orders").write_bytes(
            gzip.compress(_csv(folder, "orders").read_bytes())
        ),
        ("orders.csv", "not UTF-8"),
    ),
    Fatal(
        "file name in capitals",
        _rename("orders", "Orders.CSV"),
        ("orders.csv or orders.parquet", "Orders.CSV"),
    ),
    Fatal(
        "unsupported format",
        _rename("customers", "customers.xlsx"),
        ("customers.csv or customers.parquet", "customers.xlsx"),
    ),
    Fatal(
        "a quote that is never closed swallows the lines after it",
        _text("customers", lambda t: t.replace("\nC002,", '\nC002,"', 1)),
        ("customers.csv", "never closed", "record 2"),
    ),
    # ---- issue #18 ----------------------------------------------------------------
    Fatal(
        "plain CSV under a .csv.gz name",
        _rename("orders", "orders.csv.gz"),
        ("orders.csv.gz", "cannot be read", "Not a gzipped file"),
    ),
    Fatal("an empty gzip", _empty_gzip("events"), ("events.csv.gz", "first line is blank")),
    Fatal(
        "a blank line before the header",
        _text("customers", "\n".__add__),
        ("customers.csv", "first line is blank"),
    ),
    Fatal(
        "UTF-16 without a byte-order mark (SQL Server bcp -w)",
        _encoded("orders", "utf-16-le"),
        ("orders.csv", "not UTF-8", "UTF-16"),
    ),
    Fatal(
        "Windows-1252 text in a gzip CSV",
        _then(
            _rewrite("customers", lambda f: f.assign(name=["Müller “Mo”", *f["name"][1:]])),
            _encoded("customers", "cp1252"),
            _gzip("customers"),
        ),
        ("customers.csv.gz", "not UTF-8", "0xfc", "line 2"),
    ),
    Fatal(
        "header names in capitals",
        _text("orders", lambda t: t.replace("customer_id", "Customer_ID", 1)),
        ("orders.csv", "'customer_id'", "'Customer_ID'"),
    ),
    Fatal(
        "a symbolic link to a device",
        _replace_with("events", _link_to_device),
        ("events.csv", "not a regular file"),
    ),
    Fatal(
        "Parquet required table with no row group",
        _parquet_without_row_groups("customers"),
        ("customers.parquet", "no data rows"),
    ),
]


@pytest.mark.parametrize("case", FATAL, ids=lambda c: c.name)
def test_hostile_file_is_one_clear_error(case: Fatal, export_dir: Path, load) -> None:
    case.edit(export_dir)
    with pytest.raises(ContractError) as info:
        load(export_dir)
    message = str(info.value)
    for phrase in case.phrases:
        assert phrase in message, message
    assert "\n" not in message, message


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_fifo_under_a_table_name_is_one_clear_error(export_dir: Path, load) -> None:
    path = _csv(export_dir, "events")
    path.unlink()
    os.mkfifo(path)
    # a writer holds the FIFO open, so that a run opening it would not wait forever but
    # fail this test on its message
    writer = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    try:
        with pytest.raises(ContractError) as info:
            load(export_dir)
    finally:
        os.close(writer)
    message = str(info.value)
    assert "events.csv" in message and "not a regular file" in message, message
    assert "\n" not in message


def test_the_battery_keeps_its_cases() -> None:
    names = [case.name for case in (*ACCEPTED, *FATAL)]
    assert len(set(names)) == len(names), "case names are test ids: keep them unique"
    assert len(names) >= BATTERY_MINIMUM, f"{len(names)} hostile cases, under {BATTERY_MINIMUM}"


def _refuse_to_open(monkeypatch: pytest.MonkeyPatch, refused: Path) -> None:
    """Root reads a chmod-000 file anyway; then the refusal is the operating system's."""
    if os.geteuid() != 0:
        return
    original = Path.open

    def open_(self: Path, *args, **kwargs):
        if self.resolve() == refused.resolve():
            raise PermissionError(13, "Permission denied", str(self))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", open_)


@pytest.mark.parametrize("table", ["customers", "products.parquet"])
def test_unreadable_file_is_one_clear_error(
    table: str, export_dir: Path, load, monkeypatch: pytest.MonkeyPatch
) -> None:
    if table.endswith(".parquet"):
        _parquet("products", lambda f: f)(export_dir)
        path = export_dir / table
    else:
        path = _csv(export_dir, table)
    path.chmod(0)
    _refuse_to_open(monkeypatch, path)
    try:
        with pytest.raises(ContractError) as info:
            load(export_dir)
    finally:
        path.chmod(0o644)
    message = str(info.value)
    assert path.name in message and "Permission denied" in message, message
    assert "\n" not in message


@pytest.mark.parametrize(
    "edit",
    [
        _replace_with("orders", lambda path: path.symlink_to(path)),
        _parquet("customers", lambda f: f.assign(customer_id=[0.5] * len(f))),
        _text("customers", lambda t: t.splitlines()[0] + "\n"),
    ],
    ids=["symbolic link loop", "Parquet float id", "header-only customers"],
)
def test_cli_prints_new_fatal_errors_on_one_line(
    edit: Edit, export_dir: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    from crm_ml.cli import main

    monkeypatch.setenv("CRM_ML_PSEUDONYM_KEY", "test-secret")
    edit(export_dir)
    code = main(
        [
            "validate",
            str(export_dir),
            "--quiet",
            "--quarantine-dir",
            str(tmp_path / "q"),
            "--accepted-dir",
            str(tmp_path / "a"),
            "--as-of",
            "2025-01-01",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("crm-ml validate:")]
    assert len(lines) == 1 and str(export_dir) in lines[0], err
