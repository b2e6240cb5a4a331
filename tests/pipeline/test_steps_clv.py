"""Notebook 05's step: the spend model against BG/NBD + Gamma-Gamma on the same holdout, and
the CDNOW benchmark (calibration weeks 1-39, holdout weeks 40-78)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crm_ml.models import BinaryModelConfig, LightGBMConfig
from crm_ml.pipeline.config import load_config
from crm_ml.pipeline.paths import RunPaths
from crm_ml.pipeline.steps.clv import (
    CDNOW_FEATURES,
    cdnow_features,
    cdnow_pseudo_snapshots,
    clv_12m_factor,
    run_cdnow_clv,
    run_clv,
    score_clv,
    typed_config,
)


@pytest.fixture
def synthetic_project(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The runner tests' project root, reading a small synthetic world instead."""
    (project / "configs" / "test.yaml").write_text(
        "name: test\ndata:\n  source: synthetic\n  synthetic:\n    customers: 1500\n"
        "models:\n  clv:\n    lightgbm: {num_threads: 1}\n"
    )
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return project


def _transactions(rows: list[tuple[str, float, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "week", "amount"])
    return frame.assign(
        day=pd.Timestamp("1997-01-01", tz="UTC") + pd.to_timedelta(frame["week"] * 7, unit="D"),
        cds=1.0,
    )


def test_cdnow_features_and_targets_respect_the_cutoff() -> None:
    tx = _transactions([("a", 1.0, 10.0), ("a", 5.0, 30.0), ("a", 20.0, 99.0), ("b", 2.0, 5.0)])
    features = cdnow_features(tx, cutoff_week=13)
    a = features.loc["a"]
    assert (a["frequency"], a["recency"], a["T"], a["spend"]) == (1.0, 4.0, 12.0, 40.0)
    assert a["weeks_since_last"] == 8.0 and a["transactions_8w"] == 1.0
    assert list(features.columns) == list(CDNOW_FEATURES)
    snapshots = cdnow_pseudo_snapshots(tx, (13,), end_week=39)
    target = snapshots.set_index("customer_id")["target"]
    assert target.to_dict() == {"a": 1.0, "b": 0.0}  # week 20 is after the pseudo cutoff


def test_trainer_settings_from_yaml_become_typed() -> None:
    settings = typed_config(
        BinaryModelConfig, {"lightgbm": {"num_threads": 1}, "calibration_methods": ["sigmoid"]}
    )
    assert settings.lightgbm == LightGBMConfig(num_threads=1)
    assert settings.calibration_methods == ("sigmoid",)


@pytest.mark.slow
def test_cdnow_benchmark_on_the_sample() -> None:
    outcome = run_cdnow_clv(sample=True)
    assert outcome.customers == 2357
    assert len(outcome.predictions) == 2357
    table = outcome.table.set_index("model")
    assert {"lightgbm", "bg_nbd", "pareto_nbd", "no_purchase"} <= set(table.index)
    lightgbm, bgnbd = outcome.mae_of("lightgbm"), outcome.mae_of("bg_nbd")
    # measured on the sample: LightGBM 0.697, BG/NBD 0.795 (no purchase at all: 0.798)
    assert lightgbm <= bgnbd * 1.05, table
    assert lightgbm < table.loc["no_purchase", "mae"], "the model must beat predicting zeros"
    actual = outcome.predictions["actual"]
    assert actual.sum() == 1882  # repeat purchase days in weeks 40-78 (Fader et al. 2005)
    weekly = outcome.weekly
    assert weekly["week"].tolist() == list(range(40, 79))
    assert weekly["actual"].sum() == actual.sum()
    for btyd in ("bg_nbd", "pareto_nbd"):
        predicted = outcome.predictions[btyd].sum()
        assert table.loc[btyd, "total_error"] == pytest.approx(predicted / actual.sum() - 1)
        assert abs(table.loc[btyd, "total_error"]) < 0.15, btyd
        # the weekly forecast fits with the default small penalty, the table without one
        assert weekly[btyd].sum() == pytest.approx(predicted, rel=0.1), btyd


@pytest.mark.slow
def test_clv_against_bgnbd_gamma_gamma_on_a_small_synthetic_world(
    synthetic_project: Path,
) -> None:
    config = load_config(synthetic_project / "configs" / "test.yaml")
    paths = RunPaths.for_run("clv-test").ensure()
    outcome = run_clv(paths, config)
    table = outcome.comparison.set_index("model")
    assert list(table.columns[:4]) == ["mae", "rmse", "spearman", "total_spend_error"]
    assert list(table.index) == ["model", "bg_nbd_gamma_gamma", "pareto_nbd_gamma_gamma"]
    for btyd in ("bg_nbd_gamma_gamma", "pareto_nbd_gamma_gamma"):
        assert table.loc["model", "mae"] < table.loc[btyd, "mae"], table
    assert outcome.not_beaten == []
    deciles = outcome.deciles
    held = outcome.holdout_clv
    assert deciles["count"].sum() == len(held)
    assert deciles["sum_predicted"].sum() == pytest.approx(held["predicted_spend"].sum())
    # decile 1 holds the highest predictions and the highest actual spend
    assert deciles["mean_actual"].iloc[0] == deciles["mean_actual"].max()
    assert outcome.decision is not None and outcome.decision.promoted
    assert set(outcome.figures) == {"clv_distribution", "clv_calibration", "clv_uncertainty"}
    # about 350 spenders in the holdout: the binomial spread of the coverage is 0.02
    assert 0.72 <= outcome.result.metrics.loc["holdout", "interval_coverage"] <= 0.88
    uncertainty = outcome.uncertainty
    assert uncertainty["rows"].sum() == len(held)
    # decile 1 (highest predicted spend) is the most likely to spend, and is
    assert uncertainty["p_spend"].iloc[0] == uncertainty["p_spend"].max()
    assert uncertainty["spent_share"].iloc[0] > uncertainty["spent_share"].iloc[-1]

    current = pd.read_parquet(paths.features / "training_spend.parquet")
    current = current[current["split"].astype(str) == "holdout"]
    clv = score_clv(outcome.result.model, current, config.horizon_days)
    assert clv.name == "clv_12m" and clv.index.name == "customer_id"
    np.testing.assert_allclose(clv.to_numpy(), held["clv_12m"].to_numpy())
    assert clv_12m_factor(90) == 4.0  # the factor the scoring layer applies
