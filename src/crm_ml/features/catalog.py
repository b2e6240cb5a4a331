"""The feature catalogue: what every feature column means, and how to say it to a person.

Each feature group's entries live beside its SQL, under `columns` in
`sql/groups/<group>.yaml` (the contract table's in `sql/contracts/`), so a column and its
description are changed together.

`reason` is a `str.format` template for a per-customer reason code (used with SHAP
contributions): `{value}` is the feature's own value and any other feature column of the
same row can be referenced by name, e.g.
`CATALOG["days_since_last_order"].reason.format(value=74, **row)` gives
"no order for 74 days, usually every 21". Windows such as `_90d` end just before the
cutoff: [cutoff - 90 days, cutoff). `categories` makes a text column categorical with
exactly those values (the builder refuses any other). The catalogue lists the columns of
the customer feature table in its order (`CUSTOMER_COLUMNS`), then those of the contract
table (`CONTRACT_COLUMNS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from crm_ml.features.groups import CONTRACTS, GROUPS
from crm_ml.features.steps import SqlStep

_ENTRY_KEYS = {"description", "reason", "categories"}


@dataclass(frozen=True)
class FeatureSpec:
    """One feature column: its group (= SQL file), a one-line description, a reason
    template, and for a categorical column its categories."""

    name: str
    group: str
    description: str
    reason: str
    categories: tuple[str, ...] = ()


def load_catalog(groups: Sequence[SqlStep]) -> dict[str, FeatureSpec]:
    """The entries of every group's YAML, in the groups' order; a column catalogued by two
    groups is an error naming both files."""
    catalog: dict[str, FeatureSpec] = {}
    files: dict[str, str] = {}
    for group in groups:
        file = f"sql/{group.layer}/{group.name}.yaml"
        for name, entry in group.columns.items():
            if name in catalog:
                raise ValueError(f"{file}: column {name!r} is already catalogued in {files[name]}")
            catalog[name] = _spec(group.name, name, entry)
            files[name] = file
    return catalog


def _spec(group: str, name: str, entry: Any) -> FeatureSpec:
    where = f"sql/groups/{group}.yaml, column {name!r}"
    if not isinstance(entry, dict) or not {"description", "reason"} <= set(entry):
        raise ValueError(f"{where}: an entry needs a `description` and a `reason`")
    unknown = set(entry) - _ENTRY_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; use {sorted(_ENTRY_KEYS)}")
    for key in ("description", "reason"):
        if not isinstance(entry[key], str) or not entry[key].strip():
            raise ValueError(f"{where}: `{key}` must be a non-empty text")
    categories = entry.get("categories", [])
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise ValueError(f"{where}: `categories` must be a list of texts")
    return FeatureSpec(name, group, entry["description"], entry["reason"], tuple(categories))


CATALOG: dict[str, FeatureSpec] = load_catalog((*GROUPS, *CONTRACTS.groups))
# the columns of each table, in its column order
CUSTOMER_COLUMNS = tuple(c for g in GROUPS for c in g.columns)
CONTRACT_COLUMNS = tuple(c for g in CONTRACTS.groups for c in g.columns)


def describe(name: str) -> str:
    """The one-line description of a feature column."""
    try:
        return CATALOG[name].description
    except KeyError:
        raise KeyError(f"feature {name!r} is not in crm_ml.features.catalog.CATALOG") from None


def catalog_frame() -> pd.DataFrame:
    """The catalogue as a table (name, group, description, reason) for reports and notebooks.

    Returns
    -------
    pandas.DataFrame
        One row per feature column of `build_features`, in catalogue order: name, group
        (the SQL feature group), description (what it is), reason (why it helps).

    Examples
    --------
    >>> catalog = catalog_frame()
    >>> catalog.columns.tolist()
    ['name', 'group', 'description', 'reason']
    >>> bool(catalog["name"].is_unique), "days_since_last_order" in set(catalog["name"])
    (True, True)
    """
    columns = ["name", "group", "description", "reason"]
    return pd.DataFrame(
        [[getattr(spec, c) for c in columns] for spec in CATALOG.values()], columns=columns
    )
