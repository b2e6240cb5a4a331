"""Notebook 05's work: customer lifetime value, against BG/NBD and Pareto/NBD (each with
Gamma-Gamma), with each customer's chance of buying and the 80% range of the amount if they
do, and the CDNOW benchmark of the BG/NBD literature.

CLV here is spend, net of returns, in the label horizon (90 days by default) predicted by
LightGBM (tweedie) on rolling snapshots. The 12-month figure the report shows is
`clv_12m = horizon prediction x 12 / horizon months` (x 4 for 90 days, months of 30 days, as
the scoring layer uses): a constant-rate
extrapolation without discounting, which overstates the value of customers who will leave
during the year. It ranks customers; for money forecasts beyond the horizon prefer BG/NBD.

The CDNOW benchmark (Fader, Hardie & Lee 2005) predicts each customer's transactions in
holdout weeks 40-78 from calibration weeks 1-39. LightGBM is trained honestly: on pseudo
snapshots *inside* the calibration weeks (cutoffs at weeks 13-26, targets up to week 39),
early-stopped on customers held out of those snapshots, so the holdout weeks are never seen
before the evaluation. Per-customer MAE rewards the median of the outcome (predicting "no
purchase" for everyone scores almost as well as BG/NBD on CDNOW), so LightGBM is trained on
the absolute error (L1) of the weekly purchase rate: a median forecast judged on the metric
it was trained for, while BG/NBD gives conditional means. The table therefore also shows
RMSE, the total and the "no purchase" forecast: the median forecast's total is far too low,
and for aggregate forecasts BG/NBD remains the tool. A mean forecast from LightGBM (Poisson,
boosted from BG/NBD's own expectation at each pseudo cutoff) was tried and was worse than
BG/NBD on MAE (0.85 vs 0.80) and RMSE: customers at the pseudo cutoffs have 1-26 weeks of
history, at week 39 they have 27-39, and the correction does not carry over.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from crm_ml.datasets.cdnow import STUDY_START, cdnow_calibration_holdout, load_cdnow
from crm_ml.models import (
    BgNbdBaseline,
    LightGBMConfig,
    ParetoNbdBaseline,
    SpendModelConfig,
    TrainingResult,
    compare_to_baselines,
    default_baselines,
    train_spend_model,
)
from crm_ml.models.booster import fit_booster
from crm_ml.models.evaluation import decile_calibration_table, mae, rmse, spearman
from crm_ml.models.plots import plot_weekly_forecast
from crm_ml.pipeline.config import RunConfig
from crm_ml.pipeline.paths import RunPaths
from crm_ml.pipeline.promotions import run_tracking
from crm_ml.pipeline.steps.frames import feature_columns, holdout, training_frame, typed_config
from crm_ml.pipeline.steps.run_models import forget_run_model, keep_in_run
from crm_ml.pipeline.steps.tracked import Gate, flat_metrics, track_and_gate
from crm_ml.tracking.registry import GateDecision

log = logging.getLogger(__name__)
LABEL = "spend"
TARGET = "label"
MONTH_DAYS = 30.0
COMPARISON_COLUMNS = ["model", "mae", "rmse", "spearman", "total_spend_error"]
GATE_RELATIVE_TOLERANCE = 0.02  # a challenger may be 2% worse in MAE than the champion


def clv_12m_factor(horizon_days: int) -> float:
    """Horizon spend -> 12-month value (constant rate, no discounting): 12 / horizon months."""
    return 12.0 / (horizon_days / MONTH_DAYS)


def spend_config(config: RunConfig) -> SpendModelConfig:
    """The CLV trainer's settings: `models.clv` of the run config over the defaults.

    Parameters
    ----------
    config : RunConfig
        The run configuration; its ``models["clv"]`` mapping (missing: all defaults) gives
        the `SpendModelConfig` fields, nested sections such as ``lightgbm`` becoming their
        own dataclasses.

    Returns
    -------
    SpendModelConfig
        What `crm_ml.models.train_spend_model` takes.

    Examples
    --------
    >>> from crm_ml.pipeline import load_config
    >>> settings = spend_config(load_config(None, {"models.clv": {"tweedie_variance_power": 1.5}}))
    >>> settings.objective, settings.tweedie_variance_power
    ('tweedie', 1.5)
    """
    return typed_config(SpendModelConfig, config.models.get("clv", {}))


@dataclass
class ClvOutcome:
    result: TrainingResult
    comparison: pd.DataFrame  # clv_vs_baselines: model + BG/NBD-GG on the same holdout
    not_beaten: list[str]
    deciles: pd.DataFrame  # decile calibration of the model on the holdout (horizon spend)
    holdout_clv: pd.DataFrame  # customer_id, actual_spend, predicted_spend, clv_12m
    horizon_days: int
    figures: dict[str, Any] = field(default_factory=dict)
    decision: GateDecision | None = None
    uncertainty: pd.DataFrame | None = None  # per decile: chance of spending, interval coverage

    @property
    def mae(self) -> float:
        return float(self.comparison.set_index("model").loc["model", "mae"])

    def baseline_mae(self, name: str = "bg_nbd_gamma_gamma") -> float:
        return float(self.comparison.set_index("model").loc[name, "mae"])


def plot_clv_distribution(clv_12m: pd.Series) -> Figure:
    """Histogram of predicted 12-month value (log-spaced bins: a few customers hold most)."""
    figure = Figure(figsize=(6, 4.5), layout="constrained")
    axes = figure.add_subplot()
    values = clv_12m.to_numpy(dtype=float)
    positive = values[values > 0]
    top = max(float(positive.max()) if len(positive) else 1.0, 1.0)
    bins = np.r_[0.0, np.geomspace(max(float(np.quantile(positive, 0.01)), 0.1), top, 40)]
    axes.hist(values, bins=bins, color="#3b6ea8")
    axes.set_xscale("symlog", linthresh=max(bins[1], 0.1))
    share_top = np.sort(values)[::-1][: max(len(values) // 10, 1)].sum() / max(values.sum(), 1e-9)
    axes.set(
        title=f"Predicted 12-month value (top 10% hold {share_top:.0%})",
        xlabel="predicted 12-month value",
        ylabel="customers",
    )
    axes.grid(alpha=0.3)
    return figure


def plot_clv_calibration(deciles: pd.DataFrame) -> Figure:
    """Mean predicted vs mean actual horizon spend per decile of prediction (1 = highest)."""
    figure = Figure(figsize=(6, 4.5), layout="constrained")
    _predicted_beside_actual(
        figure.add_subplot(),
        deciles,
        ("mean_predicted", "mean_actual"),
        "CLV calibration by decile (holdout)",
        "mean spend in the horizon",
    )
    return figure


def _predicted_beside_actual(
    axes: Any, deciles: pd.DataFrame, columns: tuple[str, str], title: str, ylabel: str
) -> None:
    """Predicted and actual bars side by side per decile of predicted spend."""
    x = deciles["decile"].to_numpy()
    axes.bar(x - 0.2, deciles[columns[0]], width=0.4, label="predicted", color="#3b6ea8")
    axes.bar(x + 0.2, deciles[columns[1]], width=0.4, label="actual", color="#e0892b")
    axes.set(title=title, xlabel="decile of predicted spend (1 = highest)", ylabel=ylabel, xticks=x)
    axes.legend(loc="upper right")
    axes.grid(alpha=0.3, axis="y")


def clv_frame(paths: RunPaths, config: RunConfig) -> pd.DataFrame:
    """Features at every rolling cutoff with the spend in the horizon (`label`), and the split.

    Built once per run (validating the raw exports first if the run has no accepted tables
    yet) and cached as ``training_spend.parquet`` in ``paths.features``; later calls read
    the cache.

    Parameters
    ----------
    paths : RunPaths
        The run's folders.
    config : RunConfig
        The run configuration: the data source, ``horizon_days``, the feature settings and
        ``models.n_train_cutoffs`` (the number of rolling training cutoffs, default 6).

    Returns
    -------
    pandas.DataFrame
        One row per customer and cutoff: ``customer_id``, ``cutoff``, the features,
        ``label`` (``TARGET``: spend net of returns in the horizon after the cutoff) and
        ``split`` (train, validation or holdout).

    Raises
    ------
    ContractError
        When the raw exports cannot be taken (see `crm_ml.pipeline.data.ensure_accepted`).

    Examples
    --------
    >>> frame = clv_frame(ctx.paths, ctx.config)  # doctest: +SKIP
    >>> frame.groupby("split", observed=True)[TARGET].describe().round(2)  # doctest: +SKIP
    """
    return training_frame(paths, config, LABEL)


def clv_comparison(
    result: TrainingResult, frame: pd.DataFrame, config: RunConfig
) -> tuple[pd.DataFrame, list[str]]:
    """The model beside BG/NBD + Gamma-Gamma on the same holdout rows (and what it lost to).

    Parameters
    ----------
    result : TrainingResult
        The trained spend model (`crm_ml.models.train_spend_model`).
    frame : pandas.DataFrame
        The CLV frame it was trained on (`clv_frame`).
    config : RunConfig
        The run configuration; ``horizon_days`` sets the baselines' horizon.

    Returns
    -------
    table : pandas.DataFrame
        One row per model (``model`` and the baselines, e.g. ``bg_nbd_gamma_gamma``) with
        ``mae``, ``rmse``, ``spearman``, ``total_spend_error`` and, where the comparison
        has them, ``beaten_by_model`` and ``note``.
    not_beaten : list of str
        The baselines the model did not beat on the holdout.

    Examples
    --------
    >>> comparison, not_beaten = clv_comparison(result, frame, ctx.config)  # doctest: +SKIP
    >>> comparison.set_index("model")["mae"]  # doctest: +SKIP
    """
    comparison = compare_to_baselines(
        result.model,
        frame,
        TARGET,
        default_baselines("spend", horizon_days=config.horizon_days),
        task="spend",
    )
    table = comparison.table
    present = [c for c in [*COMPARISON_COLUMNS, "beaten_by_model", "note"] if c in table]
    return table[present], comparison.not_beaten


def clv_evaluation(
    result: TrainingResult, config: RunConfig
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """(deciles, holdout_clv, figures): calibration by decile of predicted spend, each
    holdout customer's actual and predicted spend with the 12-month value, and the charts.

    Parameters
    ----------
    result : TrainingResult
        The trained spend model; its holdout ``predictions`` (``customer_id``, ``y_true``,
        ``y_pred``) are evaluated.
    config : RunConfig
        The run configuration; ``horizon_days`` sets the 12-month factor
        (``12 / (horizon_days / 30)``, constant rate, no discounting).

    Returns
    -------
    deciles : pandas.DataFrame
        Mean predicted and actual horizon spend per ``decile`` of prediction (1 = highest).
    holdout_clv : pandas.DataFrame
        ``customer_id``, ``actual_spend``, ``predicted_spend`` and ``clv_12m`` per holdout
        row.
    figures : dict of str to Figure
        ``"clv_distribution"`` (histogram of ``clv_12m``) and ``"clv_calibration"``.

    Examples
    --------
    >>> deciles, holdout_clv, figures = clv_evaluation(result, ctx.config)  # doctest: +SKIP
    >>> figures["clv_calibration"]  # doctest: +SKIP
    """
    y, predicted = result.predictions["y_true"], result.predictions["y_pred"]
    deciles = decile_calibration_table(y, predicted).rename(columns={"bin": "decile"})
    holdout_clv = pd.DataFrame(
        {
            "customer_id": result.predictions["customer_id"],
            "actual_spend": y,
            "predicted_spend": predicted,
            "clv_12m": predicted * clv_12m_factor(config.horizon_days),
        }
    )
    figures = {
        "clv_distribution": plot_clv_distribution(holdout_clv["clv_12m"]),
        "clv_calibration": plot_clv_calibration(deciles),
    }
    return deciles, holdout_clv, figures


def clv_uncertainty(
    result: TrainingResult, frame: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, Figure]:
    """How sure the value is, on the holdout: each customer's chance of spending in the
    horizon and the 80% interval of the amount if they do, checked per decile of the
    predicted spend (`crm_ml.models.intervals`).

    Parameters
    ----------
    result : TrainingResult
        The trained spend model; it carries the interval when it was trained with a split
        column and ``interval_coverage`` set (the default).
    frame : pandas.DataFrame
        The CLV frame it was trained on (`clv_frame`); its holdout rows are used.

    Returns
    -------
    customers : pandas.DataFrame
        Per holdout row: ``customer_id``, ``actual_spend``, ``predicted_spend``, ``p_spend``,
        ``spend_low``, ``spend_high`` and ``inside`` (spent, and within the interval).
    deciles : pandas.DataFrame
        Per ``decile`` of predicted spend (1 = highest): rows, mean ``p_spend`` beside the
        share who spent, and the interval's ``coverage`` among those who spent.
    figure : Figure
        Both checks per decile, against the target coverage.

    Raises
    ------
    ValueError
        When the model has no interval.

    Examples
    --------
    >>> customers, deciles, figure = clv_uncertainty(result, frame)  # doctest: +SKIP
    >>> deciles[["decile", "p_spend", "spent_share", "coverage"]]  # doctest: +SKIP
    """
    model = result.model
    rows = holdout(frame)
    interval = model.predict_interval(rows)
    y = rows[TARGET].to_numpy(dtype=float)
    low, high = interval["low"].to_numpy(), interval["high"].to_numpy()
    customers = pd.DataFrame(
        {
            "customer_id": rows["customer_id"].to_numpy(),
            "actual_spend": y,
            "predicted_spend": model.predict(rows),
            "p_spend": interval["p_spend"].to_numpy(),
            "spend_low": low,
            "spend_high": high,
            "spent": y != 0,
            "inside": (y != 0) & (low <= y) & (y <= high),
        }
    )
    order = np.argsort(-customers["predicted_spend"].to_numpy(), kind="stable")
    decile = np.empty(len(customers), dtype=int)
    for number, chunk in enumerate(np.array_split(order, 10), start=1):
        decile[chunk] = number
    grouped = customers.assign(decile=decile).groupby("decile")
    deciles = pd.DataFrame(
        {
            "rows": grouped.size(),
            "p_spend": grouped["p_spend"].mean(),
            "spent_share": grouped["spent"].mean(),
            "coverage": grouped["inside"].sum() / grouped["spent"].sum().replace(0, np.nan),
        }
    ).reset_index()
    return customers, deciles, plot_clv_uncertainty(deciles, model.interval.coverage)


def plot_clv_uncertainty(deciles: pd.DataFrame, target: float) -> Figure:
    """Left: predicted chance of spending against the share who spent; right: the share of
    spenders inside their interval, against the target coverage; per decile."""
    figure = Figure(figsize=(10, 4.2), layout="constrained")
    chance, cover = figure.subplots(1, 2)
    _predicted_beside_actual(
        chance,
        deciles,
        ("p_spend", "spent_share"),
        "Chance of spending in the horizon",
        "share of customers",
    )
    x = deciles["decile"].to_numpy()
    cover.bar(x, deciles["coverage"], color="#3b6ea8")
    cover.axhline(target, color="#444444", linestyle="--", label=f"target {target:.0%}")
    cover.set(
        title="Spenders inside their interval",
        xlabel="decile of predicted spend (1 = highest)",
        ylabel="coverage",
        xticks=x,
        ylim=(0, 1),
    )
    cover.legend(loc="lower right")
    cover.grid(alpha=0.3, axis="y")
    return figure


def track_clv(
    paths: RunPaths,
    config: RunConfig,
    frame: pd.DataFrame,
    result: TrainingResult,
    comparison: pd.DataFrame,
    figures: dict[str, Any],
) -> GateDecision:
    """Log the spend model and gate it on holdout MAE (no probability calibration).

    The run logs the model with the holdout features as its input example, the horizon,
    the 12-month factor and the trainer settings as parameters, the metrics, the baseline
    table and the figures. A challenger may be up to 2% worse in MAE than the champion
    and still be promoted. A model this run kept untracked (`keep_in_run`) is forgotten
    first.

    Parameters
    ----------
    paths : RunPaths
        The run's folders; the MLflow run is named after ``paths.run_id``.
    config : RunConfig
        The run configuration (data scope of the registered model, horizon, settings).
    frame : pandas.DataFrame
        The CLV frame the model was trained on (`clv_frame`).
    result : TrainingResult
        The trained spend model.
    comparison : pandas.DataFrame
        The table of `clv_comparison`; its ``model`` row's ``mae`` sets the tolerance.
    figures : dict of str to Figure
        The figures to log (those of `clv_evaluation`).

    Returns
    -------
    GateDecision
        Whether the new version became (or, under the pipeline, is staged to become) the
        champion, and why (``decision.summary``).

    Examples
    --------
    >>> decision = track_clv(ctx.paths, ctx.config, frame, result, comparison, figures)  # doctest: +SKIP
    >>> print(decision.summary)  # doctest: +SKIP
    """
    mae = float(comparison.set_index("model").loc["model", "mae"])
    gate = Gate(
        metric="holdout_mae",
        higher_is_better=False,
        tolerance=GATE_RELATIVE_TOLERANCE * mae,
        calibration_metric=None,
    )
    forget_run_model(paths, "clv")
    _, decision = track_and_gate(
        "clv",
        result.model,
        features=holdout(frame)[feature_columns(frame, TARGET)],
        params={
            "horizon_days": config.horizon_days,
            "clv_12m_factor": clv_12m_factor(config.horizon_days),
            **vars(spend_config(config)),
        },
        metrics=flat_metrics(result.metrics),
        baseline_table=comparison,
        figures=figures,
        gate=gate,
        run_name=paths.run_id,
        tracking=run_tracking(paths, config),
    )
    return decision


def run_clv(paths: RunPaths, config: RunConfig, track: bool = True) -> ClvOutcome:
    """Every step of notebook 05's first part in one call (the benchmarks' direct run and
    the tests); untracked, the model is kept in the run folder for scoring."""
    frame = clv_frame(paths, config)
    result = train_spend_model(frame, TARGET, spend_config(config))
    table, not_beaten = clv_comparison(result, frame, config)
    deciles, holdout_clv, figures = clv_evaluation(result, config)
    uncertainty = None
    if result.model.interval is not None:
        _, uncertainty, figures["clv_uncertainty"] = clv_uncertainty(result, frame)
    outcome = ClvOutcome(
        result=result,
        comparison=table,
        not_beaten=not_beaten,
        deciles=deciles,
        holdout_clv=holdout_clv,
        horizon_days=config.horizon_days,
        figures=figures,
        uncertainty=uncertainty,
    )
    if track:
        outcome.decision = track_clv(paths, config, frame, result, table, figures)
    else:
        keep_in_run(paths, "clv", result.model)
    return outcome


def score_clv(model: Any, current_features: pd.DataFrame, horizon_days: int = 90) -> pd.Series:
    """12-month value per customer (index customer_id) from features at the latest cutoff."""
    predicted = np.asarray(model.predict(current_features), dtype=float)
    return pd.Series(
        predicted * clv_12m_factor(horizon_days),
        index=pd.Index(current_features["customer_id"], name="customer_id"),
        name="clv_12m",
    )


# ---------------------------------------------------------------- CDNOW benchmark

CALIBRATION_WEEKS = 39
HOLDOUT_WEEKS = 39
PSEUDO_CUTOFF_WEEKS = tuple(range(13, 27))  # every cohort member has bought by week 12
CDNOW_FEATURES = (
    "frequency",
    "recency",
    "T",
    "monetary",
    "spend",
    "cds",
    "first_amount",
    "weeks_since_last",
    "transactions_4w",
    "transactions_8w",
    "transactions_13w",
    "weekly_rate",
    "recency_share",
)


@dataclass
class CdnowOutcome:
    table: pd.DataFrame  # model, mae, rmse, spearman, total_predicted, total_error
    weekly: pd.DataFrame  # week, actual, bg_nbd, pareto_nbd
    predictions: pd.DataFrame  # customer_id, actual, bg_nbd, pareto_nbd, lightgbm
    customers: int
    figure: Figure
    training_rows: int

    def mae_of(self, model: str) -> float:
        return float(self.table.set_index("model").loc[model, "mae"])


def cdnow_transactions(orders: pd.DataFrame) -> pd.DataFrame:
    """Purchase days per customer (same-day records merged, as in the literature), with
    `week` = weeks since 1997-01-01 as a float (week 1 = [0, 1))."""
    day = pd.to_datetime(orders["ts"], utc=True).dt.normalize()
    tx = pd.DataFrame(
        {
            "customer_id": orders["customer_id"].astype(str).to_numpy(),
            "day": day.to_numpy(),
            "amount": orders["amount"].astype(float).to_numpy(),
            "cds": orders["quantity"].astype(float).to_numpy(),
        }
    )
    tx = tx.groupby(["customer_id", "day"], as_index=False).agg(
        amount=("amount", "sum"), cds=("cds", "sum")
    )
    tx["week"] = (tx["day"] - STUDY_START).dt.days / 7.0
    return tx


def cdnow_features(tx: pd.DataFrame, cutoff_week: float) -> pd.DataFrame:
    """Point-in-time features from purchase days before `cutoff_week` (index customer_id):
    BG/NBD's frequency / recency / T in weeks, spend, CDs and recent activity."""
    before = tx[tx["week"] < cutoff_week].sort_values(["customer_id", "day"])
    grouped = before.groupby("customer_id")
    first, last = grouped["week"].min(), grouped["week"].max()
    features = pd.DataFrame(
        {
            "frequency": grouped.size() - 1.0,
            "recency": last - first,
            "T": cutoff_week - first,
            "monetary": grouped["amount"].mean(),
            "spend": grouped["amount"].sum(),
            "cds": grouped["cds"].sum(),
            "first_amount": grouped["amount"].first(),
            "weeks_since_last": cutoff_week - last,
        }
    )
    for weeks in (4, 8, 13):
        recent = before[before["week"] >= cutoff_week - weeks].groupby("customer_id").size()
        features[f"transactions_{weeks}w"] = recent.reindex(features.index).fillna(0.0)
    features["weekly_rate"] = features["frequency"] / features["T"].clip(lower=1.0)
    features["recency_share"] = features["recency"] / features["T"].clip(lower=1.0)
    return features


