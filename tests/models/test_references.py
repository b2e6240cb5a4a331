"""The obvious models and the one cross-validation that scores everything on the same folds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_ml.datasets import subscriber_table
from crm_ml.datasets.snapshot import load_snapshot
from crm_ml.models import REFERENCES, cross_validate_models
from crm_ml.models.evaluation import roc_auc


def test_references_and_fixed_probabilities_are_scored_on_the_same_folds():
    table = subscriber_table(1_200, seed=5, truth=True)
    truth = table.pop("churn_probability").to_numpy()
    snap = load_snapshot(table, "Churn", id_column="customerID")
    X, y = snap.features.reset_index(drop=True), snap.label.to_numpy()
    summary, predictions = cross_validate_models(
        X, y, REFERENCES, n_folds=3, progress=False, fixed={"truth": truth}
    )
    assert list(summary.index) == ["lightgbm_default", "logistic", "truth"]
    # every row is predicted once, out of fold, by every model
    assert predictions.notna().all().all()
    np.testing.assert_array_equal(predictions["truth"].to_numpy(), truth)
    assert summary.loc["truth", "fit_seconds"] == 0
    # the logistic reference is the right model family here (an additive logistic truth)
    assert summary.loc["logistic", "roc_auc"] > summary.loc["truth", "roc_auc"] - 0.03
    # the out-of-fold predictions pooled rank about as well as the mean over folds says
    pooled_auc = roc_auc(y, predictions["logistic"].to_numpy())
    assert abs(pooled_auc - summary.loc["logistic", "roc_auc"]) < 0.02


def test_logistic_reference_takes_categories_and_missing_values():
    frame = pd.DataFrame(
        {
            "amount": [1.0, np.nan, 3.0, 4.0] * 25,
            "plan": pd.Categorical(["a", "b", None, "a"] * 25),
        }
    )
    y = np.tile([0, 1], 50)
    model = REFERENCES["logistic"](frame).fit(frame, y)
    assert model.predict_proba(frame).shape == (100, 2)
