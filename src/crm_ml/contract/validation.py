"""One table's rows judged: erased, accepted, quarantined with reasons, or kept with a note.

Order of work: drop the rows of erased customers, parse every column, validate with the
table's pandera schema (lazily, so every problem of every row is collected), then split
accepted from quarantined rows. A problem in a required column, a reference or a rule
over several columns quarantines the row; a bad value in an optional column only costs
that value, which becomes null and is counted in a note (quarantining a customer for an
"N/A" birth year would also quarantine every order of theirs). A soft reference (a
customer's account) is such a value too: an unknown one is a lost link, not a lost row.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa

from crm_ml.contract.ids import count_near_duplicates, match_keys, normalise_ids
from crm_ml.contract.notes import Note
from crm_ml.contract.parsing import STRING, parse_column
from crm_ml.contract.reading import RECORD, RawTable
from crm_ml.contract.schemas import schema_for
from crm_ml.contract.tables import TableSpec

NEAR_DUPLICATES = (
    "differ from another id only in case or surrounding whitespace "
    "(whitespace is stripped, case is kept: check the source)"
)
ERASED_IGNORING_CASE = "erased by an erasure entry that matches their id only ignoring case"


@dataclass(frozen=True)
class Erasure:
    """Customers to forget: their normalised ids, and the same ignoring case."""

    ids: frozenset[str] = frozenset()
    keys: frozenset[str] = frozenset()

    @classmethod
    def of(cls, ids: pd.Series) -> Erasure:
        listed = ids.dropna()
        return cls(frozenset(normalise_ids(listed)), frozenset(match_keys(listed).dropna()))


@dataclass
class Validated:
    """What became of one table's rows."""

    accepted: pd.DataFrame  # typed
    rejected: pd.DataFrame  # raw text, with `reason` and `record`
    erased: int
    notes: list[Note] = field(default_factory=list)


@dataclass
class Context:
    """What a table is judged against: the export date and the tables loaded before it."""

    as_of: pd.Timestamp
    known: dict[str, pd.Index] = field(default_factory=dict)  # accepted keys per table
    rejected_keys: dict[str, pd.Index] = field(default_factory=dict)  # quarantined ones
    erasure: Erasure = field(default_factory=Erasure)

    def learn(self, spec: TableSpec, judged: Validated) -> None:
        """Remember a loaded table's keys (and, for erasure, whom to forget)."""
        if spec.name == "erasure":
            self.erasure = Erasure.of(judged.accepted["customer_id"])
        if len(spec.key) == 1:
            column = spec.key[0]
            known = pd.Index(judged.accepted[column].dropna().unique())
            rejected = normalise_ids(judged.rejected[column]).dropna().unique()
            self.known[spec.name] = known
            self.rejected_keys[spec.name] = pd.Index(rejected).difference(known)


def validate_table(raw: RawTable, spec: TableSpec, context: Context) -> Validated:
    """Accepted rows, quarantined rows (raw values + reason), the number erased, notes."""
    frame, n_erased, notes = _drop_erased(raw.frame, spec, context.erasure)
    notes += _near_duplicates(frame, spec)
    reasons: dict[int, list[str]] = defaultdict(list)
    typed, unparseable, nulled = _parse(frame, spec, reasons)
    failures = _schema_failures(typed, spec, context)
    optional = _optional_value_failures(failures, spec)
    if len(optional):
        for (column, check), rows in optional.groupby(["column", "check"])["index"]:
            mask = typed.index.isin(rows.astype(int))
            typed.loc[mask, column] = pd.NA
            nulled[(column, f"{check}; set to null")] = mask
        failures = _schema_failures(typed, spec, context)  # row rules see the nulls
    _collect_schema_reasons(failures, spec, reasons, unparseable)

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
    notes += [
        Note(spec.name, column, issue, int((mask & ~is_bad).sum()))
        for (column, issue), mask in nulled.items()
        if (mask & ~is_bad).any()
    ]
    return Validated(
        _with_consent(accepted, spec),
        rejected.rename(columns={RECORD: "record"}),
        n_erased,
        notes,
    )


