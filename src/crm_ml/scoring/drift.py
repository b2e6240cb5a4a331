"""Population stability index (PSI) between the previous and the current score run.

PSI = sum over bins of (current% - reference%) * ln(current% / reference%), with bins cut
at the reference's quantiles (numeric) or its categories. The usual reading: < 0.1
stable, 0.1-0.25 moderate shift, > 0.25 a shift worth a look before trusting the scores.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

EPSILON = 1e-4  # floor for an empty bin so that ln() stays finite


def psi(reference: pd.Series, current: pd.Series, bins: int = 10) -> float:
    """The PSI of one column; missing values form a bin of their own."""
    if isinstance(reference.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(
        reference
    ):
        ref_share, cur_share = _category_shares(reference.astype(str), current.astype(str))
    else:
        ref_share, cur_share = _numeric_shares(reference.astype(float), current.astype(float), bins)
    ref_share = np.clip(ref_share, EPSILON, None)
    cur_share = np.clip(cur_share, EPSILON, None)
    return float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))


def _numeric_shares(reference: pd.Series, current: pd.Series, bins: int):
    ref = reference.dropna().to_numpy()
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1))) if len(ref) else np.array([])
    inner = edges[1:-1]

    def shares(values: pd.Series) -> np.ndarray:
        present = values.dropna().to_numpy()
        counts = np.bincount(
            np.searchsorted(inner, present, side="right"), minlength=len(inner) + 1
        )
        counts = np.append(counts, values.isna().sum())
        return counts / max(len(values), 1)

    return shares(reference), shares(current)


def _category_shares(reference: pd.Series, current: pd.Series):
    levels = sorted(set(reference) | set(current))
    ref = reference.value_counts(normalize=True).reindex(levels, fill_value=0).to_numpy()
    cur = current.value_counts(normalize=True).reindex(levels, fill_value=0).to_numpy()
    return ref, cur


def drift_table(
    reference: pd.DataFrame, current: pd.DataFrame, threshold: float = 0.25, bins: int = 10
) -> pd.DataFrame:
    """PSI of every column the two frames share, worst first, with an `alert` flag."""
    columns = [c for c in reference.columns if c in current.columns and c != "customer_id"]
    rows = [{"column": c, "psi": psi(reference[c], current[c], bins)} for c in columns]
    table = pd.DataFrame(rows, columns=["column", "psi"])
    table["alert"] = table["psi"] > threshold
    return table.sort_values("psi", ascending=False, ignore_index=True)
