"""Contract retention: the shifted-beta-geometric model and Kaplan-Meier curves.

The baselines of subscription churn. sBG (Fader & Hardie 2007, "How to project customer
retention", Journal of Interactive Marketing 21(1)) gives every customer a constant churn
probability per renewal period, drawn from a beta distribution across customers, so a
cohort's retention rises with tenure as the likely churners leave. Fitted on a cohort's
counts still active after each period, it projects retention and each survivor's expected
remaining tenure. Neither lifetimes nor scikit-learn has it, and the estimator is a
two-parameter likelihood, so it is written here. The Kaplan-Meier estimator is also ours:
a dozen lines of numpy do not justify another dependency and its pins.

`contract_baselines` turns both, and a renewal-proximity rule, into each contract's
probability of churning in the horizon, fitted on the training rows of a contract frame
(`crm_ml.features.contracts.build_contract_frame`) and applied to any other rows: the
baselines a contract churn model is judged against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, hyp2f1
from sklearn.isotonic import IsotonicRegression

from crm_ml.errors import CrmMlError
from crm_ml.features.contracts import CONTRACT_TARGET

MONTH_DAYS = 365.25 / 12
CONTRACT_BASELINES = ("days_to_renewal_rule", "sbg", "kaplan_meier")
CONTRACT_COLUMNS = (
    "contract_tenure_days",
    "is_month_to_month",
    "term_months",
    "renewals_done",
    "days_to_renewal",
)


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

    @classmethod
    def fit_horizons(
        cls,
        survived: np.ndarray | pd.Series,
        decisions: np.ndarray | pd.Series,
        churned: np.ndarray | pd.Series,
    ) -> ShiftedBetaGeometric:
        """Maximum likelihood on contracts seen at a cutoff and followed over a horizon.

        A contract that has survived ``n`` periods and faces ``k`` decisions in the horizon
        leaves in it with probability ``1 - S(n + k) / S(n)`` (the sBG given survival,
        i.e. left-truncated at the cutoff): every cutoff of a training frame is a cohort
        with its own tenures. The same contract at several cutoffs enters several times,
        so the likelihood is a composite one; the estimates stay consistent.

        Parameters
        ----------
        survived
            Periods (renewals, or months) each contract had completed at its cutoff.
        decisions
            Decision points (renewal dates) inside its horizon; rows with none carry no
            information under the model and are left out.
        churned
            True where the contract left (or counts as churned) in the horizon.

        Returns
        -------
        ShiftedBetaGeometric

        Raises
        ------
        RetentionDataError
            No row with a decision in its horizon, or none (or all) of them churned.

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> theta = rng.beta(0.8, 6.0, size=50_000)
        >>> lifetime = rng.geometric(theta)  # the period each contract ends in
        >>> survived = rng.integers(0, 12, size=50_000)
        >>> seen = lifetime > survived  # active at the cutoff
        >>> model = ShiftedBetaGeometric.fit_horizons(
        ...     survived[seen], np.full(seen.sum(), 3), lifetime[seen] <= survived[seen] + 3)
        >>> round(model.alpha, 1), round(model.beta, 0)
        (0.8, 6.0)
        """
        frame = pd.DataFrame(
            {
                "n": np.asarray(survived, float),
                "k": np.asarray(decisions, float),
                "churned": np.asarray(churned, bool),
            }
        )
        if frame.isna().any().any() or (frame[["n", "k"]] < 0).any().any():
            raise RetentionDataError("periods survived and decisions must be non-negative")
        cells = (
            frame[frame["k"] > 0].groupby(["n", "k"])["churned"].agg(["size", "sum"]).reset_index()
        )
        events, total = cells["sum"].sum(), cells["size"].sum()
        if total == 0 or events in (0, total):
            raise RetentionDataError(
                "sBG needs contracts with a decision in the horizon, some churned, some not"
            )
        n, k = cells["n"].to_numpy(), cells["k"].to_numpy()
        left, kept = cells["sum"].to_numpy(float), (cells["size"] - cells["sum"]).to_numpy(float)

        def negative_ll(log_params: np.ndarray) -> float:
            a, b = np.exp(log_params)
            log_stay = betaln(a, b + n + k) - betaln(a, b + n)
            return -(kept @ log_stay + left @ np.log(-np.expm1(np.minimum(log_stay, -1e-300))))

        per_decision = events / (k * cells["size"]).sum()
        found = minimize(
            negative_ll,
            x0=np.array([0.0, np.log((1 - per_decision) / per_decision)]),
            method="Nelder-Mead",
            options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000},
        )
        alpha, beta = np.exp(found.x)
        return cls(float(alpha), float(beta), float(-found.fun))

    def horizon_churn_probability(
        self, survived: np.ndarray | pd.Series, decisions: np.ndarray | pd.Series
    ) -> np.ndarray:
        """P(leave at one of the next `decisions` decision points | survived `survived`
        periods) = 1 - S(n + k) / S(n); 0 without a decision point."""
        n = np.asarray(survived, dtype=float)
        k = np.asarray(decisions, dtype=float)
        log_stay = betaln(self.alpha, self.beta + n + k) - betaln(self.alpha, self.beta + n)
        return -np.expm1(log_stay)

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


def kaplan_meier(
    duration: pd.Series | np.ndarray,
    ended: pd.Series | np.ndarray,
    entry: pd.Series | np.ndarray | None = None,
) -> pd.DataFrame:
    """Kaplan-Meier survival curve of durations, some still running (right-censored), some
    first seen after they started (left-truncated: delayed entry).

    Parameters
    ----------
    duration
        Time each subject was observed until (e.g. months since the contract started).
    ended
        True where the duration ends in the event (cancellation), False where the subject
        was still active when observation stopped.
    entry
        Time each subject came under observation (e.g. its tenure at a cutoff); it counts
        as at risk at time u only when entry < u <= duration. Default: 0 for every subject.

    Returns
    -------
    pandas.DataFrame
        One row per distinct event time: ``time``, ``at_risk``, ``events`` and
        ``survival`` (the share surviving beyond ``time``, given survival to the earliest
        entry).

    Examples
    --------
    >>> kaplan_meier([1, 2, 2, 3, 4], [True, True, False, True, False]).round(6).to_dict("list")
    {'time': [1.0, 2.0, 3.0], 'at_risk': [5, 4, 2], 'events': [1, 1, 1], 'survival': [0.8, 0.6, 0.3]}
    >>> kaplan_meier([3, 4, 5], [True, True, False], entry=[0, 3.5, 2]).to_dict("list")
    {'time': [3.0, 4.0], 'at_risk': [2, 2], 'events': [1, 1], 'survival': [0.5, 0.25]}
    """
    time = np.asarray(duration, float)
    start = np.zeros_like(time) if entry is None else np.asarray(entry, float)
    if np.isnan(time).any() or (time < 0).any() or np.isnan(start).any() or (start < 0).any():
        raise RetentionDataError("durations and entries must be non-negative numbers")
    if (start > time).any():
        raise RetentionDataError("a subject cannot enter observation after its duration ends")
    happened = np.asarray(ended, bool)
    times, events = np.unique(time[happened], return_counts=True)
    # at risk at u: observed until u or later, entered before u
    at_risk = (len(time) - np.searchsorted(np.sort(time), times, side="left")) - (
        len(start) - np.searchsorted(np.sort(start), times, side="left")
    )
    curve = pd.DataFrame({"time": times, "at_risk": at_risk, "events": events})
    curve = curve[curve["at_risk"] > 0].reset_index(drop=True)
    curve["survival"] = (1 - curve["events"] / curve["at_risk"]).cumprod()
    return curve


def contract_baselines(
    train: pd.DataFrame,
    scored: pd.DataFrame,
    horizon_days: int,
    *,
    plan: str | None = "product_id",
    target: str = CONTRACT_TARGET,
    min_rows: int = 200,
    min_events: int = 10,
) -> pd.DataFrame:
    """Each scored contract's probability of churning in the horizon under three baselines
    fitted on the training rows only.

    - ``days_to_renewal_rule``: the renewal-proximity rule, sooner renewal = riskier, as a
      probability: the training churn rate as a decreasing (isotonic) step function of
      ``days_to_renewal``, one for month-to-month contracts (whose next decision is always
      within a month) and one for term contracts.
    - ``sbg``: the shifted-beta-geometric model (Fader & Hardie 2007, "How to project
      customer retention", Journal of Interactive Marketing 21(1)) of each plan, periods
      being the contract's decision periods (terms; months for month-to-month plans and
      term-less holdings). Fitted by `ShiftedBetaGeometric.fit_horizons` on the training
      rows (periods survived = ``renewals_done``, decisions = renewal dates inside the
      horizon, churned = `target`), it predicts P(leave at a decision in the horizon |
      survived so far): 0 for a term contract whose renewal falls after the horizon.
    - ``kaplan_meier``: the Kaplan-Meier curve of each plan on tenure in days, the training
      rows entering at their tenure (left truncation) and followed to the horizon's end;
      a churned row ends at its first renewal date inside the horizon (its only exit date
      for a term contract), or mid-horizon when none falls inside it. It predicts
      P(end in (t, t + horizon] | survived t) = 1 - S(t + horizon) / S(t); past the longest
      training tenure, the last horizon of the curve.

    A plan's groups are its contracts of one term (``term_months``, 0 for month-to-month):
    periods of different lengths do not share an sBG. A group with fewer than `min_rows`
    training rows or `min_events` churned falls back to all plans of its term, then to all
    contracts, then to the training churn rate.

    Parameters
    ----------
    train : pandas.DataFrame
        Training rows of a contract frame: contract_tenure_days, is_month_to_month,
        term_months, renewals_done, days_to_renewal, `plan` and `target`.
    scored : pandas.DataFrame
        Rows to score (validation, holdout, a new cutoff): the same columns but `target`.
    horizon_days : int
        The label's horizon (the plan's ``horizon_days``).
    plan : str or None, default "product_id"
        The column naming a contract's plan; None pools all plans. The contract frame does
        not carry product_id: join it from the subscriptions table on subscription_id.
    target : str, default "contract_churned"
        The 0/1 label of `train`.
    min_rows, min_events : int, default 200 and 10
        The least a group needs to get its own fit.

    Returns
    -------
    pandas.DataFrame
        Index of `scored`; columns days_to_renewal_rule, sbg and kaplan_meier, in [0, 1].

    Raises
    ------
    RetentionDataError
        A column is missing or has missing values, or `train` is empty.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> n = 4000
    >>> frame = pd.DataFrame({
    ...     "product_id": rng.choice(["basic", "pro"], n),
    ...     "is_month_to_month": 0.0, "term_months": 12,
    ...     "renewals_done": rng.integers(0, 3, n),
    ...     "days_to_renewal": rng.uniform(1, 365, n)})
    >>> frame["contract_tenure_days"] = (
    ...     365 * (frame["renewals_done"] + 1) - frame["days_to_renewal"])
    >>> up_for_renewal = frame["days_to_renewal"] < 90
    >>> frame["contract_churned"] = (up_for_renewal & (rng.random(n) < 0.3)).astype(int)
    >>> scores = contract_baselines(frame[:3000], frame[3000:], horizon_days=90)
    >>> scores.columns.tolist()
    ['days_to_renewal_rule', 'sbg', 'kaplan_meier']
    >>> scores.groupby(up_for_renewal[3000:]).mean().round(1)
                      days_to_renewal_rule  sbg  kaplan_meier
    days_to_renewal
    False                              0.0  0.0           0.0
    True                               0.3  0.3           0.3
    """
    needed = [*CONTRACT_COLUMNS, *([plan] if plan else [])]
    _require(train, [*needed, target], "train")
    _require(scored, needed, "scored")
    if train.empty:
        raise RetentionDataError("contract_baselines: no training rows")
    levels_train, levels_scored = _group_levels(train, plan), _group_levels(scored, plan)
    churned = train[target].to_numpy(bool)
    fallback = float(churned.mean())

    def by_group(levels_fit, levels_apply, fit, predict, min_n, min_e) -> np.ndarray:
        out = _by_group(
            train, churned, scored, levels_fit, levels_apply, fit, predict, min_n, min_e
        )
        return np.clip(np.where(np.isnan(out), fallback, out), 0.0, 1.0)

    kind = [train["is_month_to_month"].astype(int).astype(str), pd.Series("all", train.index)]
    kind_scored = [
        scored["is_month_to_month"].astype(int).astype(str),
        pd.Series("all", scored.index),
    ]
    rule = by_group(kind, kind_scored, _fit_rule, _predict_rule, 1, 0)
    sbg = by_group(
        levels_train,
        levels_scored,
        lambda rows, y: _fit_sbg(rows, y, horizon_days),
        lambda model, rows: model.horizon_churn_probability(
            rows["renewals_done"], _decisions_in_horizon(rows, horizon_days)
        ),
        min_rows,
        min_events,
    )
    km = by_group(
        levels_train,
        levels_scored,
        lambda rows, y: _fit_km(rows, y, horizon_days),
        lambda curve, rows: _predict_km(curve, rows, horizon_days),
        min_rows,
        min_events,
    )
    return pd.DataFrame(
        {"days_to_renewal_rule": rule, "sbg": sbg, "kaplan_meier": km}, index=scored.index
    )


def remaining_tenure(
    train: pd.DataFrame,
    scored: pd.DataFrame,
    horizon_days: int,
    *,
    annual_discount: float = 0.10,
    plan: str | None = "product_id",
    target: str = CONTRACT_TARGET,
    min_rows: int = 200,
    min_events: int = 10,
) -> pd.Series:
    """Each scored contract's expected remaining tenure in months, discounted, under the
    sBG of its plan and term fitted on the training rows (`contract_baselines`' sBG).

    The rest of the current period (``days_to_renewal``) is certain; after it, the
    contract's further periods are the sBG's discounted expected residual lifetime of a
    contract that has made ``renewals_done`` renewals (DERL, Fader & Hardie 2010), each of
    ``term_months`` (one for month-to-month plans and term-less holdings). Times the
    monthly margin of the contract, the sum is its subscription CLV.

    Parameters
    ----------
    train, scored, horizon_days, plan, target, min_rows, min_events
        As for `contract_baselines`.
    annual_discount : float, default 0.10
        The yearly discount rate; converted to the rate per period of each contract.

    Returns
    -------
    pandas.Series
        Months, index of `scored`; NaN where no group (not even all contracts) could be
        fitted.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> n = 20_000
    >>> lifetime = rng.geometric(rng.beta(1.0, 3.0, n))  # months each contract lasts
    >>> renewals = rng.integers(0, 6, n)
    >>> frame = pd.DataFrame({"is_month_to_month": 1.0, "term_months": 1,
    ...     "renewals_done": renewals, "days_to_renewal": 0.0,
    ...     "contract_tenure_days": renewals * MONTH_DAYS,
    ...     "contract_churned": (lifetime <= renewals + 3).astype(int)})[lifetime > renewals]
    >>> months = remaining_tenure(frame, frame, 90, annual_discount=0.0, plan=None)
    >>> bool(months.groupby(frame["renewals_done"]).mean().is_monotonic_increasing)
    True
    """
    needed = [*CONTRACT_COLUMNS, *([plan] if plan else [])]
    _require(train, [*needed, target], "train")
    _require(scored, needed, "scored")

    def predict(model: ShiftedBetaGeometric, rows: pd.DataFrame) -> np.ndarray:
        period = _period_months(rows)
        per_period = (1 + annual_discount) ** (period / 12) - 1
        further = model.discounted_residual_lifetime(rows["renewals_done"], per_period)
        return period * further

    further = _by_group(
        train,
        train[target].to_numpy(bool),
        scored,
        _group_levels(train, plan),
        _group_levels(scored, plan),
        lambda rows, y: _fit_sbg(rows, y, horizon_days),
        predict,
        min_rows,
        min_events,
    )
    current = scored["days_to_renewal"].to_numpy(float).clip(min=0) / MONTH_DAYS
    return pd.Series(current + further, index=scored.index, name="expected_months_remaining")


def _by_group(train, churned, scored, levels_fit, levels_apply, fit, predict, min_n, min_e):
    """`predict(fit(rows of a group), scored rows of the group)` from the finest grouping
    level to the coarsest; NaN where no level had a group big enough to fit."""
    out = np.full(len(scored), np.nan)
    for fit_key, apply_key in zip(levels_fit, levels_apply, strict=True):
        for key, rows in train.groupby(fit_key.to_numpy(), sort=False).indices.items():
            todo = (apply_key.to_numpy() == key) & np.isnan(out)
            if not todo.any() or len(rows) < min_n or churned[rows].sum() < min_e:
                continue
            try:
                model = fit(train.iloc[rows], churned[rows])
            except RetentionDataError:
                continue
            out[todo] = predict(model, scored[todo])
    return out


def _require(frame: pd.DataFrame, columns: list[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        hint = (
            " (join product_id from the subscriptions table on subscription_id, or pass "
            "plan=None to pool plans)"
            if "product_id" in missing
            else ""
        )
        raise RetentionDataError(f"contract_baselines: {name} lacks {missing}{hint}")
    blank = [c for c in columns if frame[c].isna().any()]
    if blank:
        raise RetentionDataError(f"contract_baselines: {name} has missing values in {blank}")


def _group_levels(frame: pd.DataFrame, plan: str | None) -> list[pd.Series]:
    """Group keys from the finest (plan and term) to the coarsest (all contracts)."""
    term = frame["term_months"].where(frame["is_month_to_month"] == 0, 0).astype(int).astype(str)
    levels = [term, pd.Series("all", frame.index)]
    if plan:
        levels.insert(0, frame[plan].astype(str) + "|" + term)
    return levels


def _period_months(rows: pd.DataFrame) -> np.ndarray:
    """A contract's decision period in months: its term, one when month to month."""
    return np.where(rows["is_month_to_month"] == 1, 1, rows["term_months"].clip(lower=1))


def _decisions_in_horizon(rows: pd.DataFrame, horizon_days: int) -> np.ndarray:
    """Renewal dates in [cutoff, cutoff + horizon): the next one, then one per period."""
    months = _period_months(rows)
    days = rows["days_to_renewal"].to_numpy(float)
    return np.where(
        days < horizon_days, np.floor((horizon_days - days) / (months * MONTH_DAYS)) + 1, 0
    )


def _fit_rule(rows: pd.DataFrame, churned: np.ndarray) -> IsotonicRegression:
    return IsotonicRegression(increasing=False, out_of_bounds="clip", y_min=0, y_max=1).fit(
        rows["days_to_renewal"].to_numpy(float), churned.astype(float)
    )


def _predict_rule(model: IsotonicRegression, rows: pd.DataFrame) -> np.ndarray:
    return model.predict(rows["days_to_renewal"].to_numpy(float))


def _fit_sbg(rows: pd.DataFrame, churned: np.ndarray, horizon_days: int) -> ShiftedBetaGeometric:
    return ShiftedBetaGeometric.fit_horizons(
        rows["renewals_done"], _decisions_in_horizon(rows, horizon_days), churned
    )


def _fit_km(rows: pd.DataFrame, churned: np.ndarray, horizon_days: int) -> pd.DataFrame:
    tenure = rows["contract_tenure_days"].to_numpy(float)
    days = rows["days_to_renewal"].to_numpy(float)
    first_renewal = np.where(days < horizon_days, days, horizon_days / 2)
    exit_after = np.where(churned, first_renewal, horizon_days)
    curve = kaplan_meier(tenure + exit_after, churned, entry=tenure)
    if curve.empty:
        raise RetentionDataError("no contract ended")
    curve.attrs["last_exit"] = float((tenure + exit_after).max())
    return curve


def _predict_km(curve: pd.DataFrame, rows: pd.DataFrame, horizon_days: int) -> np.ndarray:
    tenure = rows["contract_tenure_days"].to_numpy(float)
    tenure = np.minimum(tenure, max(curve.attrs["last_exit"] - horizon_days, 0.0))
    survival = np.concatenate([[1.0], curve["survival"].to_numpy()])
    times = curve["time"].to_numpy()
    at = survival[np.searchsorted(times, tenure, side="right")]
    later = survival[np.searchsorted(times, tenure + horizon_days, side="right")]
    return np.where(at > 0, 1 - later / np.where(at > 0, at, 1.0), 1.0)
