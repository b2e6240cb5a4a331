import logging

import numpy as np
import pandas as pd
import pytest

from crm_ml.models import (
    BgNbdBaseline,
    GroupRateBaseline,
    btyd_summary_from_orders,
    compare_to_baselines,
    default_baselines,
)
from crm_ml.models.baselines import btyd_inputs
from crm_ml.models.evaluation import roc_auc


def test_churn_comparison_has_model_and_each_baseline(churn, churn_result):
    comparison = compare_to_baselines(
        churn_result.model, churn, "label", default_baselines("churn"), task="binary"
    )
    table = comparison.table
    assert table["model"].tolist() == ["model", "recency_rule", "logistic_rfm", "bg_nbd"]
    assert {"roc_auc", "log_loss", "brier", "ece", "beaten_by_model"} <= set(table.columns)
    assert table["rows"].nunique() == 1  # same holdout rows for everybody
    assert table.loc[1:, "roc_auc"].notna().all()
    beaten = table.set_index("model")["beaten_by_model"]
    assert comparison.not_beaten == [n for n in beaten.index[1:] if not beaten[n]]
    assert beaten["recency_rule"]  # the mechanism needs more than recency


class _Constant:
    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return np.full(len(frame), 0.5)


def test_a_model_that_loses_is_reported_loudly(churn, caplog):
    with caplog.at_level(logging.WARNING):
        comparison = compare_to_baselines(
            _Constant(), churn, "label", default_baselines("churn")[:2]
        )
    assert comparison.not_beaten == ["recency_rule", "logistic_rfm"]
    assert "DOES NOT BEAT" in caplog.text and "recency_rule" in caplog.text


def test_bg_nbd_churn_probability_is_consistent_with_expected_purchases(churn):
    holdout = churn[churn["split"] == "holdout"]
    churn_probability = BgNbdBaseline(target="churn").predict(holdout)
    purchases = BgNbdBaseline(target="transactions").predict(holdout)
    assert ((churn_probability > 0) & (churn_probability < 1)).all()
    # E[N] >= P(N >= 1) for a count N
    assert (purchases >= (1 - churn_probability) - 1e-9).all()
    assert roc_auc(holdout["label"], churn_probability) > 0.55


def test_bg_nbd_gamma_gamma_spend_runs_per_cutoff(churn):
    baseline = BgNbdBaseline(target="spend")
    predicted = baseline.predict(churn)
    assert predicted.shape == (len(churn),) and (predicted >= 0).all()
    assert len(baseline.fitted) == 4 and "gg_p" in next(iter(baseline.fitted.values()))


def test_btyd_inputs_from_feature_columns():
    frame = pd.DataFrame(
        {
            "orders_lifetime": [3.0, 1.0, np.nan],
            "days_since_first_order": [21.0, 14.0, np.nan],
            "days_since_last_order": [7.0, 14.0, np.nan],
            "net_spend_lifetime": [30.0, 5.0, np.nan],
        }
    )
    inputs = btyd_inputs(frame, default_baselines("spend")[0].columns, time_unit_days=7)
    assert inputs["frequency"].tolist() == [2, 0, 0]
    assert inputs["recency"].tolist() == [2, 0, 0]
    assert inputs["T"].tolist() == pytest.approx([3, 2, 1 / 7])
    assert inputs["monetary_value"].tolist() == [10, 5, 0]


def test_btyd_summary_from_orders_ignores_rows_after_the_cutoff():
    day = pd.Timestamp("2024-01-01", tz="UTC")
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b"],
            "ts": [
                day,
                day + pd.Timedelta(days=7),
                day + pd.Timedelta(days=14),
                day + pd.Timedelta(days=30),
                day + pd.Timedelta(days=7),
            ],
            "amount": [10.0, 20.0, 40.0, 99.0, 5.0],
        }
    )
    summary = btyd_summary_from_orders(orders, day + pd.Timedelta(days=21))
    assert summary.loc["a", "frequency"] == 2
    assert summary.loc["a", "recency"] == pytest.approx(2.0)
    assert summary.loc["a", "T"] == pytest.approx(3.0)
    assert summary.loc["a", "monetary_value"] == pytest.approx(30.0)
    assert summary.loc["b", "frequency"] == 0


def test_group_rate_baseline_uses_training_rates_per_group():
    train = pd.DataFrame({"segment": ["x", "x", "y", "y"]})
    baseline = GroupRateBaseline(group_columns=("segment",)).fit(train, np.array([1, 1, 0, 1]))
    scored = baseline.predict(pd.DataFrame({"segment": ["y", "x", "z"]}))
    np.testing.assert_allclose(scored, [0.5, 1.0, 0.75])


def test_bg_nbd_period_forecast_adds_up_to_the_horizon_expectation(churn):
    holdout = churn[churn["split"] == "holdout"]
    baseline = BgNbdBaseline(target="transactions", horizon_days=13 * 7)
    weekly = baseline.forecast_by_period(holdout, 13)
    assert len(weekly) == 13 and (weekly > 0).all()
    # not exact here: this frame has no dropout, a few expectations use the approximation
    assert weekly.sum() == pytest.approx(baseline.predict(holdout).sum(), rel=0.01)
    with pytest.raises(ValueError, match="single cutoff"):
        baseline.forecast_by_period(churn, 13)
