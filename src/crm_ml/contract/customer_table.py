"""One customer table (one row per subscriber and a churn flag) judged like a contract export.

Many churn datasets are a single table: tenure, contract type, monthly charge, a "Churn"
column. `load_customer_table` gives it the contract's guarantees before any model sees it:

- a row without an id, with an id already seen, or with a label that is neither the
  positive nor the negative value is quarantined with its reason; every other row is
  accepted, so ``read = accepted + quarantined`` (nothing is erased: a single table has no
  erasure list);
- the label becomes 0/1 under its own name;
- the id is pseudonymised with the contract's keyed hash, and columns that hold personal
  data (named like one: name, surname, email, phone, address...; or holding e-mail
  addresses) are dropped with a note, since a single table has no declared schema that
  would keep them out;
- a consent column, when given, becomes the contract's `marketing_consent` (unknown or
  unreadable consent is no consent).

The result is written as the run's accepted table `customer_table` with the quarantine
and ``report.json`` of `load_tables`, so notebook 01 and the report read it unchanged.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pandas as pd

from crm_ml.contract.errors import ContractError
from crm_ml.contract.loader import ContractResult, TableReport, write_accepted, write_quarantine
from crm_ml.contract.notes import Note, warn
from crm_ml.contract.parsing import parse_column
from crm_ml.contract.privacy import pseudonym_key, pseudonymise_ids
from crm_ml.contract.tables import Kind

TABLE = "customer_table"
CONSENT = "marketing_consent"
RECORD = "record"  # the row's line number in the file (1 = the first data row)

POSITIVE_WORDS = frozenset({"1", "1.0", "true", "yes", "y", "t", "churn", "churned", "left"})
NEGATIVE_WORDS = frozenset({"0", "0.0", "false", "no", "n", "f", "stayed", "retained", "active"})
# column names (lower case, separators removed) that hold personal data
PERSONAL_NAMES = frozenset(
    {
        "name",
        "firstname",
        "lastname",
        "surname",
        "fullname",
        "customername",
        "email",
        "emailaddress",
        "mail",
        "phone",
        "phonenumber",
        "mobile",
        "telephone",
        "address",
        "street",
        "postcode",
        "zipcode",
        "iban",
        "ssn",
    }
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)


def load_customer_table(
    path: str | Path,
    label: str,
    id_column: str,
    *,
    positive: str | None = None,
    consent_column: str | None = None,
    as_of: str | pd.Timestamp | None = None,
    quarantine_dir: Path | None = None,
    accepted_dir: Path | None = None,
    key: bytes | None = None,
) -> ContractResult:
    """Validate one customer table into accepted rows and a quarantine.

    Parameters
    ----------
    path : str or pathlib.Path
        A CSV (read as text, so nothing is guessed) or Parquet file, one row per customer.
    label : str
        The churn flag column.
    id_column : str
        One id per row; pseudonymised in the accepted table and the quarantine.
    positive : str, optional
        The label value that means the customer left (case-insensitive); by default the
        one value of the table that reads as yes (1, true, yes, churned, ...).
    consent_column : str, optional
        Marketing consent per row (true/false, yes/no, 1/0), kept as `marketing_consent`.
    as_of : str or pandas.Timestamp, optional
        The table's date (default: the file's modification time, UTC).
    quarantine_dir, accepted_dir : pathlib.Path, optional
        Where to write the quarantine with ``report.json`` and the accepted table.
    key : bytes, optional
        The pseudonym key (default: from the environment).

    Returns
    -------
    ContractResult
        ``tables["customer_table"]``, its quarantine and one TableReport.

    Raises
    ------
    ContractError
        When the file cannot be read, lacks the label or id column, or its label has no
        value that says which customers left.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "subscribers.csv").write_text(
    ...     "id,email,tenure,Churn\\n"
    ...     "a,a@example.com,3,Yes\\nb,b@example.com,40,No\\nb,c@example.com,2,No\\n"
    ...     ",d@example.com,5,Yes\\ne,e@example.com,9,maybe\\n")
    >>> result = load_customer_table(folder / "subscribers.csv", "Churn", "id",
    ...                              as_of="2025-01-31", key=b"k")
    >>> table = result.tables["customer_table"]
    >>> table.columns.tolist(), table["Churn"].tolist()
    (['id', 'tenure', 'Churn'], [1, 0])
    >>> result.quarantine["customer_table"]["reason"].tolist()
    ['id: duplicate key of an earlier row', 'id: missing required value', "Churn: 'maybe' is neither 'yes' (left) nor 'no' (stayed)"]
    >>> report = result.reports[0]
    >>> report.read == report.accepted + report.quarantined
    True
    """
    path = Path(path)
    frame = _read(path)
    for column, what in ((id_column, "data.table.id_column"), (label, "data.table.label")):
        if column not in frame.columns:
            close = difflib.get_close_matches(column, list(frame.columns), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"columns: {list(frame.columns)}"
            raise ContractError(f"{path}: no column {column!r} ({what}); {hint}")
    if consent_column is not None and consent_column not in frame.columns:
        raise ContractError(f"{path}: no column {consent_column!r} (data.table.consent_column)")

    notes: list[Note] = []
    frame, dropped = _without_personal_columns(frame, keep={id_column, label})
    if dropped:
        notes.append(
            Note(TABLE, ", ".join(dropped), "dropped as personal data", len(dropped), "columns")
        )
    frame.insert(0, RECORD, range(1, len(frame) + 1))
    ids = frame[id_column].astype("string").str.strip().replace("", pd.NA)
    words = frame[label].astype("string").str.strip().str.lower().replace("", pd.NA)
    yes, no = _label_values(words, positive, path, label)

    reasons = pd.Series("", index=frame.index, dtype="string")
    reasons = _add(reasons, ids.isna(), f"{id_column}: missing required value")
    reasons = _add(
        reasons, ids.notna() & ids.duplicated(), f"{id_column}: duplicate key of an earlier row"
    )
    reasons = _add(reasons, words.isna(), f"{label}: missing required value")
    for word in sorted(set(words.dropna()) - {yes, no}):
        reasons = _add(
            reasons,
            words == word,
            f"{label}: {word!r} is neither {yes!r} (left) nor {no!r} (stayed)",
        )

    bad = reasons != ""
    accepted = frame[~bad].copy()
    accepted[id_column] = ids[~bad]
    accepted[label] = (words[~bad] == yes).astype("int64")
    if consent_column is not None:
        consent, unreadable = parse_column(accepted[consent_column].astype("string"), Kind.BOOL)
        if unreadable.any():
            notes.append(
                Note(
                    TABLE,
                    consent_column,
                    "cannot parse as bool; no consent assumed",
                    int(unreadable.sum()),
                )
            )
        accepted = accepted.drop(columns=consent_column).assign(**{CONSENT: consent.fillna(False)})
    rejected = frame[bad].astype("string").assign(reason=reasons[bad])

    key = pseudonym_key() if key is None else key
    tables = {
        TABLE: _pseudonymised(accepted.drop(columns=RECORD), id_column, key).reset_index(drop=True)
    }
    quarantine = {TABLE: _pseudonymised(rejected, id_column, key).reset_index(drop=True)}
    report = TableReport(TABLE, str(path), len(frame), len(accepted), len(rejected), 0, notes=notes)
    warn(path, notes)
    stamp, source = _as_of(path, as_of)
    result = ContractResult(tables, quarantine, [report], stamp, source)
    if quarantine_dir is not None:
        write_quarantine(result, Path(quarantine_dir))
    if accepted_dir is not None:
        write_accepted(result, Path(accepted_dir))
    return result


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise ContractError(f"{path}: no such file (data.table.file)")
    suffixes = "".join(path.suffixes).lower()
    try:
        if suffixes.endswith(".parquet"):
            return pd.read_parquet(path)
        if suffixes.endswith((".csv", ".csv.gz", ".tsv")):
            sep = "\t" if ".tsv" in suffixes else ","
            return pd.read_csv(path, sep=sep, dtype="string", keep_default_na=False)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ContractError(f"{path}: cannot read the table ({exc})") from None
    raise ContractError(f"{path}: unsupported file type; use .csv, .csv.gz, .tsv or .parquet")


def _without_personal_columns(
    frame: pd.DataFrame, keep: set[str]
) -> tuple[pd.DataFrame, list[str]]:
    """The frame without columns named like personal data or holding e-mail addresses."""
    dropped = []
    for column in frame.columns:
        if column in keep:
            continue
        normalised = re.sub(r"[^a-z]", "", str(column).lower())
        sample = frame[column].dropna().astype("string").head(200)
        looks_like_email = (
            len(sample) > 0 and sample.str.match(_EMAIL.pattern, case=False).mean() > 0.5
        )
        if normalised in PERSONAL_NAMES or looks_like_email:
            dropped.append(str(column))
    return frame.drop(columns=dropped), dropped


def _label_values(
    words: pd.Series, positive: str | None, path: Path, label: str
) -> tuple[str, str]:
    """(the value meaning "left", the value meaning "stayed"), lower case."""
    present = sorted(set(words.dropna()))
    if positive is not None:
        yes = positive.strip().lower()
        others = [w for w in present if w != yes]
        known = [w for w in others if w in NEGATIVE_WORDS]
        no = known[0] if known else (others[0] if len(others) == 1 else None)
    else:
        yes = next((w for w in present if w in POSITIVE_WORDS), None)
        no = next((w for w in present if w in NEGATIVE_WORDS), None)
    if yes is None or no is None or yes not in present:
        raise ContractError(
            f"{path}: cannot tell which values of {label!r} mean left and stayed (found "
            f"{present[:6]}); set data.table.positive to the value that means left"
        )
    return yes, no


def _add(reasons: pd.Series, mask: pd.Series, reason: str) -> pd.Series:
    mask = mask.fillna(False).astype(bool)
    joined = reasons.where(reasons == "", reasons + "; ") + reason
    return reasons.mask(mask, joined)


def _pseudonymised(frame: pd.DataFrame, id_column: str, key: bytes) -> pd.DataFrame:
    frame = frame.copy()
    frame[id_column] = pseudonymise_ids(frame[id_column], key)
    return frame


def _as_of(path: Path, as_of: str | pd.Timestamp | None) -> tuple[pd.Timestamp, str]:
    if as_of is not None:
        stamp = pd.Timestamp(as_of)
        return (
            stamp.tz_localize("UTC") if stamp.tz is None else stamp.tz_convert("UTC")
        ), "argument"
    return pd.Timestamp(path.stat().st_mtime, unit="s", tz="UTC").floor(
        "s"
    ), "file modification time"
