"""A real local MLflow store shared by the tracking tests, and small stand-in models.

One store per session (creating the SQLite schema costs seconds); every test points MLflow
at it afresh and uses its own registered-model names, so tests stay independent. The
project's own ``experiments/`` folder is never touched.
"""

from __future__ import annotations

import re
from pathlib import Path

import lightgbm as lgb
import matplotlib
import mlflow
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from crm_ml.tracking import configure_tracking

matplotlib.use("Agg")


@pytest.fixture(scope="session")
def store_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tracking_store")
    configure_tracking(root)
    return root


@pytest.fixture(autouse=True)
def tracking_uri(store_root: Path, monkeypatch: pytest.MonkeyPatch):
    """Every test logs to the temporary store, whatever the environment says."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    previous = mlflow.get_tracking_uri()
    uri = configure_tracking(store_root)
    yield uri
    mlflow.set_tracking_uri(previous)


@pytest.fixture
def model_name(request: pytest.FixtureRequest) -> str:
    """A registered-model name unique to the test."""
    return "test-" + re.sub(r"[^0-9A-Za-z]+", "-", request.node.name).strip("-")


def customer_features(n: int = 300, seed: int = 7) -> tuple[pd.DataFrame, np.ndarray]:
    """Feature frame in the project's dtypes (nullable ints, categoricals, booleans) + label."""
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 365, n)
    frame = pd.DataFrame(
        {
            "days_since_last_order": pd.array(days, dtype="Int64"),
            "orders_90d": rng.poisson(2.0, n).astype("float64"),
            "region": pd.Categorical(rng.choice(["north", "south", "east"], n)),
            "has_app": pd.array(rng.random(n) > 0.5, dtype="boolean"),
        }
    )
    frame.loc[::17, "days_since_last_order"] = pd.NA
    frame.loc[::13, "has_app"] = pd.NA
    churned = (days + rng.normal(0, 60, n) > 200).astype(int)
    return frame, churned


class LogisticChurnModel:
    """Stand-in for a crm_ml.models model: sklearn logistic regression on encoded features."""

    def __init__(self, frame: pd.DataFrame, label: np.ndarray) -> None:
        self.feature_names = list(frame.columns)
        self.regions = list(frame["region"].cat.categories)
        self.estimator = LogisticRegression(max_iter=500).fit(self._matrix(frame), label)

    def _matrix(self, frame: pd.DataFrame) -> np.ndarray:
        numeric = frame[["days_since_last_order", "orders_90d", "has_app"]].astype("float64")
        dummies = [(frame["region"] == level).astype("float64") for level in self.regions]
        return pd.concat([numeric.fillna(0.0), *dummies], axis=1).to_numpy()

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.estimator.predict_proba(self._matrix(X[self.feature_names]))[:, 1]


class BoosterChurnModel:
    """Stand-in with a native categorical feature: needs the training categories back."""

    def __init__(self, frame: pd.DataFrame, label: np.ndarray) -> None:
        self.feature_names = list(frame.columns)
        params = {"objective": "binary", "verbose": -1, "seed": 1, "num_threads": 1}
        self.booster = lgb.train(params, lgb.Dataset(self._prepared(frame), label), 20)

    @staticmethod
    def _prepared(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.copy()
        for column in ("days_since_last_order", "has_app"):
            out[column] = out[column].astype("float64")
        return out

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.booster.predict(self._prepared(X[self.feature_names]))


@pytest.fixture(scope="session")
def churn_data() -> tuple[pd.DataFrame, np.ndarray]:
    return customer_features()


@pytest.fixture(scope="session")
def logistic_model(churn_data) -> LogisticChurnModel:
    return LogisticChurnModel(*churn_data)


@pytest.fixture(scope="session")
def booster_model(churn_data) -> BoosterChurnModel:
    return BoosterChurnModel(*churn_data)
