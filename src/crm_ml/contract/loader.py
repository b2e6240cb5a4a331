"""`load_tables`: from a folder of exports to accepted tables plus a quarantine.

Order of work for each table: read the file (fatal problems raise ContractError), drop
the rows of erased customers, parse every column, validate with the table's pandera
schema (lazily, so every problem of every row is collected), split accepted from
quarantined rows, then pseudonymise customer ids and drop personal columns. The invariant
``read = accepted + quarantined + erased`` is checked for every table before returning.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
from tqdm.auto import tqdm

from crm_ml.contract.errors import ContractError
from crm_ml.contract.parsing import STRING, parse_column
from crm_ml.contract.privacy import pseudonym_key, pseudonymise_ids
from crm_ml.contract.reading import RECORD, RawTable, find_table_file, read_table_file
from crm_ml.contract.schemas import schema_for
from crm_ml.contract.tables import LOAD_ORDER, PERSONAL_COLUMNS, TABLES, Kind, TableSpec

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
DEFAULT_QUARANTINE_DIR = Path("data/quarantine")


@dataclass
class TableReport:
    """The accounting of one table: read = accepted + quarantined + erased."""

    table: str
    file: str
    read: int
    accepted: int
    quarantined: int
    erased: int
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return self.read == self.accepted + self.quarantined + self.erased


@dataclass
class ContractResult:
    """Accepted tables (pseudonymised, typed), quarantined rows with reasons, the accounting."""

    tables: dict[str, pd.DataFrame]
    quarantine: dict[str, pd.DataFrame]
    reports: list[TableReport]
    as_of: pd.Timestamp
    as_of_source: str

    def report_frame(self) -> pd.DataFrame:
        """One row per table: file, read, accepted, quarantined, erased."""
        rows = [
            {k: v for k, v in asdict(r).items() if k != "ignored_columns"} for r in self.reports
        ]
        return pd.DataFrame(
            rows, columns=["table", "file", "read", "accepted", "quarantined", "erased"]
        )

    def reasons(self) -> pd.DataFrame:
        """How many quarantined rows each reason accounts for, per table."""
        frames = [
            q["reason"]
            .str.split("; ")
            .explode()
            .value_counts()
            .rename_axis("reason")
            .reset_index()
            .assign(table=name)
            for name, q in self.quarantine.items()
            if len(q)
        ]
        if not frames:
            return pd.DataFrame(columns=["table", "reason", "count"])
        return pd.concat(frames, ignore_index=True)[["table", "reason", "count"]]


def count_reasons(quarantine: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """How many quarantined rows each reason accounts for, per table."""
    frames = [
        rows["reason"]
        .str.split("; ")
        .explode()
        .value_counts()
        .rename_axis("reason")
        .reset_index(name="count")
        .assign(table=name)
        for name, rows in quarantine.items()
        if len(rows)
    ]
    if not frames:
        return pd.DataFrame(columns=["table", "reason", "count"])
    return pd.concat(frames, ignore_index=True)[["table", "reason", "count"]]


def resolve_as_of(source_dir: Path, as_of: str | pd.Timestamp | None) -> tuple[pd.Timestamp, str]:
    """The export date rows may not pass: given, else the folder's manifest, else now."""
    if as_of is not None:
        return pd.Timestamp(as_of).tz_localize("UTC") if pd.Timestamp(as_of).tz is None else (
            pd.Timestamp(as_of).tz_convert("UTC")
        ), "argument"
    manifest = source_dir / MANIFEST
    if manifest.exists():
        try:
            value = json.loads(manifest.read_text())["as_of"]
            stamp = pd.Timestamp(value)
        except (ValueError, KeyError, TypeError) as exc:
            raise ContractError(
                f"{manifest}: expected a JSON object with an ISO-8601 'as_of' timestamp ({exc})."
            ) from exc
        return (stamp.tz_localize("UTC") if stamp.tz is None else stamp.tz_convert("UTC")), str(
            manifest
        )
    return pd.Timestamp.now(tz="UTC"), "now"


