import logging
import pickle
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from crm_ml.models import (
    LeakageConfig,
    LeakageError,
    SearchConfig,
    train_binary_model,
    train_spend_model,
)
from crm_ml.models.evaluation import brier_score, expected_calibration_error


def test_training_twice_gives_identical_metrics_and_predictions(churn, binary_config):
    first = train_binary_model(churn, "label", binary_config)
    second = train_binary_model(churn, "label", binary_config)
    pd.testing.assert_frame_equal(first.metrics, second.metrics)
    np.testing.assert_array_equal(first.predictions["y_pred"], second.predictions["y_pred"])


def test_model_learns_and_excludes_ids_times_and_label(churn_result):
    model = churn_result.model
    assert not {"customer_id", "cutoff", "split", "label"} & set(model.feature_names)
    assert "region" in model.schema.categories
    holdout = churn_result.metrics.loc["holdout"]
    assert holdout["roc_auc"] > 0.7
    assert holdout["ece"] < 0.05
    assert churn_result.split_summary["holdout_rows"] == 1500


def test_model_pickles_and_predicts_probabilities(churn, churn_result):
    model = pickle.loads(pickle.dumps(churn_result.model))
    rows = churn.head(200)
    probabilities = model.predict(rows)
    np.testing.assert_allclose(probabilities, churn_result.model.predict(rows))
    assert probabilities.shape == (200,)
    assert ((probabilities > 0) & (probabilities < 1)).all()


def test_unseen_category_is_missing_and_absent_column_is_a_clear_error(churn, churn_result):
    rows = churn.head(5).copy()
    rows["region"] = "atlantis"
    assert np.isfinite(churn_result.model.predict(rows)).all()
    with pytest.raises(KeyError, match="orders_90d"):
        churn_result.model.predict(rows.drop(columns="orders_90d"))


def test_calibrator_never_sees_early_stopping_rows(churn_result):
    rows = churn_result.rows
    assert not (rows.stop & rows.calibration).any()
    assert not ((rows.stop | rows.calibration) & (rows.train | rows.holdout)).any()


def test_leakage_canary_catches_a_copy_of_the_label(churn, binary_config):
    leaky = churn.assign(days_to_next_order_flag=churn["label"])
    with pytest.raises(LeakageError, match="days_to_next_order_flag"):
        train_binary_model(leaky, "label", binary_config)


def test_leakage_canary_can_warn_instead(churn, binary_config, caplog):
    leaky = churn.assign(days_to_next_order_flag=churn["label"])
    config = replace(binary_config, leakage=LeakageConfig(action="warn"))
    with caplog.at_level(logging.ERROR):
        result = train_binary_model(leaky, "label", config)
    assert "LEAKAGE CANARY" in caplog.text
    assert result.leakage_table.iloc[0]["feature"] == "days_to_next_order_flag"


def test_honest_features_pass_the_canary(churn_result):
    assert not churn_result.leakage_table["suspect"].any()


def test_calibration_fixes_reweighted_scores(churn, binary_config):
    # Heavy positive re-weighting makes the booster's own probabilities far too high.
    lightgbm = replace(binary_config.lightgbm, extra_params={"scale_pos_weight": 6.0})
    # without the blend, whose weights would already undo the re-weighting
    config = replace(
        binary_config, imbalance="none", lightgbm=lightgbm, linear_blend=False, min_trees=1
    )
    result = train_binary_model(churn, "label", config)
    holdout = churn[churn["split"] == "holdout"]
    y = holdout["label"].to_numpy()
    raw = expit(result.model.predict_margin(holdout))
    calibrated = result.model.predict(holdout)
    assert abs(raw.mean() - y.mean()) > 0.08
    assert brier_score(y, calibrated) < brier_score(y, raw) - 0.01
    assert expected_calibration_error(y, calibrated) < expected_calibration_error(y, raw) / 2


def test_plain_table_is_cross_fitted_on_every_row(churn, binary_config):
    plain = churn.drop(columns=["split", "cutoff"])
    result = train_binary_model(plain, "label", binary_config)
    assert result.split_summary["method"] == "5-fold cross-fitting"
    assert result.rows is None
    # every row is scored once, out of fold, and rows of one customer share a fold
    assert len(result.predictions) == len(plain)
    folds = np.empty(len(plain), dtype=int)
    for k, (_, valid) in enumerate(result.folds):
        folds[valid] = k
    assert plain.assign(fold=folds).groupby("customer_id")["fold"].nunique().max() == 1
    assert result.metrics.loc["out_of_fold", "roc_auc"] > 0.7
    assert {"out_of_fold_trees", "out_of_fold_linear"} <= set(result.metrics.index)


