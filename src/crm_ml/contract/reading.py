"""Reading one contract file (CSV or Parquet) into a frame of raw values.

CSV is read with pyarrow rather than pandas: every column as text (so that a bad value is
kept and quarantined rather than silently coerced), multi-threaded, and with a handler
that turns lines with the wrong number of fields into quarantine records instead of
aborting the whole file.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from crm_ml.contract.errors import ContractError
from crm_ml.contract.tables import TableSpec

SUFFIXES = (".parquet", ".csv", ".csv.gz")
RECORD = "_record"  # 1-based position of the row among the file's data records
_OTHER_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}
_UTF8_BOM = "\ufeff"


@dataclass
class RawTable:
    """A file's rows as read, before any parsing, plus the lines that could not be split."""

    path: Path
    frame: pd.DataFrame  # columns of the contract present in the file, plus RECORD
    malformed: pd.DataFrame  # RECORD and reason of lines with the wrong number of fields
    ignored_columns: list[str]


def find_table_file(source_dir: Path, table: str) -> Path | None:
    """The file holding `table` in `source_dir`, or None; two candidates are an error."""
    found = [source_dir / f"{table}{s}" for s in SUFFIXES if (source_dir / f"{table}{s}").exists()]
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise ContractError(
            f"{source_dir}: table '{table}' is in more than one file ({names}); keep one of them."
        )
    return found[0] if found else None


def read_table_file(path: Path, spec: TableSpec) -> RawTable:
    """Read `path`, check the required columns are there, keep only contract columns."""
    if path.stat().st_size == 0:
        raise ContractError(f"{path}: the file is empty; expected at least a header row.")
    if path.name.endswith(".parquet"):
        frame, malformed = _read_parquet(path), _no_malformed()
    else:
        frame, malformed = _read_csv(path)
    present = list(frame.columns)
    missing = [c for c in spec.required if c not in present]
    if missing:
        raise ContractError(
            f"{path}: missing required column(s) {', '.join(repr(c) for c in missing)} of table "
            f"'{spec.name}'; found {', '.join(repr(c) for c in present) or 'no columns'}. "
            f"Required: {', '.join(spec.required)}."
        )
    ignored = [c for c in present if c not in spec.columns]
    kept = [c for c in present if c in spec.columns]
    frame = frame[kept].copy()
    frame.insert(0, RECORD, _record_numbers(len(frame), malformed[RECORD]))
    return RawTable(path=path, frame=frame, malformed=malformed, ignored_columns=ignored)


def _no_malformed() -> pd.DataFrame:
    return pd.DataFrame({RECORD: pd.Series([], dtype="int64"), "reason": pd.Series([], dtype=str)})


def _record_numbers(n_parsed: int, malformed_records: pd.Series) -> pd.Series:
    """Record numbers of the parsed rows, skipping the numbers taken by malformed lines."""
    total = n_parsed + len(malformed_records)
    taken = set(malformed_records.tolist())
    numbers = [r for r in range(1, total + 1) if r not in taken] if taken else range(1, total + 1)
    return pd.Series(numbers, dtype="int64")


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise ContractError(f"{path}: not a readable Parquet file ({exc}).") from exc
    return table.to_pandas(types_mapper=_string_mapper)


def _string_mapper(arrow_type: pa.DataType) -> pd.api.extensions.ExtensionDtype | None:
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return pd.StringDtype("pyarrow")
    return None


def _check_utf8(path: Path) -> None:
    """Fail with the line of the first byte that is not UTF-8, the usual export mistake."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines_before = 0
    opener = _open_binary(path)
    with opener as fh:
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


def _open_binary(path: Path) -> io.BufferedIOBase:
    if path.name.endswith(".gz"):
        import gzip

        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _read_header(path: Path) -> list[str]:
    with _open_binary(path) as fh:
        first_line = fh.readline().decode("utf-8").lstrip(_UTF8_BOM).rstrip("\r\n")
    header = next(csv.reader([first_line]), [])
    if len(header) == 1:
        for delimiter, name in _OTHER_DELIMITERS.items():
            if delimiter in header[0]:
                raise ContractError(
                    f"{path}: the header has a single column '{header[0][:60]}' and looks "
                    f"{name}-delimited; the contract expects comma-separated CSV."
                )
    blank = [i + 1 for i, c in enumerate(header) if not c.strip()]
    if blank:
        raise ContractError(f"{path}: header column(s) {blank} have no name.")
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        raise ContractError(f"{path}: column(s) {duplicated} appear more than once in the header.")
    return [c.strip() for c in header]


def _read_csv(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    _check_utf8(path)
    header = _read_header(path)
    bad_lines: list[tuple[int, str]] = []

    def on_invalid_row(row: pacsv.InvalidRow) -> str:
        # row.number counts lines from 1 with the header as line 1
        record = (row.number - 1) if row.number is not None else -1
        bad_lines.append(
            (
                record,
                f"malformed line: expected {row.expected_columns} fields, saw {row.actual_columns}",
            )
        )
        return "skip"

    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, use_threads=False),
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
    except pa.ArrowException as exc:
        raise ContractError(f"{path}: cannot be read as CSV ({exc}).") from exc
    malformed = pd.DataFrame(bad_lines, columns=[RECORD, "reason"]).astype({RECORD: "int64"})
    return table.to_pandas(types_mapper=_string_mapper), malformed
