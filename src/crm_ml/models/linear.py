"""The linear half of the binary model: logistic regression on the same matrix the booster sees.

On small tables whose truth is close to additive (many public churn tables are), a
regularised logistic regression on one-hot columns ranks as well as boosted trees or better,
and the trees' errors and its errors are not the same. The trainer therefore fits both,
cross-fitted, and blends their margins (see `crm_ml.models.train`).

Why our own wrapper rather than a scikit-learn Pipeline: it reads the trainer's float
matrix directly (categoricals already as codes over the training categories), keeps only
a few arrays (small pickles), and splits its margin exactly into one contribution per input
feature (one-hot columns summed back to their feature), which the reason codes need.
scikit-learn's LogisticRegression does the fitting.

Numeric columns are median-imputed, put through a signed log when they are heavy-tailed
(counts, spend, days: a customer with 400 orders must not dominate the fit), clipped to the
training range, then standardised; categoricals become one-hot columns over their most
frequent codes (the rest share one column, missing has its own).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

MAX_LEVELS = 30  # one-hot columns per categorical feature; rarer codes share one column
SKEW_LIMIT = 2.0  # |skewness| above which a numeric column is log-transformed
MAX_ROWS = 200_000
# lbfgs stops at this gradient size: a third of the iterations of scikit-learn's 1e-4 and the
# same held-out AUC within +-0.001 on the table battery (benchmarks/bench_tables.py)
TOLERANCE = 1e-3


@dataclass
class _Numeric:
    """The numeric columns' transform, one array entry per column (vectorised: a plain table
    of 85 columns is transformed in one pass, not 85)."""

    index: np.ndarray  # positions in the trainer's matrix
    median: np.ndarray
    low: np.ndarray
    high: np.ndarray
    log: np.ndarray  # bool
    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, matrix: np.ndarray, index: np.ndarray) -> _Numeric:
        """Medians, 0.1% / 99.9% clipping bounds, which columns are log-transformed, and
        the standardisation, from the training rows."""
        values = matrix[:, index]
        median = np.nanmedian(values, axis=0)
        low, high = np.nanquantile(values, [0.001, 0.999], axis=0)
        known = np.clip(values, low, high)  # NaN stays NaN
        centred = known - np.nanmean(known, axis=0)
        std = np.sqrt(np.nanmean(centred**2, axis=0))
        with np.errstate(invalid="ignore", divide="ignore"):
            skew = np.nanmean(centred**3, axis=0) / std**3
        log = np.abs(np.nan_to_num(skew)) > SKEW_LIMIT
        spec = cls(index, median, low, high, log, np.zeros(len(index)), np.ones(len(index)))
        transformed = spec.transform(matrix)
        spec.mean = transformed.mean(axis=0)
        spec.scale = np.where(transformed.std(axis=0) > 0, transformed.std(axis=0), 1.0)
        return spec

    def transform(self, matrix: np.ndarray) -> np.ndarray:
        x = matrix[:, self.index]
        x = np.clip(np.where(np.isnan(x), self.median, x), self.low, self.high)
        x = np.where(self.log, np.sign(x) * np.log1p(np.abs(x)), x)
        return (x - self.mean) / self.scale


@dataclass
class _Categorical:
    index: int
    levels: np.ndarray  # codes with a column of their own; others -> "other", NaN -> "missing"

    @property
    def width(self) -> int:
        return len(self.levels) + 2

    def slot(self, column: np.ndarray) -> np.ndarray:
        """Column offset per row: its level's position, else "other", else "missing"."""
        n_levels = len(self.levels)
        found = np.searchsorted(self.levels, column).clip(0, max(n_levels - 1, 0))
        match = self.levels[found] == column if n_levels else np.zeros(len(column), bool)
        position = np.where(match, found, n_levels)  # levels are sorted codes; else "other"
        return np.where(np.isnan(column), n_levels + 1, position)


