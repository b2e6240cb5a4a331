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
    """How rows are split when the frame has no `split` column (plain feature tables).

    With a time column the latest `holdout_fraction` of rows (by time) is the holdout and the
    `validation_fraction` before it the validation set; without one the split is a seeded,
    stratified random split. `calibration_share` of the validation rows (whole customers when
    an id column is present) is kept away from early stopping and used only to fit and choose
    the calibrator, so the calibrator never sees the rows that picked the number of trees.
    """

    validation_fraction: float = 0.15
    holdout_fraction: float = 0.15
    calibration_share: float = 0.5
    seed: int = 42

    def __post_init__(self) -> None:
        if not 0 < self.validation_fraction < 1 or not 0 <= self.holdout_fraction < 1:
            raise ValueError("SplitConfig fractions must lie in (0, 1)")
        if self.validation_fraction + self.holdout_fraction >= 1:
            raise ValueError("SplitConfig: validation + holdout fractions must leave training rows")
        if not 0 < self.calibration_share < 1:
            raise ValueError("SplitConfig.calibration_share must lie in (0, 1)")


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
    """Optional Optuna search (TPE with a seed). Off by default. With a `timeout_seconds`
    budget the number of finished trials depends on the machine, so for reproducible searches
    rely on `n_trials` and set a generous timeout."""

    enabled: bool = False
    n_trials: int = 30
    timeout_seconds: float = 300.0
    seed: int = 42


ColumnNames = tuple[str, ...]

# Columns never used as features: ids, times, labels, and the simulator's ground truth.
DEFAULT_EXCLUDED_PREFIXES: ColumnNames = ("label", "oracle_", "true_", "target_")


@dataclass(frozen=True)
class BinaryModelConfig:
    """Churn, category propensity and campaign response.

    imbalance: "auto" sets scale_pos_weight = negatives / positives when the positive rate
    of the training rows is below `imbalance_threshold` (or above 1 - it); calibration then
    maps the re-weighted scores back to probabilities.
    calibration_methods: candidates compared on the calibration rows by `calibration_metric`
    (cross-fitted, so the comparison is out of sample); "none" keeps the raw booster output.
    """

    lightgbm: LightGBMConfig = field(default_factory=LightGBMConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    leakage: LeakageConfig = field(default_factory=LeakageConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    imbalance: Literal["auto", "scale_pos_weight", "none"] = "auto"
    imbalance_threshold: float = 0.2
    calibration_methods: ColumnNames = ("sigmoid", "isotonic")
    calibration_metric: Literal["log_loss", "brier"] = "log_loss"
    exclude_columns: ColumnNames = ()
    excluded_prefixes: ColumnNames = DEFAULT_EXCLUDED_PREFIXES


@dataclass(frozen=True)
class SpendModelConfig:
    """Spend in the horizon (CLV). Tweedie suits spend with many zeros; negative targets
    (net of returns) are clipped at zero for tweedie/poisson with a warning.
    `rescale_total`: multiply predictions so the calibration rows' total matches."""

    lightgbm: LightGBMConfig = field(default_factory=LightGBMConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    leakage: LeakageConfig = field(default_factory=LeakageConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    objective: Literal["tweedie", "poisson", "regression", "huber"] = "tweedie"
    tweedie_variance_power: float = 1.3
    rescale_total: bool = True
    exclude_columns: ColumnNames = ()
    excluded_prefixes: ColumnNames = DEFAULT_EXCLUDED_PREFIXES
