"""Model evaluation as plain functions over arrays (or Series), one metric each.

In the style of microsoft/recommenders' `python_evaluation`: every function takes the true
values and the predictions, returns a number or a small table, and has a test. scikit-learn
and scipy do the arithmetic where they have the metric.

Binary (churn, propensity, response): `roc_auc`, `pr_auc`, `log_loss`, `brier_score`,
`expected_calibration_error` + `reliability_table`, `lift_table` (lift and cumulative gain),
`top_decile_capture`, `expected_profit_top_k` + `profit_curve`.
Spend (CLV): `mae`, `rmse`, `spearman`, `decile_calibration_table`, `total_spend_error`.
Comparison: `gap_closure`, and the bundles `binary_metrics` / `spend_metrics`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.stats import spearmanr
from sklearn import metrics as skm

PROBABILITY_FLOOR = 1e-15

# Direction of each metric, for "did the model beat the baseline" questions.
HIGHER_IS_BETTER = {
    "roc_auc": True,
    "pr_auc": True,
    "log_loss": False,
    "brier": False,
    "ece": False,
    "top_decile_capture": True,
    "mae": False,
    "rmse": False,
    "spearman": True,
    "abs_total_spend_error": False,
}


def _arrays(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    true = np.asarray(y_true, dtype=np.float64)
    pred = np.asarray(y_pred, dtype=np.float64)
    if true.shape != pred.shape or true.ndim != 1:
        raise ValueError(f"y_true {true.shape} and y_pred {pred.shape} must be 1-d, same length")
    if len(true) == 0:
        raise ValueError("cannot evaluate on zero rows")
    return true, pred


def roc_auc(y_true: ArrayLike, y_score: ArrayLike) -> float:
    """Area under the ROC curve: chance that a random positive outranks a random negative."""
    true, score = _arrays(y_true, y_score)
    return float(skm.roc_auc_score(true, score))


def pr_auc(y_true: ArrayLike, y_score: ArrayLike) -> float:
    """Average precision (area under precision-recall); informative when positives are rare."""
    true, score = _arrays(y_true, y_score)
    return float(skm.average_precision_score(true, score))


def log_loss(y_true: ArrayLike, y_prob: ArrayLike) -> float:
    """Mean negative log-likelihood of the labels under the probabilities (lower is better)."""
    true, prob = _arrays(y_true, y_prob)
    prob = np.clip(prob, PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)
    return float(skm.log_loss(true, prob, labels=[0, 1]))


def brier_score(y_true: ArrayLike, y_prob: ArrayLike) -> float:
    """Mean squared error of the probabilities: rewards calibration and sharpness together."""
    true, prob = _arrays(y_true, y_prob)
    return float(skm.brier_score_loss(true, prob))


def _bin_edges(prob: np.ndarray, n_bins: int, strategy: str) -> np.ndarray:
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, n_bins + 1)
    if strategy == "quantile":
        return np.unique(np.quantile(prob, np.linspace(0.0, 1.0, n_bins + 1)))
    raise ValueError(f"strategy must be 'uniform' or 'quantile', got {strategy!r}")


def reliability_table(
    y_true: ArrayLike,
    y_prob: ArrayLike,
    n_bins: int = 10,
    strategy: Literal["uniform", "quantile"] = "uniform",
) -> pd.DataFrame:
    """Reliability curve as a table: per probability bin the mean prediction and the observed
    rate. Columns: bin, lower, upper, count, mean_predicted, observed_rate, gap. Empty bins
    are left out. A calibrated model has observed_rate close to mean_predicted in every bin."""
    true, prob = _arrays(y_true, y_prob)
    edges = _bin_edges(prob, n_bins, strategy)
    bins = np.clip(np.searchsorted(edges, prob, side="right") - 1, 0, len(edges) - 2)
    frame = pd.DataFrame({"bin": bins, "y": true, "p": prob})
    table = frame.groupby("bin").agg(
        count=("y", "size"), mean_predicted=("p", "mean"), observed_rate=("y", "mean")
    )
    table.insert(0, "lower", edges[table.index])
    table.insert(1, "upper", edges[table.index + 1])
    table["gap"] = table["observed_rate"] - table["mean_predicted"]
    return table.reset_index()


def expected_calibration_error(
    y_true: ArrayLike,
    y_prob: ArrayLike,
    n_bins: int = 10,
    strategy: Literal["uniform", "quantile"] = "uniform",
) -> float:
    """ECE: row-weighted mean |observed rate - mean prediction| over the reliability bins."""
    table = reliability_table(y_true, y_prob, n_bins, strategy)
    weights = table["count"] / table["count"].sum()
    return float((weights * table["gap"].abs()).sum())


def ece_noise_bound(
    y_prob: ArrayLike,
    calibration_rows: int | None = None,
    quantile: float = 0.95,
    draws: int = 400,
    n_bins: int = 10,
    seed: int = 0,
) -> float:
    """The `quantile` of the ECE that a well calibrated model would show on these rows.

    Labels are drawn from the predicted probabilities themselves, `draws` times, and the
    ECE of each draw computed on the same uniform bins as `expected_calibration_error`.
    With `calibration_rows`, each draw also shifts the log-odds by the error with which a
    calibrator fitted on that many rows knows the base rate (normal, standard deviation
    1 / sqrt(n * mean p(1-p)), the intercept's standard error). On a few hundred rows that
    noise alone is several hundredths, so a fixed bound such as 0.02 fails every honest
    model of a small world; a bound below this quantile asks for more than the data can
    show.
    """
    prob = np.asarray(y_prob, dtype=float)
    if prob.size == 0:
        return float("nan")
    edges = _bin_edges(prob, n_bins, "uniform")
    bins = np.clip(np.searchsorted(edges, prob, side="right") - 1, 0, len(edges) - 2)
    predicted = np.bincount(bins, weights=prob, minlength=n_bins)
    clipped = np.clip(prob, 1e-6, 1 - 1e-6)
    log_odds = np.log(clipped / (1 - clipped))
    spread = 0.0
    if calibration_rows:
        spread = 1 / np.sqrt(calibration_rows * max(float(np.mean(clipped * (1 - clipped))), 1e-6))
    rng = np.random.default_rng(seed)
    ece = np.empty(draws)
    for k in range(draws):  # one draw at a time: a million rows stay a million floats
        truth = 1 / (1 + np.exp(-(log_odds + rng.normal(0, spread)))) if spread else prob
        observed = np.bincount(bins, weights=rng.random(prob.size) < truth, minlength=n_bins)
        ece[k] = np.abs(observed - predicted).sum() / prob.size  # sum_b n_b/N |rate - mean p|
    return float(np.quantile(ece, quantile))


def _order_by_score(y_true: ArrayLike, y_score: ArrayLike) -> np.ndarray:
    """Labels sorted by descending score; ties keep input order (stable sort)."""
    true, score = _arrays(y_true, y_score)
    return true[np.argsort(-score, kind="stable")]


def lift_table(y_true: ArrayLike, y_score: ArrayLike, n_bins: int = 10) -> pd.DataFrame:
    """Lift and cumulative gain by score bin (bin 1 = highest scores, equal row counts).

    Columns: bin, count, positives, rate, lift (rate / overall rate), cumulative_count,
    cumulative_share (of rows), cumulative_gain (share of all positives captured so far),
    cumulative_lift.
    """
    ordered = _order_by_score(y_true, y_score)
    chunks = np.array_split(ordered, n_bins)
    overall = ordered.mean()
    table = pd.DataFrame(
        {
            "bin": np.arange(1, n_bins + 1),
            "count": [len(c) for c in chunks],
            "positives": [c.sum() for c in chunks],
        }
    )
    table["rate"] = table["positives"] / table["count"]
    table["lift"] = table["rate"] / overall
    table["cumulative_count"] = table["count"].cumsum()
    table["cumulative_share"] = table["cumulative_count"] / len(ordered)
    table["cumulative_gain"] = table["positives"].cumsum() / ordered.sum()
    table["cumulative_lift"] = table["cumulative_gain"] / table["cumulative_share"]
    return table


def top_decile_capture(y_true: ArrayLike, y_score: ArrayLike, fraction: float = 0.1) -> float:
    """Share of all positives found among the top `fraction` of rows by score
    (the top ceil(fraction * n) rows)."""
    ordered = _order_by_score(y_true, y_score)
    top = int(np.ceil(fraction * len(ordered)))
    total = ordered.sum()
    if total == 0:
        raise ValueError("no positive labels: capture is undefined")
    return float(ordered[:top].sum() / total)


@dataclass(frozen=True)
class ProfitConfig:
    """Economics of a retention contact: each contact costs `contact_cost`; a contacted
    churner is kept with probability `save_rate`, which is worth `saved_customer_value`."""

    contact_cost: float = 5.0
    saved_customer_value: float = 100.0
    save_rate: float = 0.25


def expected_profit_top_k(
    y_true: ArrayLike, y_score: ArrayLike, k: int, config: ProfitConfig = ProfitConfig()
) -> float:
    """Expected profit of contacting the k highest-scored customers:
    churners among them x save_rate x saved_customer_value - k x contact_cost."""
    ordered = _order_by_score(y_true, y_score)
    if not 0 <= k <= len(ordered):
        raise ValueError(f"k must lie in [0, {len(ordered)}], got {k}")
    reached = ordered[:k].sum()
    return float(reached * config.save_rate * config.saved_customer_value - k * config.contact_cost)


def profit_curve(
    y_true: ArrayLike, y_score: ArrayLike, config: ProfitConfig = ProfitConfig(), steps: int = 100
) -> pd.DataFrame:
    """Expected profit at `steps` evenly spaced k (share of customers contacted).
    Columns: k, share_contacted, churners_reached, profit, best (the k with the highest profit)."""
    ordered = _order_by_score(y_true, y_score)
    n = len(ordered)
    ks = np.unique(np.linspace(0, n, steps + 1).round().astype(int))
    reached = np.concatenate([[0.0], np.cumsum(ordered)])[ks]
    profit = reached * config.save_rate * config.saved_customer_value - ks * config.contact_cost
    table = pd.DataFrame(
        {"k": ks, "share_contacted": ks / n, "churners_reached": reached, "profit": profit}
    )
    table["best"] = False
    table.loc[table["profit"].idxmax(), "best"] = True
    return table


def mae(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean absolute error per customer."""
    true, pred = _arrays(y_true, y_pred)
    return float(skm.mean_absolute_error(true, pred))


def rmse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Root mean squared error per customer (dominated by the big spenders)."""
    true, pred = _arrays(y_true, y_pred)
    return float(skm.root_mean_squared_error(true, pred))


def spearman(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Spearman rank correlation: does the model order customers by value correctly?"""
    true, pred = _arrays(y_true, y_pred)
    if np.ptp(true) == 0 or np.ptp(pred) == 0:
        return 0.0
    return float(spearmanr(true, pred).statistic)


def total_spend_error(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Relative error of the total: (sum predicted - sum actual) / sum actual."""
    true, pred = _arrays(y_true, y_pred)
    total = true.sum()
    if total == 0:
        raise ValueError("actual total is zero: relative total error is undefined")
    return float((pred.sum() - total) / total)


def decile_calibration_table(
    y_true: ArrayLike, y_pred: ArrayLike, n_bins: int = 10
) -> pd.DataFrame:
    """Mean predicted vs mean actual per bin of predicted value (bin 1 = highest predictions).
    Columns: bin, count, mean_predicted, mean_actual, sum_predicted, sum_actual, ratio
    (actual / predicted)."""
    true, pred = _arrays(y_true, y_pred)
    order = np.argsort(-pred, kind="stable")
    rows = []
    for number, chunk in enumerate(np.array_split(order, n_bins), start=1):
        rows.append(
            {
                "bin": number,
                "count": len(chunk),
                "mean_predicted": pred[chunk].mean(),
                "mean_actual": true[chunk].mean(),
                "sum_predicted": pred[chunk].sum(),
                "sum_actual": true[chunk].sum(),
            }
        )
    table = pd.DataFrame(rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["ratio"] = table["sum_actual"] / table["sum_predicted"]
    return table


def gap_closure(model: float, baseline: float, oracle: float) -> float:
    """Share of the baseline-to-oracle gap the model closes: (model - baseline) / (oracle -
    baseline). 1 = as good as the oracle, 0 = no better than the baseline."""
    if np.isclose(oracle, baseline):
        raise ValueError(f"oracle ({oracle}) equals baseline ({baseline}): no gap to close")
    return float((model - baseline) / (oracle - baseline))


def binary_metrics(y_true: ArrayLike, y_prob: ArrayLike, n_bins: int = 10) -> dict[str, float]:
    """The standard binary metric set (probabilities expected for log loss, Brier, ECE)."""
    true, prob = _arrays(y_true, y_prob)
    return {
        "roc_auc": roc_auc(true, prob),
        "pr_auc": pr_auc(true, prob),
        "log_loss": log_loss(true, prob),
        "brier": brier_score(true, prob),
        "ece": expected_calibration_error(true, prob, n_bins),
        "top_decile_capture": top_decile_capture(true, prob),
        "positive_rate": float(true.mean()),
        "mean_prediction": float(prob.mean()),
        "rows": float(len(true)),
    }


def spend_metrics(y_true: ArrayLike, y_pred: ArrayLike) -> dict[str, float]:
    """The standard spend (CLV) metric set."""
    true, pred = _arrays(y_true, y_pred)
    total_error = total_spend_error(true, pred) if true.sum() != 0 else float("nan")
    return {
        "mae": mae(true, pred),
        "rmse": rmse(true, pred),
        "spearman": spearman(true, pred),
        "total_spend_error": total_error,
        "abs_total_spend_error": abs(total_error),
        "mean_actual": float(true.mean()),
        "mean_prediction": float(pred.mean()),
        "rows": float(len(true)),
    }
