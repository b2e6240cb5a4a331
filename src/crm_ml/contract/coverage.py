"""Which tables an export holds, and what each absent optional table switches off.

A company's own export often has only the three required tables (customers, products,
orders). Every later layer then leaves out what needs the others; this module says so in
one place, in words a stakeholder reads, so the notebooks, the report and the run's notes
all tell the same story instead of an empty table or a "not available" without a reason.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from crm_ml.contract.tables import TABLES

# what is left out while an optional table is absent
WITHOUT: dict[str, str] = {
    "events": "no engagement features (visits, views, cart adds); the recommender weighs "
    "purchases only",
    "tickets": "no service-level compliance, no service-history features (complaints, open "
    "tickets) and no service follow-up list",
    "contacts": "no campaign response or uplift model and no contact-history features",
    "surveys": "no net promoter score",
    "exclusions": "no dismissed categories are known, so none are kept out of recommendations",
    "erasure": "no erasure requests were applied",
}
# Tables only some industries export (subscription businesses, B2B, banks and lenders).
# Their absence is no gap: a retail export has none of them, so they are listed only when
# present.
INDUSTRY_TABLES = frozenset({"subscriptions", "accounts", "balances"})


def table_coverage(present: Iterable[str]) -> pd.DataFrame:
    """One row per contract table: table, required, present, and `without_it` (what is left
    out while it is absent; empty when present or required). An industry-specific table
    (`INDUSTRY_TABLES`) has a row only when present.

    Parameters
    ----------
    present : iterable of str
        The names of the tables the export holds (e.g. ``ContractResult.tables``).

    Returns
    -------
    pandas.DataFrame
        Columns table, required (bool), present (bool), without_it (str), in contract order.

    Examples
    --------
    >>> coverage = table_coverage(["customers", "products", "orders"])
    >>> coverage.loc[coverage["table"] == "surveys", ["present", "without_it"]].values.tolist()
    [[False, 'no net promoter score']]
    >>> "subscriptions" in set(coverage["table"])
    False
    """
    have = set(present)
    rows = []
    for name, spec in TABLES.items():
        absent = name not in have
        if absent and name in INDUSTRY_TABLES:
            continue
        rows.append(
            {
                "table": name,
                "required": spec.required_table,
                "present": not absent,
                "without_it": WITHOUT.get(name, "") if absent else "",
            }
        )
    return pd.DataFrame(rows)


def missing_table_notes(present: Iterable[str]) -> list[str]:
    """One sentence per absent optional table, for the run's notes and the report.

    Parameters
    ----------
    present : iterable of str
        The names of the tables the export holds.

    Returns
    -------
    list of str
        One sentence per optional table not in `present`, in contract order, except the
        industry-specific ones; empty when every other table is there.

    Examples
    --------
    >>> from crm_ml.contract import TABLES
    >>> missing_table_notes(set(TABLES) - {"surveys"})
    ['No surveys table in the export: no net promoter score.']
    >>> missing_table_notes(TABLES)
    []
    """
    table = table_coverage(present)
    missing = table[~table["present"] & ~table["required"]]
    return [
        f"No {row.table} table in the export: {row.without_it}." for row in missing.itertuples()
    ]
