"""Contract retention: the shifted-beta-geometric model and Kaplan-Meier curves.

The baselines of subscription churn. sBG (Fader & Hardie 2007, "How to project customer
retention", Journal of Interactive Marketing 21(1)) gives every customer a constant churn
probability per renewal period, drawn from a beta distribution across customers, so a
cohort's retention rises with tenure as the likely churners leave. Fitted on a cohort's
counts still active after each period, it projects retention and each survivor's expected
remaining tenure. Neither lifetimes nor scikit-learn has it, and the estimator is a
two-parameter likelihood, so it is written here. The Kaplan-Meier estimator is also ours:
a dozen lines of numpy do not justify another dependency and its pins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, hyp2f1

from crm_ml.errors import CrmMlError


class RetentionDataError(CrmMlError, ValueError):
    """Cohort counts an sBG model cannot be fitted on."""


@dataclass(frozen=True)
class ShiftedBetaGeometric:
    """A fitted sBG model: churn probability per period ~ Beta(alpha, beta).

    Parameters
    ----------
    alpha, beta
        The beta distribution's parameters; the mean churn probability of a new customer is
        ``alpha / (alpha + beta)``.
    log_likelihood
        The maximised log-likelihood (0 for a model built from given parameters).

    Examples
    --------
    >>> high_end = [100, 86.9, 74.3, 65.3, 59.3, 55.1, 51.7, 49.1]
    >>> model = ShiftedBetaGeometric.fit(high_end)
    >>> round(model.alpha, 3), round(model.beta, 3)
    (0.668, 3.806)
    >>> [round(100 * float(s), 1) for s in model.survival(range(8, 11))]
    [46.0, 43.6, 41.4]
    """

    alpha: float
    beta: float
    log_likelihood: float = 0.0

    @classmethod
    def fit(cls, active: list[float] | np.ndarray | pd.Series) -> ShiftedBetaGeometric:
        """Maximum likelihood on one cohort.

        Parameters
        ----------
        active
            How many of the cohort were still active at the start (first value) and after
            each renewal period, e.g. percentages ``100, 63.1, 46.8, ...``; counts or shares
            give the same estimates. Those still active after the last period are censored.

        Returns
        -------
        ShiftedBetaGeometric

        Raises
        ------
        RetentionDataError
            Fewer than two periods, a negative or rising count, or no churn at all.
        """
        counts = np.asarray(active, dtype=float)
        if counts.ndim != 1 or len(counts) < 3:
            raise RetentionDataError("sBG needs the cohort size and at least two periods")
        lost = -np.diff(counts)
        if counts[-1] < 0 or (lost < 0).any():
            raise RetentionDataError("active counts must be non-negative and never rise")
        if lost.sum() == 0:
            raise RetentionDataError("nobody churned: the churn distribution is not identified")
        periods = np.arange(1, len(counts))

        def negative_ll(log_params: np.ndarray) -> float:
            a, b = np.exp(log_params)
            churn = _log_churn_pmf(a, b, periods)
            return -(lost @ churn + counts[-1] * _log_survival(a, b, periods[-1]))

        found = minimize(
            negative_ll,
            x0=np.zeros(2),
            method="Nelder-Mead",
            options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000},
        )
        alpha, beta = np.exp(found.x)
        return cls(float(alpha), float(beta), float(-found.fun))

    def churn_probability(self, periods: range | np.ndarray) -> np.ndarray:
        """P(a new customer churns in period t), t = 1, 2, ..."""
        return np.exp(_log_churn_pmf(self.alpha, self.beta, np.asarray(periods, dtype=float)))

    def survival(self, periods: range | np.ndarray) -> np.ndarray:
        """Share of a cohort still active after t periods (1 at t = 0)."""
        return np.exp(_log_survival(self.alpha, self.beta, np.asarray(periods, dtype=float)))

    def retention_rate(self, periods: range | np.ndarray) -> np.ndarray:
        """Share of those active after period t-1 who renew in period t: rises with t."""
        t = np.asarray(periods, dtype=float)
        return (self.beta + t - 1) / (self.alpha + self.beta + t - 1)

    def discounted_residual_lifetime(
        self, renewals: int | np.ndarray, discount: float
    ) -> np.ndarray:
        """Expected discounted number of further renewals of a customer who has just made
        `renewals` renewals (DERL, Fader & Hardie 2010, eq. 6); times the margin per period,
        the customer's remaining value. `discount` is the rate per period (e.g. 0.1)."""
        n = np.asarray(renewals, dtype=float) + 1  # the customer is in their n-th period
        a, b = self.alpha, self.beta
        return (b + n - 1) / (a + b + n - 1) * hyp2f1(1, b + n, a + b + n, 1 / (1 + discount))


def _log_churn_pmf(a: float, b: float, t: np.ndarray) -> np.ndarray:
    return betaln(a + 1, b + t - 1) - betaln(a, b)


def _log_survival(a: float, b: float, t: np.ndarray | float) -> np.ndarray:
    return betaln(a, b + t) - betaln(a, b)


def kaplan_meier(duration: pd.Series | np.ndarray, ended: pd.Series | np.ndarray) -> pd.DataFrame:
    """Kaplan-Meier survival curve of durations, some still running (right-censored).

    Parameters
    ----------
    duration
        Time each subject was observed (e.g. months since the contract started).
    ended
        True where the duration ends in the event (cancellation), False where the subject
        was still active when observation stopped.

    Returns
    -------
    pandas.DataFrame
        One row per distinct event time: ``time``, ``at_risk``, ``events`` and
        ``survival`` (the share surviving beyond ``time``).

    Examples
    --------
    >>> kaplan_meier([1, 2, 2, 3, 4], [True, True, False, True, False]).round(6).to_dict("list")
    {'time': [1.0, 2.0, 3.0], 'at_risk': [5, 4, 2], 'events': [1, 1, 1], 'survival': [0.8, 0.6, 0.3]}
    """
    frame = pd.DataFrame({"time": np.asarray(duration, float), "ended": np.asarray(ended, bool)})
    if frame["time"].isna().any() or (frame["time"] < 0).any():
        raise RetentionDataError("durations must be non-negative numbers")
    grouped = frame.groupby("time")["ended"].agg(["size", "sum"]).sort_index()
    at_risk = grouped["size"][::-1].cumsum()[::-1]
    events = grouped["sum"].astype(int)
    curve = pd.DataFrame({"at_risk": at_risk.astype(int), "events": events})
    curve = curve[curve["events"] > 0]
    curve["survival"] = (1 - curve["events"] / curve["at_risk"]).cumprod()
    return curve.rename_axis("time").reset_index()