#: The buy-till-you-die models beside LightGBM on CDNOW: table name -> (class, plot label).
CDNOW_BTYD: dict[str, tuple[type[BgNbdBaseline], str]] = {
    "bg_nbd": (BgNbdBaseline, "BG/NBD"),
    "pareto_nbd": (ParetoNbdBaseline, "Pareto/NBD"),
}


def _btyd_expected(model: type[BgNbdBaseline], features: pd.DataFrame, weeks: float) -> np.ndarray:
    """BG/NBD or Pareto/NBD fitted on these customers' history, expected transactions in
    `weeks`."""
    baseline = model(
        target="transactions", columns=None, horizon_days=weeks * 7.0, time_unit_days=7.0
    )
    return baseline.predict(features[["frequency", "recency", "T"]].reset_index(drop=True))


def cdnow_pseudo_snapshots(
    tx: pd.DataFrame, cutoffs: tuple[int, ...], end_week: float
) -> pd.DataFrame:
    """Training rows from inside the calibration period: features at each pseudo cutoff,
    `target` = purchase days in [cutoff, end_week) and `horizon` in weeks."""
    frames = []
    for cutoff in cutoffs:
        features = cdnow_features(tx, cutoff)
        window = tx[(tx["week"] >= cutoff) & (tx["week"] < end_week)]
        features["target"] = window.groupby("customer_id").size().reindex(features.index)
        features["target"] = features["target"].fillna(0.0)
        features["horizon"] = end_week - cutoff
        features["cutoff_week"] = cutoff
        frames.append(features.reset_index())
    return pd.concat(frames, ignore_index=True)


