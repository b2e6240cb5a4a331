"""A logged run holds everything promised, read back from a real local MLflow store."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import matplotlib.pyplot as plt
import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from crm_ml.tracking import (
    PersonalDataError,
    experiment_name,
    fingerprint_frame,
    log_model_run,
    runs,
)


@pytest.fixture(scope="module")
def logged(store_root, logistic_model, churn_data):
    """One run logged once for the read-back tests of this module."""
    frame, _ = churn_data
    figure, axes = plt.subplots()
    axes.plot([0, 1], [0, 1])
    baselines = pd.DataFrame(
        {"model": ["lightgbm", "recency rule"], "roc_auc": [0.81, 0.70], "brier": [0.1, np.nan]}
    )
    run = log_model_run(
        "churn",
        logistic_model,
        params={"learning_rate": 0.05, "calibration": {"method": "isotonic"}},
        metrics={"holdout_roc_auc": 0.81, "ece": 0.012},
        input_example=frame.assign(label=1),
        baseline_table=baselines,
        figures={"roc": figure, "calibration curve": figure},
        feature_names=logistic_model.feature_names,
        data_fingerprint=fingerprint_frame(frame),
        tags={"cutoff": "2024-06-30"},
        run_name="unit",
    )
    plt.close(figure)
    return run, fingerprint_frame(frame)


def test_params_metrics_and_tags_round_trip(logged):
    run_info, fingerprint = logged
    run = MlflowClient().get_run(run_info.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["learning_rate"] == "0.05"
    assert run.data.params["calibration.method"] == "isotonic"
    assert run.data.params["n_features"] == "4"
    assert run.data.metrics["holdout_roc_auc"] == pytest.approx(0.81)
    assert run.data.metrics["baseline.recency rule.roc_auc"] == pytest.approx(0.70)
    assert "baseline.recency rule.brier" not in run.data.metrics  # NaN is not a metric
    assert run.data.tags["crm_ml.data_fingerprint"] == fingerprint
    assert run.data.tags["crm_ml.family"] == "churn"
    assert run.data.tags["cutoff"] == "2024-06-30"
    assert run_info.experiment_name == experiment_name("churn") == "crm-ml/churn"


def test_artifacts_present(logged, tmp_path: Path):
    run_info, _ = logged
    folder = Path(mlflow.artifacts.download_artifacts(run_id=run_info.run_id, dst_path=tmp_path))
    assert (folder / "plots" / "roc.png").read_bytes()[:4] == b"\x89PNG"
    assert (folder / "plots" / "calibration curve.png").exists()
    table = pd.read_csv(folder / "baselines" / "baseline_table.csv")
    assert table["model"].tolist() == ["lightgbm", "recency rule"]
    rows = json.loads((folder / "baselines" / "baseline_table.json").read_text())["rows"]
    assert rows[1]["roc_auc"] == pytest.approx(0.70)
    features = json.loads((folder / "features" / "feature_names.json").read_text())
    assert features["feature_names"] == ["days_since_last_order", "orders_90d", "region", "has_app"]


def test_model_has_signature_and_small_feature_only_example(logged, logistic_model):
    run_info, _ = logged
    model = mlflow.pyfunc.load_model(run_info.model_uri)
    inputs = {spec.name: spec.type.name for spec in model.metadata.get_input_schema().inputs}
    assert inputs == {
        "days_since_last_order": "double",
        "orders_90d": "double",
        "region": "string",
        "has_app": "boolean",
    }
    assert model.metadata.get_output_schema() is not None
    example = model.input_example
    assert list(example.columns) == logistic_model.feature_names  # label column dropped
    assert len(example) == 5
    assert model.metadata.run_id == run_info.run_id
    assert MlflowClient().get_logged_model(run_info.model_id).source_run_id == run_info.run_id


def test_personal_data_refused_before_anything_is_logged(logistic_model, churn_data):
    frame, _ = churn_data
    experiment = mlflow.get_experiment_by_name("crm-ml/churn")
    runs_before = len(mlflow.search_runs([experiment.experiment_id])) if experiment else 0
    with_ids = frame.assign(customer_id=[f"C{i:05d}" for i in range(len(frame))])
    common = {
        "params": {},
        "metrics": {},
        "data_fingerprint": "x",
        "input_example": with_ids,
    }
    with pytest.raises(PersonalDataError, match="customer_id"):
        log_model_run(
            "churn",
            _AnyFeatures(logistic_model, [*logistic_model.feature_names, "customer_id"]),
            feature_names=[*logistic_model.feature_names, "customer_id"],
            **common,
        )
    with pytest.raises(PersonalDataError, match="baseline table"):
        log_model_run(
            "churn",
            logistic_model,
            feature_names=logistic_model.feature_names,
            baseline_table=pd.DataFrame({"model": ["x"], "email": ["a@b.io"]}),
            **common,
        )
    experiment = mlflow.get_experiment_by_name("crm-ml/churn")
    runs_after = len(mlflow.search_runs([experiment.experiment_id])) if experiment else 0
    assert runs_after == runs_before


def test_feature_list_must_match_the_model(logistic_model, churn_data):
    frame, _ = churn_data
    with pytest.raises(ValueError, match="differ from the model"):
        log_model_run(
            "churn",
            logistic_model,
            params={},
            metrics={},
            input_example=frame,
            feature_names=logistic_model.feature_names[:2],
            data_fingerprint="x",
        )


def test_unknown_family_is_refused(logistic_model, churn_data):
    with pytest.raises(ValueError, match="unknown model family 'chrun'"):
        log_model_run(
            "chrun",
            logistic_model,
            params={},
            metrics={},
            input_example=churn_data[0],
            feature_names=logistic_model.feature_names,
            data_fingerprint="x",
        )


class _AnyFeatures:
    """A model claiming extra features (to reach the personal-data check)."""

    def __init__(self, model, feature_names):
        self.model, self.feature_names = model, feature_names

    def predict(self, X):
        return self.model.predict(X)


def test_baseline_csv_neutralises_formulas_in_its_labels(monkeypatch: pytest.MonkeyPatch):
    """A row label can be a data value (a category); the CSV artifact is opened in a
    spreadsheet, so it must not start like a formula. JSON and metrics keep the raw label."""
    logged: dict[str, object] = {}
    monkeypatch.setattr(runs.mlflow, "log_text", lambda text, name: logged.update({name: text}))
    monkeypatch.setattr(runs.mlflow, "log_dict", lambda data, name: logged.update({name: data}))
    monkeypatch.setattr(runs.mlflow, "log_metrics", lambda values: logged.update(metrics=values))
    table = pd.DataFrame({"model": ["=HYPERLINK(1)", "+SUM(1,2)"], "roc_auc": [0.8, -0.1]})
    runs._log_baselines(table)
    header, *rows = list(csv.reader(io.StringIO(logged["baselines/baseline_table.csv"])))
    assert header == ["model", "roc_auc"]
    assert rows == [["'=HYPERLINK(1)", "0.8"], ["'+SUM(1,2)", "-0.1"]]
    json_rows = logged["baselines/baseline_table.json"]["rows"]
    assert [row["model"] for row in json_rows] == ["=HYPERLINK(1)", "+SUM(1,2)"]
