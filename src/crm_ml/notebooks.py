"""The numbered notebooks, named once.

The runner executes them in this order, each notebook opens its context by its member, and
the reports, the change table, the scorecard and the refresh read back what a notebook
recorded by the same member. A renamed notebook file fails a test (every member must have
its file in notebooks/, every file a member) instead of silently turning report sections
into "not available". Members are strings, so records keyed by name keep working.
"""

from __future__ import annotations

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

    @classmethod
    def named(cls, name: str) -> Notebook:
        """The member called `name` (the file stem); an unknown name says which exist."""
        try:
            return cls(name)
        except ValueError:
            known = ", ".join(member.value for member in cls)
            raise ValueError(f"unknown notebook {name!r}; the notebooks are: {known}") from None


_LABELS = {
    Notebook.DATA_QUALITY: "Data quality",
    Notebook.FEATURES_SEGMENTS: "Features and segments",
    Notebook.CHURN: "Churn model",
    Notebook.PROPENSITY_UPLIFT: "Propensity and uplift",
    Notebook.CLV: "Customer lifetime value",
    Notebook.RECOMMENDATIONS: "Recommendations",
    Notebook.SCORING: "Scoring",
    Notebook.REPORT: "Reports",
}
