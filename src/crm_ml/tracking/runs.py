"""Log one training run: everything needed to judge, reproduce and deploy the model.

A run holds the parameters, the holdout metrics, the baseline comparison (as a table and as
metrics, so runs can be sorted by them), the plots, the feature list, the fingerprint of
the training data, and the model itself as a pyfunc with its signature and a small input
example. Nothing personal is written: see :mod:`crm_ml.tracking.personal_data`.
"""

from __future__ import annotations

import importlib.metadata
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import mlflow
import pandas as pd
from matplotlib.figure import Figure
from mlflow.models import infer_signature

import crm_ml
from crm_ml.csv_safety import to_spreadsheet_csv
from crm_ml.tracking.personal_data import check_no_personal_data, check_no_personal_names
from crm_ml.tracking.registry import register_challenger
from crm_ml.tracking.schema import feature_kinds, to_signature_frame
from crm_ml.tracking.store import ensure_experiment, experiment_name
from crm_ml.tracking.wrapper import CrmPyfuncModel, FeatureModel

log = logging.getLogger(__name__)

MODEL_NAME = "model"
FINGERPRINT_TAG = "crm_ml.data_fingerprint"
FAMILY_TAG = "crm_ml.family"
# Libraries a crm-ml model needs at load time; pinned to the versions it was trained with.
# Listed explicitly because MLflow's inference of requirements re-imports the model in a
# subprocess, which costs seconds per run.
_RUNTIME_PACKAGES = ("mlflow", "cloudpickle", "numpy", "pandas", "pyarrow", "scikit-learn")
_MODEL_PACKAGES = ("lightgbm", "lifetimes", "implicit")
_PARAM_LIMIT = 6000  # MLflow's maximum parameter value length
_UNSAFE_KEY = re.compile(r"[^0-9A-Za-z_\-. /]")


@dataclass(frozen=True)
class RunInfo:
    """Where a logged run and its model live."""

    run_id: str
    experiment_id: str
    experiment_name: str
    model_uri: str
    model_id: str | None
    registered_name: str | None = None
    registered_version: str | None = None


def log_model_run(
    family: str,
    model: FeatureModel,
    *,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    input_example: pd.DataFrame,
    baseline_table: pd.DataFrame | None = None,
    figures: Mapping[str, Figure] | None = None,
    feature_names: list[str],
    data_fingerprint: str,
    tags: Mapping[str, str] | None = None,
    register_as: str | None = None,
    run_name: str | None = None,
    allow_pseudonymised_ids: bool = False,
    example_rows: int = 5,
) -> RunInfo:
    """Log a trained model and its evaluation to the family's experiment.

    ``input_example`` is cut to ``feature_names`` and its first ``example_rows`` rows
    before anything is written; the signature is inferred from it and the model's output
    on it. ``baseline_table`` has one row per model/baseline (labelled by its index or its
    first text column) and one numeric column per metric. ``register_as`` registers the
    model under that name with alias ``challenger``; ``tags`` go to the run and the model
    version (e.g. the `crm_ml.tracking.scope` tags). Raises ``PersonalDataError`` if
    anything to be logged holds personal data.
    """
    experiment = experiment_name(family)
    example, kinds = _checked_example(
        model, input_example, feature_names, allow_pseudonymised_ids, example_rows
    )
    if baseline_table is not None:
        check_no_personal_data(
            baseline_table.reset_index(),
            "baseline table",
            allow_pseudonymised_ids=allow_pseudonymised_ids,
        )
    wrapper = CrmPyfuncModel(model, dict(example.dtypes.items()))
    signature_example = to_signature_frame(example, kinds)
    signature = infer_signature(signature_example, wrapper.predict(None, signature_example))

    experiment_id = ensure_experiment(family)
    run_tags = {
        **(tags or {}),
        FAMILY_TAG: family,
        FINGERPRINT_TAG: data_fingerprint,
        "crm_ml.version": crm_ml.__version__,
    }
    nested = mlflow.active_run() is not None
    with mlflow.start_run(
        experiment_id=experiment_id, run_name=run_name, tags=run_tags, nested=nested
    ) as run:
        run_id = run.info.run_id
        mlflow.log_params(
            {
                **_flatten(params),
                "data_fingerprint": data_fingerprint,
                "n_features": len(feature_names),
            }
        )
        mlflow.log_metrics({key: float(value) for key, value in metrics.items()})
        if baseline_table is not None:
            _log_baselines(baseline_table)
        for name, figure in (figures or {}).items():
            mlflow.log_figure(figure, f"plots/{_safe_key(name)}.png")
        mlflow.log_dict(
            {"feature_names": list(feature_names), "kinds": kinds}, "features/feature_names.json"
        )
        model_info = mlflow.pyfunc.log_model(
            name=MODEL_NAME,
            python_model=wrapper,
            signature=signature,
            input_example=signature_example,
            pip_requirements=_pinned_requirements(),
            metadata={"crm_ml_family": family, "data_fingerprint": data_fingerprint},
        )
    log.info("logged %s run %s (model %s)", family, run_id, model_info.model_id)

    version = None
    if register_as is not None:
        version = register_challenger(
            register_as,
            model_info.model_uri,
            run_id=run_id,
            model_id=model_info.model_id,
            tags={**(tags or {}), FAMILY_TAG: family, FINGERPRINT_TAG: data_fingerprint},
        ).version
    return RunInfo(
        run_id=run_id,
        experiment_id=experiment_id,
        experiment_name=experiment,
        model_uri=model_info.model_uri,
        model_id=model_info.model_id,
        registered_name=register_as,
        registered_version=None if version is None else str(version),
    )


