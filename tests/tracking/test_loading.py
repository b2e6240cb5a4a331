"""Loading the champion for scoring: same scores as in training, input checked first."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from crm_ml.tracking import (
    InputSchemaError,
    ModelNotFoundError,
    fingerprint_frame,
    load_champion,
    load_model,
    log_model_run,
    promote_if_better,
)

NAME = "test-loading-churn"


@pytest.fixture(scope="module")
def champion(store_root, booster_model, churn_data):
    frame, _ = churn_data
    run = log_model_run(
        "churn",
        booster_model,
        params={},
        metrics={"roc_auc": 0.8, "ece": 0.01},
        input_example=frame,
        feature_names=booster_model.feature_names,
        data_fingerprint=fingerprint_frame(frame),
        register_as=NAME,
    )
    promote_if_better(
        NAME, run.registered_version, metric="roc_auc", higher_is_better=True, tolerance=0
    )
    return load_champion(NAME)


def test_champion_scores_match_the_trained_model(champion, booster_model, churn_data):
    frame, _ = churn_data
    assert (champion.version, champion.alias) == ("1", "champion")
    expected = booster_model.predict(frame)
    np.testing.assert_allclose(champion.predict(frame), expected)
    # column order and plain (non-categorical, non-nullable) types do not matter
    plain = frame[frame.columns[::-1]].astype({"region": str, "orders_90d": "int64"})
    plain["has_app"] = plain["has_app"].astype(object)
    np.testing.assert_allclose(champion.predict(plain), expected)


def test_extra_columns_are_dropped_with_a_debug_log(champion, churn_data, caplog):
    frame, _ = churn_data
    with caplog.at_level(logging.DEBUG, logger="crm_ml.tracking.schema"):
        scores = champion.predict(frame.assign(customer_segment="x", score_date=1))
    assert len(scores) == len(frame)
    assert "customer_segment" in caplog.text and "score_date" in caplog.text


def test_missing_and_mistyped_columns_fail_with_one_clear_error(champion, churn_data):
    frame, _ = churn_data
    broken = frame.drop(columns=["days_since_last_order"]).assign(
        orders_90d=frame["orders_90d"].astype(str), region=frame["orders_90d"]
    )
    with pytest.raises(InputSchemaError) as caught:
        champion.predict(broken)
    assert str(caught.value) == (
        f"{NAME} champion (version 1): missing columns: days_since_last_order; "
        "wrong types: orders_90d expected double, got string, region expected string, got double"
    )


def test_load_by_version_and_alias(champion, churn_data):
    frame, _ = churn_data
    by_version = load_model(NAME, 1)
    assert by_version.label == f"{NAME} model (version 1)"
    challenger = load_model(NAME, "challenger")
    np.testing.assert_allclose(challenger.predict(frame), champion.predict(frame))


def test_missing_model_version_or_alias_is_a_clear_error(champion):
    with pytest.raises(ModelNotFoundError, match="no champion registered for model 'nothing'"):
        load_champion("nothing")
    with pytest.raises(ModelNotFoundError, match="has no version 99"):
        load_model(NAME, 99)
    with pytest.raises(ModelNotFoundError, match="no shadow registered"):
        load_model(NAME, "shadow")
