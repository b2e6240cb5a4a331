"""MLflow: the logged pyfunc returns rule-abiding top-k for a list of customer ids."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest

from crm_ml.recsys.config import ModelConfig, RecsysConfig
from crm_ml.recsys.pyfunc import log_recommender, metric_name
from crm_ml.recsys.recommend import fit_engine

from .conftest import CUTOFF


def test_metric_names_are_mlflow_safe():
    assert metric_name("served:als", "recall@10") == "served_als.recall_at_10"


@pytest.mark.slow
def test_log_and_load_round_trip(world, tmp_path):
    tables, _ = world
    engine = fit_engine(tables, CUTOFF, RecsysConfig(model=ModelConfig(factors=8, iterations=3)))
    comparison = pd.DataFrame({"recall@10": [0.2, 0.1]}, index=["als", "popular"])
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    try:
        logged = log_recommender(engine, comparison, experiment="recsys-test")
        run = mlflow.get_run(logged.run_id)
        assert run.data.metrics["als.recall_at_10"] == pytest.approx(0.2)
        assert run.data.params["model.name"] == "als"
        model = mlflow.pyfunc.load_model(logged.model_uri)
    finally:
        mlflow.set_tracking_uri(None)
    customers = tables["customers"]
    refused = customers.loc[~customers["marketing_consent"].astype(bool), "customer_id"].iloc[0]
    ids = ["c00001", str(refused)]
    out = model.predict(pd.DataFrame({"customer_id": ids}), params={"k": 5})
    expected = engine.recommend(ids, k=5, export=True)
    assert out["customer_id"].tolist() == expected["customer_id"].astype(str).tolist()
    assert str(refused) not in set(out["customer_id"])
    assert out["product_id"].tolist() == expected["product_id"].astype(str).tolist()
    analytics = model.predict(pd.DataFrame({"customer_id": ids}), params={"k": 5, "export": False})
    assert str(refused) in set(analytics["customer_id"])
