"""Typed settings for the model trainers; the run configuration builds these, nothing here reads files."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class LightGBMConfig:
    """Booster settings. `deterministic` + fixed seeds make two trainings give the same model
    on the same machine and thread count (`num_threads=0` lets LightGBM use every core)."""

    learning_rate: float = 0.1  # LightGBM default; early stopping picks the number of trees
    num_leaves: int = 31
    max_depth: int = -1
    min_child_samples: int = 50
    max_bin: int = 255
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    bagging_freq: int = 1
    lambda_l2: float = 1.0
    num_boost_round: int = 2000
    early_stopping_rounds: int = 100
    num_threads: int = 0
    seed: int = 42
    extra_params: dict[str, Any] = field(default_factory=dict)

    def params(self) -> dict[str, Any]:
        """LightGBM parameter dict (objective and metric are added by the trainer)."""
        return {
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "max_depth": self.max_depth,
            "min_child_samples": self.min_child_samples,
            "max_bin": self.max_bin,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": self.bagging_freq,
            "lambda_l2": self.lambda_l2,
            "num_threads": self.num_threads,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
            **self.extra_params,
        }


@dataclass(frozen=True)
class SplitConfig:
    """How rows are used.

    A frame with a `split` column (the pipeline's rolling cutoffs: train / validation /
    holdout) trains on the train rows; `calibration_share` of the validation rows (whole
    customers) is kept away from early stopping and used only to fit the blend and the
    calibrator; the holdout is only scored. `rounds` says what chooses the number of trees
    there: "stop" stops early on the other validation rows; "cross_fit" cross-fits the
    train rows as a plain table would be (grouped by customer, unweighted log loss, the
    tree shape searched as `search` says) and gives every validation row to the blend and
    the calibrator. It suits rare events, where the stop rows hold too few positives for
    their curve to mean anything: on contract churn (1-3% positives, some 70 in the stop
    rows) stopping kept 1 to 6 trees and the holdout AUC swung by 0.03 between worlds.

    A frame without one (a plain table) is cross-fitted over `n_folds` folds (stratified,
    grouped by customer; see `crm_ml.models.crossfit`): no row is set aside, evaluation
    belongs to the caller. Each fold stops after `fold_early_stopping_rounds` rounds without
    improvement (the mean curve over folds then picks the rounds, so a short patience is
    enough). Tables under `small_table_rows` rows are binned into at most 63 bins (fewer,
    better-filled bins; half the time per tree) and refitted on one thread (on a few
    thousand rows LightGBM's threads cost more than they save).
    """

    calibration_share: float = 0.5
    rounds: Literal["stop", "cross_fit"] = "stop"
    n_folds: int = 5
    fold_early_stopping_rounds: int = 20
    small_table_rows: int = 20_000
    seed: int = 42

    def __post_init__(self) -> None:
        if not 0 < self.calibration_share < 1:
            raise ValueError("SplitConfig.calibration_share must lie in (0, 1)")
        if self.rounds not in ("stop", "cross_fit"):
            raise ValueError(
                f"SplitConfig.rounds must be 'stop' or 'cross_fit', not {self.rounds!r}"
            )
        if self.n_folds < 2:
            raise ValueError("SplitConfig.n_folds must be at least 2")


@dataclass(frozen=True)
class LeakageConfig:
    """Leakage canary: a single feature that alone separates the validation labels almost
    perfectly (AUC, or |Spearman| for spend) is nearly always a copy of the label."""

    auc_threshold: float = 0.98
    spearman_threshold: float = 0.98
    action: Literal["raise", "warn"] = "raise"
    max_rows: int = 200_000


@dataclass(frozen=True)
class SearchConfig:
    """Hyper-parameter search with Optuna (TPE with a seed) over the tree shape and
    regularisation; the configured settings are always the first trial, so the search can
    only match or beat them.

    enabled: "auto" searches cross-fitted tables of at most `max_rows` rows (each trial is
    one cross-fit, scored by its out-of-fold loss) and leaves frames with a split column
    alone; True / False force it. `n_trials` bounds the work; `timeout_seconds` is a ceiling
    for slow machines (a search it cuts short depends on the machine's speed).
    """

    enabled: bool | Literal["auto"] = "auto"
    n_trials: int = 3
    timeout_seconds: float = 60.0
    max_rows: int = 100_000
    seed: int = 42

    def active(self, rows: int, cross_fitted: bool) -> bool:
        if self.enabled == "auto":
            return cross_fitted and rows <= self.max_rows
        return bool(self.enabled)


ColumnNames = tuple[str, ...]

# Columns never used as features: ids, times, labels, and the simulator's ground truth.
DEFAULT_EXCLUDED_PREFIXES: ColumnNames = ("label", "oracle_", "true_", "target_")


@dataclass(frozen=True)
class BinaryModelConfig:
    """Churn, category propensity and campaign response.

    imbalance: "auto" sets scale_pos_weight = negatives / positives when the positive rate
    of the training rows is below `imbalance_threshold` (or above 1 - it) and the frame has
    a split column; calibration then maps the re-weighted scores back to probabilities.
    Cross-fitted tables are never re-weighted by "auto": their number of rounds is chosen
    on the out-of-fold log loss, which re-weighted scores make stop after a tree or two
    (on a 6% table: 0.70 AUC re-weighted, 0.73 without).
    calibration_methods: candidates compared on the calibration rows by `calibration_metric`
    (cross-fitted, so the comparison is out of sample); "none" keeps the raw booster output.
    linear_blend: also fit a logistic regression on the same features (`crm_ml.models.linear`)
    and blend the two margins with weights fitted out of sample; a part that does not lower
    the blend's cross-validated log loss gets weight 0.
    linear_C is its inverse L2 strength.
    min_trees: a booster whose early stopping keeps fewer trees learned almost nothing; it
    is retried at a quarter of the learning rate, and if it stays that small the trees get
    weight 0 (with a warning) and the linear part scores alone (with linear_blend off the
    small booster is kept, with the warning).
    """

    lightgbm: LightGBMConfig = field(default_factory=LightGBMConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    leakage: LeakageConfig = field(default_factory=LeakageConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    imbalance: Literal["auto", "scale_pos_weight", "none"] = "auto"
    imbalance_threshold: float = 0.2
    calibration_methods: ColumnNames = ("sigmoid", "spline", "isotonic")
    calibration_metric: Literal["log_loss", "brier"] = "log_loss"
    linear_blend: bool = True
    linear_C: float = 1.0
    min_trees: int = 5
    exclude_columns: ColumnNames = ()
    excluded_prefixes: ColumnNames = DEFAULT_EXCLUDED_PREFIXES


@dataclass(frozen=True)
class SpendModelConfig:
    """Spend in the horizon (CLV). Tweedie suits spend with many zeros; negative targets
    (net of returns) are clipped at zero for tweedie/poisson with a warning.
    `rescale_total`: multiply predictions so the calibration rows' total matches.
    `interval_coverage`: with a split column, also fit a per-customer interval of spend
    that holds this share of customers (conformalized quantile regression,
    `crm_ml.models.intervals`); None skips it."""

    lightgbm: LightGBMConfig = field(default_factory=LightGBMConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    leakage: LeakageConfig = field(default_factory=LeakageConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    objective: Literal["tweedie", "poisson", "regression", "huber"] = "tweedie"
    tweedie_variance_power: float = 1.3
    rescale_total: bool = True
    interval_coverage: float | None = 0.8
    exclude_columns: ColumnNames = ()
    excluded_prefixes: ColumnNames = DEFAULT_EXCLUDED_PREFIXES
