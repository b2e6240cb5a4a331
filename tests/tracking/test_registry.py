"""The quality gate against a real registry: who becomes champion, who is refused, and why."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient

from crm_ml.tracking import (
    CHALLENGER,
    CHAMPION,
    fingerprint_frame,
    log_model_run,
    promote_if_better,
    register_challenger,
)
from crm_ml.tracking.store import ensure_experiment


@pytest.fixture(scope="module")
def model_uri(store_root, logistic_model, churn_data) -> str:
    """One logged model; each version below is registered from it with its own metrics run."""
    frame, _ = churn_data
    run = log_model_run(
        "churn",
        logistic_model,
        params={},
        metrics={},
        input_example=frame,
        feature_names=logistic_model.feature_names,
        data_fingerprint=fingerprint_frame(frame),
    )
    return run.model_uri


def candidate(name: str, model_uri: str, **metrics: float) -> str:
    """Register a new version whose run holds ``metrics``; returns the version number."""
    with mlflow.start_run(experiment_id=ensure_experiment("churn")) as run:
        mlflow.log_metrics(metrics)
    return str(register_challenger(name, model_uri, run_id=run.info.run_id).version)


def aliases(name: str) -> dict[str, str]:
    registered = MlflowClient().get_registered_model(name)
    return {alias: str(version) for alias, version in registered.aliases.items()}


def gate(name: str, version: str, **overrides):
    settings = {"metric": "roc_auc", "higher_is_better": True, "tolerance": 0.005}
    return promote_if_better(name, version, **{**settings, **overrides})


def test_promotion_path(model_name, model_uri):
    first = candidate(model_name, model_uri, roc_auc=0.80, ece=0.010)
    assert aliases(model_name) == {CHALLENGER: first}
    decision = gate(model_name, first)
    assert decision.promoted and decision.champion_version is None
    assert aliases(model_name)[CHAMPION] == first

    better = candidate(model_name, model_uri, roc_auc=0.82, ece=0.015)
    assert aliases(model_name) == {CHALLENGER: better, CHAMPION: first}
    decision = gate(model_name, better)
    assert decision.promoted
    assert (decision.champion_version, decision.champion_value) == (first, pytest.approx(0.80))
    assert aliases(model_name)[CHAMPION] == better
    superseded = MlflowClient().get_model_version(model_name, first).tags
    assert superseded["crm_ml.superseded_by"] == better

    worse = candidate(model_name, model_uri, roc_auc=0.81, ece=0.010)
    decision = gate(model_name, worse)
    assert not decision.promoted
    assert "worse than the champion" in decision.reasons[0]
    assert aliases(model_name) == {CHALLENGER: worse, CHAMPION: better}

    within_tolerance = candidate(model_name, model_uri, roc_auc=0.816, ece=0.010)
    assert gate(model_name, within_tolerance).promoted
    assert aliases(model_name)[CHAMPION] == within_tolerance


def test_calibration_out_of_bound_is_refused(model_name, model_uri):
    first = candidate(model_name, model_uri, roc_auc=0.80, ece=0.010)
    gate(model_name, first)
    miscalibrated = candidate(model_name, model_uri, roc_auc=0.90, ece=0.031)
    decision = gate(model_name, miscalibrated)
    assert not decision.promoted
    assert "ece 0.0310 above bound 0.02" in decision.reasons
    assert aliases(model_name)[CHAMPION] == first


def test_first_model_needs_calibration_too(model_name, model_uri):
    uncalibrated = candidate(model_name, model_uri, roc_auc=0.95, ece=0.05)
    assert not gate(model_name, uncalibrated).promoted
    assert CHAMPION not in aliases(model_name)
    no_calibration_logged = candidate(model_name, model_uri, roc_auc=0.95)
    decision = gate(model_name, no_calibration_logged)
    assert not decision.promoted
    assert "no calibration metric 'ece'" in decision.reasons[-1]


def test_lower_is_better_without_calibration(model_name, model_uri):
    first = candidate(model_name, model_uri, mae=12.0)
    settings = {"metric": "mae", "higher_is_better": False, "calibration_metric": None}
    assert gate(model_name, first, tolerance=0.5, **settings).promoted
    assert not gate(
        model_name, candidate(model_name, model_uri, mae=12.6), tolerance=0.5, **settings
    ).promoted
    assert gate(
        model_name, candidate(model_name, model_uri, mae=11.0), tolerance=0.5, **settings
    ).promoted


def test_decision_is_logged_to_run_and_version(model_name, model_uri, tmp_path: Path):
    gate(model_name, candidate(model_name, model_uri, roc_auc=0.80, ece=0.01))
    refused = candidate(model_name, model_uri, roc_auc=0.70, ece=0.01)
    decision = gate(model_name, refused)
    client = MlflowClient()
    version = client.get_model_version(model_name, refused)
    run_tags = client.get_run(version.run_id).data.tags
    assert run_tags["crm_ml.gate.decision"] == "refused"
    assert "worse than the champion" in run_tags["crm_ml.gate.reasons"]
    assert version.tags["crm_ml.gate.decision"] == "refused"
    path = mlflow.artifacts.download_artifacts(
        run_id=version.run_id, artifact_path=f"gate/decision_v{refused}.json", dst_path=tmp_path
    )
    logged = json.loads(Path(path).read_text())
    assert logged == decision.to_dict()
    assert logged["challenger_value"] == pytest.approx(0.70)
    assert logged["champion_value"] == pytest.approx(0.80)
    assert logged["promoted"] is False


def test_negative_tolerance_is_an_error(model_name, model_uri):
    with pytest.raises(ValueError, match="tolerance"):
        gate(model_name, "1", tolerance=-0.1)


def scoped_candidate(name: str, model_uri: str, scope, **metrics: float) -> str:
    with mlflow.start_run(experiment_id=ensure_experiment("churn")) as run:
        mlflow.log_metrics(metrics)
    return str(
        register_challenger(name, model_uri, run_id=run.info.run_id, tags=scope.tags).version
    )


def test_a_champion_of_another_key_does_not_block_and_is_not_compared(model_name, model_uri):
    from crm_ml.tracking.scope import ModelScope

    old_key, new_key = ModelScope("folder:/x", "key-a"), ModelScope("folder:/x", "key-b")
    strong = scoped_candidate(model_name, model_uri, old_key, roc_auc=0.95, ece=0.01)
    assert gate(model_name, strong, scope=old_key).promoted
    weaker = scoped_candidate(model_name, model_uri, new_key, roc_auc=0.80, ece=0.01)
    # like with like: the old champion's pseudonyms are not this data's, so it is no yardstick
    decision = gate(model_name, weaker, scope=new_key)
    assert decision.promoted and decision.champion_version is None
    assert "not comparable" in decision.reasons[0] and "pseudonym key" in decision.reasons[0]
    assert aliases(model_name)[CHAMPION] == weaker
    # while a challenger of the same key is compared as always
    same_key = scoped_candidate(model_name, model_uri, new_key, roc_auc=0.70, ece=0.01)
    assert not gate(model_name, same_key, scope=new_key).promoted


def test_a_staged_decision_moves_nothing_until_applied_and_can_be_taken_back(model_name, model_uri):
    from crm_ml.tracking.registry import apply_promotion, restore_champion

    first = candidate(model_name, model_uri, roc_auc=0.80, ece=0.01)
    gate(model_name, first)
    second = candidate(model_name, model_uri, roc_auc=0.85, ece=0.01)
    decision = gate(model_name, second, apply=False)
    assert decision.promoted and decision.staged
    assert "once the run publishes" in decision.summary
    assert aliases(model_name)[CHAMPION] == first  # nothing moved yet
    tags = MlflowClient().get_model_version(model_name, second).tags
    assert tags["crm_ml.gate.decision"] == "staged"
    previous = apply_promotion(model_name, second)
    assert previous == first and aliases(model_name)[CHAMPION] == second
    restore_champion(model_name, previous)
    assert aliases(model_name)[CHAMPION] == first
    restore_champion(model_name, None)
    assert CHAMPION not in aliases(model_name)
