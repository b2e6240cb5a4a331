"""LightGBM trainers for binary targets (churn, propensity, response) and spend (CLV).

    from crm_ml.models import train_binary_model
    result = train_binary_model(frame, "label")          # frame from build_training_frame
    result.metrics                                       # calibration + holdout rows
    probabilities = result.model.predict(new_features)   # calibrated

Two ways to use the rows:

- **A frame with a `split` column** (the pipeline's rolling cutoffs): the booster trains on
  the train rows and stops early on part of the validation rows; the other part (whole
  customers) fits the blend and the calibrator, so neither sees the rows that picked the
  number of trees. The holdout is only scored.
- **A plain table** (no split column): cross-fitted (`crm_ml.models.crossfit`). k-fold CV
  chooses the number of rounds (and, by default on tables up to 100k rows, the tree shape:
  `crm_ml.models.search`); the booster is refitted on every row; the blend and the
  calibrator are fitted on the out-of-fold margins. Nothing is held out: evaluation belongs
  to the caller, e.g. `cross_val_score(CrmClassifier(), X, y)`.

Binary models blend the booster with a logistic regression on the same features
(`crm_ml.models.linear`), with weights fitted out of sample; on near-additive tables the
linear part carries the ranking, on tables with interactions the trees do, and a part that
does not measurably lower the out-of-sample log loss is left out (`_fit_blend`). Guards: a
booster that keeps fewer than `min_trees` trees is retried at a lower learning rate and then
dropped from the blend, and a constant prediction is a warning, never silence.

Training twice with the same data and config gives the same model (fixed seeds,
`deterministic=True`; cross-fitting folds run one LightGBM thread each). The returned models
are plain picklable objects with `feature_names` and `predict(X: DataFrame) -> np.ndarray`,
ready to be wrapped as an MLflow pyfunc.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from crm_ml.models.booster import fit_booster
from crm_ml.models.calibration import Calibrator, choose_calibrator
from crm_ml.models.config import (
    BinaryModelConfig,
    LightGBMConfig,
    SearchConfig,
    SpendModelConfig,
    SplitConfig,
)
from crm_ml.models.crossfit import CrossFit, Fold, cross_fit_booster, make_folds
from crm_ml.models.evaluation import binary_metrics, spend_metrics
from crm_ml.models.frame import FeatureSchema, SplitRows, infer_schema, split_rows
from crm_ml.models.intervals import SpendInterval, fit_spend_interval, interval_metrics
from crm_ml.models.leakage import check_leakage
from crm_ml.models.linear import LinearModel
from crm_ml.models.search import SEARCHED, search_params

log = logging.getLogger(__name__)

HIGHER_IS_BETTER = {"auc", "average_precision", "ndcg", "map"}
# LightGBM's loss metric for each objective: what cross-fitting stops and searches on
LOSS_METRIC = {
    "binary": "binary_logloss",
    "tweedie": "tweedie",
    "poisson": "poisson",
    "regression": "l2",
    "huber": "huber",
}


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

    def tree_margin(self, matrix: np.ndarray) -> np.ndarray:
        threads = int(self.params.get("num_threads", 0))
        return self.booster.predict(matrix, raw_score=True, num_threads=threads)

    def predict_margin(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Raw model output (log-odds, or log-spend for tweedie/poisson)."""
        return self.tree_margin(X if isinstance(X, np.ndarray) else self.to_matrix(X))

    def score_from_margin(self, margin: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.score_from_margin(self.predict_margin(X))


@dataclass(frozen=True)
class Blend:
    """margin = trees * tree_margin + linear * linear_margin + intercept."""

    trees: float = 1.0
    linear: float = 0.0
    intercept: float = 0.0

    def margin(self, tree_margin: np.ndarray, linear_margin: np.ndarray | None) -> np.ndarray:
        out = self.trees * tree_margin + self.intercept
        return out if linear_margin is None else out + self.linear * linear_margin


@dataclass
class BinaryModel(_BoosterModel):
    """LightGBM classifier (+ logistic regression) + calibrator; `predict` gives calibrated
    probabilities."""

    calibrator: Calibrator = field(default=None)  # type: ignore[assignment]
    linear: LinearModel | None = None
    blend: Blend = field(default_factory=Blend)
    task: str = "binary"

    def predict_margin(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        matrix = X if isinstance(X, np.ndarray) else self.to_matrix(X)
        linear = self.linear.margin(matrix) if self.uses_linear else None
        trees = self.tree_margin(matrix) if self.blend.trees else np.zeros(len(matrix))
        return self.blend.margin(trees, linear)

    @property
    def uses_linear(self) -> bool:
        return self.linear is not None and self.blend.linear != 0

    def score_from_margin(self, margin: np.ndarray) -> np.ndarray:
        return self.calibrator.transform(margin)


@dataclass
class SpendModel(_BoosterModel):
    """LightGBM regressor for spend in the horizon; `predict` gives expected spend."""

    objective: str = "tweedie"
    scale: float = 1.0
    task: str = "spend"
    interval: SpendInterval | None = None  # chance of spending + amount interval (with a split)

    def score_from_margin(self, margin: np.ndarray) -> np.ndarray:
        link = np.exp(margin) if self.objective in ("tweedie", "poisson") else margin
        return link * self.scale

    def predict_interval(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per row: ``p_spend`` (the chance of spending at all in the horizon) and ``low`` /
        ``high``, the interval of the amount if they spend (`crm_ml.models.intervals`)."""
        if self.interval is None:
            raise ValueError(
                "this spend model has no interval: train it with a split column and "
                "interval_coverage set (SpendModelConfig)"
            )
        return self.interval.predict(self.to_matrix(X))


@dataclass
class TrainingResult:
    """The model plus what a run reports about it.

    Attributes
    ----------
    model : BinaryModel or SpendModel
        The fitted model: ``model.predict(frame)`` gives calibrated probabilities (binary)
        or spend; ``model.feature_names`` are the columns it reads.
    metrics : pandas.DataFrame
        One row per evaluated part, one column per metric. With a split column:
        "calibration" (validation rows not used for early stopping),
        "calibration_uncalibrated" and "holdout". Cross-fitted: "out_of_fold" (the
        calibrated blend; the calibrator saw these margins, so read it as a fit, not a test)
        and, for binary models, "out_of_fold_trees" and "out_of_fold_linear" (each part
        alone, before calibration).
    predictions : pandas.DataFrame
        The holdout rows (cross-fitted: every row, out of fold) with the id and cutoff
        columns the frame has, `y_true` and `y_pred`.
    leakage_table : pandas.DataFrame
        The single-feature check against leakage (`crm_ml.models.leakage`).
    split_summary : dict
        How the rows were used (split method, rows per part or folds).
    calibration_table : pandas.DataFrame or None
        The calibrators tried and their cross-fitted loss (binary models).
    search_table : pandas.DataFrame or None
        The hyper-parameter trials, when a search ran.
    rows : SplitRows or None
        The row masks used with a split column.
    folds : list of Fold or None
        The folds when cross-fitted.
    notes : list of str
        Every guard that fired, in words.

    Examples
    --------
    >>> from crm_ml.datasets import subscriber_table
    >>> table = subscriber_table(300, seed=1)
    >>> frame = table[["tenure", "MonthlyCharges"]].assign(churn=table["Churn"].eq("Yes"))
    >>> result = train_binary_model(frame, "churn", id_column=None)
    >>> result.metrics.index.tolist()
    ['out_of_fold', 'out_of_fold_trees', 'out_of_fold_linear']
    >>> result.predictions.columns.tolist(), result.split_summary["method"]
    (['y_true', 'y_pred'], '5-fold cross-fitting')
    """

    model: BinaryModel | SpendModel
    metrics: pd.DataFrame
    predictions: pd.DataFrame
    leakage_table: pd.DataFrame
    split_summary: dict[str, object]
    calibration_table: pd.DataFrame | None = None
    search_table: pd.DataFrame | None = None
    rows: SplitRows | None = None
    folds: list[Fold] | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class _Prepared:
    schema: FeatureSchema
    matrix: np.ndarray
    y: np.ndarray
    rows: SplitRows | None  # with a split column
    folds: list[Fold] | None  # cross-fitted
    train_folds: list[Fold] | None = None  # split.rounds "cross_fit": folds of the train rows

    @property
    def cross_fitted(self) -> bool:
        return self.folds is not None

    @property
    def rounds_by_folds(self) -> bool:
        """The number of trees comes from a mean curve over folds (a loss, unweighted)."""
        return self.folds is not None or self.train_folds is not None

    def split_summary(self) -> dict[str, object]:
        if self.rows is not None:
            return self.rows.summary()
        return {
            "method": f"{len(self.folds or [])}-fold cross-fitting",
            "train_rows": len(self.y),
            "folds": len(self.folds or []),
        }

    def categorical_positions(self) -> list[int]:
        names = self.schema.feature_names
        return [j for j, name in enumerate(names) if name in self.schema.categories]

    def dataset(self, params: dict[str, Any], rows: np.ndarray | None = None) -> lgb.Dataset:
        """The (constructed) LightGBM dataset of `rows` (all rows by default)."""
        matrix, y = (self.matrix, self.y) if rows is None else (self.matrix[rows], self.y[rows])
        return lgb.Dataset(
            matrix,
            y,
            feature_name=list(self.schema.feature_names),
            categorical_feature=self.schema.categorical_features or "auto",
            params={
                "verbosity": -1,
                "feature_pre_filter": False,
                "max_bin": params.get("max_bin", 255),
            },
            free_raw_data=False,
        ).construct()


def _prepare(
    frame: pd.DataFrame,
    label: str,
    config: BinaryModelConfig | SpendModelConfig,
    *,
    split_column: str | None,
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
    y = frame[label].to_numpy(dtype=np.float64)
    has_split = split_column is not None and split_column in frame.columns
    rows = folds = None
    ids = frame[id_column].to_numpy() if id_column and id_column in frame.columns else None
    train_folds = None
    if has_split:
        rows = split_rows(frame, config.split, split_column, id_column)
        train_rows, method = rows.train, rows.summary()
        if config.split.rounds == "cross_fit":
            train_ids = None if ids is None else ids[rows.train]
            train_folds = make_folds(
                y[rows.train], config.split.n_folds, config.split.seed, train_ids, stratify=stratify
            )
    else:
        folds = make_folds(y, config.split.n_folds, config.split.seed, ids, stratify=stratify)
        train_rows, method = None, f"{len(folds)}-fold cross-fitting"
    never_features = [c for c in (split_column, id_column, "cutoff") if c]
    schema = infer_schema(
        frame,
        label,
        [*never_features, *config.exclude_columns],
        config.excluded_prefixes,
        feature_columns,
        train_rows,
    )
    log.info(
        "%d features (%d categorical); rows: %s",
        len(schema.feature_names),
        len(schema.categories),
        method,
    )
    return _Prepared(schema, schema.to_matrix(frame), y, rows, folds, train_folds)


def _leakage(prep: _Prepared, task: str, config: Any) -> pd.DataFrame:
    """The canary on the rows the booster does not train on (all rows when cross-fitted:
    a single feature that alone predicts the label is suspect anywhere)."""
    if prep.rows is not None:
        check, fit = prep.rows.stop | prep.rows.calibration, prep.rows.train
    else:
        check = fit = np.ones(len(prep.y), dtype=bool)
    return check_leakage(
        prep.matrix[check],
        prep.y[check],
        prep.schema.feature_names,
        task,
        config.leakage,
        prep.matrix[fit],
        prep.y[fit],
        prep.categorical_positions(),
    )


# --- the booster: cross-fitted or stopped on the split's validation rows -----------------------


@dataclass
class _Trees:
    booster: lgb.Booster
    params: dict[str, Any]
    rounds: int
    oof_margin: np.ndarray | None  # cross-fitted only
    search_table: pd.DataFrame | None


def _search(
    trial: Any, params: dict[str, Any], search: SearchConfig, rows: int, cross_fitted: bool
) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """The searched parameters' best values (the configured ones when the search is off)."""
    start = {name: params[name] for name in SEARCHED}
    if not search.active(rows, cross_fitted):
        return start, None
    return search_params(trial, start, search)


def _cross_fit_trees(
    prep: _Prepared,
    params: dict[str, Any],
    lgb_config: LightGBMConfig,
    search: SearchConfig,
    split: SplitConfig,
) -> _Trees:
    """Rounds (and, when searched, the tree shape) from the mean curve over folds: of every
    row of a plain table, or of the train rows of a split (split.rounds "cross_fit"), where
    the booster is then refitted on the train rows and has no out-of-fold margins to give."""
    rows = prep.rows.train if prep.train_folds is not None else None
    folds = prep.train_folds if rows is not None else prep.folds or []
    matrix = prep.matrix if rows is None else prep.matrix[rows]
    if len(matrix) < split.small_table_rows:
        params = {**params, "max_bin": min(params["max_bin"], 63), "num_threads": 1}
    dataset = prep.dataset(params, rows)
    fits: dict[tuple, CrossFit] = {}  # TPE may propose a point twice

    def cross_fit(overrides: dict[str, Any]) -> CrossFit:
        key = tuple(sorted(overrides.items()))
        if key not in fits:
            fits[key] = cross_fit_booster(
                dataset,
                matrix,
                folds,
                {**params, **overrides},
                lgb_config.num_boost_round,
                split.fold_early_stopping_rounds,
            )
        return fits[key]

    def trial(overrides: dict[str, Any]) -> tuple[float, int]:
        fit = cross_fit(overrides)
        return fit.loss, fit.rounds

    best, table = _search(trial, params, search, len(matrix), cross_fitted=True)
    fit = cross_fit(best)
    params = {**params, **best}
    booster = lgb.train(params, dataset, num_boost_round=fit.rounds)
    return _Trees(booster, params, fit.rounds, fit.margin if rows is None else None, table)


def _stopped_trees(
    prep: _Prepared, params: dict[str, Any], lgb_config: LightGBMConfig, search: SearchConfig
) -> _Trees:
    rows = prep.rows
    assert rows is not None
    train = (prep.matrix[rows.train], prep.y[rows.train])
    stop = (prep.matrix[rows.stop], prep.y[rows.stop])

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

    def trial(overrides: dict[str, Any]) -> tuple[float, int]:
        booster = fit(overrides)
        name, value = next(iter(booster.best_score["stop"].items()))
        return (-value if name in HIGHER_IS_BETTER else value), booster.num_trees()

    best, table = _search(trial, params, search, len(prep.y), cross_fitted=False)
    params = {**params, **best}
    booster = fit(best)
    return _Trees(booster, params, booster.num_trees(), None, table)


def _fit_trees(
    prep: _Prepared, params: dict[str, Any], config: BinaryModelConfig | SpendModelConfig
) -> _Trees:
    lgb_config, search = config.lightgbm, config.search
    if prep.rounds_by_folds:  # the mean curve over folds must be a loss
        trees = _cross_fit_trees(
            prep,
            {**params, "metric": LOSS_METRIC[params["objective"]]},
            lgb_config,
            search,
            config.split,
        )
    else:
        trees = _stopped_trees(prep, params, lgb_config, search)
    log.info("booster: %d trees", trees.rounds)
    return trees


# --- binary ---------------------------------------------------------------------------------


def _linear_parts(
    prep: _Prepared, config: BinaryModelConfig
) -> tuple[LinearModel, np.ndarray | None]:
    """The final linear model, and its out-of-fold margins when cross-fitted."""
    categorical = prep.categorical_positions()

    def fit(rows: np.ndarray) -> LinearModel:
        return LinearModel(prep.matrix.shape[1], config.linear_C).fit(
            prep.matrix[rows], prep.y[rows], categorical
        )

    if prep.rows is not None:
        return fit(prep.rows.train), None
    folds = prep.folds or []
    with ThreadPoolExecutor(max_workers=min(len(folds), os.cpu_count() or 1)) as pool:
        models = list(pool.map(fit, [train for train, _ in folds]))
    oof = np.empty(len(prep.y))
    for model, (_, valid) in zip(models, folds, strict=True):
        oof[valid] = model.margin(prep.matrix[valid])
    return fit(np.arange(len(prep.y))), oof


def _fit_blend(parts: dict[str, np.ndarray], y: np.ndarray, seed: int) -> Blend:
    """Weights of the margins (`trees`, `linear`, as available) on held-out rows.

    Every non-empty subset of the parts is a (nearly unpenalised) logistic regression on
    those margins, scored by its 5-fold cross-validated log loss; subsets with a weight
    <= 0 are out, and the lowest loss wins. A part that does not help out of sample is left
    out. (A stricter rule, both parts only when they beat the best one by a standard error,
    lost 0.001-0.004 AUC on four tables of benchmarks/bench_tables.py and changed nothing on
    the pipeline's holdout.)
    """
    n_splits = max(int(min(5, np.bincount(y.astype(int), minlength=2).min())), 2)
    folds = list(StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(y, y))
    scored: list[tuple[np.ndarray, Blend]] = []  # (per-row held-out loss, blend), fewer parts first
    for size in range(1, len(parts) + 1):
        for subset in itertools.combinations(parts, size):
            X = np.column_stack([parts[name] for name in subset])
            model = LogisticRegression(C=1e4, max_iter=1000).fit(X, y)
            weights = dict(zip(subset, model.coef_[0], strict=True))
            if min(weights.values()) <= 0:
                continue
            held = np.empty(len(y))
            for fit, test in folds:
                fold = LogisticRegression(C=1e4, max_iter=1000).fit(X[fit], y[fit])
                held[test] = fold.predict_proba(X[test])[:, 1]
            held = np.clip(held, 1e-9, 1 - 1e-9)
            loss = -(y * np.log(held) + (1 - y) * np.log(1 - held))
            blend = Blend(
                trees=float(weights.get("trees", 0.0)),
                linear=float(weights.get("linear", 0.0)),
                intercept=float(model.intercept_[0]),
            )
            scored.append((loss, blend))
    if not scored:  # no part ranks the rows the right way round: keep the trees as they are
        return Blend(trees=1.0) if "trees" in parts else Blend(trees=0.0, linear=1.0)
    best = min(scored, key=lambda item: item[0].mean())  # ties: the fewer parts
    return best[1]


def _guard_trees(
    trees: _Trees,
    retry: Any,
    min_trees: int,
    notes: list[str],
) -> tuple[_Trees, bool]:
    """(trees, usable): retry a booster that stopped almost at once; report either way."""
    if trees.rounds >= min_trees:
        return trees, True
    rate = trees.params["learning_rate"]
    again = retry(rate / 4)
    if again.rounds >= min_trees:
        notes.append(
            f"early stopping kept {trees.rounds} tree(s) at learning rate {rate:g}; retrained at "
            f"{rate / 4:g}, which kept {again.rounds}"
        )
        log.warning(notes[-1])
        return again, True
    notes.append(
        f"the booster keeps {again.rounds} tree(s) even at learning rate {rate / 4:g}: the trees "
        "find almost no signal, so they get weight 0 where a linear part can score alone"
    )
    log.warning(notes[-1])
    return trees, False


def train_binary_model(
    frame: pd.DataFrame,
    label: str,
    config: BinaryModelConfig | None = None,
    *,
    split_column: str | None = "split",
    id_column: str | None = "customer_id",
    feature_columns: Sequence[str] | None = None,
) -> TrainingResult:
    """Train a calibrated LightGBM (+ logistic regression) classifier for a 0/1 label.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per customer (x cutoff): feature columns, the label, and optionally
        `split_column` (train / validation / holdout) and `id_column`.
    label : str
        The 0/1 (or boolean) label column; no missing values.
    config : BinaryModelConfig, optional
        Settings; `BinaryModelConfig()` by default.
    split_column : str or None, default "split"
        Use the split in this column when the frame has it; otherwise (or None) cross-fit.
    id_column : str or None, default "customer_id"
        Customer ids: never a feature; rows of one customer stay in one fold.
    feature_columns : sequence of str, optional
        The features to use; default every column that is not an id, time, label or excluded.

    Returns
    -------
    TrainingResult
        The model, its metrics (see `TrainingResult`), predictions and diagnostics.

    Raises
    ------
    KeyError
        When the label column is not in the frame.
    ValueError
        When the label has missing values or values other than 0/1.
    LeakageError
        When one feature alone nearly predicts the labels (config.leakage.action="warn"
        logs instead).
    TooFewRowsError
        When the rarer class has too few rows to cross-fit.

    Examples
    --------
    A plain table (no split column) is cross-fitted; nothing is held out:

    >>> from crm_ml.datasets import subscriber_table
    >>> from crm_ml.models import BinaryModelConfig, SearchConfig
    >>> table = subscriber_table(400, seed=1)
    >>> frame = table[["customerID", "tenure", "Contract", "MonthlyCharges"]].assign(
    ...     Contract=table["Contract"].astype("category"),
    ...     churn=table["Churn"].eq("Yes").astype(int),
    ... )
    >>> settings = BinaryModelConfig(search=SearchConfig(enabled=False))
    >>> result = train_binary_model(frame, "churn", settings, id_column="customerID")
    >>> result.model.feature_names
    ['tenure', 'Contract', 'MonthlyCharges']
    >>> probability = result.model.predict(frame.head(3))
    >>> probability.shape, bool(((probability > 0) & (probability < 1)).all())
    ((3,), True)
    >>> bool(result.metrics.loc["out_of_fold", "roc_auc"] > 0.6)
    True
    """
    config = config or BinaryModelConfig()
    values = set(np.unique(frame[label].dropna().to_numpy()).tolist())
    if not values <= {0, 1}:
        raise ValueError(f"label {label!r} must be 0/1 (or boolean), found {sorted(values)[:5]}")
    prep = _prepare(
        frame,
        label,
        config,
        split_column=split_column,
        id_column=id_column,
        feature_columns=feature_columns,
        stratify=True,
    )
    leakage_table = _leakage(prep, "binary", config)
    notes: list[str] = []
    params = {**config.lightgbm.params(), "objective": "binary", "metric": "auc"}
    y_fit = prep.y if prep.rows is None else prep.y[prep.rows.train]
    positive_rate = float(y_fit.mean())
    imbalanced = min(positive_rate, 1 - positive_rate) < config.imbalance_threshold
    # cross-fitted, the rounds are chosen on the unweighted out-of-fold loss, which
    # re-weighting would bias towards a handful of trees: "auto" leaves it off there
    reweight = config.imbalance == "auto" and imbalanced and not prep.rounds_by_folds
    if config.imbalance == "scale_pos_weight" or reweight:
        params["scale_pos_weight"] = (1 - positive_rate) / max(positive_rate, 1e-12)
        log.info(
            "positive rate %.3f: scale_pos_weight %.2f", positive_rate, params["scale_pos_weight"]
        )
    trees = _fit_trees(prep, params, config)
    no_search = replace(config, search=SearchConfig(enabled=False))
    trees, trees_usable = _guard_trees(
        trees,
        lambda rate: _fit_trees(prep, {**trees.params, "learning_rate": rate}, no_search),
        config.min_trees,
        notes,
    )
    linear, linear_oof = _linear_parts(prep, config) if config.linear_blend else (None, None)
    # the rows the blend and the calibrator are fitted on: out of fold, or the calibration rows
    if prep.rows is None:
        fit_rows = np.ones(len(prep.y), dtype=bool)
        tree_margin = trees.oof_margin
        linear_margin = linear_oof
    else:
        fit_rows = prep.rows.calibration
        tree_margin = trees.booster.predict(prep.matrix, raw_score=True)
        linear_margin = linear.margin(prep.matrix) if linear is not None else None
    assert tree_margin is not None
    parts = {"trees": tree_margin[fit_rows]}
    if linear_margin is not None:  # without a linear part the trees are all we have
        parts["linear"] = linear_margin[fit_rows]
        if not trees_usable:
            del parts["trees"]
    if len(parts) == 1 and "trees" in parts:
        blend = Blend()  # the calibrator alone maps the trees' margin
    else:
        blend = _fit_blend(parts, prep.y[fit_rows], config.split.seed)
    log.info("blend: trees %.3f, linear %.3f", blend.trees, blend.linear)
    margin = blend.margin(tree_margin, linear_margin)
    if np.ptp(margin[fit_rows]) < 1e-9:
        notes.append(f"label {label!r}: the model predicts one constant for every row")
        log.warning(notes[-1])
    calibrator, calibration_table = choose_calibrator(
        margin[fit_rows],
        prep.y[fit_rows],
        config.calibration_methods,
        config.calibration_metric,
        seed=config.split.seed,
    )
    log.info("calibration: %s chosen\n%s", calibrator.method, calibration_table.round(5))
    model = BinaryModel(
        trees.booster,
        prep.schema,
        label,
        trees.params,
        calibrator=calibrator,
        linear=linear if blend.linear else None,
        blend=blend,
    )
    probability = calibrator.transform(margin)
    metrics = _binary_metrics(prep, probability, margin, tree_margin, linear_margin, fit_rows)
    return TrainingResult(
        model=model,
        metrics=pd.DataFrame(metrics).T,
        predictions=_predictions(frame, prep, probability, [id_column, "cutoff"]),
        leakage_table=leakage_table,
        split_summary=prep.split_summary(),
        rows=prep.rows,
        folds=prep.folds,
        calibration_table=calibration_table,
        search_table=trees.search_table,
        notes=notes,
    )


def _binary_metrics(
    prep: _Prepared,
    probability: np.ndarray,
    margin: np.ndarray,
    tree_margin: np.ndarray,
    linear_margin: np.ndarray | None,
    fit_rows: np.ndarray,
) -> dict[str, dict[str, float]]:
    y = prep.y
    if prep.rows is None:
        metrics = {"out_of_fold": binary_metrics(y, probability)}
        metrics["out_of_fold_trees"] = binary_metrics(y, expit(tree_margin))
        if linear_margin is not None:
            metrics["out_of_fold_linear"] = binary_metrics(y, expit(linear_margin))
        return metrics
    metrics = {"calibration": binary_metrics(y[fit_rows], probability[fit_rows])}
    # the raw blend on calibration rows, so the report shows what calibration changed
    metrics["calibration_uncalibrated"] = binary_metrics(y[fit_rows], expit(margin[fit_rows]))
    if prep.rows.holdout.any():
        holdout = prep.rows.holdout
        metrics["holdout"] = binary_metrics(y[holdout], probability[holdout])
    return metrics


def _predictions(
    frame: pd.DataFrame, prep: _Prepared, predicted: np.ndarray, id_columns: Sequence[str]
) -> pd.DataFrame:
    """Holdout rows with a split column; every row (out of fold) when cross-fitted."""
    rows = prep.rows.holdout if prep.rows is not None else np.ones(len(prep.y), dtype=bool)
    keep = [c for c in id_columns if c and c in frame.columns]
    out = frame.loc[rows, keep].reset_index(drop=True)
    out["y_true"] = prep.y[rows]
    out["y_pred"] = predicted[rows]
    return out


# --- spend ----------------------------------------------------------------------------------


def train_spend_model(
    frame: pd.DataFrame,
    label: str,
    config: SpendModelConfig | None = None,
    *,
    split_column: str | None = "split",
    id_column: str | None = "customer_id",
    feature_columns: Sequence[str] | None = None,
) -> TrainingResult:
    """Train a LightGBM regressor for spend (or transactions) in the horizon.

    Rows as in `train_binary_model`. With `rescale_total`, predictions are multiplied by
    sum(actual) / sum(predicted) on the calibration rows (cross-fitted: out of fold), so the
    forecast total is right where the booster did not train or stop. Negative labels (net
    of returns) are clipped at 0 for the tweedie and poisson objectives, with a warning.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per customer (x cutoff): feature columns, the label, and optionally
        `split_column` (train / validation / holdout) and `id_column`.
    label : str
        The numeric label column (spend or transactions in the horizon); no missing values.
    config : SpendModelConfig, optional
        Settings (objective, rescaling, LightGBM); `SpendModelConfig()` by default.
    split_column : str or None, default "split"
        Use the split in this column when the frame has it; otherwise (or None) cross-fit.
    id_column : str or None, default "customer_id"
        Customer ids: never a feature; rows of one customer stay in one fold.
    feature_columns : sequence of str, optional
        The features to use; default every column that is not an id, time, label or excluded.

    Returns
    -------
    TrainingResult
        The model (``model.predict`` gives spend, ``model.scale`` the rescaling), metrics
        ("calibration" and "holdout", or "out_of_fold"), predictions and diagnostics.

    Raises
    ------
    KeyError
        When the label column is not in the frame.
    ValueError
        When the label has missing values.
    LeakageError
        When one feature alone nearly predicts the label (config.leakage.action="warn"
        logs instead).

    Examples
    --------
    >>> from crm_ml.datasets import subscriber_table
    >>> from crm_ml.models import SearchConfig, SpendModelConfig
    >>> table = subscriber_table(400, seed=1)
    >>> frame = table[["tenure", "MonthlyCharges"]]
    >>> frame = frame.assign(spend=frame["MonthlyCharges"] * (frame["tenure"] > 12) * 3)
    >>> settings = SpendModelConfig(search=SearchConfig(enabled=False))
    >>> result = train_spend_model(frame, "spend", settings, id_column=None)
    >>> result.metrics.index.tolist()
    ['out_of_fold']
    >>> bool(abs(result.model.predict(frame).sum() / frame["spend"].sum() - 1) < 0.05)
    True
    """
    config = config or SpendModelConfig()
    prep = _prepare(
        frame,
        label,
        config,
        split_column=split_column,
        id_column=id_column,
        feature_columns=feature_columns,
        stratify=False,
    )
    leakage_table = _leakage(prep, "spend", config)
    label_values = prep.y.copy()  # the interval covers spend net of returns, unclipped
    if config.objective in ("tweedie", "poisson") and (prep.y < 0).any():
        log.warning(
            "label %r: %d negative values (net of returns) clipped at 0 for the %s objective",
            label,
            int((prep.y < 0).sum()),
            config.objective,
        )
        prep.y = np.clip(prep.y, 0, None)
    params = {**config.lightgbm.params(), "objective": config.objective}
    if config.objective == "tweedie":
        params["tweedie_variance_power"] = config.tweedie_variance_power
    trees = _fit_trees(prep, params, config)
    model = SpendModel(trees.booster, prep.schema, label, trees.params, objective=config.objective)
    if prep.rows is None:
        fit_rows = np.ones(len(prep.y), dtype=bool)
        predicted = model.score_from_margin(trees.oof_margin)
        part = "out_of_fold"
    else:
        fit_rows = prep.rows.calibration
        predicted = model.score_from_margin(trees.booster.predict(prep.matrix, raw_score=True))
        part = "calibration"
    if config.rescale_total and predicted[fit_rows].sum() > 0:
        model.scale = float(prep.y[fit_rows].sum() / predicted[fit_rows].sum())
        predicted = predicted * model.scale
        log.info("spend rescaled by %.4f to match the %s rows' total", model.scale, part)
    metrics = {part: spend_metrics(prep.y[fit_rows], predicted[fit_rows])}
    if prep.rows is not None and config.interval_coverage is not None:
        model.interval = fit_spend_interval(
            prep.matrix,
            label_values,
            prep.rows,
            trees.params,
            list(prep.schema.feature_names),
            prep.schema.categorical_features,
            coverage=config.interval_coverage,
            num_boost_round=config.lightgbm.num_boost_round,
            early_stopping_rounds=config.lightgbm.early_stopping_rounds,
            fixed_rounds=trees.rounds,
        )
    if prep.rows is not None and prep.rows.holdout.any():
        holdout = prep.rows.holdout
        metrics["holdout"] = spend_metrics(prep.y[holdout], predicted[holdout])
    if model.interval is not None:
        for name, mask in (("calibration", fit_rows), ("holdout", prep.rows.holdout)):
            if name in metrics:
                predicted_interval = model.interval.predict(prep.matrix[mask])
                metrics[name].update(interval_metrics(label_values[mask], predicted_interval))
    return TrainingResult(
        model=model,
        metrics=pd.DataFrame(metrics).T,
        predictions=_predictions(frame, prep, predicted, [id_column, "cutoff"]),
        leakage_table=leakage_table,
        split_summary=prep.split_summary(),
        rows=prep.rows,
        folds=prep.folds,
        search_table=trees.search_table,
    )
