"""Reading one contract file (CSV or Parquet) into a frame of raw values.

CSV is read with pyarrow rather than pandas: every column as text (so that a bad value is
kept and quarantined rather than silently coerced), and with a handler that turns lines
with the wrong number of fields into quarantine records instead of aborting the whole
file. Anything that makes a file unreadable as a whole (permissions, a symbolic-link
loop, a folder, a truncated gzip or Parquet file, a column of the wrong Parquet type, a
required table without rows) is one ContractError naming the file.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from crm_ml.contract.errors import ContractError
from crm_ml.contract.stored_types import conform_parquet
from crm_ml.contract.tables import TableSpec

SUFFIXES = (".parquet", ".csv", ".csv.gz")
RECORD = "_record"  # 1-based position of the row among the file's data records
_OTHER_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}
_UTF8_BOM = "\ufeff"
_FIRST_BLOCK = 1 << 20  # pyarrow's default; grown when one record is longer
_LAST_BLOCK = 1 << 30
_BLOCK_TOO_SMALL = re.compile("straddl|larger than block size")
_UNREADABLE = (OSError, EOFError, zlib.error)  # gzip reports truncation as EOFError
REPEATED_HEADER = "repeated header line (were exports concatenated?)"


@dataclass
class RawTable:
    """A file's rows as read, before any parsing, plus the lines that could not be split."""

    path: Path
    frame: pd.DataFrame  # columns of the contract present in the file, plus RECORD
    malformed: pd.DataFrame  # RECORD and reason of lines with the wrong number of fields
    ignored_columns: list[str]


def find_table_file(source_dir: Path, table: str) -> Path | None:
    """The file holding `table` in `source_dir`, or None; two candidates are an error.

    A symbolic link counts even when it leads nowhere, so that a loop or a dangling link
    is reported as what it is rather than as a missing table.
    """
    found = [source_dir / f"{table}{s}" for s in SUFFIXES if _is_entry(source_dir / f"{table}{s}")]
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise ContractError(
            f"{source_dir}: table '{table}' is in more than one file ({names}); keep one of them."
        )
    return found[0] if found else None


def near_misses(source_dir: Path, table: str) -> list[str]:
    """Names in `source_dir` that look meant for `table` but are not read (case, format)."""
    expected = {f"{table}{s}" for s in SUFFIXES}
    return sorted(
        p.name
        for p in source_dir.iterdir()
        if p.name.lower().startswith(f"{table}.") and p.name not in expected
    )


def read_table_file(path: Path, spec: TableSpec) -> RawTable:
    """Read `path`, check the required columns are there, keep only contract columns."""
    try:
        frame, malformed = _read_any(path, spec)
    except _UNREADABLE as exc:
        reason = getattr(exc, "strerror", None) or _one_line(exc)
        raise ContractError(f"{path}: cannot be read: {reason}.") from exc
    present = list(frame.columns)
    missing = [c for c in spec.required if c not in present]
    if missing:
        raise ContractError(
            f"{path}: missing required column(s) {', '.join(repr(c) for c in missing)} of table "
            f"'{spec.name}'; found {', '.join(repr(c) for c in present) or 'no columns'}. "
            f"Required: {', '.join(spec.required)}."
        )
    if spec.required_table and len(frame) + len(malformed) == 0:
        raise ContractError(
            f"{path}: no data rows, only a header; '{spec.name}' is a required table, so the "
            "export is incomplete. Re-export it."
        )
    ignored = [c for c in present if c not in spec.columns]
    kept = [c for c in present if c in spec.columns]
    frame = frame[kept].copy()
    frame.insert(0, RECORD, _record_numbers(len(frame), malformed[RECORD]))
    frame, malformed = _split_repeated_headers(frame, malformed)
    return RawTable(path=path, frame=frame, malformed=malformed, ignored_columns=ignored)


