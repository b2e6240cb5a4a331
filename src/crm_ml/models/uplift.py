"""Uplift (treatment effect per customer) for campaigns that keep a control group.

Targeting on response probability picks customers who would buy anyway; targeting on uplift
picks those who buy *because* they were contacted. Two meta-learners on LightGBM:

- T-learner: one outcome model per arm, uplift = P(y | x, treated) - P(y | x, control).
- X-learner (Kuenzel, Sekhon, Bickel & Yu 2019, PNAS 116(10)): impute each customer's effect
  with the other arm's outcome model, regress the imputed effects per arm, blend the two
  with the propensity of treatment (a constant for a randomised control group).

Evaluation: the Qini curve (Radcliffe 2007, "Using control groups to target on predicted
lift"): incremental responders when targeting the top share by predicted uplift,
Q(k) = R_t(k) - R_c(k) * N_t(k) / N_c(k); the Qini coefficient is the area between it and
the random-targeting line, both divided by the number of customers (0 = random).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import lightgbm as lgb
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from crm_ml.models.booster import fit_booster
from crm_ml.models.config import DEFAULT_EXCLUDED_PREFIXES, LightGBMConfig
from crm_ml.models.frame import FeatureSchema, infer_schema

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UpliftConfig:
    """learner: "x" or "t". stop_fraction: rows of each arm held out for early stopping.
    propensity: "constant" (randomised control group: share treated) or "model"."""

    learner: Literal["t", "x"] = "x"
    lightgbm: LightGBMConfig = field(
        default_factory=lambda: LightGBMConfig(num_boost_round=1000, early_stopping_rounds=50)
    )
    stop_fraction: float = 0.2
    propensity: Literal["constant", "model"] = "constant"
    exclude_columns: tuple[str, ...] = ()
    excluded_prefixes: tuple[str, ...] = DEFAULT_EXCLUDED_PREFIXES


@dataclass
class UpliftModel:
    """Fitted meta-learner; `predict(X)` gives the estimated uplift (effect on P(outcome))."""

    schema: FeatureSchema
    learner: str
    boosters: dict[str, lgb.Booster]
    treated_share: float
    num_threads: int = 0
    feature_names: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.feature_names = list(self.schema.feature_names)

    def _predict(self, name: str, matrix: np.ndarray) -> np.ndarray:
        return self.boosters[name].predict(matrix, num_threads=self.num_threads)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        matrix = self.schema.to_matrix(X)
        if self.learner == "t":
            return self._predict("treated", matrix) - self._predict("control", matrix)
        g = (
            self._predict("propensity", matrix)
            if "propensity" in self.boosters
            else (np.full(len(matrix), self.treated_share))
        )
        return g * self._predict("effect_control", matrix) + (1 - g) * self._predict(
            "effect_treated", matrix
        )


def _stop_split(n: int, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    stop = rng.random(n) < fraction
    return ~stop, stop


def train_uplift_model(
    frame: pd.DataFrame,
    outcome: str,
    treatment_column: str = "is_control",
    control_value: object = True,
    config: UpliftConfig = UpliftConfig(),
    id_column: str | None = "customer_id",
    feature_columns: Sequence[str] | None = None,
) -> UpliftModel:
    """Fit a T- or X-learner on contacted (treated) and control customers.

    `treatment_column` == `control_value` marks the control group (contacts.is_control).
    """
    for column in (outcome, treatment_column):
        if column not in frame.columns:
            raise KeyError(f"uplift frame lacks column {column!r}")
    control = (frame[treatment_column] == control_value).to_numpy(dtype=bool)
    if control.all() or not control.any():
        raise ValueError(f"column {treatment_column!r} must mark both treated and control rows")
    excluded = [c for c in (treatment_column, id_column, "cutoff", "split") if c]
    schema = infer_schema(
        frame,
        outcome,
        [*excluded, *config.exclude_columns],
        config.excluded_prefixes,
        feature_columns,
    )
    matrix = schema.to_matrix(frame)
    y = frame[outcome].to_numpy(dtype=np.float64)
    rng = np.random.default_rng(config.lightgbm.seed)
    base = config.lightgbm.params()

    def fit(rows: np.ndarray, target: np.ndarray, objective: str) -> lgb.Booster:
        fit_rows, stop_rows = _stop_split(int(rows.sum()), config.stop_fraction, rng)
        x, t = matrix[rows], target[rows]
        metric = "binary_logloss" if objective == "binary" else "l2"
        return fit_booster(
            {**base, "objective": objective, "metric": metric},
            (x[fit_rows], t[fit_rows]),
            (x[stop_rows], t[stop_rows]),
            schema.feature_names,
            schema.categorical_features,
            config.lightgbm.num_boost_round,
            config.lightgbm.early_stopping_rounds,
        )

    treated = ~control
    boosters = {"treated": fit(treated, y, "binary"), "control": fit(control, y, "binary")}
    threads = config.lightgbm.num_threads
    if config.learner == "x":
        mu_treated = boosters["treated"].predict(matrix, num_threads=threads)
        mu_control = boosters["control"].predict(matrix, num_threads=threads)
        imputed = np.where(treated, y - mu_control, mu_treated - y)
        boosters["effect_treated"] = fit(treated, imputed, "regression")
        boosters["effect_control"] = fit(control, imputed, "regression")
        if config.propensity == "model":
            boosters["propensity"] = fit(np.ones(len(y), bool), treated.astype(float), "binary")
    elif config.learner != "t":
        raise ValueError(f"unknown uplift learner {config.learner!r}; use 't' or 'x'")
    log.info(
        "uplift %s-learner: %d treated, %d control rows",
        config.learner,
        int(treated.sum()),
        int(control.sum()),
    )
    return UpliftModel(schema, config.learner, boosters, float(treated.mean()), threads)


def _arrays(y: ArrayLike, treatment: ArrayLike, uplift: ArrayLike) -> tuple[np.ndarray, ...]:
    y = np.asarray(y, dtype=np.float64)
    treatment = np.asarray(treatment).astype(bool)
    uplift = np.asarray(uplift, dtype=np.float64)
    if not len(y) == len(treatment) == len(uplift):
        raise ValueError("y, treatment and uplift must have the same length")
    if treatment.all() or not treatment.any():
        raise ValueError("Qini needs both treated and control rows")
    return y, treatment, uplift


def qini_curve(y: ArrayLike, treatment: ArrayLike, uplift: ArrayLike) -> pd.DataFrame:
    """Qini curve at every prefix of customers sorted by predicted uplift (highest first).

    `treatment` is True for contacted customers (not the control group). Columns:
    share_targeted, qini (incremental responders), random (straight line to the same end).
    """
    y, treatment, uplift = _arrays(y, treatment, uplift)
    order = np.argsort(-uplift, kind="stable")
    y, treatment = y[order], treatment[order]
    n_treated = np.cumsum(treatment)
    n_control = np.cumsum(~treatment)
    responders_treated = np.cumsum(y * treatment)
    responders_control = np.cumsum(y * ~treatment)
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.where(n_control > 0, responders_control * n_treated / n_control, 0.0)
    qini = np.r_[0.0, responders_treated - scaled]
    n = len(y)
    share = np.arange(n + 1) / n
    return pd.DataFrame({"share_targeted": share, "qini": qini, "random": share * qini[-1]})


def qini_coefficient(y: ArrayLike, treatment: ArrayLike, uplift: ArrayLike) -> float:
    """Area between the Qini curve and the random line, per customer (0 = random)."""
    curve = qini_curve(y, treatment, uplift)
    gap = (curve["qini"] - curve["random"]).to_numpy() / (len(curve) - 1)
    return float(np.trapezoid(gap, curve["share_targeted"].to_numpy()))


def uplift_by_decile(
    y: ArrayLike, treatment: ArrayLike, uplift: ArrayLike, n_bins: int = 10
) -> pd.DataFrame:
    """Observed vs predicted uplift per bin of predicted uplift (bin 1 = highest).
    Columns: bin, count, treated, control, response_treated, response_control,
    observed_uplift, mean_predicted_uplift."""
    y, treatment, uplift = _arrays(y, treatment, uplift)
    order = np.argsort(-uplift, kind="stable")
    rows = []
    for number, chunk in enumerate(np.array_split(order, n_bins), start=1):
        t, yy = treatment[chunk], y[chunk]
        rate_t = yy[t].mean() if t.any() else np.nan
        rate_c = yy[~t].mean() if (~t).any() else np.nan
        rows.append(
            {
                "bin": number,
                "count": len(chunk),
                "treated": int(t.sum()),
                "control": int((~t).sum()),
                "response_treated": rate_t,
                "response_control": rate_c,
                "observed_uplift": rate_t - rate_c,
                "mean_predicted_uplift": uplift[chunk].mean(),
            }
        )
    return pd.DataFrame(rows)


def plot_qini(y: ArrayLike, treatment: ArrayLike, uplifts: Mapping[str, ArrayLike]) -> Figure:
    """Qini curves (one per named uplift score) and the random-targeting line."""
    figure = Figure(figsize=(6, 4.5), layout="constrained")
    axes = figure.add_subplot()
    curve = None
    for name, uplift in uplifts.items():
        curve = qini_curve(y, treatment, uplift)
        coefficient = qini_coefficient(y, treatment, uplift)
        axes.plot(curve["share_targeted"], curve["qini"], label=f"{name} (Qini {coefficient:.4f})")
    if curve is not None:
        axes.plot(
            curve["share_targeted"], curve["random"], color="grey", linestyle="--", label="random"
        )
    axes.set(
        title="Qini curve", xlabel="share of customers targeted", ylabel="incremental responders"
    )
    axes.grid(alpha=0.3)
    axes.legend(loc="best")
    return figure
