"""Evaluation plots as matplotlib Figures (no pyplot state, no file I/O): the caller saves
or logs them (e.g. `mlflow.log_figure(fig, "roc.png")`).

Each takes the labels and a mapping name -> scores, so model and baselines share one chart.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from numpy.typing import ArrayLike
from sklearn.metrics import roc_curve

from crm_ml.models.evaluation import lift_table, reliability_table, roc_auc

Scores = Mapping[str, ArrayLike] | ArrayLike


def _named(scores: Scores) -> dict[str, np.ndarray]:
    if isinstance(scores, Mapping):
        return {name: np.asarray(values, dtype=np.float64) for name, values in scores.items()}
    return {"model": np.asarray(scores, dtype=np.float64)}


def _figure(title: str, xlabel: str, ylabel: str) -> tuple[Figure, object]:
    figure = Figure(figsize=(6, 4.5), layout="constrained")
    axes = figure.add_subplot()
    axes.set(title=title, xlabel=xlabel, ylabel=ylabel)
    axes.grid(alpha=0.3)
    return figure, axes


def plot_roc(y_true: ArrayLike, scores: Scores) -> Figure:
    """ROC curves with their AUC in the legend; the diagonal is a random ranking."""
    figure, axes = _figure("ROC", "false positive rate", "true positive rate")
    for name, score in _named(scores).items():
        fpr, tpr, _ = roc_curve(y_true, score)
        axes.plot(fpr, tpr, label=f"{name} (AUC {roc_auc(y_true, score):.3f})")
    axes.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
    axes.legend(loc="lower right")
    return figure


def plot_reliability(y_true: ArrayLike, probabilities: Scores, n_bins: int = 10) -> Figure:
    """Observed rate vs mean predicted probability per bin; on the diagonal = calibrated."""
    figure, axes = _figure(
        "Calibration (reliability)", "mean predicted probability", "observed rate"
    )
    top = 0.0
    for name, prob in _named(probabilities).items():
        table = reliability_table(y_true, prob, n_bins, strategy="quantile")
        axes.plot(table["mean_predicted"], table["observed_rate"], marker="o", label=name)
        top = max(top, table["mean_predicted"].max(), table["observed_rate"].max())
    axes.plot([0, top], [0, top], color="grey", linestyle="--", linewidth=1)
    axes.legend(loc="upper left")
    return figure


def plot_cumulative_gain(y_true: ArrayLike, scores: Scores, n_bins: int = 20) -> Figure:
    """Share of all positives captured when contacting the top share of customers."""
    figure, axes = _figure(
        "Cumulative gain", "share of customers contacted", "share of positives captured"
    )
    for name, score in _named(scores).items():
        table = lift_table(y_true, score, n_bins)
        axes.plot(
            np.r_[0, table["cumulative_share"]], np.r_[0, table["cumulative_gain"]], label=name
        )
    axes.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="random")
    axes.legend(loc="lower right")
    return figure


def plot_weekly_forecast(
    actual: pd.Series, forecasts: Mapping[str, pd.Series], cumulative: bool = False
) -> Figure:
    """Weekly (or any period) repeat transactions or spend: actual vs each forecast,
    indexed by period; `cumulative` draws running totals as in the BG/NBD papers."""
    ylabel = "cumulative total" if cumulative else "total per period"
    figure, axes = _figure("Forecast vs actual", "period", ylabel)
    for name, series in {"actual": actual, **forecasts}.items():
        values = series.cumsum() if cumulative else series
        style = {"color": "black", "linewidth": 2} if name == "actual" else {"linestyle": "--"}
        axes.plot(values.index, values.to_numpy(), label=name, **style)
    axes.legend(loc="best")
    return figure


def plot_survival_curves(curves: pd.DataFrame, xlabel: str = "months since start") -> Figure:
    """Kaplan-Meier survival step curves, one per ``group`` of `curves` (columns group,
    time, survival, as `crm_ml.models.survival.kaplan_meier` gives per group)."""
    figure, axes = _figure("Still active (Kaplan-Meier)", xlabel, "share still active")
    for group, curve in curves.groupby("group", sort=False):
        times = np.concatenate([[0.0], curve["time"].to_numpy()])
        survival = np.concatenate([[1.0], curve["survival"].to_numpy()])
        axes.step(times, survival, where="post", label=str(group))
    axes.set_ylim(0, 1.02)
    axes.legend(loc="lower left", fontsize="small")
    return figure
