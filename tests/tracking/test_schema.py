"""Signature kinds, the conversion MLflow needs, and the one-message input check."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from crm_ml.tracking import InputSchemaError
from crm_ml.tracking.schema import (
    feature_kinds,
    to_signature_frame,
    validate_input,
)
from crm_ml.tracking.wrapper import restore_dtypes


@pytest.fixture
def training() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "orders_90d": pd.array([3, None, 1], dtype="Int64"),
            "spend": [10.5, np.nan, 0.0],
            "region": pd.Categorical(["north", None, "south"], categories=["north", "south"]),
            "has_app": pd.array([True, None, False], dtype="boolean"),
            "signup_ts": pd.to_datetime(["2024-01-01", None, "2024-03-01"], utc=True),
            "plan": pd.array(["a", "b", None], dtype="string[pyarrow]"),
        }
    )


def test_kinds_of_project_dtypes(training):
    assert feature_kinds(training) == {
        "orders_90d": "double",
        "spend": "double",
        "region": "string",
        "has_app": "boolean",
        "signup_ts": "datetime",
        "plan": "string",
    }


def test_unsupported_column_is_refused_by_name():
    frame = pd.DataFrame({"gap": pd.to_timedelta([1, 2], unit="D"), "x": [1.0, 2.0]})
    with pytest.raises(TypeError, match=r"gap \(timedelta64\[[mun]?s\]\)"):  # ns, pandas 3: us
        feature_kinds(frame)


def test_conversion_round_trip_restores_training_dtypes(training):
    converted = to_signature_frame(training, feature_kinds(training))
    assert converted["orders_90d"].dtype == "float64"
    assert converted["has_app"].tolist() == [True, None, False]
    assert converted["region"].tolist() == ["north", None, "south"]
    assert converted["signup_ts"].dt.tz is None
    restored = restore_dtypes(converted, dict(training.dtypes.items()))
    pd.testing.assert_frame_equal(restored, training)


def test_unknown_category_at_scoring_becomes_missing(training):
    converted = to_signature_frame(training, feature_kinds(training))
    converted.loc[0, "region"] = "west"
    restored = restore_dtypes(converted, dict(training.dtypes.items()))
    assert restored["region"].isna().tolist() == [True, True, False]
    assert list(restored["region"].cat.categories) == ["north", "south"]


def test_all_missing_and_mistyped_columns_in_one_message(training):
    kinds = feature_kinds(training)
    scoring = training.drop(columns=["spend", "signup_ts"]).assign(
        orders_90d=["1", "2", "3"], has_app=[1.5, 2.0, 0.0]
    )
    with pytest.raises(InputSchemaError) as caught:
        validate_input(scoring, kinds, "churn champion (version 3)")
    assert str(caught.value) == (
        "churn champion (version 3): missing columns: spend, signup_ts; wrong types: "
        "orders_90d expected double, got string, has_app expected boolean, got double"
    )
    assert caught.value.missing == ["spend", "signup_ts"]


def test_compatible_types_and_extras_pass(training, caplog):
    kinds = feature_kinds(training)
    scoring = training.assign(
        orders_90d=np.array([1, 2, 3], dtype="int64"),  # ints for a double column
        spend=[None, None, None],  # all missing: fits any kind
        region=["north", "south", "north"],  # plain strings for a categorical
        extra=1,
    )
    with caplog.at_level(logging.DEBUG, logger="crm_ml.tracking.schema"):
        check = validate_input(scoring, kinds, "m")
    assert check.extra == ["extra"]
    assert "extra" in caplog.text
