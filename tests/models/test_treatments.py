"""Several treatments: choosing per customer, the policy values and the oracle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_ml.models import LightGBMConfig, UpliftConfig
from crm_ml.models.treatments import (
    NO_CONTACT,
    choose_treatments,
    ipw_difference,
    ipw_gains,
    net_values,
    oracle_treatments,
    policy_value_curve,
    policy_value_ipw,
    single_treatment_policies,
    train_treatment_policy,
    true_policy_value,
)
from crm_ml.pipeline.steps.treatments import response_value

COSTS = {"coupon": 1.0, "callback": 3.0, "loyalty": 0.5}


def test_choose_takes_the_best_paying_treatment_or_none() -> None:
    effects = pd.DataFrame(
        {"coupon": [0.3, 0.0, 0.05], "callback": [0.1, 0.4, 0.0], "loyalty": [0.2, 0.0, 0.0]}
    )
    net = net_values(effects, [10.0, 10.0, 10.0], COSTS)
    chosen = choose_treatments(net)
    # row 0: coupon 2.0, callback -2.0, loyalty 1.5; row 1: callback 1.0; row 2: none pays
    assert chosen["treatment"].tolist() == ["coupon", "callback", NO_CONTACT]
    assert chosen["expected_net_value"].tolist() == pytest.approx([2.0, 1.0, 0.0])
    assert true_policy_value(chosen["treatment"], effects, [10.0] * 3, COSTS) == pytest.approx(1.0)
    assert true_policy_value(["loyalty"] * 3, effects, [10.0] * 3, COSTS) == pytest.approx(
        (1.5 - 0.5 - 0.5) / 3
    )


def test_the_oracle_policy_is_never_beaten() -> None:
    rng = np.random.default_rng(3)
    effects = pd.DataFrame(rng.uniform(0, 0.3, size=(500, 3)), columns=list(COSTS))
    value = rng.uniform(2, 20, 500)
    oracle = true_policy_value(oracle_treatments(effects, value, COSTS), effects, value, COSTS)
    noisy = effects + rng.normal(0, 0.1, size=effects.shape)
    guesses = [choose_treatments(net_values(noisy, value, COSTS))["treatment"]]
    guesses += [
        arms for _, arms in single_treatment_policies(net_values(noisy, value, COSTS)).values()
    ]
    for guess in guesses:
        assert true_policy_value(guess, effects, value, COSTS) <= oracle + 1e-12
    curve = policy_value_curve(
        value, oracle_treatments(effects, value, COSTS), effects, value, COSTS
    )
    assert curve["net_value"].iloc[0] == 0.0
    assert curve["net_value"].iloc[-1] == pytest.approx(oracle)


def _trial(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A randomised trial of three treatments whose effects depend on two features."""
    rng = np.random.default_rng(seed)
    sensitivity = rng.random(n)
    complaint = rng.random(n) < 0.15
    tenure = rng.uniform(0, 3, n)
    effects = pd.DataFrame(
        {
            "coupon": np.where(sensitivity > 0.6, 0.3, 0.02),
            "callback": np.where(complaint, 0.35, 0.0),
            "loyalty": np.where(tenure > 2.0, 0.25, 0.0),
        }
    )
    treatment = rng.choice(list(COSTS), size=n)
    control = rng.random(n) < 0.3
    base = 0.05 + 0.05 * sensitivity
    effect = effects.to_numpy()[np.arange(n), [list(COSTS).index(t) for t in treatment]]
    y = rng.random(n) < base + np.where(control, 0.0, effect)
    frame = pd.DataFrame(
        {
            "sensitivity": sensitivity,
            "complaint": complaint.astype(float),
            "tenure": tenure,
            "noise": rng.normal(size=n),
            "treatment": treatment,
            "is_control": control,
            "responded": y.astype(int),
        }
    )
    return frame, effects


def test_ipw_estimates_the_true_policy_value() -> None:
    frame, effects = _trial(60_000, seed=5)
    value = np.full(len(frame), 10.0)
    policy = oracle_treatments(effects, value, COSTS)
    treated = ~frame["is_control"].to_numpy()
    estimate = policy_value_ipw(
        policy,
        frame["treatment"],
        treated,
        frame["responded"],
        value,
        COSTS,
        np.full(len(frame), 0.7),
    )
    truth = true_policy_value(policy, effects, value, COSTS)
    assert estimate == pytest.approx(truth, abs=0.1)
    # the difference to "coupon for all" is within a few of its standard errors of the truth
    coupon = np.full(len(frame), "coupon", dtype=object)
    args = (frame["treatment"], treated, frame["responded"], value, COSTS, np.full(len(frame), 0.7))
    difference, error = ipw_difference(
        ipw_gains(policy, *args), ipw_gains(coupon, *args), frame["treatment"]
    )
    true_difference = truth - true_policy_value(coupon, effects, value, COSTS)
    assert 0 < error < 0.2 and abs(difference - true_difference) < 3 * error
    assert ipw_difference(
        ipw_gains(coupon, *args), ipw_gains(coupon, *args), frame["treatment"]
    ) == (
        0.0,
        0.0,
    )
    # a policy that contacts nobody is worth nothing under both
    nobody = np.full(len(frame), NO_CONTACT, dtype=object)
    assert (
        policy_value_ipw(nobody, frame["treatment"], treated, frame["responded"], value, COSTS, 0.7)
        == 0.0
    )


def test_the_learned_policy_beats_every_single_treatment() -> None:
    train, _ = _trial(30_000, seed=1)
    held, effects = _trial(10_000, seed=2)
    config = UpliftConfig(
        learner="t", lightgbm=LightGBMConfig(num_boost_round=300, early_stopping_rounds=20)
    )
    policy = train_treatment_policy(train, "responded", COSTS, config=config)
    value = np.full(len(held), 10.0)
    net = policy.net_values(held, value)
    chosen = choose_treatments(net)["treatment"]
    model = true_policy_value(chosen, effects, value, COSTS)
    oracle = true_policy_value(oracle_treatments(effects, value, COSTS), effects, value, COSTS)
    singles = {
        name: true_policy_value(arms, effects, value, COSTS)
        for name, (_, arms) in single_treatment_policies(net).items()
    }
    assert model > 0.8 * oracle
    assert model > 1.2 * max(singles.values())
    assert policy.choose(held, value)["treatment"].tolist() == chosen.tolist()
    policy.offered = ["coupon"]  # a policy restricted to one treatment gives only that one
    restricted = policy.choose(held, value)["treatment"]
    assert set(restricted) == {"coupon", NO_CONTACT}
    assert true_policy_value(restricted, effects, value, COSTS) == pytest.approx(
        singles["coupon where it pays"]
    )


def test_a_treatment_without_contacts_is_a_clear_error() -> None:
    frame, _ = _trial(1_000, seed=1)
    with pytest.raises(ValueError, match="voucher"):
        train_treatment_policy(frame, "responded", {**COSTS, "voucher": 2.0})


def test_a_response_is_worth_the_margin_of_the_customers_average_order() -> None:
    frame = pd.DataFrame({"avg_order_value_365d": [10.0, None, 0.0, 30.0]})
    # no order value of their own: the median of the known ones (20)
    assert response_value(frame, 0.5).tolist() == [5.0, 10.0, 10.0, 15.0]
    assert response_value(pd.DataFrame({"other": [1, 2]}), 0.3).tolist() == [0.3, 0.3]