def _checked_example(
    model: FeatureModel,
    input_example: pd.DataFrame,
    feature_names: list[str],
    allow_pseudonymised_ids: bool,
    example_rows: int,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The example cut to the features, after the consistency and personal-data checks."""
    if not feature_names or len(set(feature_names)) != len(feature_names):
        raise ValueError("feature_names must be a non-empty list without duplicates")
    model_features = getattr(model, "feature_names", None)
    if model_features is not None and list(model_features) != list(feature_names):
        raise ValueError(
            "feature_names differ from the model's own feature_names: "
            f"{sorted(set(feature_names) ^ set(model_features))} (or a different order)"
        )
    missing = [name for name in feature_names if name not in input_example.columns]
    if missing:
        raise ValueError(f"input example lacks feature column(s): {', '.join(missing)}")
    check_no_personal_names(
        feature_names, "feature list", allow_pseudonymised_ids=allow_pseudonymised_ids
    )
    example = input_example.loc[:, feature_names].head(example_rows)
    check_no_personal_data(
        example, "input example", allow_pseudonymised_ids=allow_pseudonymised_ids
    )
    return example, feature_kinds(example)


def _log_baselines(table: pd.DataFrame) -> None:
    """The comparison table as CSV and JSON artifacts and as ``baseline.<row>.<metric>``.

    The CSV is for opening in a spreadsheet, and its row labels and text columns may hold
    data values (a category as a row label), so they are formula-neutralised there."""
    labelled = _label_rows(table)
    mlflow.log_text(to_spreadsheet_csv(labelled) or "", "baselines/baseline_table.csv")
    mlflow.log_dict(
        {"rows": labelled.reset_index().to_dict(orient="records")}, "baselines/baseline_table.json"
    )
    numeric = labelled.select_dtypes("number")
    values = {
        f"baseline.{_safe_key(str(row))}.{_safe_key(str(column))}": float(value)
        for row, series in numeric.iterrows()
        for column, value in series.items()
        if value is not None and not math.isnan(float(value))
    }
    mlflow.log_metrics(values)


def _label_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Index the table by its row labels: a meaningful index, else the first text column."""
    if not isinstance(table.index, pd.RangeIndex):
        return table
    text_columns = [c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])]
    if not text_columns:
        raise ValueError("baseline table needs row labels: a named index or a text column")
    return table.set_index(text_columns[0])


def _flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested config dicts as dotted parameter names (MLflow params are flat strings)."""
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, prefix=f"{name}."))
        else:
            flat[name] = str(value)[:_PARAM_LIMIT]
    return flat


def _safe_key(name: str) -> str:
    """MLflow metric and artifact names allow letters, digits, ``_-. /`` only."""
    return _UNSAFE_KEY.sub("_", name)


def _pinned_requirements() -> list[str]:
    requirements = []
    for package in _RUNTIME_PACKAGES + _MODEL_PACKAGES:
        try:
            requirements.append(f"{package}=={importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return requirements
