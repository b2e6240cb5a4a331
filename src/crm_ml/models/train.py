"""LightGBM trainers for binary targets (churn, propensity, response) and spend (CLV).

    from crm_ml.models import train_binary_model
    result = train_binary_model(frame, "label")          # frame from build_training_frame
    result.metrics                                       # calibration + holdout rows
    probabilities = result.model.predict(new_features)   # calibrated

Rows: `split` column when present (train / validation / holdout), else `time_column`, else
a seeded random split (see `crm_ml.models.frame`). The validation rows are cut in two (by
customer): one part picks the number of trees by early stopping, the other fits and picks
the calibrator, so the calibrator is fitted on rows the booster's stopping never saw.
The holdout is only scored. Training twice with the same data, config and thread count
gives the same model (fixed seeds, `deterministic=True`).

The returned models are plain picklable objects with `feature_names` and
`predict(X: DataFrame) -> np.ndarray`, ready to be wrapped as an MLflow pyfunc.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.special import expit

from crm_ml.models.booster import best_stop_score, fit_booster
from crm_ml.models.calibration import Calibrator, choose_calibrator
from crm_ml.models.config import BinaryModelConfig, LightGBMConfig, SearchConfig, SpendModelConfig
from crm_ml.models.evaluation import binary_metrics, spend_metrics
from crm_ml.models.frame import FeatureSchema, SplitRows, infer_schema, split_rows
from crm_ml.models.leakage import check_leakage
from crm_ml.models.search import search_params

log = logging.getLogger(__name__)


@dataclass
class _BoosterModel:
    """What both model kinds share: the booster, the input schema, the feature list."""

    booster: lgb.Booster
    schema: FeatureSchema
    label: str
    params: dict[str, Any]
    feature_names: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.feature_names = list(self.schema.feature_names)

    @property
    def best_iteration(self) -> int:
        return self.booster.num_trees()

    def to_matrix(self, X: pd.DataFrame) -> np.ndarray:
        return self.schema.to_matrix(X)

    def predict_margin(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Raw booster output (log-odds, or log-spend for tweedie/poisson)."""
        matrix = X if isinstance(X, np.ndarray) else self.to_matrix(X)
        threads = int(self.params.get("num_threads", 0))
        return self.booster.predict(matrix, raw_score=True, num_threads=threads)

    def score_from_margin(self, margin: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.score_from_margin(self.predict_margin(X))


@dataclass
class BinaryModel(_BoosterModel):
    """LightGBM classifier + calibrator; `predict` gives calibrated probabilities."""

    calibrator: Calibrator = field(default=None)  # type: ignore[assignment]
    task: str = "binary"

    def score_from_margin(self, margin: np.ndarray) -> np.ndarray:
        return self.calibrator.transform(margin)


@dataclass
class SpendModel(_BoosterModel):
    """LightGBM regressor for spend in the horizon; `predict` gives expected spend."""

    objective: str = "tweedie"
    scale: float = 1.0
    task: str = "spend"

    def score_from_margin(self, margin: np.ndarray) -> np.ndarray:
        link = np.exp(margin) if self.objective in ("tweedie", "poisson") else margin
        return link * self.scale


@dataclass
class TrainingResult:
    """The model plus what a run reports about it.

    metrics: one row per evaluated part ("calibration" = validation rows not used for
    early stopping, "holdout"), one column per metric. predictions: the holdout rows' ids
    (id / cutoff columns when present), `y_true` and `y_pred`. rows: the row masks used,
    e.g. for `compare_to_baselines` on a plain table.
    """

    model: BinaryModel | SpendModel
    metrics: pd.DataFrame
    predictions: pd.DataFrame
    leakage_table: pd.DataFrame
    split_summary: dict[str, object]
    calibration_table: pd.DataFrame | None = None
    search_table: pd.DataFrame | None = None
    rows: SplitRows | None = None


@dataclass
class _Prepared:
    schema: FeatureSchema
    rows: SplitRows
    matrix: np.ndarray
    y: np.ndarray


def _prepare(
    frame: pd.DataFrame,
    label: str,
    split_config: Any,
    excluded: Sequence[str],
    excluded_prefixes: Sequence[str],
    split_column: str | None,
    time_column: str | None,
    id_column: str | None,
    feature_columns: Sequence[str] | None,
    stratify: bool,
) -> _Prepared:
    if label not in frame.columns:
        raise KeyError(f"label column {label!r} not in the frame ({len(frame.columns)} columns)")
    if frame[label].isna().any():
        raise ValueError(
            f"label column {label!r} has {int(frame[label].isna().sum())} missing values"
        )
    rows = split_rows(frame, label, split_config, split_column, time_column, id_column, stratify)
    never_features = [c for c in (split_column, time_column, id_column, "cutoff") if c]
    schema = infer_schema(
        frame, label, [*never_features, *excluded], excluded_prefixes, feature_columns, rows.train
    )
    log.info(
        "%d features (%d categorical); split by %s: %s",
        len(schema.feature_names),
        len(schema.categories),
        rows.method,
        rows.summary(),
    )
    y = frame[label].to_numpy(dtype=np.float64)
    return _Prepared(schema, rows, schema.to_matrix(frame), y)


def _leakage(prep: _Prepared, task: str, config: Any) -> pd.DataFrame:
    validation = prep.rows.stop | prep.rows.calibration
    categorical = [
        j for j, name in enumerate(prep.schema.feature_names) if name in prep.schema.categories
    ]
    return check_leakage(
        prep.matrix[validation],
        prep.y[validation],
        prep.schema.feature_names,
        task,
        config.leakage,
        prep.matrix[prep.rows.train],
        prep.y[prep.rows.train],
        categorical,
    )


def _train_booster(
    prep: _Prepared,
    params: dict[str, Any],
    lgb_config: LightGBMConfig,
    search: SearchConfig,
    y_train: np.ndarray,
) -> tuple[lgb.Booster, dict[str, Any], pd.DataFrame | None]:
    train = (prep.matrix[prep.rows.train], y_train)
    stop = (prep.matrix[prep.rows.stop], prep.y[prep.rows.stop])

    def fit(overrides: dict[str, Any]) -> lgb.Booster:
        return fit_booster(
            {**params, **overrides},
            train,
            stop,
            prep.schema.feature_names,
            prep.schema.categorical_features,
            lgb_config.num_boost_round,
            lgb_config.early_stopping_rounds,
        )

    search_table = None
    if search.enabled:
        best, search_table = search_params(fit, best_stop_score, search)
        params = {**params, **best}
    booster = fit({})
    log.info(
        "booster: %d trees, early-stopping %s = %.5f",
        booster.num_trees(),
        *best_stop_score(booster),
    )
    return booster, params, search_table


def _holdout_predictions(
    frame: pd.DataFrame, prep: _Prepared, predicted: np.ndarray, id_columns: Sequence[str]
) -> pd.DataFrame:
    keep = [c for c in id_columns if c and c in frame.columns]
    out = frame.loc[prep.rows.holdout, keep].reset_index(drop=True)
    out["y_true"] = prep.y[prep.rows.holdout]
    out["y_pred"] = predicted[prep.rows.holdout]
    return out


def train_binary_model(
    frame: pd.DataFrame,
    label: str,
    config: BinaryModelConfig | None = None,
    split_column: str | None = "split",
    time_column: str | None = None,
    id_column: str | None = "customer_id",
    feature_columns: Sequence[str] | None = None,
) -> TrainingResult:
    """Train a calibrated LightGBM classifier for a 0/1 label (see the module docstring).

    Raises LeakageError when one feature alone nearly predicts the validation labels
    (config.leakage.action="warn" logs instead).
    """
    config = config or BinaryModelConfig()
    values = set(np.unique(frame[label].dropna().to_numpy()).tolist())
    if not values <= {0, 1}:
        raise ValueError(f"label {label!r} must be 0/1 (or boolean), found {sorted(values)[:5]}")
    prep = _prepare(
        frame,
        label,
        config.split,
        config.exclude_columns,
        config.excluded_prefixes,
        split_column,
        time_column,
        id_column,
        feature_columns,
        stratify=True,
    )
    leakage_table = _leakage(prep, "binary", config)
    y_train = prep.y[prep.rows.train]
    params = {**config.lightgbm.params(), "objective": "binary", "metric": "auc"}
    positive_rate = float(y_train.mean())
    imbalanced = min(positive_rate, 1 - positive_rate) < config.imbalance_threshold
    if config.imbalance == "scale_pos_weight" or (config.imbalance == "auto" and imbalanced):
        params["scale_pos_weight"] = (1 - positive_rate) / max(positive_rate, 1e-12)
        log.info(
            "positive rate %.3f: scale_pos_weight %.2f", positive_rate, params["scale_pos_weight"]
        )
    booster, params, search_table = _train_booster(
        prep, params, config.lightgbm, config.search, y_train
    )
    margin = booster.predict(prep.matrix, raw_score=True, num_threads=params["num_threads"])
    calibration = prep.rows.calibration
    calibrator, calibration_table = choose_calibrator(
        margin[calibration],
        prep.y[calibration],
        config.calibration_methods,
        config.calibration_metric,
        seed=config.split.seed,
    )
    log.info("calibration: %s chosen\n%s", calibrator.method, calibration_table.round(5))
    model = BinaryModel(booster, prep.schema, label, params, calibrator=calibrator)
    probability = calibrator.transform(margin)
    metrics = {"calibration": binary_metrics(prep.y[calibration], probability[calibration])}
    # The raw booster on calibration rows, so the report shows what calibration changed.
    metrics["calibration_uncalibrated"] = binary_metrics(
        prep.y[calibration], expit(margin[calibration])
    )
    if prep.rows.holdout.any():
        metrics["holdout"] = binary_metrics(
            prep.y[prep.rows.holdout], probability[prep.rows.holdout]
        )
    return TrainingResult(
        model=model,
        metrics=pd.DataFrame(metrics).T,
        predictions=_holdout_predictions(frame, prep, probability, [id_column, "cutoff"]),
        leakage_table=leakage_table,
        split_summary=prep.rows.summary(),
        rows=prep.rows,
        calibration_table=calibration_table,
        search_table=search_table,
    )


def train_spend_model(
    frame: pd.DataFrame,
    label: str,
    config: SpendModelConfig | None = None,
    split_column: str | None = "split",
    time_column: str | None = None,
    id_column: str | None = "customer_id",
    feature_columns: Sequence[str] | None = None,
) -> TrainingResult:
    """Train a LightGBM regressor for spend (or transactions) in the horizon.

    With `rescale_total`, predictions are multiplied by sum(actual) / sum(predicted) on the
    calibration rows, so the forecast total is right where early stopping did not look.
    """
    config = config or SpendModelConfig()
    prep = _prepare(
        frame,
        label,
        config.split,
        config.exclude_columns,
        config.excluded_prefixes,
        split_column,
        time_column,
        id_column,
        feature_columns,
        stratify=False,
    )
    leakage_table = _leakage(prep, "spend", config)
    y_train = prep.y[prep.rows.train]
    if config.objective in ("tweedie", "poisson") and (prep.y < 0).any():
        log.warning(
            "label %r: %d negative values (net of returns) clipped at 0 for the %s objective",
            label,
            int((prep.y < 0).sum()),
            config.objective,
        )
        y_train = np.clip(y_train, 0, None)
        prep.y = np.clip(prep.y, 0, None)
    params = {**config.lightgbm.params(), "objective": config.objective}
    if config.objective == "tweedie":
        params["tweedie_variance_power"] = config.tweedie_variance_power
    booster, params, search_table = _train_booster(
        prep, params, config.lightgbm, config.search, y_train
    )
    model = SpendModel(booster, prep.schema, label, params, objective=config.objective)
    predicted = model.score_from_margin(
        booster.predict(prep.matrix, raw_score=True, num_threads=params["num_threads"])
    )
    calibration = prep.rows.calibration
    if config.rescale_total and predicted[calibration].sum() > 0:
        model.scale = float(prep.y[calibration].sum() / predicted[calibration].sum())
        predicted = predicted * model.scale
        log.info("spend rescaled by %.4f to match the calibration rows' total", model.scale)
    metrics = {"calibration": spend_metrics(prep.y[calibration], predicted[calibration])}
    if prep.rows.holdout.any():
        metrics["holdout"] = spend_metrics(prep.y[prep.rows.holdout], predicted[prep.rows.holdout])
    return TrainingResult(
        model=model,
        metrics=pd.DataFrame(metrics).T,
        predictions=_holdout_predictions(frame, prep, predicted, [id_column, "cutoff"]),
        leakage_table=leakage_table,
        split_summary=prep.rows.summary(),
        rows=prep.rows,
        search_table=search_table,
    )
