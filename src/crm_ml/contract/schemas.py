"""One pandera schema per contract table, built from its spec and the run's context.

The context (the export's as-of date and the keys of the tables a table references) is
part of the schema because "unknown customer" and "timestamp in the future" are row rules
like any other: they quarantine the row with a reason.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import pandas as pd
import pandera.pandas as pa

from crm_ml.contract.tables import TABLES, Kind, TableSpec

DTYPES = {
    Kind.ID: pd.StringDtype("pyarrow"),
    Kind.STR: pd.StringDtype("pyarrow"),
    Kind.TS: pd.DatetimeTZDtype("ns", "UTC"),
    Kind.FLOAT: "float64",
    Kind.INT: "Int64",
    Kind.BOOL: "boolean",
}

# counts: a quantity, a contract term in months, a number of seats
_AT_LEAST_ONE = ("quantity", "term_months", "seats")
_ENDED_STATUSES = ("cancelled", "ended")

# value ranges that are not just "not negative"
_RANGES: dict[tuple[str, str], tuple[float, float]] = {
    ("surveys", "nps"): (0, 10),
    ("tickets", "csat"): (1, 5),
}


def _row_rules(spec: TableSpec) -> list[pa.Check]:
    """Rules over several columns of one row."""
    rules: list[pa.Check] = []
    cols = spec.columns
    if spec.name == "orders":
        # a missing (or unparseable) amount is not negative: that row has its own reason
        rules.append(
            pa.Check(
                lambda df: (
                    ~(df["amount"] < 0)
                    | (df["is_return"].fillna(False) if "is_return" in df else False)
                ),
                error="negative amount on a line that is not a return",
            )
        )
    if spec.name == "subscriptions":
        rules += _status_rules()
    for earlier, later in [
        ("opened_ts", "first_response_ts"),
        ("opened_ts", "resolved_ts"),
        ("sent_ts", "responded_ts"),
        ("start_ts", "end_ts"),
        ("start_ts", "renewal_ts"),
    ]:
        if earlier in cols and later in cols:
            rules.append(
                pa.Check(
                    lambda df, a=earlier, b=later: (
                        ~(df[b] < df[a]).fillna(False) if b in df else pd.Series(True, df.index)
                    ),
                    error=f"{later} before {earlier}",
                )
            )
    return rules


def _status_rules() -> list[pa.Check]:
    """A subscription's end date agrees with its status. Without an end_ts column there is
    nothing to compare; a bad end_ts was set to null before these rules run."""

    def ends_as_its_status_says(df: pd.DataFrame, ended: bool) -> pd.Series:
        if "end_ts" not in df:
            return pd.Series(True, df.index)
        statuses = _ENDED_STATUSES if ended else ("active",)
        has_status = df["status"].isin(statuses).fillna(False)
        return ~(has_status & (df["end_ts"].isna() if ended else df["end_ts"].notna()))

    return [
        pa.Check(
            lambda df: ends_as_its_status_says(df, ended=True),
            error="status cancelled or ended without an end_ts (or with one that is "
            "unparseable or after the export's as-of date)",
        ),
        pa.Check(
            lambda df: ends_as_its_status_says(df, ended=False),
            error="status active with an end_ts",
        ),
    ]


def _column_checks(
    spec: TableSpec,
    column: str,
    as_of: pd.Timestamp,
    known: Collection[str] | None,
    quarantined: Collection[str] | None,
) -> list[pa.Check]:
    kind = spec.columns[column]
    checks: list[pa.Check] = []
    if kind is Kind.TS and column not in spec.future_allowed:
        checks.append(pa.Check.le(as_of, error="timestamp after the export's as-of date"))
    if column == "month":
        checks.append(
            pa.Check(
                lambda s: s.dt.is_month_start & s.eq(s.dt.normalize()),
                error="not the first day of a month at 00:00 UTC",
            )
        )
    if column in spec.non_negative:
        checks.append(pa.Check.ge(0, error="negative value"))
    if column in _AT_LEAST_ONE:
        checks.append(pa.Check.ge(1, error=f"{column} below 1"))
    if column == "birth_year":
        checks.append(pa.Check.in_range(1900, as_of.year, error="implausible birth year"))
    if (spec.name, column) in _RANGES:
        low, high = _RANGES[(spec.name, column)]
        checks.append(pa.Check.in_range(low, high, error=f"outside {low:g}..{high:g}"))
    if column in spec.enums:
        allowed = spec.enums[column]
        checks.append(pa.Check.isin(allowed, error=f"not one of {', '.join(allowed)}"))
    if known is not None:
        target = spec.references[column]
        quarantined = quarantined if quarantined is not None else ()
        checks.append(
            pa.Check.isin(
                pd.Index(known).union(pd.Index(quarantined)),
                error=f"unknown {column} (not in {target})",
            )
        )
        if len(quarantined):
            checks.append(pa.Check.notin(quarantined, error=f"its row in {target} was quarantined"))
    return checks


def schema_for(
    table: str,
    *,
    as_of: pd.Timestamp,
    present_columns: Collection[str] | None = None,
    known_keys: Mapping[str, Collection[str]] | None = None,
    quarantined_keys: Mapping[str, Collection[str]] | None = None,
) -> pa.DataFrameSchema:
    """The pandera schema of `table` for one load.

    `present_columns` limits the schema to the columns the file has (optional columns may
    be absent); `known_keys` maps a referencing column to the accepted keys of the table it
    points at, `quarantined_keys` to the keys whose rows there were quarantined (so that
    the reason says so rather than "unknown").
    """
    spec = TABLES[table]
    known_keys = known_keys or {}
    quarantined_keys = quarantined_keys or {}
    present = spec.columns if present_columns is None else present_columns
    columns = {
        name: pa.Column(
            DTYPES[kind],
            checks=_column_checks(
                spec, name, as_of, known_keys.get(name), quarantined_keys.get(name)
            ),
            nullable=name not in spec.required,
        )
        for name, kind in spec.columns.items()
        if name in present
    }
    return pa.DataFrameSchema(
        columns,
        checks=_row_rules(spec),
        unique=list(spec.key) or None,
        report_duplicates="exclude_first",
        name=table,
        strict=False,
        coerce=False,
    )
