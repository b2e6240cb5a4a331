"""MLflow tracking and registry for crm-ml models.

uri = configure_tracking()                       # local store under experiments/
run = log_model_run("churn", model, ..., register_as="churn")
decision = promote_if_better("churn", run.registered_version,
                             metric="holdout_roc_auc", higher_is_better=True,
                             tolerance=0.005)
scores = load_champion("churn").predict(features)
"""

from crm_ml.tracking.fingerprint import fingerprint_files, fingerprint_frame
from crm_ml.tracking.loading import ChampionModel, ModelNotFoundError, load_champion, load_model
from crm_ml.tracking.personal_data import PersonalDataError
from crm_ml.tracking.registry import (
    CHALLENGER,
    CHAMPION,
    GateDecision,
    promote_if_better,
    register_challenger,
)
from crm_ml.tracking.runs import RunInfo, log_model_run
from crm_ml.tracking.schema import InputSchemaError
from crm_ml.tracking.store import FAMILIES, configure_tracking, experiment_name

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "FAMILIES",
    "ChampionModel",
    "GateDecision",
    "InputSchemaError",
    "ModelNotFoundError",
    "PersonalDataError",
    "RunInfo",
    "configure_tracking",
    "experiment_name",
    "fingerprint_files",
    "fingerprint_frame",
    "load_champion",
    "load_model",
    "log_model_run",
    "promote_if_better",
    "register_challenger",
]