def _split_repeated_headers(
    frame: pd.DataFrame, malformed: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows that repeat the header (two exports concatenated) are malformed lines with
    that one reason, rather than rows failing every check with the column names as values."""
    columns = [c for c in frame.columns if c != RECORD]
    if frame.empty or not all(pd.api.types.is_string_dtype(frame[c]) for c in columns):
        return frame, malformed  # typed (Parquet) columns cannot hold a header line
    repeated = pd.Series(True, index=frame.index)
    for column in columns:
        repeated &= frame[column].str.strip().eq(column).fillna(False)
        if not repeated.any():
            return frame, malformed
    headers = pd.DataFrame({RECORD: frame.loc[repeated, RECORD], "reason": REPEATED_HEADER})
    parts = [malformed, headers] if len(malformed) else [headers]
    malformed = pd.concat(parts, ignore_index=True).astype({RECORD: "int64"})
    return frame[~repeated], malformed


def _is_entry(path: Path) -> bool:
    return path.is_symlink() or path.exists()


def _read_any(path: Path, spec: TableSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    if path.is_dir():
        raise ContractError(f"{path}: is a folder, not a file; put the table's file here.")
    if path.exists() and not path.is_file():  # opening a FIFO would wait for a writer
        raise ContractError(
            f"{path}: is not a regular file (a FIFO, socket or device); put the table's file here."
        )
    with path.open("rb"):  # permissions, loops and dangling links fail here, plainly
        pass
    if path.stat().st_size == 0:
        raise ContractError(f"{path}: the file is empty; expected at least a header row.")
    if path.name.endswith(".parquet"):
        return _read_parquet(path, spec), _no_malformed()
    return _read_csv(path)


def _no_malformed() -> pd.DataFrame:
    return pd.DataFrame({RECORD: pd.Series([], dtype="int64"), "reason": pd.Series([], dtype=str)})


def _record_numbers(n_parsed: int, malformed_records: pd.Series) -> pd.Series:
    """Record numbers of the parsed rows, skipping the numbers taken by malformed lines."""
    total = n_parsed + len(malformed_records)
    taken = set(malformed_records.tolist())
    numbers = [r for r in range(1, total + 1) if r not in taken] if taken else range(1, total + 1)
    return pd.Series(numbers, dtype="int64")


def _read_parquet(path: Path, spec: TableSpec) -> pd.DataFrame:
    try:
        names = pq.read_schema(path).names
        duplicated = sorted(n for n, count in Counter(names).items() if count > 1)
        if duplicated:
            raise ContractError(f"{path}: column(s) {duplicated} appear more than once.")
        # INT96 (Spark, Impala) read in nanoseconds would wrap a 9999-12-31 or a year
        # 1500 silently to another date; in microseconds they stay, and are judged later
        table = pq.read_table(path, coerce_int96_timestamp_unit="us")
    except (pa.ArrowException, OSError) as exc:
        raise ContractError(f"{path}: not a readable Parquet file ({_one_line(exc)}).") from exc
    # The stored Arrow types are judged, not the pandas dtypes a writer's metadata records:
    # pandas 3 records text columns as `str`, and with the metadata a column changed since
    # (say text -> timestamp) came back as text, and an index column went into the index.
    return conform_parquet(path, table, spec).to_pandas(
        types_mapper=_string_mapper, ignore_metadata=True
    )


def _string_mapper(arrow_type: pa.DataType) -> pd.api.extensions.ExtensionDtype | None:
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return pd.StringDtype("pyarrow")
    return None


def _one_line(exc: BaseException) -> str:
    """A library's message made one printable line (a corrupt file's bytes may be in it)."""
    printable = "".join(c if c.isprintable() else " " for c in str(exc))
    return " ".join(printable.split())


def _scan_text(path: Path) -> int:
    """Check the file is UTF-8 (failing with the line of the first bad byte, the usual
    export mistake) and count its double quotes, to tell an unclosed quote later."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines_before = 0
    quotes = 0
    with _open_binary(path) as fh:
        while chunk := fh.read(1 << 24):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                line = lines_before + chunk[: exc.start].count(b"\n") + 1
                raise ContractError(
                    f"{path}: not UTF-8 text (byte 0x{chunk[exc.start]:02x} on line {line}). "
                    "Re-export the file as UTF-8, e.g. `iconv -f latin1 -t utf-8`."
                ) from None
            lines_before += chunk.count(b"\n")
            quotes += chunk.count(b'"')
    return quotes


