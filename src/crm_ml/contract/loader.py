"""`load_tables`: from a folder of exports to accepted tables plus a quarantine.

For each table in load order: read the file (fatal problems raise ContractError), judge
its rows (validation.py: erased, accepted, quarantined with reasons, or kept with a
counted note), then pseudonymise customer ids and drop personal columns. The invariant
``read = accepted + quarantined + erased`` is checked for every table before returning.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from crm_ml.contract.errors import ContractError
from crm_ml.contract.notes import Note, notes_frame, warn
from crm_ml.contract.privacy import pseudonym_key, pseudonymise_ids
from crm_ml.contract.reading import find_table_file, near_misses, read_table_file
from crm_ml.contract.tables import LOAD_ORDER, PERSONAL_COLUMNS, TABLES, Kind
from crm_ml.contract.validation import Context, validate_table

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
    notes: list[Note] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return self.read == self.accepted + self.quarantined + self.erased


@dataclass
class ContractResult:
    """Accepted tables (pseudonymised, typed), quarantined rows with reasons, the accounting.

    What `load_tables` returns; every later layer reads `tables` only.

    Attributes
    ----------
    tables : dict of str to pandas.DataFrame
        Accepted rows per table present, customer ids pseudonymised, personal columns gone.
    quarantine : dict of str to pandas.DataFrame
        Rejected rows per table, with a `reason` column ("; "-separated reasons).
    reports : list of TableReport
        Per table: file, read, accepted, quarantined, erased, ignored columns, notes.
    as_of : pandas.Timestamp
        The export date (UTC) no row may pass.
    as_of_source : str
        Where it came from: "argument", the manifest's path, or "now".

    Examples
    --------
    >>> from crm_ml.project import project_root
    >>> sample = project_root() / "data" / "sample"   # the small hand-made export
    >>> result = load_tables(sample, quarantine_dir=None, progress=False)
    >>> accounting = result.report_frame().set_index("table").drop(columns="file")
    >>> accounting.loc["orders"].tolist()   # read, accepted, quarantined, erased
    [19, 11, 7, 1]
    >>> result.reasons().query("table == 'products'")["reason"].tolist()
    ['price: negative value']
    >>> result.notes()[["table", "column", "count"]].to_dict("records")
    [{'table': 'contacts', 'column': 'is_control', 'count': 1}]
    """

    tables: dict[str, pd.DataFrame]
    quarantine: dict[str, pd.DataFrame]
    reports: list[TableReport]
    as_of: pd.Timestamp
    as_of_source: str

    def report_frame(self) -> pd.DataFrame:
        """One row per table: file, read, accepted, quarantined, erased."""
        rows = [
            {k: v for k, v in asdict(r).items() if k not in ("ignored_columns", "notes")}
            for r in self.reports
        ]
        return pd.DataFrame(
            rows, columns=["table", "file", "read", "accepted", "quarantined", "erased"]
        )

    def reasons(self) -> pd.DataFrame:
        """How many quarantined rows each reason accounts for, per table."""
        return count_reasons(self.quarantine)

    def notes(self) -> pd.DataFrame:
        """What was kept with a change (a bad optional value set to null, near-duplicate
        ids): table, column, issue, count, unit. Counts only, never values."""
        return notes_frame(note for report in self.reports for note in report.notes)


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
    """The export date rows may not pass: given, else the folder's manifest, else now.

    Parameters
    ----------
    source_dir : pathlib.Path
        The folder of exports, whose ``manifest.json`` may hold an ISO-8601 ``as_of``.
    as_of : str, pandas.Timestamp or None
        The date given by the caller; a naive one is read as UTC.

    Returns
    -------
    tuple of (pandas.Timestamp, str)
        The date in UTC and where it came from: "argument", the manifest's path or "now".

    Raises
    ------
    ContractError
        When the manifest is not a JSON object with an ISO-8601 text ``as_of``.

    Examples
    --------
    >>> from pathlib import Path
    >>> resolve_as_of(Path("."), "2024-06-30")
    (Timestamp('2024-06-30 00:00:00+0000', tz='UTC'), 'argument')
    >>> from crm_ml.project import project_root
    >>> sample = project_root() / "data" / "sample"   # the small hand-made export
    >>> resolve_as_of(sample, None)[0]
    Timestamp('2024-12-31 23:59:59+0000', tz='UTC')
    """
    if as_of is not None:
        return pd.Timestamp(as_of).tz_localize("UTC") if pd.Timestamp(as_of).tz is None else (
            pd.Timestamp(as_of).tz_convert("UTC")
        ), "argument"
    manifest = source_dir / MANIFEST
    if manifest.exists():
        try:
            value = json.loads(manifest.read_text())["as_of"]
            if not isinstance(value, str):  # a number would be nanoseconds after 1970
                raise TypeError(f"'as_of' is {type(value).__name__}, not text")
            stamp = pd.Timestamp(value)
        except (ValueError, KeyError, TypeError, OSError) as exc:
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
    quarantined with a reason; bad optional values become null, counted in the notes
    (``result.notes()``, logged as warnings, written to report.json). With
    `quarantine_dir` / `accepted_dir` set, the quarantined rows (with a `reason` column)
    and the accepted tables are written there as Parquet. This is what ``crm-ml validate``
    runs.

    Parameters
    ----------
    source_dir : str or pathlib.Path
        The folder of exports, one file per table (optionally a ``manifest.json``).
    as_of : str or pandas.Timestamp, optional
        The export date no row may pass; default the manifest's ``as_of``, else now
        (`resolve_as_of`).
    quarantine_dir : str, pathlib.Path or None, default "data/quarantine"
        Where to write the quarantined rows (one Parquet file per table) and
        ``report.json`` (the accounting and notes); None writes nothing.
    accepted_dir : str, pathlib.Path or None, optional
        Where to write the accepted tables as ``<table>.parquet`` plus a manifest.
    key : bytes, optional
        The pseudonym key; default ``$CRM_ML_PSEUDONYM_KEY`` (else the development key,
        with a warning).
    progress : bool, default True
        A progress bar over the tables.

    Returns
    -------
    ContractResult
        Accepted tables, quarantined rows with reasons, the per-table accounting.

    Raises
    ------
    ContractError
        When the folder is missing, a required table or column is missing, or a file cannot
        be read at all (the message names the file and the column).

    Examples
    --------
    >>> from crm_ml.project import project_root
    >>> sample = project_root() / "data" / "sample"   # the small hand-made export
    >>> result = load_tables(sample, quarantine_dir=None, progress=False)
    >>> sorted(result.tables)[:4], result.as_of_source
    (['contacts', 'customers', 'erasure', 'events'], '.../manifest.json')
    >>> report = result.report_frame().set_index("table")
    >>> bool((report["read"] == report[["accepted", "quarantined", "erased"]].sum(axis=1)).all())
    True
    >>> load_tables(sample / "nothing-here")
    Traceback (most recent call last):
    ...
    crm_ml.contract.errors.ContractError: .../nothing-here: no such folder of exports.
    """
    source_dir = Path(source_dir)
    if not source_dir.is_dir():
        raise ContractError(f"{source_dir}: no such folder of exports.")
    stamp, stamp_source = resolve_as_of(source_dir, as_of)
    files = {name: find_table_file(source_dir, name) for name in LOAD_ORDER}
    _fail_on_missing_tables(source_dir, files)
    key = pseudonym_key() if key is None else key

    tables: dict[str, pd.DataFrame] = {}
    quarantine: dict[str, pd.DataFrame] = {}
    reports: list[TableReport] = []
    context = Context(as_of=stamp)
    present = [n for n in LOAD_ORDER if files[n] is not None]
    bar = tqdm(present, desc="validating", unit="table", disable=not progress)
    for name in bar:
        bar.set_postfix_str(name)
        spec = TABLES[name]
        raw = read_table_file(files[name], spec)
        judged = validate_table(raw, spec, context)
        context.learn(spec, judged)
        reports.append(
            TableReport(
                table=name,
                file=str(files[name]),
                read=len(raw.frame) + len(raw.malformed),
                accepted=len(judged.accepted),
                quarantined=len(judged.rejected),
                erased=judged.erased,
                ignored_columns=raw.ignored_columns,
                notes=judged.notes,
            )
        )
        if raw.ignored_columns:
            log.info("%s: ignored columns outside the contract: %s", raw.path, raw.ignored_columns)
        warn(raw.path, judged.notes)
        tables[name] = _publishable(judged.accepted, key)
        quarantine[name] = _publishable(judged.rejected, key)
    for report in reports:
        if not report.balanced:  # a bug in this module, never a data problem
            raise AssertionError(f"accounting does not balance for {report}")
    result = ContractResult(tables, quarantine, reports, stamp, stamp_source)
    if quarantine_dir is not None:
        write_quarantine(result, Path(quarantine_dir))
    if accepted_dir is not None:
        write_accepted(result, Path(accepted_dir))
    return result


def _fail_on_missing_tables(source_dir: Path, files: dict[str, Path | None]) -> None:
    """A required table without its file stops the run, naming look-alike files found."""
    missing = [n for n in LOAD_ORDER if TABLES[n].required_table and files[n] is None]
    if not missing:
        return
    expected = ", ".join(f"{n}.csv or {n}.parquet" for n in missing)
    found = [name for n in missing for name in near_misses(source_dir, n)]
    hint = (
        f" Found {', '.join(found)}: names are case-sensitive and end in .csv, .csv.gz or .parquet."
        if found
        else ""
    )
    raise ContractError(f"{source_dir}: missing required table file(s): {expected}.{hint}")


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
