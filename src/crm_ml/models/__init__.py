"""Churn, propensity, CLV and uplift models on LightGBM, their evaluation, baselines and
explanations.

    model = CrmClassifier().fit(X, y)                          # any customer table
    fit = fit_table("churn.csv", label="Churn")                # ... beside the references
    result = train_binary_model(frame, "label")               # calibrated churn model
    comparison = compare_to_baselines(result.model, frame, "label",
                                      default_baselines("churn"))
    reasons = reason_codes(result.model, features)            # score + top-3 sentences
"""

from crm_ml.models.baselines import (
    BgNbdBaseline,
    BtydColumns,
    ColumnRuleBaseline,
    GroupRateBaseline,
    LogisticRFMBaseline,
    ParetoNbdBaseline,
    btyd_summary_from_orders,
    compare_to_baselines,
    default_baselines,
    recency_rule,
)
from crm_ml.models.config import (
    BinaryModelConfig,
    LeakageConfig,
    LightGBMConfig,
    SearchConfig,
    SpendModelConfig,
    SplitConfig,
)
from crm_ml.models.crossfit import TooFewRowsError
from crm_ml.models.estimator import CrmClassifier, TableFit, fit_table
from crm_ml.models.evaluation import ProfitConfig, gap_closure
from crm_ml.models.explain import global_drivers, reason_codes
from crm_ml.models.leakage import LeakageError
from crm_ml.models.references import REFERENCES, cross_validate_models
from crm_ml.models.train import (
    BinaryModel,
    SpendModel,
    TrainingResult,
    train_binary_model,
    train_spend_model,
)
from crm_ml.models.uplift import UpliftConfig, UpliftModel, qini_coefficient, train_uplift_model

__all__ = [
    "REFERENCES",
    "BgNbdBaseline",
    "BinaryModel",
    "BinaryModelConfig",
    "BtydColumns",
    "ColumnRuleBaseline",
    "CrmClassifier",
    "GroupRateBaseline",
    "LeakageConfig",
    "LeakageError",
    "LightGBMConfig",
    "LogisticRFMBaseline",
    "ParetoNbdBaseline",
    "ProfitConfig",
    "SearchConfig",
    "SpendModel",
    "SpendModelConfig",
    "SplitConfig",
    "TableFit",
    "TooFewRowsError",
    "TrainingResult",
    "UpliftConfig",
    "UpliftModel",
    "btyd_summary_from_orders",
    "compare_to_baselines",
    "cross_validate_models",
    "default_baselines",
    "fit_table",
    "gap_closure",
    "global_drivers",
    "qini_coefficient",
    "reason_codes",
    "recency_rule",
    "train_binary_model",
    "train_spend_model",
    "train_uplift_model",
]
