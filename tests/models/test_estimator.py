"""The plain-table API: scikit-learn's contract, the one-call helper, the trainer's guards."""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from crm_ml.datasets import subscriber_table
from crm_ml.models import (
    BinaryModelConfig,
    CrmClassifier,
    LeakageConfig,
    LightGBMConfig,
    SearchConfig,
    TooFewRowsError,
    fit_table,
    train_binary_model,
)
from crm_ml.models.crossfit import make_folds
from crm_ml.models.search import PORTFOLIO

# small boosting budgets: scikit-learn's checks fit dozens of times on tiny data
QUICK = BinaryModelConfig(
    lightgbm=LightGBMConfig(num_boost_round=200, early_stopping_rounds=20),
    leakage=LeakageConfig(action="warn"),
)


@pytest.mark.slow
@parametrize_with_checks([CrmClassifier(QUICK, search=False)])
def test_scikit_learn_contract(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return subscriber_table(1_500, seed=3)


def _xy(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    return table.drop(columns=["customerID", "Churn"]), table["Churn"]


def test_classifier_reads_text_columns_and_predicts_the_positive_class(table):
    X, y = _xy(table)
    model = CrmClassifier(QUICK, search=False).fit(X, y)
    assert model.classes_.tolist() == ["No", "Yes"]
    assert model.model_.schema.categories["Contract"]  # text became a category
    assert model.model_.schema.feature_names.count("TotalCharges") == 1
    p = model.predict_proba(X)[:, 1]
    churned = (y == "Yes").to_numpy()
    assert p[churned].mean() > p[~churned].mean() + 0.15
    assert set(model.predict(X)) <= {"No", "Yes"}
    # unseen text is missing, not an error
    odd = X.head(3).assign(Contract="Lifetime")
    assert np.isfinite(model.predict_proba(odd)).all()


def test_classifier_works_in_a_pipeline_and_cross_val_score(table):
    X, y = _xy(table)
    pipeline = make_pipeline(
        FunctionTransformer(lambda f: f.drop(columns="gender")), CrmClassifier(QUICK, search=False)
    )
    scores = cross_val_score(pipeline, X, y, cv=3, scoring="roc_auc")
    assert scores.min() > 0.7


def test_search_tries_the_configured_settings_then_the_portfolio_then_tpe(table):
    X, y = _xy(table)
    config = replace(QUICK, search=SearchConfig(enabled=True, n_trials=4))
    model = CrmClassifier(config, search=True).fit(X, y)
    trials = model.result_.search_table
    assert len(trials) == 4
    best = trials.loc[trials["value"].idxmin()]
    assert model.model_.params["num_leaves"] == best["params_num_leaves"]
    leaves = trials["params_num_leaves"].tolist()
    assert leaves[0] == QUICK.lightgbm.num_leaves
    assert leaves[1:3] == [point["num_leaves"] for point in PORTFOLIO]
    assert trials["user_attrs_rounds"].gt(0).all()


def test_fit_table_compares_with_the_references_on_a_file(table, tmp_path):
    path = tmp_path / "subscribers.csv"
    table.to_csv(path, index=False)
    fit = fit_table(
        path,
        "Churn",
        id_column="customerID",
        n_folds=3,
        config=replace(QUICK, search=SearchConfig(enabled=False)),
        progress=False,
    )
    assert list(fit.comparison.index) == ["crm_ml", "lightgbm_default", "logistic"]
    assert {"roc_auc", "ece", "ece_pooled", "top20_capture", "fit_seconds"} <= set(
        fit.comparison.columns
    )
    assert (fit.comparison["roc_auc"] > 0.7).all()
    assert fit.reasons.index.equals(fit.snapshot.ids)
    assert fit.reasons["reason_1"].str.len().gt(0).any()
    # new rows straight from a file of the same shape (id and label columns included)
    fresh = pd.read_csv(path).head(20)
    probability = fit.predict_proba(fresh)
    assert probability.index.tolist() == fresh["customerID"].tolist()
    np.testing.assert_allclose(probability.to_numpy(), fit.reasons["score"].head(20).to_numpy())
    assert fit.reason_codes(fresh).index.equals(probability.index)


# --- guards -----------------------------------------------------------------------------------


def _linear_table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    logit = 1.5 * x[:, 0] - x[:, 1]
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(x, columns=["a", "b", "noise"]).assign(label=label)


def test_a_booster_that_cannot_grow_falls_back_to_the_linear_part(caplog):
    frame = _linear_table(600)
    # leaves must hold 10,000 rows: no tree can split, early stopping keeps a stump or two
    config = replace(
        QUICK,
        lightgbm=replace(QUICK.lightgbm, min_child_samples=10_000),
        search=SearchConfig(enabled=False),
    )
    with caplog.at_level(logging.WARNING):
        result = train_binary_model(frame, "label", config, id_column=None)
    assert result.model.blend.trees == 0
    assert result.model.blend.linear > 0
    assert any("weight 0" in note for note in result.notes)
    assert "weight 0" in caplog.text
    assert result.metrics.loc["out_of_fold", "roc_auc"] > 0.75


def test_without_a_linear_part_the_small_booster_is_kept_with_a_warning(caplog):
    frame = _linear_table(600)
    config = replace(
        QUICK,
        lightgbm=replace(QUICK.lightgbm, min_child_samples=10_000),
        search=SearchConfig(enabled=False),
        linear_blend=False,
    )
    with caplog.at_level(logging.WARNING):
        result = train_binary_model(frame, "label", config, id_column=None)
    assert result.model.blend.trees > 0 and result.model.linear is None
    assert "tree(s)" in caplog.text


def test_a_constant_prediction_is_reported():
    frame = pd.DataFrame({"flat": np.ones(200), "label": np.tile([0, 1], 100)})
    config = replace(QUICK, search=SearchConfig(enabled=False))
    result = train_binary_model(frame, "label", config, id_column=None)
    assert any("one constant" in note for note in result.notes)


def test_rare_positives_are_reweighted_only_with_a_split_column():
    rng = np.random.default_rng(4)
    frame = _linear_table(2_000, seed=4)
    frame["label"] = (rng.random(len(frame)) < 0.03 + 0.1 * (frame["a"] > 1)).astype(int)
    config = replace(QUICK, search=SearchConfig(enabled=False))
    plain = train_binary_model(frame, "label", config, id_column=None)
    assert "scale_pos_weight" not in plain.model.params  # rounds are chosen on the loss
    split = frame.assign(split=np.resize(["train", "train", "validation", "holdout"], len(frame)))
    stopped = train_binary_model(split, "label", config, id_column=None)
    assert stopped.model.params["scale_pos_weight"] > 5


def test_few_positives_mean_fewer_folds_with_a_warning(caplog):
    y = np.r_[np.ones(12), np.zeros(300)]
    with caplog.at_level(logging.WARNING):
        folds = make_folds(y, n_folds=5, seed=0)
    assert len(folds) == 2
    assert "12 rows of the rarer class" in caplog.text
    assert all(y[valid].sum() >= 5 for _, valid in folds)
    with pytest.raises(TooFewRowsError, match="1 row"):
        make_folds(np.r_[np.ones(1), np.zeros(50)], n_folds=5, seed=0)