def load_tables(
    source_dir: str | Path,
    *,
    as_of: str | pd.Timestamp | None = None,
    quarantine_dir: str | Path | None = DEFAULT_QUARANTINE_DIR,
    accepted_dir: str | Path | None = None,
    key: bytes | None = None,
    progress: bool = True,
) -> ContractResult:
    """Read, validate and pseudonymise every contract table found in `source_dir`.

    Files are `<table>.csv`, `<table>.csv.gz` or `<table>.parquet`. Missing required tables,
    unreadable files and missing required columns raise ContractError; bad rows are
    quarantined with a reason. With `quarantine_dir` / `accepted_dir` set, the quarantined
    rows (with a `reason` column) and the accepted tables are written there as Parquet.
    """
    source_dir = Path(source_dir)
    if not source_dir.is_dir():
        raise ContractError(f"{source_dir}: no such folder of exports.")
    stamp, stamp_source = resolve_as_of(source_dir, as_of)
    files = {name: find_table_file(source_dir, name) for name in LOAD_ORDER}
    missing = [n for n in LOAD_ORDER if TABLES[n].required_table and files[n] is None]
    if missing:
        expected = ", ".join(f"{n}.csv or {n}.parquet" for n in missing)
        raise ContractError(f"{source_dir}: missing required table file(s): {expected}.")
    key = pseudonym_key() if key is None else key

    tables: dict[str, pd.DataFrame] = {}
    quarantine: dict[str, pd.DataFrame] = {}
    reports: list[TableReport] = []
    known: dict[str, pd.Index] = {}
    rejected_keys: dict[str, pd.Index] = {}
    erased: set[str] = set()
    present = [n for n in LOAD_ORDER if files[n] is not None]
    bar = tqdm(present, desc="validating", unit="table", disable=not progress)
    for name in bar:
        bar.set_postfix_str(name)
        raw = read_table_file(files[name], TABLES[name])
        accepted, rejected, n_erased = _validate(
            raw, TABLES[name], stamp, known, rejected_keys, erased
        )
        if name == "erasure":
            erased = set(accepted["customer_id"].dropna())
        spec = TABLES[name]
        if len(spec.key) == 1:
            known[name] = pd.Index(accepted[spec.key[0]].dropna().unique())
            rejected_keys[name] = pd.Index(
                rejected[spec.key[0]].str.strip().dropna().unique()
            ).difference(known[name])
        reports.append(
            TableReport(
                table=name,
                file=str(files[name]),
                read=len(raw.frame) + len(raw.malformed),
                accepted=len(accepted),
                quarantined=len(rejected),
                erased=n_erased,
                ignored_columns=raw.ignored_columns,
            )
        )
        if raw.ignored_columns:
            log.info("%s: ignored columns outside the contract: %s", raw.path, raw.ignored_columns)
        tables[name] = _publishable(accepted, key)
        quarantine[name] = _publishable(rejected, key)
    for report in reports:
        if not report.balanced:  # a bug in this module, never a data problem
            raise AssertionError(f"accounting does not balance for {report}")
    result = ContractResult(tables, quarantine, reports, stamp, stamp_source)
    if quarantine_dir is not None:
        write_quarantine(result, Path(quarantine_dir))
    if accepted_dir is not None:
        write_accepted(result, Path(accepted_dir))
    return result


