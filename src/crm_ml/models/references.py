"""The obvious models a plain table is judged against, and one cross-validation for all.

A model that cannot beat `lightgbm.LGBMClassifier()` with its defaults, or a standardised
logistic regression on one-hot columns, is not worth its complexity. `cross_validate_models`
scores any set of scikit-learn style classifiers on the same stratified folds, so the
comparison is like for like: mean ROC-AUC, expected calibration error (per fold and pooled
over the out-of-fold predictions), the share of positives in the top 20% of scores, and fit
seconds.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from tqdm.auto import tqdm

from crm_ml.models.evaluation import expected_calibration_error, roc_auc, top_decile_capture

ModelFactory = Callable[[pd.DataFrame], Any]  # features -> unfitted classifier


def logistic_reference(X: pd.DataFrame) -> Pipeline:
    """Logistic regression (scikit-learn defaults) on median-imputed, standardised numbers and
    one-hot categories: the linear model a data scientist would try first."""
    categorical = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c].dtype)]
    numeric = [c for c in X.columns if c not in categorical]
    encode = ColumnTransformer(
        [
            (
                "numbers",
                make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                numeric,
            ),
            (
                "categories",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="missing"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                categorical,
            ),
        ]
    )
    return make_pipeline(encode, LogisticRegression(max_iter=2000))


def lightgbm_reference(X: pd.DataFrame) -> lgb.LGBMClassifier:
    """`lightgbm.LGBMClassifier()` with its defaults (pandas categories as categoricals)."""
    return lgb.LGBMClassifier(verbose=-1)


REFERENCES: dict[str, ModelFactory] = {
    "lightgbm_default": lightgbm_reference,
    "logistic": logistic_reference,
}


def cross_validate_models(
    X: pd.DataFrame,
    y: np.ndarray | pd.Series,
    models: Mapping[str, ModelFactory],
    n_folds: int = 5,
    seed: int = 0,
    progress: bool = True,
    fixed: Mapping[str, np.ndarray] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score every model on the same stratified folds.

    Parameters
    ----------
    X
        Features (numeric, bool or pandas category columns).
    y
        0/1 labels aligned with X.
    models
        name -> factory taking X and returning an unfitted classifier with `fit` and
        `predict_proba`.
    n_folds, seed
        The folds (stratified, shuffled with this seed).
    fixed
        name -> probabilities aligned with X that are scored on the same test folds
        without fitting (e.g. the true probabilities of a simulated table; fit_seconds 0).

    Returns
    -------
    (summary, predictions)
        summary: one row per model with roc_auc (mean over folds), ece (mean over folds),
        ece_pooled (over all out-of-fold predictions), top20_capture (mean over folds) and
        fit_seconds (mean per fold). predictions: one column of out-of-fold probabilities
        per model, aligned with X.
    """
    y = np.asarray(y).astype(int)
    folds = list(StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(X, y))
    predictions = pd.DataFrame(index=X.index, columns=list(models), dtype="float64")
    rows = []

    Scorer = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, float]]

    def score(name: str, fit_and_predict: Scorer) -> None:
        """fit_and_predict(train, test) -> (probabilities of the test rows, fit seconds)"""
        aucs, eces, captures, seconds = [], [], [], []
        for train, test in folds:
            probability, fit_seconds = fit_and_predict(train, test)
            seconds.append(fit_seconds)
            predictions.iloc[test, predictions.columns.get_loc(name)] = probability
            aucs.append(roc_auc(y[test], probability))
            eces.append(expected_calibration_error(y[test], probability))
            captures.append(top_decile_capture(y[test], probability, fraction=0.2))
        rows.append(
            {
                "model": name,
                "roc_auc": float(np.mean(aucs)),
                "ece": float(np.mean(eces)),
                "ece_pooled": expected_calibration_error(y, predictions[name].to_numpy()),
                "top20_capture": float(np.mean(captures)),
                "fit_seconds": float(np.mean(seconds)),
            }
        )

    def fitted(factory: ModelFactory) -> Scorer:
        def run(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, float]:
            started = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model = factory(X).fit(X.iloc[train], y[train])
            seconds = time.perf_counter() - started
            return model.predict_proba(X.iloc[test])[:, 1], seconds

        return run

    for name, factory in tqdm(models.items(), desc="cross-validation", disable=not progress):
        score(name, fitted(factory))
    for name, values in (fixed or {}).items():
        predictions[name] = np.nan
        given = np.asarray(values, dtype=float)
        score(name, lambda train, test, given=given: (given[test], 0.0))
    return pd.DataFrame(rows).set_index("model"), predictions
