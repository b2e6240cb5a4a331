"""Probability calibration of the booster's raw margin: Platt (sigmoid) or isotonic.

Re-weighting for class imbalance, early stopping and plain boosting all leave scores that
rank well but are not probabilities. The calibrator maps the raw margin (log-odds) to a
probability. Candidates are compared on the calibration rows with K-fold cross-fitting, so
the comparison itself is out of sample, and the winner is refitted on all calibration rows.
Calibrators keep only a few arrays so models stay small to pickle.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss
from sklearn.model_selection import StratifiedKFold

PROBABILITY_FLOOR = 1e-6


class Calibrator(Protocol):
    method: str

    def fit(self, margin: np.ndarray, y: np.ndarray) -> Calibrator: ...

    def transform(self, margin: np.ndarray) -> np.ndarray: ...


class IdentityCalibrator:
    """The booster's own probability: sigmoid of the margin."""

    method = "none"

    def fit(self, margin: np.ndarray, y: np.ndarray) -> IdentityCalibrator:
        return self

    def transform(self, margin: np.ndarray) -> np.ndarray:
        return expit(margin)


class SigmoidCalibrator:
    """Platt scaling: p = sigmoid(a * margin + b), fitted by (almost unpenalised) logistic regression."""

    method = "sigmoid"

    def __init__(self) -> None:
        self.slope = 1.0
        self.intercept = 0.0

    def fit(self, margin: np.ndarray, y: np.ndarray) -> SigmoidCalibrator:
        model = LogisticRegression(C=1e6, max_iter=1000).fit(margin.reshape(-1, 1), y)
        self.slope = float(model.coef_[0, 0])
        self.intercept = float(model.intercept_[0])
        return self

    def transform(self, margin: np.ndarray) -> np.ndarray:
        return expit(self.slope * margin + self.intercept)


class IsotonicCalibrator:
    """Monotone step function of the margin (scikit-learn IsotonicRegression), kept as knots."""

    method = "isotonic"

    def __init__(self) -> None:
        self.knots_x = np.array([0.0])
        self.knots_y = np.array([0.5])

    def fit(self, margin: np.ndarray, y: np.ndarray) -> IsotonicCalibrator:
        model = IsotonicRegression(
            out_of_bounds="clip", y_min=PROBABILITY_FLOOR, y_max=1 - PROBABILITY_FLOOR
        ).fit(margin, y)
        self.knots_x = model.X_thresholds_
        self.knots_y = model.y_thresholds_
        return self

    def transform(self, margin: np.ndarray) -> np.ndarray:
        return np.interp(margin, self.knots_x, self.knots_y)


class SplineCalibrator:
    """Logistic regression on a linear spline of the margin (knots at its quantiles): Platt
    scaling that may bend where the margin's log-odds scale is not straight, with a few
    parameters instead of isotonic's step per block, so it adds less noise."""

    method = "spline"
    n_knots = 5

    def __init__(self) -> None:
        self.knots = np.zeros(0)
        self.coef = np.array([1.0])
        self.intercept = 0.0

    def _basis(self, margin: np.ndarray) -> np.ndarray:
        return np.column_stack([margin] + [np.maximum(margin - k, 0.0) for k in self.knots])

    def fit(self, margin: np.ndarray, y: np.ndarray) -> SplineCalibrator:
        quantiles = np.linspace(0, 1, self.n_knots + 2)[1:-1]
        self.knots = np.unique(np.quantile(margin, quantiles))
        model = LogisticRegression(C=1e4, max_iter=2000).fit(self._basis(margin), y)
        self.coef = model.coef_[0].copy()
        self.intercept = float(model.intercept_[0])
        return self

    def transform(self, margin: np.ndarray) -> np.ndarray:
        return expit(self._basis(margin) @ self.coef + self.intercept)


CALIBRATORS = {
    "none": IdentityCalibrator,
    "sigmoid": SigmoidCalibrator,
    "isotonic": IsotonicCalibrator,
    "spline": SplineCalibrator,
}


def make_calibrator(method: str) -> Calibrator:
    try:
        return CALIBRATORS[method]()
    except KeyError:
        raise ValueError(
            f"unknown calibration method {method!r}; use {sorted(CALIBRATORS)}"
        ) from None


def choose_calibrator(
    margin: np.ndarray,
    y: np.ndarray,
    methods: Sequence[str] = ("sigmoid", "isotonic"),
    metric: Literal["log_loss", "brier"] = "log_loss",
    n_splits: int = 5,
    seed: int = 42,
) -> tuple[Calibrator, pd.DataFrame]:
    """Best method by cross-fitted `metric`, refitted on all rows; plus the comparison table
    (method, log_loss, brier, chosen)."""
    y = np.asarray(y).astype(int)
    if not methods:
        raise ValueError("calibration_methods is empty")
    n_splits = int(min(n_splits, np.bincount(y, minlength=2).min()))
    if n_splits < 2:
        raise ValueError("calibration rows need at least two examples of each class")
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    rows = []
    for method in methods:
        out_of_fold = np.empty(len(y))
        for fit_rows, test_rows in folds.split(margin.reshape(-1, 1), y):
            calibrator = make_calibrator(method).fit(margin[fit_rows], y[fit_rows])
            out_of_fold[test_rows] = calibrator.transform(margin[test_rows])
        probability = np.clip(out_of_fold, PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)
        rows.append(
            {
                "method": method,
                "log_loss": log_loss(y, probability, labels=[0, 1]),
                "brier": brier_score_loss(y, probability),
            }
        )
    table = pd.DataFrame(rows)
    best = str(table.loc[table[metric].idxmin(), "method"])
    table["chosen"] = table["method"] == best
    return make_calibrator(best).fit(margin, y), table