@dataclass
class LinearModel:
    """Standardised, L2-regularised logistic regression; `margin` gives log-odds."""

    n_features: int
    C: float = 1.0
    numeric: _Numeric | None = None
    categorical: list[_Categorical] = field(default_factory=list)
    coef: np.ndarray = field(default_factory=lambda: np.zeros(0))
    intercept: float = 0.0
    mean_contribution: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def _n_numeric(self) -> int:
        return 0 if self.numeric is None else len(self.numeric.index)

    @property
    def _width(self) -> int:
        return self._n_numeric + sum(c.width for c in self.categorical)

    def _design(self, matrix: np.ndarray) -> np.ndarray:
        """The regression's inputs: standardised numbers, then one-hot blocks."""
        out = np.zeros((len(matrix), self._width))
        if self.numeric is not None:
            out[:, : self._n_numeric] = self.numeric.transform(matrix)
        start = self._n_numeric
        for spec in self.categorical:
            out[np.arange(len(matrix)), start + spec.slot(matrix[:, spec.index])] = 1.0
            start += spec.width
        return out

    def fit(
        self, matrix: np.ndarray, y: np.ndarray, categorical: Sequence[int] = ()
    ) -> LinearModel:
        """Fit on (a seeded sample of at most MAX_ROWS of) the rows; `categorical` are the
        positions of categorical columns (codes)."""
        if len(matrix) > MAX_ROWS:  # a linear model's few hundred weights need no more
            rows = np.sort(np.random.default_rng(0).choice(len(matrix), MAX_ROWS, replace=False))
            matrix, y = matrix[rows], y[rows]
        categorical = set(categorical)
        self.categorical = []
        for j in sorted(categorical):
            column = matrix[:, j]
            codes, counts = np.unique(column[~np.isnan(column)], return_counts=True)
            keep = codes[np.argsort(-counts, kind="stable")[:MAX_LEVELS]]
            self.categorical.append(_Categorical(j, np.sort(keep)))
        numeric = np.array([j for j in range(self.n_features) if j not in categorical], int)
        if len(numeric):
            with warnings.catch_warnings():  # an all-missing column is dropped just below
                warnings.simplefilter("ignore", RuntimeWarning)
                low, high = np.nanmin(matrix[:, numeric], 0), np.nanmax(matrix[:, numeric], 0)
            numeric = numeric[low < high]  # nothing to learn from a constant or empty column
        self.numeric = _Numeric.fit(matrix, numeric) if len(numeric) else None
        design = self._design(matrix)
        if design.shape[1] == 0:  # nothing varies: the base rate is all there is
            rate = float(np.clip(np.mean(y), 1e-6, 1 - 1e-6))
            self.coef, self.intercept = np.zeros(0), float(np.log(rate / (1 - rate)))
            self.mean_contribution = np.zeros(self.n_features)
            return self
        # one BLAS thread: the folds run in parallel threads of their own
        with threadpool_limits(1), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = LogisticRegression(C=self.C, solver="lbfgs", max_iter=300, tol=TOLERANCE).fit(
                design, y
            )
        self.coef = model.coef_[0].copy()
        self.intercept = float(model.intercept_[0])
        self.mean_contribution = self._terms(matrix).mean(axis=0)
        return self

    def _term_columns(self, matrix: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
        """(input feature, its part of the margin) per used feature, computed from the
        coefficients without building the one-hot design: a million rows stay light."""
        if self.numeric is not None:
            values = self.numeric.transform(matrix)
            for j, index in enumerate(self.numeric.index):
                yield int(index), self.coef[j] * values[:, j]
        start = self._n_numeric
        for spec in self.categorical:
            block = self.coef[start : start + spec.width]
            yield spec.index, block[spec.slot(matrix[:, spec.index])]
            start += spec.width

    def _terms(self, matrix: np.ndarray) -> np.ndarray:
        out = np.zeros((len(matrix), self.n_features))
        for index, values in self._term_columns(matrix):
            out[:, index] = values
        return out

    def margin(self, matrix: np.ndarray) -> np.ndarray:
        out = np.full(len(matrix), self.intercept)
        for _, values in self._term_columns(matrix):
            out += values
        return out

    def contributions(self, matrix: np.ndarray) -> tuple[np.ndarray, float]:
        """(rows x features) contributions centred on the training mean, and the bias;
        they add up exactly to `margin`."""
        terms = self._terms(matrix) - self.mean_contribution
        return terms, self.intercept + float(self.mean_contribution.sum())
