import numpy as np
import pytest
from scipy.special import expit

from crm_ml.models.calibration import choose_calibrator
from crm_ml.models.evaluation import brier_score


def test_sigmoid_recovers_a_platt_distortion_and_is_chosen():
    rng = np.random.default_rng(0)
    margin = rng.normal(size=20_000)
    y = (rng.random(margin.size) < expit(2.0 * margin - 1.0)).astype(int)
    calibrator, table = choose_calibrator(margin, y)
    assert calibrator.method == "sigmoid"
    assert calibrator.slope == pytest.approx(2.0, abs=0.1)
    assert calibrator.intercept == pytest.approx(-1.0, abs=0.1)
    assert table["chosen"].sum() == 1


def test_isotonic_wins_on_a_step_shaped_truth():
    rng = np.random.default_rng(1)
    margin = rng.normal(size=20_000)
    truth = np.where(margin > 0.5, 0.9, 0.05)
    y = (rng.random(margin.size) < truth).astype(int)
    calibrator, _ = choose_calibrator(margin, y)
    assert calibrator.method == "isotonic"
    assert brier_score(y, calibrator.transform(margin)) < brier_score(y, expit(margin))


def test_spline_bends_where_the_log_odds_scale_is_not_straight():
    rng = np.random.default_rng(2)
    margin = rng.normal(size=20_000)
    # log-odds flat below 0, steep above: Platt cannot bend, a spline can
    truth = expit(np.where(margin > 0, 3.0 * margin, 0.2 * margin) - 1.5)
    y = (rng.random(margin.size) < truth).astype(int)
    calibrator, table = choose_calibrator(margin, y, ("sigmoid", "spline"))
    assert calibrator.method == "spline"
    sigmoid = table.set_index("method")["log_loss"]
    assert sigmoid["spline"] < sigmoid["sigmoid"]
    assert np.abs(calibrator.transform(margin) - truth).max() < 0.05
