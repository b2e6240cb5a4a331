"""The plain-table API: a scikit-learn classifier and a one-call helper for a file or frame.

`CrmClassifier` wraps what a customer table needs before and after LightGBM: text columns
become categories, numbers stored as text are parsed, identifier-like and constant columns
are dropped (`crm_ml.datasets.snapshot.clean_features`); training is cross-fitted with the
linear blend and calibration of `train_binary_model`; `reason_codes` says in words why each
customer scores as they do. It has `fit`, `predict_proba`, `predict`, `get_params` and
`set_params`, so it works in `cross_val_score`, `GridSearchCV` and `Pipeline`.

`fit_table` reads a table with a label column, fits the classifier on every row, and
cross-validates it beside `LGBMClassifier()` and a logistic regression in the same run.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

from crm_ml.datasets.snapshot import (
    SnapshotFrame,
    clean_features,
    load_snapshot,
    shape_like,
)
from crm_ml.models.config import BinaryModelConfig, LeakageConfig
from crm_ml.models.explain import reason_codes
from crm_ml.models.references import REFERENCES, cross_validate_models
from crm_ml.models.train import BinaryModel, TrainingResult, train_binary_model

_LABEL = "__label__"


def _as_frame(X: Any) -> pd.DataFrame:
    """X as a DataFrame (arrays get columns x0, x1, ...), with scikit-learn's messages for
    what it cannot be."""
    if sp.issparse(X):
        raise TypeError("CrmClassifier does not support sparse input; pass a dense array or frame")
    frame = X if isinstance(X, pd.DataFrame) else None
    if frame is None:
        array = np.asarray(X)
        if array.ndim != 2:
            raise ValueError(
                f"Expected 2D array, got an array of shape {array.shape}; Reshape your data "
                "with array.reshape(-1, 1) for a single feature or array.reshape(1, -1) for "
                "a single sample"
            )
        frame = pd.DataFrame(array, columns=[f"x{j}" for j in range(array.shape[1])])
    if not all(isinstance(c, str) for c in frame.columns):  # LightGBM names features by text
        frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
    if frame.shape[1] == 0:
        raise ValueError(
            f"0 feature(s) (shape={frame.shape}) while a minimum of 1 is required by CrmClassifier"
        )
    return frame


class CrmClassifier(ClassifierMixin, BaseEstimator):
    """Calibrated LightGBM + logistic-regression blend for a binary customer label.

    Parameters
    ----------
    config : BinaryModelConfig, optional
        Every trainer setting (`crm_ml.models.config`); the keywords below override it.
    search : {"auto", True, False}, default "auto"
        Hyper-parameter search on the cross-fitting folds ("auto": tables up to 100k rows).
    n_folds : int, default 5
        Cross-fitting folds (rounds, blend and calibrator are chosen out of fold).
    linear_blend : bool, default True
        Blend the trees with a logistic regression on the same features.
    random_state : int, default 42
        Seed of the folds, the booster and the search.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two labels; the second is the positive class.
    model_ : BinaryModel
        The fitted model (booster, linear part, blend weights, calibrator).
    result_ : TrainingResult
        Out-of-fold metrics, the guards that fired (`result_.notes`), the search trials.
    dropped_ : dict
        Columns not used as features, with the reason.
    n_features_in_, feature_names_in_
        As in scikit-learn.

    Examples
    --------
    >>> from sklearn.model_selection import cross_val_score
    >>> from crm_ml.datasets import subscriber_table
    >>> table = subscriber_table(1_000, seed=1)
    >>> X, y = table.drop(columns=["customerID", "Churn"]), table["Churn"]
    >>> model = CrmClassifier(search=False).fit(X, y)
    >>> model.classes_.tolist()
    ['No', 'Yes']
    >>> model.predict_proba(X.head(3)).shape
    (3, 2)
    >>> scores = cross_val_score(CrmClassifier(search=False), X, y, cv=3, scoring="roc_auc")
    >>> bool(scores.mean() > 0.7)
    True
    >>> model.reason_codes(X.head(2)).columns.tolist()[:2]
    ['score', 'reason_1']
    """

    def __init__(
        self,
        config: BinaryModelConfig | None = None,
        *,
        search: bool | Literal["auto"] = "auto",
        n_folds: int = 5,
        linear_blend: bool = True,
        random_state: int = 42,
    ) -> None:
        self.config = config
        self.search = search
        self.n_folds = n_folds
        self.linear_blend = linear_blend
        self.random_state = random_state

    def _config(self) -> BinaryModelConfig:
        # a user's own table: a feature that alone predicts the label is reported, not fatal
        base = self.config or BinaryModelConfig(leakage=LeakageConfig(action="warn"))
        return replace(
            base,
            search=replace(base.search, enabled=self.search, seed=self.random_state),
            split=replace(base.split, n_folds=self.n_folds, seed=self.random_state),
            lightgbm=replace(base.lightgbm, seed=self.random_state),
            linear_blend=self.linear_blend,
        )

    def fit(self, X: Any, y: Any) -> CrmClassifier:
        if y is None:
            raise ValueError("CrmClassifier requires y to be passed, but the target y is None")
        frame = _as_frame(X)
        target = column_or_1d(y, warn=True)  # a column vector warns, as in scikit-learn
        if len(target) != len(frame):
            raise ValueError(f"X has {len(frame)} rows but y has {len(target)}")
        check_classification_targets(target)
        self.classes_ = np.unique(target)
        if len(self.classes_) > 2:
            raise ValueError(
                f"Only binary classification is supported by CrmClassifier; y has "
                f"{len(self.classes_)} classes"
            )
        if len(self.classes_) < 2:
            raise ValueError("CrmClassifier needs both outcomes; y has 1 class")
        if isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in X.columns):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = frame.shape[1]
        try:
            features, self.dropped_ = clean_features(frame.reset_index(drop=True))
        except TypeError as error:  # e.g. dicts in an object column
            raise TypeError(
                f"feature values must be numbers or text (argument must be a string or a "
                f"number): {error}"
            ) from None
        if features.shape[1] == 0:
            raise ValueError(f"no usable feature columns: {self.dropped_}")
        self._template = features.head(0)
        labelled = features.assign(**{_LABEL: (target == self.classes_[1]).astype(int)})
        self.result_: TrainingResult = train_binary_model(
            labelled, _LABEL, self._config(), split_column=None, id_column=None
        )
        self.model_: BinaryModel = self.result_.model  # type: ignore[assignment]
        return self

    def _features(self, X: Any) -> pd.DataFrame:
        check_is_fitted(self, "model_")
        frame = _as_frame(X)
        if frame.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {frame.shape[1]} features, but CrmClassifier is expecting "
                f"{self.n_features_in_} features as input"
            )
        return shape_like(self._template, frame)

    def model_input(self, X: Any) -> pd.DataFrame:
        """`X` as the fitted `model_` reads it (cleaned, typed like the training rows): for
        SHAP drivers, MLflow examples or anything that calls the inner model."""
        return self._features(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Calibrated probabilities, shape (n, 2): column 1 is `classes_[1]`."""
        features = self._features(X)
        positive = self.model_.predict(features)
        return np.column_stack([1 - positive, positive])

    def predict(self, X: Any) -> np.ndarray:
        positive = self.predict_proba(X)[:, 1] >= 0.5
        return self.classes_[positive.astype(int)]

    def reason_codes(self, X: Any, top_n: int = 3) -> pd.DataFrame:
        """Score and the top `top_n` reasons (sentences) pushing each row's score up."""
        return reason_codes(self.model_, self._features(X), top_n=top_n, progress=False)

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.classifier_tags.multi_class = False
        return tags


