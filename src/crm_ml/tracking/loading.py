"""Load registered models for scoring, with the input checked against the signature first.

A scoring job that feeds a model the wrong columns must stop with one message that says
everything that is wrong, not with a LightGBM shape error or a silently shifted column.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from crm_ml.errors import CrmMlError
from crm_ml.tracking.registry import CHAMPION, version_by_alias
from crm_ml.tracking.schema import signature_kinds, to_signature_frame, validate_input
from crm_ml.tracking.wrapper import restore_dtypes

log = logging.getLogger(__name__)


class ModelNotFoundError(CrmMlError, LookupError):
    """The requested registered model, version or alias does not exist."""

    exit_code = 1


@dataclass(frozen=True)
class ChampionModel:
    """A registered model version ready for scoring (usually the champion)."""

    name: str
    version: str
    alias: str | None
    run_id: str | None
    kinds: dict[str, str]
    pyfunc_model: mlflow.pyfunc.PyFuncModel
    tags: dict[str, str] = field(default_factory=dict)  # the model version's tags

    @property
    def label(self) -> str:
        """How error messages name this model, e.g. ``churn champion (version 3)``."""
        return f"{self.name} {self.alias or 'model'} (version {self.version})"

    @property
    def feature_names(self) -> list[str]:
        return list(self.kinds)

    @property
    def python_model(self) -> Any:
        """The object that was logged (e.g. a crm_ml.models.BinaryModel), for explanations."""
        return self.pyfunc_model.unwrap_python_model().model

    def prepare(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame` checked against the signature, cut to the features, training dtypes back:
        what `python_model` was trained on (reason codes need the model's own input)."""
        validate_input(frame, self.kinds, self.label)
        wrapper = self.pyfunc_model.unwrap_python_model()
        return restore_dtypes(to_signature_frame(frame, self.kinds), wrapper.training_dtypes)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Scores for every row of ``frame``; extra columns are ignored.

        Raises ``InputSchemaError`` naming every missing and every mistyped column.
        """
        validate_input(frame, self.kinds, self.label)
        return np.asarray(self.pyfunc_model.predict(to_signature_frame(frame, self.kinds)))


def load_champion(name: str) -> ChampionModel:
    """The current champion of registered model ``name``."""
    return load_model(name, CHAMPION)


def load_model(name: str, alias_or_version: str | int) -> ChampionModel:
    """A registered model by alias (``champion``, ``challenger``) or version number.

    An alias is resolved to its version once, so the model loaded and the version
    reported are the same even if the alias moves meanwhile.
    """
    alias = None
    if str(alias_or_version).isdigit():
        version = str(alias_or_version)
        _require_version(name, version)
    else:
        alias = str(alias_or_version)
        found = version_by_alias(name, alias)
        if found is None:
            raise ModelNotFoundError(
                f"no {alias} registered for model {name!r}: log a run with "
                f"register_as={name!r} and pass the gate (promote_if_better) first"
            )
        version = str(found.version)
    pyfunc_model = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
    schema = pyfunc_model.metadata.get_input_schema()
    if schema is None:
        raise ValueError(f"{name} version {version} was logged without a signature")
    model_version = MlflowClient().get_model_version(name, version)
    log.debug("loaded %s version %s (alias %s)", name, version, alias)
    return ChampionModel(
        name=name,
        version=version,
        alias=alias,
        run_id=model_version.run_id,
        kinds=signature_kinds(schema),
        pyfunc_model=pyfunc_model,
        tags=dict(model_version.tags or {}),
    )


def _require_version(name: str, version: str) -> None:
    try:
        MlflowClient().get_model_version(name, version)
    except MlflowException as error:
        raise ModelNotFoundError(f"model {name!r} has no version {version}") from error
