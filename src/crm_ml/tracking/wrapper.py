"""Any crm-ml model as an MLflow pyfunc model.

crm-ml models are plain picklable objects with ``predict(X: DataFrame) -> np.ndarray`` and
``feature_names``. MLflow hands a pyfunc model its input in signature form (numbers as
float64, text as Python strings, timestamps naive UTC); the wrapper puts back the dtypes
the model was trained on (categoricals with their training levels, nullable integers,
time zones) so the model sees scoring data exactly as it saw training data.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import mlflow.pyfunc
import numpy as np
import pandas as pd

log = logging.getLogger(__name__)


class FeatureModel(Protocol):
    """What the tracking layer needs from a model."""

    feature_names: list[str]

    def predict(self, X: pd.DataFrame) -> np.ndarray: ...


class CrmPyfuncModel(mlflow.pyfunc.PythonModel):
    """Pyfunc adapter: selects the features, restores training dtypes, calls ``predict``."""

    def __init__(self, model: FeatureModel, training_dtypes: dict[str, Any]) -> None:
        self.model = model
        self.feature_names = list(training_dtypes)
        self.training_dtypes = training_dtypes

    # The pd.DataFrame hint tells MLflow to validate input against the logged signature,
    # not against the type hint.
    def predict(self, context, model_input: pd.DataFrame, params=None) -> np.ndarray:
        """Scores of ``model_input`` (a frame in signature form) as a 1-D or 2-D array."""
        frame = restore_dtypes(model_input[self.feature_names], self.training_dtypes)
        return np.asarray(self.model.predict(frame))


def restore_dtypes(frame: pd.DataFrame, dtypes: dict[str, Any]) -> pd.DataFrame:
    """Cast columns back to their training dtypes where the values allow it."""
    restored = {}
    for column, dtype in dtypes.items():
        series = frame[column]
        try:
            restored[column] = _cast(series, dtype)
        except (TypeError, ValueError) as error:
            # e.g. int64 training column, NaN at scoring: keep float64, models accept it.
            log.debug(
                "keeping %s as %s (cannot restore %s: %s)", column, series.dtype, dtype, error
            )
            restored[column] = series
    return pd.DataFrame(restored, index=frame.index)


def _cast(series: pd.Series, dtype: Any) -> pd.Series:
    if series.dtype == dtype:
        return series
    if isinstance(dtype, pd.DatetimeTZDtype):
        timestamps = pd.to_datetime(series)
        if timestamps.dt.tz is None:
            return timestamps.dt.tz_localize("UTC").dt.tz_convert(dtype.tz)
        return timestamps.dt.tz_convert(dtype.tz)
    return series.astype(dtype)
