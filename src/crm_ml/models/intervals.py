"""Per-customer uncertainty of spend in the horizon: the chance of spending at all, and an
80% interval of the amount if they do.

Why two parts. Most customers spend exactly nothing in a 90-day horizon (three in four in
the default world, as on CDNOW). Any interval that holds zero holds *every* customer who
spends nothing, so a single "80% interval" of spend holds 93% of customers, and shrinking
it by a cent drops all of them at once: no honest interval of a quantity with a point mass
can be calibrated to 80%. What a marketing lead can use, and what can be checked, is the
two-part statement "62% chance of no purchase; if they buy, 80% chance of between 35 and
260":

- ``p_spend``: a LightGBM classifier of spending anything (net spend not zero), fitted on
  the train rows, stopped on the stop rows, Platt-scaled on the calibration rows;
- ``low`` / ``high``: two LightGBM quantile boosters (the 10% and 90% quantiles) fitted on
  the customers who spent, with the upper end moved by a split-conformal correction on the
  calibration rows who spent (after Romano, Patterson & Candès 2019, "Conformalized
  Quantile Regression"), so that the interval holds the asked-for share of spenders
  whatever the boosters got wrong. Only the upper end moves (the lower quantile of spend
  is small and the upper tail is where boosters err), unless the lower end is so high that
  too few spenders reach it: it then moves down to hold the share its quantile promises.

Why not a bootstrap of the spend model, or the BG/NBD posterior: a bootstrap gives the
uncertainty of the *mean* forecast, far narrower than the spread of what one customer
spends, and the BG/NBD posterior leaves out the features. Why our own few lines rather
than MAPIE: the rows are already split by customer and cutoff the way the spend model uses
them, and the correction is one quantile; MAPIE would refit on its own splits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from crm_ml.models.booster import fit_booster
from crm_ml.models.calibration import SigmoidCalibrator
from crm_ml.models.evaluation import expected_calibration_error

INTERVAL_COLUMNS = ("p_spend", "low", "high")


@dataclass
class SpendInterval:
    """`predict(matrix)` gives, per row, the chance of spending and the amount's interval.

    Attributes
    ----------
    spends : lightgbm.Booster
        The classifier of spending anything in the horizon (its raw margin).
    calibrator : SigmoidCalibrator
        Platt scaling of ``spends``' margin, fitted on the calibration rows.
    lower, upper : lightgbm.Booster
        The quantile boosters of the amount among spenders (``(1 - coverage) / 2`` and
        ``(1 + coverage) / 2``).
    correction : float
        Added to the upper booster's prediction (negative when its band was too wide on the
        calibration spenders).
    lower_shift : float
        Taken from the lower booster's prediction; 0 unless it held too few calibration
        spenders (`conformal_correction`).
    coverage : float
        The share of spenders the interval is meant to hold (0.8 by default).
    """

    spends: lgb.Booster
    calibrator: SigmoidCalibrator
    lower: lgb.Booster
    upper: lgb.Booster
    correction: float
    coverage: float
    lower_shift: float = 0.0

    def predict(self, matrix: np.ndarray) -> pd.DataFrame:
        """``p_spend``, ``low`` and ``high`` (the amount if they spend) per row of `matrix`."""
        low = self.lower.predict(matrix) - self.lower_shift
        high = np.maximum(self.upper.predict(matrix) + self.correction, low)
        p_spend = self.calibrator.transform(self.spends.predict(matrix, raw_score=True))
        return pd.DataFrame({"p_spend": p_spend, "low": low, "high": high})


def interval_coverage(y: np.ndarray, bounds: pd.DataFrame) -> float:
    """The share of rows whose `y` lies inside its closed interval [low, high]."""
    y = np.asarray(y, dtype=float)
    return float(np.mean((bounds["low"].to_numpy() <= y) & (y <= bounds["high"].to_numpy())))


def interval_metrics(y: np.ndarray, predicted: pd.DataFrame) -> dict[str, float]:
    """How the two parts hold on rows with outcome `y`: the coverage and mean width of the
    interval among spenders, and the calibration of ``p_spend`` (ECE) against spending."""
    y = np.asarray(y, dtype=float)
    spent = y != 0
    among = predicted[spent]
    return {
        "interval_coverage": interval_coverage(y[spent], among) if spent.any() else float("nan"),
        "interval_mean_width": float((among["high"] - among["low"]).mean()),
        "p_spend_ece": expected_calibration_error(spent, predicted["p_spend"].to_numpy()),
        "spender_share": float(spent.mean()),
    }


def conformal_correction(
    y: np.ndarray, low: np.ndarray, high: np.ndarray, coverage: float
) -> tuple[float, float]:
    """(c, d): with the interval ``[low - d, high + c]``, ceil((n + 1) coverage) of the n
    calibration rows are held. c is the split-conformal quantile of the score ``y - high``
    (infinite below the lower end).

    d is 0 unless the lower end is too high to leave that many rows above it (a lower
    booster fitted on few or unlike spenders, as in a small export): it then moves down
    until it holds ceil((n + 1) (1 + coverage) / 2) rows, the share its quantile promises.

    With calibration rows exchangeable with the new ones, the interval holds a new row with
    probability at least `coverage` (and, without ties, below coverage + 1 / (n + 1)).

    Raises
    ------
    ValueError
        When there are no calibration rows.
    """
    n = len(y)
    if n == 0:
        raise ValueError("the conformal correction needs calibration rows; got none")
    k = min(int(np.ceil((n + 1) * coverage)), n)
    shift = 0.0
    if int(np.sum(y >= low)) < k:
        held = min(int(np.ceil((n + 1) * (1 + coverage) / 2)), n)
        shift = float(np.sort(low - y)[held - 1])
    scores = np.sort(np.where(y >= low - shift, y - high, np.inf))
    return float(scores[k - 1]), shift


def fit_spend_interval(
    matrix: np.ndarray,
    y: np.ndarray,
    rows: Any,
    params: dict[str, Any],
    feature_names: list[str],
    categorical: list[str],
    *,
    coverage: float = 0.8,
    num_boost_round: int = 2000,
    early_stopping_rounds: int = 100,
    fixed_rounds: int = 200,
) -> SpendInterval:
    """Fit the spend classifier, the two quantile boosters and the conformal correction.

    Parameters
    ----------
    matrix, y : numpy.ndarray
        Features and the (unclipped) spend label of every row.
    rows : SplitRows
        ``train`` rows fit the boosters, ``stop`` rows stop them early (when there are
        none, ``fixed_rounds`` trees are grown), ``calibration`` rows fit the Platt scaling
        and the correction.
    params : dict
        LightGBM parameters of the spend model (the tree shape); objective and metric are
        set here.
    feature_names, categorical : list of str
        The matrix's column names and which of them are categories.
    coverage : float, default 0.8
        The share of spenders the interval should hold, in (0, 1).

    Returns
    -------
    SpendInterval

    Raises
    ------
    ValueError
        When `coverage` is not in (0, 1), or there are no calibration rows with spend.
    """
    if not 0 < coverage < 1:
        raise ValueError(f"interval coverage must be in (0, 1); got {coverage}")
    base = {k: v for k, v in params.items() if k not in ("tweedie_variance_power", "metric")}
    spent = y != 0

    def booster(objective: dict[str, Any], target: np.ndarray, among: np.ndarray) -> lgb.Booster:
        chosen = {**base, **objective}
        train = (matrix[rows.train & among], target[rows.train & among])
        stop = rows.stop & among
        if stop.any():
            return fit_booster(
                chosen,
                train,
                (matrix[stop], target[stop]),
                feature_names,
                categorical,
                num_boost_round,
                early_stopping_rounds,
            )
        dataset = lgb.Dataset(
            *train,
            feature_name=feature_names,
            categorical_feature=categorical or "auto",
            params={"feature_pre_filter": False, "verbosity": -1},
        )
        return lgb.train(chosen, dataset, num_boost_round=fixed_rounds)

    every = np.ones(len(y), dtype=bool)
    spends = booster(
        {"objective": "binary", "metric": "binary_logloss"}, spent.astype(float), every
    )
    lower, upper = (
        booster({"objective": "quantile", "alpha": alpha, "metric": "quantile"}, y, spent)
        for alpha in ((1 - coverage) / 2, (1 + coverage) / 2)
    )
    calibration = matrix[rows.calibration]
    calibrator = SigmoidCalibrator().fit(
        spends.predict(calibration, raw_score=True), spent[rows.calibration]
    )
    among = rows.calibration & spent
    correction, lower_shift = conformal_correction(
        y[among], lower.predict(matrix[among]), upper.predict(matrix[among]), coverage
    )
    return SpendInterval(spends, calibrator, lower, upper, correction, coverage, lower_shift)