def _customer_stop_rows(customers: pd.Series, share: float, seed: int) -> np.ndarray:
    """Whole customers set aside for early stopping."""
    codes, uniques = pd.factorize(customers)
    return (np.random.default_rng(seed).random(len(uniques)) < share)[codes]


def _fit_median_rate(train: pd.DataFrame, settings: LightGBMConfig) -> lgb.Booster:
    stop = _customer_stop_rows(train["customer_id"], 0.2, settings.seed)
    X = train[list(CDNOW_FEATURES)].to_numpy(dtype=float)
    rate = (train["target"] / train["horizon"]).to_numpy(dtype=float)
    params = {**settings.params(), "objective": "l1", "metric": "l1"}
    return fit_booster(
        params,
        (X[~stop], rate[~stop]),
        (X[stop], rate[stop]),
        CDNOW_FEATURES,
        num_boost_round=settings.num_boost_round,
        early_stopping_rounds=settings.early_stopping_rounds,
    )


def _count_metrics(name: str, actual: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    total = float(predicted.sum())
    return {
        "model": name,
        "mae": mae(actual, predicted),
        "rmse": rmse(actual, predicted),
        "spearman": spearman(actual, predicted),
        "total_predicted": total,
        "total_error": (total - actual.sum()) / actual.sum(),
    }


def _weekly_actual(tx: pd.DataFrame) -> pd.Series:
    """Repeat purchase days per holdout week 40-78 (every cohort member bought in Q1 1997)."""
    week = np.floor(tx["week"]).astype(int) + 1
    held = week[(week > CALIBRATION_WEEKS) & (week <= CALIBRATION_WEEKS + HOLDOUT_WEEKS)]
    index = pd.RangeIndex(CALIBRATION_WEEKS + 1, CALIBRATION_WEEKS + HOLDOUT_WEEKS + 1)
    return held.value_counts().reindex(index, fill_value=0).astype(float).rename_axis("week")


def run_cdnow_clv(sample: bool = True, settings: LightGBMConfig | None = None) -> CdnowOutcome:
    """CDNOW, calibration weeks 1-39 / holdout weeks 40-78: per-customer holdout transactions
    from LightGBM (median forecast), BG/NBD and Pareto/NBD, MAE of each on the same
    customers, and the weekly repeat-transaction forecasts against the actual.

    Needs no run folder: the CDNOW files are read offline from the installed `lifetimes`
    package (`crm_ml.datasets.cdnow.load_cdnow`).

    Parameters
    ----------
    sample : bool, default True
        The 1/10 sample of the CDNOW cohort (2,357 customers); False for the whole cohort
        (23,570).
    settings : LightGBMConfig or None, default None
        The median-rate booster's settings; None for small, single-threaded defaults
        (learning rate 0.02, 7 leaves, 100 rows per leaf, early stopping after 50 rounds).

    Returns
    -------
    CdnowOutcome
        ``table`` (``model``, ``mae``, ``rmse``, ``spearman``, ``total_predicted``,
        ``total_error`` for ``lightgbm``, ``bg_nbd``, ``pareto_nbd`` and ``no_purchase``),
        ``weekly`` (actual, BG/NBD and Pareto/NBD repeat transactions per holdout week),
        per-customer
        ``predictions``, the number of ``customers``, the weekly ``figure`` and the
        number of ``training_rows``; ``mae_of(model)`` reads one MAE.

    Raises
    ------
    FileNotFoundError
        When the `lifetimes` package and its CDNOW files are not installed.

    Examples
    --------
    >>> cdnow = run_cdnow_clv(sample=True)  # doctest: +SKIP
    >>> cdnow.mae_of("lightgbm"), cdnow.mae_of("bg_nbd")  # doctest: +SKIP
    """
    # Small data: one thread is as fast and never fights other jobs for the cores.
    settings = settings or LightGBMConfig(
        learning_rate=0.02,
        num_leaves=7,
        min_child_samples=100,
        early_stopping_rounds=50,
        num_threads=1,
    )
    orders = load_cdnow(sample)["orders"]
    summary = cdnow_calibration_holdout(orders)
    actual = summary["frequency_holdout"].to_numpy(dtype=float)
    bg_inputs = summary.rename(
        columns={"frequency_cal": "frequency", "recency_cal": "recency", "T_cal": "T"}
    )[["frequency", "recency", "T"]]
    btyd = {
        name: _btyd_expected(model, bg_inputs, HOLDOUT_WEEKS)
        for name, (model, _) in CDNOW_BTYD.items()
    }

    tx = cdnow_transactions(orders)
    train = cdnow_pseudo_snapshots(tx, PSEUDO_CUTOFF_WEEKS, CALIBRATION_WEEKS)
    current = cdnow_features(tx, CALIBRATION_WEEKS).reindex(summary.index.astype(str))
    X = current[list(CDNOW_FEATURES)].to_numpy(dtype=float)
    median_rate = _fit_median_rate(train, settings)
    lightgbm = np.clip(median_rate.predict(X), 0, None) * HOLDOUT_WEEKS

    table = pd.DataFrame(
        [
            _count_metrics("lightgbm", actual, lightgbm),
            *(_count_metrics(name, actual, expected) for name, expected in btyd.items()),
            _count_metrics("no_purchase", actual, np.zeros_like(actual)),
        ]
    )
    weekly_actual = _weekly_actual(tx)
    forecasts = {
        name: model(columns=None)
        .forecast_by_period(bg_inputs, HOLDOUT_WEEKS)
        .set_axis(weekly_actual.index)
        for name, (model, _) in CDNOW_BTYD.items()
    }
    figure = plot_weekly_forecast(
        weekly_actual, {CDNOW_BTYD[name][1]: weekly for name, weekly in forecasts.items()}
    )
    figure.axes[0].set(
        title=f"CDNOW weekly repeat transactions ({len(summary):,} customers)",
        xlabel="week",
    )
    weekly = pd.DataFrame({"actual": weekly_actual, **forecasts}).reset_index()
    predictions = pd.DataFrame(
        {
            "customer_id": summary.index.astype(str),
            "actual": actual,
            **btyd,
            "lightgbm": lightgbm,
        }
    )
    log.info("CDNOW holdout transactions, %d customers:\n%s", len(summary), table.round(4))
    return CdnowOutcome(table, weekly, predictions, len(summary), figure, len(train))