def _open_binary(path: Path) -> io.BufferedIOBase:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _read_header(path: Path) -> list[str]:
    # universal newlines: a header ends at \n, \r\n or a bare \r (old Mac exports), as
    # pyarrow's records do
    with _open_binary(path) as fh, io.TextIOWrapper(fh, encoding="utf-8", newline=None) as text:
        first_line = text.readline().lstrip(_UTF8_BOM).rstrip("\n")
    if not first_line.strip():
        raise ContractError(
            f"{path}: the first line is blank (an empty file, or a blank line before the "
            "header); expected the header row there."
        )
    if "\x00" in first_line:
        raise ContractError(
            f"{path}: not UTF-8 text (NUL bytes in the header: UTF-16 without a byte-order "
            "mark?). Re-export the file as UTF-8, e.g. `iconv -f utf-16le -t utf-8`."
        )
    # a header may be longer than the csv module's default field limit (128 KiB)
    csv.field_size_limit(max(csv.field_size_limit(), len(first_line)))
    header = [c.strip() for c in next(csv.reader([first_line]), [])]
    if len(header) == 1:
        for delimiter, name in _OTHER_DELIMITERS.items():
            if delimiter in header[0]:
                raise ContractError(
                    f"{path}: the header has a single column '{header[0][:60]}' and looks "
                    f"{name}-delimited; the contract expects comma-separated CSV."
                )
    if len(header) > 1 and not header[-1]:
        # a delimiter at the end of every line: an unnamed last column, ignored like any
        # other column outside the contract
        header[-1] = f"(unnamed column {len(header)})"
    blank = [i + 1 for i, c in enumerate(header) if not c]
    if blank:
        raise ContractError(f"{path}: header column(s) {blank} have no name.")
    duplicated = sorted(c for c, n in Counter(header).items() if n > 1)
    if duplicated:
        raise ContractError(f"{path}: column(s) {duplicated} appear more than once in the header.")
    return header


def _read_csv(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    quotes = _scan_text(path)
    header = _read_header(path)
    block = _FIRST_BLOCK
    while True:
        bad_lines: list[tuple[int, str, bool]] = []
        try:
            table = _parse_csv(path, header, block, bad_lines)
            break
        except pa.ArrowInvalid as exc:
            # one record (or the header) longer than a block: read again in larger blocks
            if not _BLOCK_TOO_SMALL.search(str(exc)) or block >= _LAST_BLOCK:
                raise ContractError(f"{path}: cannot be read as CSV ({_one_line(exc)}).") from exc
            block *= 8
        except pa.ArrowException as exc:
            raise ContractError(f"{path}: cannot be read as CSV ({_one_line(exc)}).") from exc
    if quotes % 2:
        _fail_on_unclosed_quote(path, table, bad_lines)
    malformed = pd.DataFrame(
        [(record, reason) for record, reason, _ in bad_lines], columns=[RECORD, "reason"]
    ).astype({RECORD: "int64"})
    return table.to_pandas(types_mapper=_string_mapper), malformed


def _parse_csv(
    path: Path, header: list[str], block: int, bad_lines: list[tuple[int, str, bool]]
) -> pa.Table:
    def on_invalid_row(row: pacsv.InvalidRow) -> str:
        # row.number counts rows from 1 with the header as row 1
        record = (row.number - 1) if row.number is not None else -1
        reason = f"malformed line: expected {row.expected_columns} fields, saw {row.actual_columns}"
        bad_lines.append((record, reason, "\n" in (row.text or "")))
        return "skip"

    return pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(
            column_names=header, skip_rows=1, use_threads=False, block_size=block
        ),
        parse_options=pacsv.ParseOptions(
            invalid_row_handler=on_invalid_row, newlines_in_values=True
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in header},
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )


def _fail_on_unclosed_quote(
    path: Path, table: pa.Table, bad_lines: list[tuple[int, str, bool]]
) -> None:
    """An odd number of quotes and a last record spanning several lines: a quote opened
    there never closed and swallowed every line after it, which must not pass quietly.
    (A stray quote inside an unquoted field, `5'10"`, is harmless and passes.)"""
    last = table.num_rows + len(bad_lines)
    spans_lines = any(record == last and multiline for record, _, multiline in bad_lines)
    if not spans_lines and table.num_rows and last not in {r for r, _, _ in bad_lines}:
        row = table.slice(table.num_rows - 1).to_pylist()[0]
        spans_lines = any(isinstance(v, str) and "\n" in v for v in row.values())
    if spans_lines:
        raise ContractError(
            f"{path}: a double quote opened in record {last} is never closed, so every line "
            "after it was read as one field. Fix the quoting there (a quote inside a quoted "
            'field is written twice: "").'
        )
