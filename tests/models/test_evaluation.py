import math

import numpy as np
import pytest

from crm_ml.models import evaluation as ev

Y = np.array([0, 0, 1, 1])
SCORE = np.array([0.1, 0.4, 0.35, 0.8])


def test_roc_auc_counts_correctly_ordered_pairs():
    # pairs (positive, negative): 0.35>0.1, 0.35<0.4, 0.8>0.1, 0.8>0.4 -> 3/4
    assert ev.roc_auc(Y, SCORE) == pytest.approx(0.75)


def test_pr_auc_is_average_precision():
    # ranked: 0.8(+) 0.4(-) 0.35(+) 0.1(-): precision 1 at recall .5, 2/3 at recall 1
    assert ev.pr_auc(Y, SCORE) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)


def test_log_loss_and_brier_by_hand():
    assert ev.log_loss([1, 0], [0.8, 0.3]) == pytest.approx(-(math.log(0.8) + math.log(0.7)) / 2)
    assert ev.brier_score([1, 0], [0.8, 0.3]) == pytest.approx((0.04 + 0.09) / 2)


def test_reliability_table_and_ece_by_hand():
    y, p = [0, 0, 1, 1], [0.15, 0.15, 0.95, 0.75]
    table = ev.reliability_table(y, p, n_bins=10)
    assert table["count"].tolist() == [2, 1, 1]
    np.testing.assert_allclose(table["mean_predicted"], [0.15, 0.75, 0.95])
    np.testing.assert_allclose(table["observed_rate"], [0.0, 1.0, 1.0])
    # 0.5 * 0.15 + 0.25 * 0.25 + 0.25 * 0.05
    assert ev.expected_calibration_error(y, p) == pytest.approx(0.15)


def test_ece_is_zero_for_perfectly_calibrated_bins():
    y = np.r_[np.ones(3), np.zeros(7), np.ones(8), np.zeros(2)]
    p = np.r_[np.full(10, 0.3), np.full(10, 0.8)]
    assert ev.expected_calibration_error(y, p) == pytest.approx(0.0, abs=1e-12)


LABELS = np.array([1, 1, 0, 0, 1, 0, 0, 0, 0, 0])
SCORES = np.arange(10, 0, -1).astype(float)


def test_lift_table_by_hand():
    table = ev.lift_table(LABELS, SCORES, n_bins=5)
    assert table["positives"].tolist() == [2, 0, 1, 0, 0]
    np.testing.assert_allclose(table["lift"], [1 / 0.3, 0, 0.5 / 0.3, 0, 0])
    np.testing.assert_allclose(table["cumulative_gain"], [2 / 3, 2 / 3, 1, 1, 1])
    np.testing.assert_allclose(table["cumulative_lift"].iloc[-1], 1.0)


def test_top_decile_capture_by_hand():
    assert ev.top_decile_capture(LABELS, SCORES, 0.2) == pytest.approx(2 / 3)
    assert ev.top_decile_capture(LABELS, SCORES) == pytest.approx(1 / 3)


def test_expected_profit_of_contacting_top_k():
    config = ev.ProfitConfig(contact_cost=5, saved_customer_value=100, save_rate=0.25)
    assert ev.expected_profit_top_k(LABELS, SCORES, 2, config) == pytest.approx(2 * 25 - 10)
    assert ev.expected_profit_top_k(LABELS, SCORES, 5, config) == pytest.approx(3 * 25 - 25)
    curve = ev.profit_curve(LABELS, SCORES, config, steps=10)
    best = curve.loc[curve["best"]].iloc[0]
    # profits by k: 20, 40, 35, 30, 50, 45, 40, ... -> the best is k = 5
    assert best["k"] == 5 and best["profit"] == pytest.approx(50)


def test_spend_metrics_by_hand():
    y, pred = [1.0, 2.0, 3.0], [2.0, 2.0, 5.0]
    assert ev.mae(y, pred) == pytest.approx(1.0)
    assert ev.rmse(y, pred) == pytest.approx(math.sqrt(5 / 3))
    assert ev.spearman(y, pred) == pytest.approx(0.8660254)
    assert ev.spearman([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert ev.total_spend_error([10, 10], [15, 10]) == pytest.approx(0.25)


def test_decile_calibration_table_by_hand():
    table = ev.decile_calibration_table([0, 1, 5, 7], [1, 2, 6, 8], n_bins=2)
    assert table["mean_predicted"].tolist() == [7, 1.5]
    assert table["mean_actual"].tolist() == [6, 0.5]
    np.testing.assert_allclose(table["ratio"], [12 / 14, 1 / 3])


def test_gap_closure():
    assert ev.gap_closure(0.80, 0.70, 0.90) == pytest.approx(0.5)
    assert ev.gap_closure(0.90, 0.70, 0.90) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no gap"):
        ev.gap_closure(0.8, 0.7, 0.7)


def test_metric_bundles_and_shape_errors():
    metrics = ev.binary_metrics(Y, SCORE)
    assert metrics["roc_auc"] == pytest.approx(0.75)
    assert set(ev.spend_metrics([1, 2], [1, 2])) >= {"mae", "rmse", "spearman"}
    with pytest.raises(ValueError, match="same length"):
        ev.roc_auc([0, 1], [0.5])


def test_ece_noise_bound_is_what_a_calibrated_model_shows_on_that_many_rows():
    rng = np.random.default_rng(3)
    bounds = {}
    for n in (500, 5_000):
        p = rng.beta(2, 3, n)
        by_simulation = [ev.expected_calibration_error(rng.random(n) < p, p) for _ in range(300)]
        bounds[n] = ev.ece_noise_bound(p)
        assert bounds[n] == pytest.approx(np.quantile(by_simulation, 0.95), rel=0.15)
    assert bounds[500] > 2.5 * bounds[5_000]  # noise shrinks like 1/sqrt(n)
    assert bounds[500] > 0.03  # a fixed 0.02 would refuse a perfect model on 500 rows