def test_cross_fitted_blend_adds_up_and_predict_matches_its_parts(churn, binary_config):
    plain = churn.drop(columns=["split", "cutoff"])
    model = train_binary_model(plain, "label", binary_config).model
    rows = plain.head(300)
    matrix = model.to_matrix(rows)
    expected = model.blend.margin(model.tree_margin(matrix), model.linear.margin(matrix))
    np.testing.assert_allclose(model.predict_margin(rows), expected)
    # the mechanism is additive in log-odds, so the linear part must carry weight
    assert model.blend.linear > 0


def test_spend_model_predicts_nonnegative_spend_with_matching_total(churn, spend_config):
    rng = np.random.default_rng(1)
    frame = churn.drop(columns="label").assign(
        spend=np.where(churn["label"] == 1, 0.0, rng.gamma(2, 20, len(churn)))
        * (1 + churn["orders_90d"])
    )
    result = train_spend_model(frame, "spend", spend_config)
    assert abs(result.metrics.loc["calibration", "total_spend_error"]) < 1e-9
    plain = train_spend_model(frame.drop(columns=["split", "cutoff"]), "spend", spend_config)
    assert abs(plain.metrics.loc["out_of_fold", "total_spend_error"]) < 1e-9
    assert plain.metrics.loc["out_of_fold", "spearman"] > 0.3
    assert result.metrics.loc["holdout", "spearman"] > 0.3
    assert (result.model.predict(frame.head(100)) >= 0).all()


def test_optional_search_runs_its_trials(churn, binary_config):
    config = replace(
        binary_config, search=SearchConfig(enabled=True, n_trials=3, timeout_seconds=120)
    )
    result = train_binary_model(churn, "label", config)
    assert len(result.search_table) == 3
    assert result.model.params["num_leaves"] in set(result.search_table["params_num_leaves"])


def test_simulator_truth_columns_are_never_features(churn, binary_config):
    frame = churn.assign(oracle_churn_probability=0.5, true_segment="x")
    result = train_binary_model(frame, "label", binary_config)
    assert "oracle_churn_probability" not in result.model.feature_names
    assert "true_segment" not in result.model.feature_names


def test_leakage_canary_for_spend_catches_the_target_copy(churn, spend_config):
    frame = churn.assign(
        spend=churn["orders_90d"] * 10.0, spend_in_horizon_copy=lambda f: f["spend"]
    )
    with pytest.raises(LeakageError, match="spend_in_horizon_copy"):
        train_spend_model(frame.drop(columns="label"), "spend", spend_config)


def test_blend_keeps_a_second_part_only_when_it_measurably_helps():
    from crm_ml.models.train import _fit_blend

    rng = np.random.default_rng(0)
    signal, other = rng.normal(size=(2, 4_000))
    y = (rng.random(4_000) < 1 / (1 + np.exp(-(2 * signal + other)))).astype(float)
    noise = rng.normal(size=4_000)
    alone = _fit_blend({"trees": 2 * signal, "linear": noise}, y, seed=0)
    assert alone.trees > 0 and alone.linear == 0  # pure noise is left out
    both = _fit_blend({"trees": 2 * signal, "linear": other}, y, seed=0)
    assert both.trees > 0 and both.linear > 0  # a part carrying its own signal is kept
    flipped = _fit_blend({"trees": -signal, "linear": other}, y, seed=0)
    assert flipped.trees == 0 and flipped.linear > 0  # a part ranking backwards is dropped


def _rare(churn: pd.DataFrame, seed: int = 5) -> pd.DataFrame:
    """The churn frame with a rare label (about 3% positives), as contract churn has."""
    keep = np.random.default_rng(seed).random(len(churn)) < 0.08
    return churn.assign(label=churn["label"] & keep)


def test_cross_fit_rounds_come_from_the_train_rows_alone(churn, binary_config):
    """split.rounds "cross_fit": the validation rows only calibrate, so changing their labels
    leaves the trees as they were; early stopping ("stop") reads them and may not."""
    rare = _rare(churn)
    config = replace(binary_config, split=replace(binary_config.split, rounds="cross_fit"))
    result = train_binary_model(rare, "label", config)
    rows = result.rows
    assert not rows.stop.any()
    assert (rows.calibration == (rare["split"] == "validation").to_numpy()).all()
    assert "scale_pos_weight" not in result.model.booster.params  # the curve is a plain loss
    shuffled = rare.copy()
    validation = shuffled["split"] == "validation"
    flipped = np.random.default_rng(0).permutation(shuffled.loc[validation, "label"].to_numpy())
    shuffled.loc[validation, "label"] = flipped
    again = train_binary_model(shuffled, "label", config)
    assert again.model.best_iteration == result.model.best_iteration >= config.min_trees
    holdout = rare[rare["split"] == "holdout"]
    matrix = result.model.to_matrix(holdout)
    np.testing.assert_array_equal(again.model.tree_margin(matrix), result.model.tree_margin(matrix))
    assert result.metrics.loc["holdout", "roc_auc"] > 0.55  # ~100 positives to learn from
