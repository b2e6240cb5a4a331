"""Hostile export files: what a nightly run meets in production, and what it does with each.

Each case edits one file of a valid export. It is either accepted (with the normalisation
the case names, and the accounting balanced) or stops the run with one ContractError, one
line long, that names the file (and the column where there is one). Row-level problems
are in test_bad_inputs.py.
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

from crm_ml.contract import ContractError, ContractResult

Edit = Callable[[Path], None]
BIG = 10_000_000  # characters in one field: ten times pyarrow's default block


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


def _parquet(table: str, change: Callable[[pd.DataFrame], pd.DataFrame | pa.Table]) -> Edit:
    """Replace `<table>.csv` by `<table>.parquet` holding `change(frame)` (blanks as null)."""

    def edit(folder: Path) -> None:
        frame = _frame(folder, table).replace("", None)
        data = change(frame)
        table_ = (
            data if isinstance(data, pa.Table) else pa.Table.from_pandas(data, preserve_index=False)
        )
        pq.write_table(table_, folder / f"{table}.parquet")
        _csv(folder, table).unlink()

    return edit


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
