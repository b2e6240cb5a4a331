"""The numbered notebooks, named once.

The runner executes them in this order, each notebook opens its context by its member, and
the reports, the change table, the scorecard and the refresh read back what a notebook
recorded by the same member. A renamed notebook file fails a test (every member must have
its file in notebooks/, every file a member) instead of silently turning report sections
into "not available". Members are strings, so records keyed by name keep working.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Notebook(StrEnum):
    """One member per numbered notebook of notebooks/, in run order; the value is the stem.

    Attributes
    ----------
    label : str
        How the report names the notebook's part of a run.
    file_name : str
        The notebook's file in notebooks/.

    Examples
    --------
    >>> Notebook.CHURN == "03_churn", Notebook.CHURN.file_name, Notebook.CHURN.label
    (True, '03_churn.ipynb', 'Churn model')
    >>> [member.value for member in Notebook][:2]
    ['01_data_quality', '02_features_segments']
    >>> Notebook.named("03_churn") is Notebook.CHURN
    True
    >>> Notebook.named("03_curn")
    Traceback (most recent call last):
    ...
    ValueError: unknown notebook '03_curn'; the notebooks are: 01_data_quality, ...
    """

    DATA_QUALITY = "01_data_quality"
    FEATURES_SEGMENTS = "02_features_segments"
    CHURN = "03_churn"
    CHURN_CONTRACTS = "03_churn_contracts"
    CHURN_TABLE = "03_churn_table"
    PROPENSITY_UPLIFT = "04_propensity_uplift"
    CLV = "05_clv"
    RECOMMENDATIONS = "06_recommendations"
    SCORING = "07_scoring"
    REPORT = "08_report"

    @property
    def label(self) -> str:
        """How the report names the notebook's part of a run."""
        return _LABELS[self]

    @property
    def file_name(self) -> str:
        return f"{self.value}.ipynb"

    @property
    def sources(self) -> frozenset[str]:
        """The kinds of data source the notebook runs for (`source_kind`): a single customer
        table has no orders, events or time axis, so only three notebooks apply to it."""
        return _SOURCES.get(self, frozenset({EXPORTS}))

    @property
    def needs(self) -> tuple[str, ...]:
        """Optional contract tables without which the notebook has nothing to do."""
        return _NEEDS.get(self, ())

    @classmethod
    def named(cls, name: str) -> Notebook:
        """The member called `name` (the file stem); an unknown name says which exist."""
        try:
            return cls(name)
        except ValueError:
            known = ", ".join(member.value for member in cls)
            raise ValueError(f"unknown notebook {name!r}; the notebooks are: {known}") from None


EXPORTS = "exports"  # contract tables: a generated world, a registered dataset, a folder
TABLE = "table"  # one customer table with a churn flag (data.source: table)


def source_kind(source: str) -> str:
    """The kind of a `data.source` value: `table`, or `exports` for every other source.

    >>> source_kind("table"), source_kind("synthetic"), source_kind("folder")
    ('table', 'exports', 'exports')
    """
    return TABLE if source == TABLE else EXPORTS


def missing_for(stem: str, tables: Iterable[str]) -> str | None:
    """Why the notebook `stem` has nothing to do on an export of these tables, or None.

    >>> missing_for("03_churn_contracts", ["customers", "products", "orders"])
    'not available: the export has no subscriptions table'
    >>> missing_for("03_churn", ["customers", "products", "orders"]) is None
    True
    """
    try:
        needs = Notebook.named(stem).needs
    except ValueError:
        return None
    absent = [t for t in needs if t not in set(tables)]
    return f"not available: the export has no {', '.join(absent)} table" if absent else None


def unavailable_for(stem: str, kind: str) -> str | None:
    """Why the notebook `stem` does not run for a source of this kind, or None when it does;
    a notebook that is not a member of `Notebook` (one of the user's own) runs for exports.

    >>> unavailable_for("05_clv", TABLE)
    'not available for a single-table source: it needs the orders and events of an export'
    >>> unavailable_for("03_churn_table", TABLE) is None, unavailable_for("99_mine", EXPORTS)
    (True, None)
    """
    try:
        sources = Notebook.named(stem).sources
    except ValueError:
        sources = frozenset({EXPORTS})
    if kind in sources:
        return None
    if kind == TABLE:
        return (
            "not available for a single-table source: it needs the orders and events of an export"
        )
    return "only for a single-table source (data.source: table)"


_NEEDS = {Notebook.CHURN_CONTRACTS: ("subscriptions",)}
_SOURCES = {
    Notebook.DATA_QUALITY: frozenset({EXPORTS, TABLE}),
    Notebook.CHURN_TABLE: frozenset({TABLE}),
    Notebook.REPORT: frozenset({EXPORTS, TABLE}),
}
_LABELS = {
    Notebook.DATA_QUALITY: "Data quality",
    Notebook.FEATURES_SEGMENTS: "Features and segments",
    Notebook.CHURN: "Churn model",
    Notebook.CHURN_CONTRACTS: "Contract churn and renewals",
    Notebook.CHURN_TABLE: "Churn model (customer table)",
    Notebook.PROPENSITY_UPLIFT: "Propensity and uplift",
    Notebook.CLV: "Customer lifetime value",
    Notebook.RECOMMENDATIONS: "Recommendations",
    Notebook.SCORING: "Scoring",
    Notebook.REPORT: "Reports",
}