def _validate(
    raw: RawTable,
    spec: TableSpec,
    as_of: pd.Timestamp,
    known: dict[str, pd.Index],
    rejected_keys: dict[str, pd.Index],
    erased: set[str],
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Accepted rows, quarantined rows (raw values + reason) and the number erased."""
    frame = raw.frame
    n_erased = 0
    if erased and "customer_id" in frame and spec.name != "erasure":
        is_erased = frame["customer_id"].astype(STRING).str.strip().isin(erased).fillna(False)
        n_erased = int(is_erased.sum())
        frame = frame[~is_erased.to_numpy()]
    frame = frame.reset_index(drop=True)

    reasons: dict[int, list[str]] = defaultdict(list)
    typed = pd.DataFrame({RECORD: frame[RECORD]})
    unparseable_cells: set[tuple[int, str]] = set()
    for column in (c for c in frame.columns if c != RECORD):
        kind = spec.columns[column]
        typed[column], bad = parse_column(frame[column], kind)
        for row in bad[bad].index:
            reasons[row].append(f"{column}: cannot parse {frame.at[row, column]!r} as {kind.value}")
            unparseable_cells.add((row, column))

    refs = {col: target for col, target in spec.references.items() if target in known}
    schema = schema_for(
        spec.name,
        as_of=as_of,
        present_columns=typed.columns,
        known_keys={col: known[target] for col, target in refs.items()},
        quarantined_keys={col: rejected_keys[target] for col, target in refs.items()},
    )
    try:
        schema.validate(typed, lazy=True)
    except pa.errors.SchemaErrors as exc:
        _collect_schema_reasons(exc.failure_cases, spec, reasons, unparseable_cells)

    bad_rows = sorted(reasons)
    is_bad = frame.index.isin(bad_rows)
    accepted = typed.loc[~is_bad].drop(columns=RECORD).reset_index(drop=True)
    rejected = frame.loc[is_bad].astype(STRING)
    rejected["reason"] = pd.Series({r: "; ".join(dict.fromkeys(reasons[r])) for r in bad_rows})
    rejected[RECORD] = frame.loc[is_bad, RECORD]
    if len(raw.malformed):
        malformed = raw.malformed.astype({"reason": STRING})
        parts = [rejected, malformed] if len(rejected) else [malformed]
        rejected = pd.concat(parts, ignore_index=True).reindex(columns=rejected.columns)
    return _with_consent(accepted, spec), rejected.rename(columns={RECORD: "record"}), n_erased


def _collect_schema_reasons(
    failures: pd.DataFrame,
    spec: TableSpec,
    reasons: dict[int, list[str]],
    unparseable_cells: set[tuple[int, str]],
) -> None:
    failures = failures.dropna(subset=["index"])
    for row, column, check, context in failures[
        ["index", "column", "check", "schema_context"]
    ].itertuples(index=False):
        row = int(row)
        if check == "not_nullable":
            if (row, column) not in unparseable_cells:
                reasons[row].append(f"{column}: missing required value")
        elif check in ("multiple_fields_uniqueness", "field_uniqueness"):
            reasons[row].append(f"duplicate key ({', '.join(spec.key)}) of an earlier row")
        elif context == "DataFrameSchema":
            reasons[row].append(str(check))
        else:
            reasons[row].append(f"{column}: {check}")


def _with_consent(accepted: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """Customers always carry a consent flag; unknown consent is no consent."""
    if spec.name == "customers":
        if "marketing_consent" not in accepted:
            accepted["marketing_consent"] = pd.array([False] * len(accepted), dtype="boolean")
        accepted["marketing_consent"] = accepted["marketing_consent"].fillna(False)
    return accepted


def _publishable(frame: pd.DataFrame, key: bytes) -> pd.DataFrame:
    """Pseudonymise customer ids and drop personal columns before anything leaves."""
    frame = frame.drop(columns=[c for c in PERSONAL_COLUMNS if c in frame])
    if "customer_id" in frame:
        frame["customer_id"] = pseudonymise_ids(frame["customer_id"], key)
    return frame


def write_quarantine(result: ContractResult, quarantine_dir: Path) -> None:
    """One Parquet file per table with quarantined rows, plus report.json; stale files go."""
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        (quarantine_dir / f"{name}.parquet").unlink(missing_ok=True)
    for name, rows in result.quarantine.items():
        if len(rows):
            rows.to_parquet(quarantine_dir / f"{name}.parquet", index=False)
    report = {
        "as_of": result.as_of.isoformat(),
        "as_of_source": result.as_of_source,
        "tables": [asdict(r) for r in result.reports],
    }
    (quarantine_dir / "report.json").write_text(json.dumps(report, indent=2))


def write_accepted(result: ContractResult, accepted_dir: Path) -> None:
    """Accepted tables as `<table>.parquet`, the input of the feature layer."""
    accepted_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in result.tables.items():
        frame.to_parquet(accepted_dir / f"{name}.parquet", index=False)
    manifest = {"as_of": result.as_of.isoformat(), "tables": sorted(result.tables)}
    (accepted_dir / MANIFEST).write_text(json.dumps(manifest, indent=2))


__all__ = ["ContractResult", "Kind", "TableReport", "load_tables", "resolve_as_of"]
