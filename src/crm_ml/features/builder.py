"""Build the point-in-time customer 360 table as of a cutoff with DuckDB.

One `FeatureEngine` holds one DuckDB connection with the input tables registered once;
`features(cutoff)` materialises every available feature group for that cutoff, after the
steps it reads (in the order derived from their refs, see groups.py), and joins the groups
to the spine on customer_id, in the column order of `sql/feature_table.yaml`. Every group
sees only rows with timestamps strictly before the cutoff (the SQL filters on `$cutoff`);
the population is the customers who signed up before the cutoff.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd

from crm_ml.features.catalog import CATALOG
from crm_ml.features.config import FeatureConfig
from crm_ml.features.groups import CONTRACTS, GROUPS, SPINE, build_order, missing_inputs
from crm_ml.features.sources import (
    RegisteredSources,
    TablesInput,
    open_connection,
    register_sources,
)
from crm_ml.features.steps import SqlStep, parameters_used

log = logging.getLogger(__name__)

ID_COLUMNS = ("customer_id", "cutoff")
CONTRACT_IDS = ("subscription_id", "customer_id", "holder_id", "product_id")
CATEGORIES = {name: list(spec.categories) for name, spec in CATALOG.items() if spec.categories}


def as_utc_timestamp(value: str | datetime | pd.Timestamp) -> pd.Timestamp:
    """A cutoff as a UTC timestamp; naive values are taken to be UTC already."""
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


class FeatureEngine:
    """A DuckDB session over one set of input tables, reused for many cutoffs.

    `skipped_groups` maps each group that cannot run on this input to the reason.
    Use as a context manager (or call `close`) to free the connection.
    """

    def __init__(self, tables_or_dir: TablesInput, config: FeatureConfig | None = None) -> None:
        self.config = config or FeatureConfig()
        self.con = open_connection(
            self.config.duckdb_threads,
            self.config.duckdb_memory_limit,
            self.config.duckdb_temp_directory,
        )
        self.sources: RegisteredSources = register_sources(self.con, tables_or_dir)
        self.con.register("sla_targets", self.config.sla_frame())
        self.export_as_of = self.config.export_as_of or self.sources.export_as_of
        self.groups: tuple[SqlStep, ...] = ()
        self.skipped_groups: dict[str, str] = {}
        for group in GROUPS:
            missing = missing_inputs(group, self.sources)
            if missing:
                self.skipped_groups[group.name] = f"input lacks {', '.join(missing)}"
            else:
                self.groups += (group,)
        self.contract_groups: tuple[SqlStep, ...] = ()
        if self.sources.has("subscriptions"):
            for group in CONTRACTS.groups:
                missing = missing_inputs(group, self.sources)
                if missing:
                    self.skipped_groups[group.name] = f"input lacks {', '.join(missing)}"
                else:
                    self.contract_groups += (group,)
        for name, reason in self.skipped_groups.items():
            log.info("feature group %s skipped: %s", name, reason)
        if not self.sources.has("customers", "consent_updated_ts") and self.export_as_of is None:
            log.warning(
                "customers.consent_updated_ts is absent and the export date is unknown: "
                "marketing_consent is NULL at every cutoff (the export's flag would leak)"
            )

    def __enter__(self) -> FeatureEngine:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    def parameters(self, cutoff: pd.Timestamp, **extra: Any) -> dict[str, Any]:
        """Every named parameter the SQL files may use, for one cutoff."""
        return {
            "cutoff": cutoff.to_pydatetime(),
            "core_tier_share": self.config.core_tier_share,
            "fade_days": self.config.engagement_fade_days,
            "export_as_of": None
            if self.export_as_of is None
            else self.export_as_of.to_pydatetime(),
            "consent_ts_recorded": self.sources.has("customers", "consent_updated_ts"),
            **extra,
        }

    def run(self, sql: str, params: dict[str, Any]) -> Any:
        """Execute `sql` with the subset of `params` it uses."""
        used = parameters_used(sql)
        return self.con.execute(sql, {k: v for k, v in params.items() if k in used})

    def materialise(self, step: SqlStep, params: dict[str, Any]) -> None:
        self.run(f"CREATE OR REPLACE TEMP TABLE {step.table} AS\n{step.sql}", params)

    def stage(self, cutoff: pd.Timestamp, steps: Iterable[str], **extra: Any) -> dict[str, Any]:
        """Materialise the steps named and every step they read for `cutoff`, each after its
        inputs; returns the parameters (plus `extra`)."""
        params = self.parameters(cutoff, **extra)
        for step in build_order(steps):
            self.materialise(step, params)
        return params

    def features(self, cutoff: str | datetime | pd.Timestamp) -> pd.DataFrame:
        """One row per customer signed up before `cutoff`: customer_id, cutoff, features.

        `df.attrs["skipped_groups"]` says which groups were skipped and why.
        """
        cutoff = as_utc_timestamp(cutoff)
        self.stage(cutoff, [SPINE.name, *(g.name for g in self.groups)])
        joins = "\n".join(f"LEFT JOIN {g.table} USING (customer_id)" for g in self.groups)
        columns = ", ".join(f"{g.table}.* EXCLUDE (customer_id)" for g in self.groups)
        # Through Arrow: at 1M customers x 83 columns this is 2-5 s faster than `.df()`
        # and gives the same frame once `_finish` has set the dtypes.
        frame = (
            self.con.sql(
                f"SELECT {SPINE.table}.customer_id, {columns} FROM {SPINE.table} {joins} "
                f"ORDER BY {SPINE.table}.customer_id"
            )
            .to_arrow_table()
            .to_pandas()
        )
        return _finish(frame, cutoff, self.skipped_groups)

    def contract_features(self, cutoff: str | datetime | pd.Timestamp) -> pd.DataFrame:
        """One row per subscription active at `cutoff`: subscription_id, customer_id,
        holder_id, product_id, cutoff, the contract groups' columns
        (`sql/contract_table.yaml`).

        Raises ValueError when the input has no subscriptions table.
        """
        if not self.sources.has("subscriptions"):
            raise ValueError("contract features need the subscriptions table, absent here")
        cutoff = as_utc_timestamp(cutoff)
        spine = CONTRACTS.spine
        self.stage(cutoff, [spine.name, *(g.name for g in self.contract_groups)])
        joins = "\n".join(
            f"LEFT JOIN {g.table} USING (subscription_id)" for g in self.contract_groups
        )
        columns = "".join(f", {g.table}.* EXCLUDE (subscription_id)" for g in self.contract_groups)
        frame = (
            self.con.sql(
                f"SELECT {', '.join(f'{spine.table}.{c}' for c in CONTRACT_IDS)}{columns} "
                f"FROM {spine.table} {joins} "
                f"ORDER BY {spine.table}.subscription_id"
            )
            .to_arrow_table()
            .to_pandas()
        )
        ids = {c: frame.pop(c).astype("string[pyarrow]") for c in CONTRACT_IDS}
        out = _finish(frame.assign(customer_id=ids["customer_id"]), cutoff, self.skipped_groups)
        out.insert(0, "subscription_id", ids["subscription_id"])
        out.insert(2, "holder_id", ids["holder_id"])
        out.insert(3, "product_id", ids["product_id"])
        return out

    def contract_labels(self, cutoff: pd.Timestamp, horizon_end: pd.Timestamp) -> pd.DataFrame:
        """subscription_id, ended_in_horizon, balance_drop_in_horizon, contract_churned of
        the subscriptions active at `cutoff`, over [cutoff, horizon_end)."""
        labels = CONTRACTS.labels
        params = self.stage(cutoff, labels.inputs, horizon_end=horizon_end.to_pydatetime())
        frame = self.run(labels.sql + "\nORDER BY subscription_id", params).df()
        return frame.astype(
            {
                "subscription_id": "string[pyarrow]",
                "ended_in_horizon": bool,
                "balance_drop_in_horizon": bool,
                "contract_churned": bool,
            }
        )


def _finish(frame: pd.DataFrame, cutoff: pd.Timestamp, skipped: dict[str, str]) -> pd.DataFrame:
    """Model-ready dtypes: ids as strings, features with catalogued categories categorical
    (any other value is an error, not a silent NaN), the others float64."""
    features = [c for c in frame.columns if c != "customer_id"]
    out = pd.DataFrame(
        {
            "customer_id": frame["customer_id"].astype("string[pyarrow]"),
            "cutoff": pd.Series(cutoff, index=frame.index, dtype="datetime64[ns, UTC]"),
        }
    )
    for column in features:
        if column in CATEGORIES:
            _check_categories(frame[column], column)
            out[column] = pd.Categorical(frame[column], categories=CATEGORIES[column])
        else:
            out[column] = pd.to_numeric(frame[column]).astype("float64")
    out.attrs["skipped_groups"] = dict(skipped)
    return out


def _check_categories(values: pd.Series, column: str) -> None:
    unknown = set(values.dropna().unique()) - set(CATEGORIES[column])
    if unknown:
        raise ValueError(
            f"feature {column!r} has values {sorted(unknown)} outside its categories "
            f"{CATEGORIES[column]} (sql/groups/{CATALOG[column].group}.yaml)"
        )


def build_features(
    tables_or_dir: TablesInput,
    cutoff: str | datetime | pd.Timestamp,
    config: FeatureConfig | None = None,
) -> pd.DataFrame:
    """The customer 360 feature table as of `cutoff` (see FeatureEngine.features).

    Point in time: features see only rows dated before the cutoff, so a table built for a
    past cutoff is what a model would have seen then. For several cutoffs over the same
    tables, one `FeatureEngine` saves loading them again.

    Parameters
    ----------
    tables_or_dir : mapping, ContractResult, str or pathlib.Path
        Accepted contract tables: a dict of table name -> DataFrame, a `ContractResult`
        (its `tables` and `as_of`), or a folder of ``<table>.parquet`` files (what
        ``load_tables(..., accepted_dir=...)`` writes). customers, products and orders are
        required; a group whose optional table or column is absent is skipped.
    cutoff : str, datetime or pandas.Timestamp
        The point in time; a naive one is read as UTC.
    config : FeatureConfig, optional
        Windows, groups and thresholds; ``FeatureConfig()`` by default.

    Returns
    -------
    pandas.DataFrame
        One row per customer signed up before `cutoff`, ordered by id: customer_id (text),
        cutoff, then every catalogued feature (float64, or categorical where the catalogue
        lists categories). ``attrs["skipped_groups"]`` says which groups were skipped and
        why.

    Raises
    ------
    ValueError
        When customers, orders or products is missing, or a feature has a value outside
        its catalogued categories.
    TypeError
        When `tables_or_dir` is none of the accepted kinds.

    Examples
    --------
    >>> from crm_ml.contract import load_tables
    >>> from crm_ml.project import project_root
    >>> tables = load_tables(project_root() / "data" / "sample", quarantine_dir=None,
    ...                      progress=False).tables
    >>> features = build_features(tables, "2024-12-01")
    >>> features.shape[0], features.columns[:4].tolist()
    (7, ['customer_id', 'cutoff', 'tenure_days', 'age_years'])
    >>> bool(features["customer_id"].is_unique), str(features["cutoff"].iloc[0])
    (True, '2024-12-01 00:00:00+00:00')
    """
    with FeatureEngine(tables_or_dir, config) as engine:
        return engine.features(cutoff)


def write_features(df: pd.DataFrame, out_dir: str | Path = "data/processed") -> Path:
    """Write a feature table to `<out_dir>/features_<cutoff>.parquet` and return the path.

    Several cutoffs in one frame are written as `features_<first>_<last>.parquet`.
    """
    if df.empty:
        raise ValueError("refusing to write an empty feature table")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    first, last = (
        pd.Timestamp(c).strftime("%Y%m%d") for c in (df["cutoff"].min(), df["cutoff"].max())
    )
    stamp = first if first == last else f"{first}_{last}"
    path = out / f"features_{stamp}.parquet"
    tmp = path.with_suffix(".parquet.tmp")
    df.to_parquet(tmp, index=False)
    tmp.replace(path)
    log.info("wrote %d feature rows to %s", len(df), path)
    return path
