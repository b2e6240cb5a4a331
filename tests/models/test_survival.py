"""sBG and Kaplan-Meier: the published replication, recovery on simulated cohorts, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_ml.datasets.retention_cohorts import COHORTS
from crm_ml.models.survival import (
    RetentionDataError,
    ShiftedBetaGeometric,
    contract_baselines,
    kaplan_meier,
    remaining_tenure,
)


@pytest.mark.parametrize("cohort", COHORTS, ids=lambda c: c.name)
def test_sbg_replicates_fader_hardie_2007(cohort) -> None:
    model = ShiftedBetaGeometric.fit(cohort.active_percent)
    assert model.alpha == pytest.approx(cohort.published_alpha, rel=0.01)
    assert model.beta == pytest.approx(cohort.published_beta, rel=0.01)
    # the fitted curve passes near the data it was fitted on (the paper's figure 3)
    fitted = 100 * model.survival(np.arange(len(cohort.active_percent)))
    assert np.abs(fitted - cohort.active_percent).max() < 2.0  # points


def test_sbg_recovers_the_parameters_of_a_simulated_cohort() -> None:
    rng = np.random.default_rng(7)
    theta = rng.beta(1.5, 4.0, size=200_000)
    tenure = rng.geometric(theta)  # the period in which each customer churns
    active = [(tenure > t).sum() for t in range(9)]
    model = ShiftedBetaGeometric.fit(active)
    assert model.alpha == pytest.approx(1.5, rel=0.05)
    assert model.beta == pytest.approx(4.0, rel=0.05)
    # residual lifetime by simulation: survivors of 3 renewals, their further renewals
    survivors = tenure[tenure > 3]
    further = survivors - 4  # renewals after the 3 made so far (geometric tenure counts periods)
    assert model.discounted_residual_lifetime(3, 0.0001) == pytest.approx(further.mean(), rel=0.1)
    assert (np.diff(model.retention_rate(range(1, 10))) > 0).all()  # rises with tenure


@pytest.mark.parametrize(
    "active",
    [[100, 90], [100, 90, 95], [100, 100, 100], [100, 90, -1]],
    ids=["one period", "rising", "nobody churned", "negative"],
)
def test_sbg_refuses_counts_it_cannot_fit(active: list[float]) -> None:
    with pytest.raises(RetentionDataError):
        ShiftedBetaGeometric.fit(active)


def test_kaplan_meier_matches_the_hand_computed_curve_with_censoring() -> None:
    duration = pd.Series([2, 3, 3, 5, 6, 6, 8, 9])
    ended = pd.Series([True, True, False, True, False, True, False, True])
    curve = kaplan_meier(duration, ended).set_index("time")
    # at risk at each event time: 8, 7, 5 (one censored at 3), 4, 1 (one censored at 8)
    expected = np.cumprod([7 / 8, 6 / 7, 4 / 5, 3 / 4, 0 / 1])
    assert list(curve.index) == [2, 3, 5, 6, 9]
    assert curve["survival"].to_numpy() == pytest.approx(expected)
    assert curve["at_risk"].tolist() == [8, 7, 5, 4, 1]


def test_kaplan_meier_without_censoring_is_the_empirical_survival() -> None:
    rng = np.random.default_rng(1)
    duration = rng.integers(1, 20, size=500)
    curve = kaplan_meier(duration, np.ones(500, bool)).set_index("time")
    empirical = [(duration > t).mean() for t in curve.index]
    assert curve["survival"].to_numpy() == pytest.approx(empirical)


def test_kaplan_meier_refuses_missing_or_negative_durations() -> None:
    with pytest.raises(RetentionDataError):
        kaplan_meier([1, np.nan], [True, False])
    with pytest.raises(RetentionDataError):
        kaplan_meier([1, -2], [True, False])


def test_kaplan_meier_with_delayed_entry_is_the_curve_of_the_survivors() -> None:
    """Left truncation: subjects first seen at tenure 5 give the survival beyond 5 only."""
    rng = np.random.default_rng(3)
    lifetime = rng.exponential(10.0, size=20_000)
    seen = lifetime > 5
    curve = kaplan_meier(lifetime[seen], np.ones(seen.sum(), bool), entry=np.full(seen.sum(), 5))
    at_15 = curve.loc[curve["time"] <= 15, "survival"].iloc[-1]
    assert at_15 == pytest.approx(np.exp(-10 / 10), abs=0.02)  # memoryless: S(15 | 5)
    with pytest.raises(RetentionDataError, match="enter observation after"):
        kaplan_meier([3], [True], entry=[4])


def test_sbg_fitted_on_horizons_predicts_the_churn_of_survivors() -> None:
    rng = np.random.default_rng(11)
    theta = rng.beta(1.2, 5.0, size=100_000)
    lifetime = rng.geometric(theta)
    survived = rng.integers(0, 8, size=100_000)
    seen = lifetime > survived
    n, life = survived[seen], lifetime[seen]
    churned = life <= n + 2
    model = ShiftedBetaGeometric.fit_horizons(n, np.full(len(n), 2), churned)
    assert model.alpha == pytest.approx(1.2, rel=0.1)
    assert model.beta == pytest.approx(5.0, rel=0.1)
    predicted = model.horizon_churn_probability(n, np.full(len(n), 2))
    for tenure in (0, 7):  # survivors churn less: the sBG's heterogeneity
        rows = n == tenure
        assert predicted[rows].mean() == pytest.approx(churned[rows].mean(), abs=0.02)
    assert (model.horizon_churn_probability([3], [0]) == 0).all()
    with pytest.raises(RetentionDataError):
        ShiftedBetaGeometric.fit_horizons([1, 2], [0, 0], [True, False])


def _contracts(n: int, seed: int) -> pd.DataFrame:
    """Annual contracts on two plans; 'pro' churns three times as often at its renewal."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "product_id": rng.choice(["basic", "pro"], n),
            "is_month_to_month": 0.0,
            "term_months": 12,
            "renewals_done": rng.integers(0, 4, n),
            "days_to_renewal": rng.uniform(1, 365, n),
        }
    )
    frame["contract_tenure_days"] = 365 * (frame["renewals_done"] + 1) - frame["days_to_renewal"]
    rate = np.where(frame["product_id"] == "pro", 0.45, 0.15)
    renews = frame["days_to_renewal"] < 90
    frame["contract_churned"] = (renews & (rng.random(n) < rate)).astype(int)
    return frame


