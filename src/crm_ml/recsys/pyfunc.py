"""The recommender as an MLflow pyfunc, and one call to log a run (params, metrics, model).

The pyfunc returns rule-abiding top-k lists for a list of customer ids; by default it applies
the export rules (no customer without marketing consent). `log_recommender` only logs and
returns the run: promotion (champion/challenger) is the tracking layer's job.

Example::

    info = log_recommender(engine, comparison, experiment="recsys")
    model = mlflow.pyfunc.load_model(info.model_uri)
    model.predict(pd.DataFrame({"customer_id": ids}), params={"k": 10})
"""

from __future__ import annotations

import logging
import re
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

from crm_ml.recsys.recommend import OUTPUT_COLUMNS, RecommendationEngine

log = logging.getLogger(__name__)

ENGINE_ARTIFACT = "engine"


class RecommenderPyfunc(mlflow.pyfunc.PythonModel):
    """MLflow model: customer ids in, filtered top-k recommendations out.

    Input: a frame with a `customer_id` column (or a list of ids). Params: `k` (list length)
    and `export` (apply the consent rule; default True).
    """

    def load_context(self, context) -> None:
        self.engine = RecommendationEngine.load(context.artifacts[ENGINE_ARTIFACT])

    def predict(
        self, context, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        params = params or {}
        if isinstance(model_input, pd.DataFrame):
            if "customer_id" not in model_input.columns:
                raise ValueError("recommender input needs a 'customer_id' column")
            ids = model_input["customer_id"]
        else:
            ids = pd.Series(list(model_input))
        k = int(params.get("k") or self.engine.config.k)
        recs = self.engine.recommend(ids.astype(str), k=k, export=bool(params.get("export", True)))
        return recs.astype({"customer_id": str, "product_id": str, "category": str, "source": str})


def signature(default_k: int) -> ModelSignature:
    """Input/output schema without example rows (no customer ids in MLflow artifacts)."""
    return ModelSignature(
        inputs=Schema([ColSpec("string", "customer_id")]),
        outputs=Schema(
            [
                ColSpec("string", "customer_id"),
                ColSpec("integer", "rank"),
                ColSpec("string", "product_id"),
                ColSpec("string", "category"),
                ColSpec("float", "score"),
                ColSpec("string", "source"),
            ]
        ),
        params=ParamSchema(
            [ParamSpec("k", "long", default_k), ParamSpec("export", "boolean", True)]
        ),
    )


def _flatten(prefix: str, value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, inner in value.items():
            out.update(_flatten(f"{prefix}.{key}" if prefix else str(key), inner))
        return out
    return {prefix: value}


def metric_name(recommender: str, metric: str) -> str:
    """MLflow-safe metric name: 'served:als' + 'recall@10' -> 'served_als.recall_at_10'."""
    raw = f"{recommender}.{metric.replace('@', '_at_')}"
    return re.sub(r"[^0-9A-Za-z_\-. /]", "_", raw)


@dataclass(frozen=True)
class LoggedRecommender:
    run_id: str
    model_uri: str


def log_recommender(
    engine: RecommendationEngine,
    comparison: pd.DataFrame | None = None,
    experiment: str = "recsys",
    run_name: str | None = None,
    extra_params: Mapping[str, Any] | None = None,
    experiment_id: str | None = None,
) -> LoggedRecommender:
    """Log config, data shape, the comparison table and the pyfunc model in one MLflow run.

    The tracking URI is whatever the caller configured (`mlflow.set_tracking_uri`); the
    pipeline passes the project's `experiment_id` (crm_ml.tracking.store.ensure_experiment).
    """
    if experiment_id is not None:
        mlflow.set_experiment(experiment_id=experiment_id)
    else:
        mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name=run_name) as run, tempfile.TemporaryDirectory() as tmp:
        params = _flatten("", engine.config.model_dump())
        params.update(
            {
                "data.cutoff": engine.data.cutoff.isoformat(),
                "data.n_customers": engine.data.n_users,
                "data.n_products": engine.data.catalogue.n_items,
                "data.n_interactions": engine.data.user_items.nnz,
                **(extra_params or {}),
            }
        )
        mlflow.log_params(params)
        if comparison is not None:
            metrics = {
                metric_name(str(name), str(col)): float(value)
                for name, row in comparison.iterrows()
                for col, value in row.items()
                if pd.notna(value)
            }
            mlflow.log_metrics(metrics)
            mlflow.log_table(comparison.reset_index(), artifact_file="comparison.json")
        engine_path = engine.save(Path(tmp) / "engine.pkl")
        with warnings.catch_warnings():
            # no input example on purpose: it would put customer ids into the artifacts
            warnings.filterwarnings("ignore", message=".*input example was not provided.*")
            info = mlflow.pyfunc.log_model(
                name="recommender",
                python_model=RecommenderPyfunc(),
                artifacts={ENGINE_ARTIFACT: str(engine_path)},
                signature=signature(engine.config.k),
            )
        log.info("logged recommender run %s", run.info.run_id)
        return LoggedRecommender(run.info.run_id, info.model_uri)


__all__ = ["OUTPUT_COLUMNS", "LoggedRecommender", "RecommenderPyfunc", "log_recommender"]
