"""sBG and Kaplan-Meier: the published replication, recovery on simulated cohorts, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_ml.datasets.retention_cohorts import COHORTS
from crm_ml.models.survival import RetentionDataError, ShiftedBetaGeometric, kaplan_meier


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