@dataclass
class TableFit:
    """What `fit_table` returns: the fitted model beside its fair (cross-validated) judgement.

    `predict_proba` and `reason_codes` score new rows shaped like the file.

    Attributes
    ----------
    model : CrmClassifier
        The classifier fitted on every row (on `snapshot.features`).
    snapshot : SnapshotFrame
        The table as read: features, label, ids, dropped columns.
    comparison : pandas.DataFrame
        Cross-validated metrics of our model and the references on the same folds, one row
        per model (empty when ``compare=False``).
    reasons : pandas.DataFrame
        Score and reasons of every row from the fitted model, indexed by the ids (in-sample;
        for a fair score use `comparison` or `out_of_fold`).
    id_column : str or None
        The id column of the table, used to index the scores of new rows.
    out_of_fold : pandas.Series
        Our model's probability for every row from the fold that did not train on it,
        indexed by the ids: a fair score of the table's own rows (empty when
        ``compare=False``).

    Examples
    --------
    >>> from crm_ml.datasets import subscriber_table
    >>> fit = fit_table(subscriber_table(300, seed=4), "Churn", id_column="customerID",
    ...                 compare=False, n_folds=3, progress=False)
    >>> fit.comparison.empty, fit.reasons.columns[0]
    (True, 'score')
    >>> fit.predict_proba(subscriber_table(2, seed=5)).round(2).index.tolist()
    ['0000-5', '0001-5']
    """

    model: CrmClassifier
    snapshot: SnapshotFrame
    comparison: pd.DataFrame = field(default_factory=pd.DataFrame)
    reasons: pd.DataFrame = field(default_factory=pd.DataFrame)
    id_column: str | None = None
    out_of_fold: pd.Series = field(default_factory=lambda: pd.Series(dtype="float64"))

    def _features(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self.snapshot.features_like(frame).reset_index(drop=True)

    def _index(self, frame: pd.DataFrame) -> pd.Index:
        if self.id_column and self.id_column in frame.columns:
            return pd.Index(frame[self.id_column], name=self.id_column)
        return frame.index

    def predict_proba(self, frame: pd.DataFrame) -> pd.Series:
        """Probability of the positive label for the rows of a frame shaped like the table
        that was read (extra columns, such as the id or the label, are ignored), indexed by
        the id column when it has one."""
        positive = self.model.predict_proba(self._features(frame))[:, 1]
        return pd.Series(positive, index=self._index(frame), name="probability")

    def reason_codes(self, frame: pd.DataFrame, top_n: int = 3) -> pd.DataFrame:
        """Score and reasons for the rows of such a frame, indexed like `predict_proba`."""
        reasons = self.model.reason_codes(self._features(frame), top_n=top_n)
        return reasons.set_axis(self._index(frame), axis=0)


def fit_table(
    path_or_frame: str | Path | pd.DataFrame,
    label: str,
    *,
    id_column: str | None = None,
    compare: bool = True,
    n_folds: int = 5,
    config: BinaryModelConfig | None = None,
    progress: bool = True,
) -> TableFit:
    """Read a customer table with a label column, fit `CrmClassifier` on every row and
    (with `compare`) cross-validate it beside the reference models.

    Parameters
    ----------
    path_or_frame : str, pathlib.Path or pandas.DataFrame
        A CSV / Parquet file or a DataFrame, one row per customer (read by `load_snapshot`).
    label : str
        The label column: 0/1, boolean, or two text values such as "Yes"/"No".
    id_column : str, optional
        Customer id column (kept as the index of `reasons`, never a feature).
    compare : bool, default True
        Cross-validate ours, `LGBMClassifier()` and logistic regression on the same folds.
    n_folds : int, default 5
        Folds of that comparison and of the cross-fitting.
    config : BinaryModelConfig, optional
        Trainer settings for `CrmClassifier`; its search setting is kept.
    progress : bool, default True
        A progress bar over the comparison's folds.

    Returns
    -------
    TableFit
        The model fitted on every row, the comparison, the snapshot and in-sample reasons.

    Raises
    ------
    SnapshotError
        When the file cannot be read or the label is neither binary nor numeric.
    ValueError
        When the label is numeric with more than two values (a regression, not a class).

    Examples
    --------
    >>> from crm_ml.datasets import subscriber_table
    >>> from crm_ml.models import BinaryModelConfig, SearchConfig
    >>> fit = fit_table(subscriber_table(800, seed=2), "Churn", id_column="customerID",
    ...                 n_folds=3, config=BinaryModelConfig(search=SearchConfig(enabled=False)),
    ...                 progress=False)
    >>> fit.comparison.index.tolist()
    ['crm_ml', 'lightgbm_default', 'logistic']
    >>> fit.reasons.index.name
    'customerID'
    >>> fit.predict_proba(subscriber_table(5, seed=3)).index.name   # new rows, same columns
    'customerID'
    """
    snapshot = load_snapshot(path_or_frame, label, id_column=id_column)
    if snapshot.task != "binary":
        raise ValueError(f"fit_table needs a binary label; {label!r} is {snapshot.task}")
    settings = config or BinaryModelConfig()
    settings = replace(settings, split=replace(settings.split, n_folds=n_folds))

    def ours(X: pd.DataFrame) -> CrmClassifier:
        return CrmClassifier(settings, search=settings.search.enabled, n_folds=n_folds)

    X, y = snapshot.features.reset_index(drop=True), snapshot.label.to_numpy()
    comparison, out_of_fold = pd.DataFrame(), pd.Series(dtype="float64")
    if compare:
        comparison, predictions = cross_validate_models(
            X, y, {"crm_ml": ours, **REFERENCES}, n_folds=n_folds, progress=progress
        )
        out_of_fold = predictions["crm_ml"].set_axis(snapshot.ids).rename("probability")
    model = ours(X).fit(X, y)
    reasons = model.reason_codes(X).set_axis(snapshot.ids, axis=0)
    return TableFit(model, snapshot, comparison, reasons, id_column, out_of_fold)