def _drop_erased(
    frame: pd.DataFrame, spec: TableSpec, erasure: Erasure
) -> tuple[pd.DataFrame, int, list[Note]]:
    if not erasure.keys or "customer_id" not in frame or spec.name == "erasure":
        return frame.reset_index(drop=True), 0, []
    ids = frame["customer_id"].astype(STRING)
    is_erased = match_keys(ids).isin(erasure.keys).fillna(False).to_numpy(dtype=bool)
    by_case = int((~normalise_ids(ids[is_erased]).isin(erasure.ids).fillna(False)).sum())
    notes = (
        [Note(spec.name, "customer_id", ERASED_IGNORING_CASE, by_case, "rows")] if by_case else []
    )
    return frame[~is_erased].reset_index(drop=True), int(is_erased.sum()), notes


def _near_duplicates(frame: pd.DataFrame, spec: TableSpec) -> list[Note]:
    if len(spec.key) != 1 or spec.key[0] not in frame:
        return []
    count = count_near_duplicates(frame[spec.key[0]])
    return [Note(spec.name, spec.key[0], NEAR_DUPLICATES, count, "ids")] if count else []


def _parse(
    frame: pd.DataFrame, spec: TableSpec, reasons: dict[int, list[str]]
) -> tuple[pd.DataFrame, set[tuple[int, str]], dict[tuple[str, str], np.ndarray]]:
    """Typed columns; an unparseable value is a reason in a required column, a null with
    a note in an optional one."""
    typed = pd.DataFrame({RECORD: frame[RECORD]})
    unparseable: set[tuple[int, str]] = set()
    nulled: dict[tuple[str, str], np.ndarray] = {}
    for column in (c for c in frame.columns if c != RECORD):
        kind = spec.columns[column]
        typed[column], bad = parse_column(frame[column], kind)
        if column in spec.enums:
            typed[column] = typed[column].str.lower()
        if column in spec.optional:
            if bad.any():
                nulled[(column, f"cannot parse as {kind.value}; set to null")] = bad.to_numpy()
            continue
        for row in bad[bad].index:
            shown = _shown(frame.at[row, column])
            reasons[row].append(f"{column}: cannot parse {shown} as {kind.value}")
            unparseable.add((row, column))
    return typed, unparseable, nulled


def _shown(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _schema_failures(typed: pd.DataFrame, spec: TableSpec, context: Context) -> pd.DataFrame:
    refs = {col: target for col, target in spec.references.items() if target in context.known}
    schema = schema_for(
        spec.name,
        as_of=context.as_of,
        present_columns=typed.columns,
        known_keys={col: context.known[target] for col, target in refs.items()},
        quarantined_keys={col: context.rejected_keys[target] for col, target in refs.items()},
    )
    try:
        schema.validate(typed, lazy=True)
    except pa.errors.SchemaErrors as exc:
        return exc.failure_cases.dropna(subset=["index"])
    return pd.DataFrame(columns=["index", "column", "check", "schema_context"])


def _optional_value_failures(failures: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """Failed checks of a single optional value (range, as-of date), not references unless
    they are soft (a link that may be lost)."""
    hard_references = [c for c in spec.references if c not in spec.soft_references]
    is_value_check = (
        (failures["schema_context"] == "Column")
        & failures["column"].isin(list(spec.optional))
        & ~failures["column"].isin(hard_references)
    )
    return failures[is_value_check]


def _collect_schema_reasons(
    failures: pd.DataFrame,
    spec: TableSpec,
    reasons: dict[int, list[str]],
    unparseable: set[tuple[int, str]],
) -> None:
    for row, column, check, context in failures[
        ["index", "column", "check", "schema_context"]
    ].itertuples(index=False):
        row = int(row)
        if check == "not_nullable":
            if (row, column) not in unparseable:
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