def test_contract_baselines_learn_renewal_timing_and_plans_from_training_rows() -> None:
    train, scored = _contracts(6000, 0), _contracts(2000, 1)
    scores = contract_baselines(train, scored, horizon_days=90)
    renews = scored["days_to_renewal"] < 90
    assert ((scores >= 0) & (scores <= 1)).all().all()
    # a term contract whose renewal falls after the horizon cannot end in it
    assert scores.loc[~renews, ["sbg", "kaplan_meier"]].max().max() < 0.02
    # the rule knows timing only; sBG and Kaplan-Meier fit each plan
    pro = scored["product_id"] == "pro"
    for name in ("sbg", "kaplan_meier"):
        assert scores.loc[renews & pro, name].mean() == pytest.approx(0.45, abs=0.05)
        assert scores.loc[renews & ~pro, name].mean() == pytest.approx(0.15, abs=0.05)
    assert scores.loc[renews, "days_to_renewal_rule"].std() < scores.loc[renews, "sbg"].std()
    pooled = contract_baselines(train, scored.drop(columns="product_id"), 90, plan=None)
    assert pooled.loc[renews, "sbg"].std() < 0.05  # pooled plans: one rate at renewal


def test_contract_baselines_fall_back_for_small_plans_and_name_missing_columns() -> None:
    train, scored = _contracts(3000, 2), _contracts(500, 3)
    train.loc[train.index[:20], "product_id"] = "rare"  # too few rows for its own fit
    scored.loc[scored.index[:20], "product_id"] = "rare"
    scores = contract_baselines(train, scored, horizon_days=90)
    assert scores.notna().all().all()
    with pytest.raises(RetentionDataError, match="join product_id"):
        contract_baselines(train.drop(columns="product_id"), scored, 90)
    with pytest.raises(RetentionDataError, match="missing values"):
        contract_baselines(train.assign(days_to_renewal=np.nan), scored, 90)


def test_remaining_tenure_is_the_expected_further_lifetime_of_survivors() -> None:
    """Month-to-month contracts at a renewal: undiscounted, the sBG's months remaining are
    the survivors' mean further lifetime; term contracts add the rest of the current term."""
    rng = np.random.default_rng(5)
    n = 60_000
    # alpha > 2: the further lifetime has a finite variance, so its sample mean settles
    lifetime = rng.geometric(rng.beta(3.0, 8.0, n))  # the month each contract ends in
    renewals = rng.integers(0, 6, n)
    frame = pd.DataFrame(
        {
            "is_month_to_month": 1.0,
            "term_months": 1,
            "renewals_done": renewals,
            "days_to_renewal": 0.0,
            "contract_tenure_days": renewals * 30.4,
            "contract_churned": (lifetime <= renewals + 3).astype(int),
        }
    )[lifetime > renewals]
    months = remaining_tenure(frame, frame, 90, annual_discount=0.0, plan=None)
    further = pd.Series(lifetime - renewals - 1, index=np.arange(n))[frame.index]
    by_tenure = pd.DataFrame({"sbg": months, "simulated": further}).groupby(frame["renewals_done"])
    for tenure, group in by_tenure:
        assert group["sbg"].mean() == pytest.approx(group["simulated"].mean(), rel=0.1), tenure
    discounted = remaining_tenure(frame, frame, 90, annual_discount=0.2, plan=None)
    assert (discounted < months).all()
    term = frame.assign(is_month_to_month=0.0, term_months=12, days_to_renewal=100.0)
    term_months = remaining_tenure(frame, term, 90, plan=None)
    assert (term_months > 100 / 30.5).all()  # at least the rest of the term
