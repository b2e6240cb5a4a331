"""Notebook 04's third part: which treatment for whom, when campaigns tried several.

Where the contacts carry a `treatment` (coupon, callback, loyalty benefit, ...) and each
treatment's campaigns kept a control group, one uplift learner per treatment is trained
on the earlier campaigns (`crm_ml.models.treatments`). On the latest campaigns each contact
gets the treatment of largest expected net value, margin x the customer's average order
value x uplift - cost, or none. The cost per contact of a treatment is the mean `cost` of
its treated contacts in the export. Where the latest training campaigns show one treatment
alone earning more than the choice among all (noisy estimates with few contacts), only
that one is offered (`offered_treatments`).

The policy is shown beside the honest alternatives of the same run: each treatment given
to everyone, each treatment where its own model says it pays, and contacting nobody. Every
policy's net value is estimated from the randomised contacts (IPW); on the synthetic world
the true effect of every treatment on every contact (truth/contacts, evaluation only) also
gives its exact net value and the oracle policy's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crm_ml.models.booster import fit_booster
from crm_ml.models.treatments import (
    NO_CONTACT,
    TreatmentPolicy,
    choose_treatments,
    ipw_difference,
    ipw_gains,
    net_values,
    oracle_treatments,
    plot_policy_values,
    policy_value_curve,
    policy_value_ipw,
    single_treatment_policies,
    train_treatment_policy,
    true_policy_value,
)
from crm_ml.pipeline.config import RunConfig
from crm_ml.pipeline.data import raw_source_dir
from crm_ml.pipeline.steps.uplift import (
    UpliftData,
    UpliftSettings,
    split_by_campaign,
    uplift_feature_columns,
)

log = logging.getLogger(__name__)
VALUE_FEATURE = "avg_order_value_365d"
MODEL_POLICY = "chosen per customer (model)"
ORACLE_POLICY = "oracle (true effects)"
CEILING_POLICY = "true effects learned from the features"
POLICY_TREES = {"learning_rate": 0.02, "num_leaves": 7}
CLEARLY = 2.0  # standard errors by which one treatment alone must earn more to be kept alone


def treatment_costs(data: UpliftData) -> dict[str, float] | None:
    """Cost per treated contact of each treatment (mean `cost` of its treated contacts);
    None when the contacts carry no treatment or fewer than two, or no cost."""
    frame = pd.concat([data.train, data.held])
    if "treatment" not in frame.columns or "cost" not in frame.columns:
        return None
    treated = frame[frame["treated"] & frame["treatment"].notna()]
    costs = treated.groupby("treatment")["cost"].mean().dropna()
    ready = [
        name
        for name in costs.index
        if data.train["treatment"].eq(name).any() and data.held["treatment"].eq(name).any()
    ]
    if len(ready) < 2:
        log.info("treatment policy skipped: fewer than two treatments with campaigns to learn")
        return None
    return {str(name): float(costs[name]) for name in sorted(ready)}


def response_value(frame: pd.DataFrame, margin: float) -> np.ndarray:
    """What one response earns: margin x the customer's average order value (the median of
    the known ones where a customer has none; margin x 1 without any)."""
    if VALUE_FEATURE not in frame.columns:
        return np.full(len(frame), margin)
    value = pd.to_numeric(frame[VALUE_FEATURE], errors="coerce")
    known = value[value > 0]
    fill = known.median() if len(known) else 1.0
    return margin * value.where(value > 0, fill).to_numpy(float)


def fit_treatment_policy(
    data: UpliftData, settings: UpliftSettings, costs: dict[str, float], margin: float
) -> TreatmentPolicy:
    """One uplift learner per treatment on the earlier campaigns' contacts, offering the
    treatments `offered_treatments` found to earn most on the latest of them.

    The learners grow slower, shallower trees than `settings.learner` (`POLICY_TREES`):
    the policy compares estimated effects across treatments and takes the largest, so an
    effect overestimated by noise wins a customer it should not (the winner's curse). On
    the battery of worlds (retail 5k/20k/50k, finance 5k, b2b 5k) these trees earned as
    much or more on each than the uplift model's own settings.
    """
    train = data.train[data.train["treatment"].isin(list(costs))]
    policy = _fit_policy(train, settings, costs)
    policy.offered = offered_treatments(train, settings, costs, margin)
    return policy


def _fit_policy(
    train: pd.DataFrame, settings: UpliftSettings, costs: dict[str, float]
) -> TreatmentPolicy:
    columns = policy_feature_columns(train)
    lightgbm = replace(settings.learner.lightgbm, **POLICY_TREES)
    return train_treatment_policy(
        train[[*columns, "responded", "is_control", "treatment"]],
        "responded",
        costs,
        config=replace(settings.learner, lightgbm=lightgbm),
        feature_columns=columns,
    )


def offered_treatments(
    train: pd.DataFrame,
    settings: UpliftSettings,
    costs: dict[str, float],
    margin: float,
) -> list[str]:
    """Every treatment, unless one alone clearly earns more on the latest training
    campaigns (IPW, learners fit on the earlier ones; by `CLEARLY` standard errors).

    Choosing the largest of several noisy estimates can earn less than one treatment
    given where its own estimate pays (with few contacts per treatment it does). The IPW
    comparison is noisy too, so the choice among all stays unless the evidence is clear.
    """
    validation = split_by_campaign(train, settings.holdout_share)
    early, late = train[~validation], train[validation].reset_index(drop=True)
    if set(early["treatment"]) != set(costs) or set(late["treatment"]) != set(costs):
        log.info("too few campaigns per treatment to check the choice: every treatment offered")
        return list(costs)
    policy = _fit_policy(early, settings, costs)
    value = response_value(late, margin)
    net = policy.net_values(late, value)
    propensity = late.groupby("campaign_id")["treated"].transform("mean").to_numpy()

    def gains(offered: list[str]) -> np.ndarray:
        arms = choose_treatments(net[offered])["treatment"].to_numpy()
        return ipw_gains(
            arms, late["treatment"], late["treated"], late["responded"], value, costs, propensity
        )

    every = gains(list(costs))
    best, best_lower = list(costs), 0.0  # a single treatment must beat every one clearly
    for name in costs:
        difference, error = ipw_difference(gains([name]), every, late["treatment"])
        if difference - CLEARLY * error > best_lower:
            best, best_lower = [name], difference - CLEARLY * error
        log.info(
            "%s alone vs every treatment: %+.4f (se %.4f) per contact", name, difference, error
        )
    log.info("treatments offered: %s", best)
    return best


def policy_feature_columns(frame: pd.DataFrame) -> list[str]:
    """The customer 360, the history in the offered category and the offer: the policy
    decides for a planned contact, whose offer is known."""
    return uplift_feature_columns(frame, offer_features=True)


def true_arm_effects(raw_dir: Path, treatments: list[str]) -> pd.DataFrame | None:
    """The generator's true effect of every treatment per contact_id (synthetic world
    only; evaluation only)."""
    file = raw_dir / "truth" / "contacts.parquet"
    columns = [f"true_effect_{name}" for name in treatments]
    if not file.exists():
        return None
    truth = pd.read_parquet(file)
    if not set(columns) <= set(truth.columns):
        return None
    truth = truth.set_index(truth["contact_id"].astype(str))[columns]
    return truth.set_axis(treatments, axis=1)


def feature_ceiling(
    policy: TreatmentPolicy, train: pd.DataFrame, truth: pd.DataFrame, held: pd.DataFrame
) -> pd.DataFrame:
    """The true effects of the training contacts regressed on the policy's features,
    predicted for the held contacts: the best any learner of those features could do with
    unlimited outcomes. The gap between it and the oracle is what the features cannot
    know (a latent taste for offers, say); the gap to the model is estimation noise."""
    train = train[train["contact_id"].astype(str).isin(truth.index)]
    effects = truth.loc[train["contact_id"].astype(str)]
    rng = np.random.default_rng(0)
    stop = rng.random(len(train)) < 0.2
    out = {}
    for name, model in policy.models.items():
        schema = model.schema
        x, y = schema.to_matrix(train), effects[name].to_numpy()
        booster = fit_booster(
            {"objective": "regression", "metric": "l2", "learning_rate": 0.05, "verbosity": -1},
            (x[~stop], y[~stop]),
            (x[stop], y[stop]),
            schema.feature_names,
            schema.categorical_features,
            num_boost_round=2000,
            early_stopping_rounds=50,
        )
        out[name] = booster.predict(schema.to_matrix(held))
    return pd.DataFrame(out)


@dataclass
class TreatmentOutcome:
    policy: TreatmentPolicy
    policies: pd.DataFrame  # policy, contacted_share, ipw_net_value (+ true_net_value)
    best_single: str  # the best single-treatment policy's name
    choices: pd.DataFrame  # per treatment: the share of holdout contacts it is chosen for
    metrics: dict[str, float]
    figure: Any | None  # the policy value curves (needs the truth)


def evaluate_treatment_policy(
    policy: TreatmentPolicy, data: UpliftData, config: RunConfig, margin: float
) -> TreatmentOutcome:
    """The chosen-treatment policy against single-treatment policies and no contact on the
    latest campaigns (IPW), and against the oracle where the truth is known."""
    held = data.held[data.held["treatment"].isin(policy.treatments)].reset_index(drop=True)
    value = response_value(held, margin)
    net = policy.net_values(held, value)
    chosen = policy.choose_from(net)
    singles = single_treatment_policies(net)
    policies: dict[str, np.ndarray] = {
        MODEL_POLICY: chosen["treatment"].to_numpy(),
        **{name: arms for name, (_, arms) in singles.items()},
        "no contact": np.full(len(held), NO_CONTACT, dtype=object),
    }
    propensity = held.groupby("campaign_id")["treated"].transform("mean").to_numpy()
    truth = true_arm_effects(raw_source_dir(config), policy.treatments)
    effects = None
    if truth is not None:
        effects = truth.reindex(held["contact_id"].astype(str)).reset_index(drop=True)
        if effects.isna().any().any():
            log.warning("truth lacks %d holdout contacts", int(effects.isna().any(axis=1).sum()))
            effects = effects.fillna(0.0)
        policies[ORACLE_POLICY] = oracle_treatments(effects, value, policy.costs)
        ceiling = feature_ceiling(policy, data.train, truth, held)
        policies[CEILING_POLICY] = choose_treatments(net_values(ceiling, value, policy.costs))[
            "treatment"
        ].to_numpy()
    rows = []
    for name, arms in policies.items():
        row = {
            "policy": name,
            "contacted_share": float(np.mean(arms != NO_CONTACT)),
            "ipw_net_value": policy_value_ipw(
                arms,
                held["treatment"],
                held["treated"],
                held["responded"],
                value,
                policy.costs,
                propensity,
            ),
        }
        if effects is not None:
            row["true_net_value"] = true_policy_value(arms, effects, value, policy.costs)
        rows.append(row)
    table = pd.DataFrame(rows)
    metrics, best_single = _policy_metrics(table, list(singles))
    metrics["holdout_contacts"] = float(len(held))
    choices = (
        chosen["treatment"]
        .value_counts(normalize=True)
        .rename_axis("treatment")
        .reset_index(name="share_of_contacts")
    )
    figure = None
    if effects is not None:
        curves = {
            MODEL_POLICY: policy_value_curve(
                chosen["expected_net_value"], policies[MODEL_POLICY], effects, value, policy.costs
            ),
            ORACLE_POLICY: policy_value_curve(
                choose_treatments(net_values(effects, value, policy.costs))["expected_net_value"],
                policies[ORACLE_POLICY],
                effects,
                value,
                policy.costs,
            ),
        }
        arm = singles[best_single][0]
        curves[best_single] = policy_value_curve(
            net[arm], policies[best_single], effects, value, policy.costs
        )
        figure = plot_policy_values(curves)
    return TreatmentOutcome(policy, table, best_single, choices, metrics, figure)


def _policy_metrics(table: pd.DataFrame, singles: list[str]) -> tuple[dict[str, float], str]:
    """The model policy's value, the best single-treatment policy's (and its name), their
    ratio and, with the truth, the oracle's and the feature ceiling's. Judged by the true
    net value where known, else by the IPW estimate."""
    judged_by = "true_net_value" if "true_net_value" in table.columns else "ipw_net_value"
    by_name = table.set_index("policy")
    best = str(by_name.loc[singles, judged_by].idxmax())
    model_value = float(by_name.loc[MODEL_POLICY, judged_by])
    best_value = float(by_name.loc[best, judged_by])
    metrics = {
        "policy_net_value": model_value,
        "policy_ipw_net_value": float(by_name.loc[MODEL_POLICY, "ipw_net_value"]),
        "best_single_net_value": best_value,
        "vs_best_single": model_value / best_value if best_value > 0 else float("nan"),
    }
    if ORACLE_POLICY in by_name.index:
        oracle = float(by_name.loc[ORACLE_POLICY, "true_net_value"])
        ceiling = float(by_name.loc[CEILING_POLICY, "true_net_value"])
        metrics["oracle_net_value"] = oracle
        metrics["share_of_oracle"] = model_value / oracle if oracle > 0 else float("nan")
        metrics["feature_ceiling_net_value"] = ceiling
        metrics["ceiling_share_of_oracle"] = ceiling / oracle if oracle > 0 else float("nan")
    return metrics, best


def run_treatment_policy(
    data: UpliftData, config: RunConfig, settings: UpliftSettings
) -> TreatmentOutcome | None:
    """Notebook 04's treatment-policy cells in one call; None with fewer than two
    treatments that have a cost and campaigns to learn and to judge."""
    costs = treatment_costs(data)
    if costs is None:
        return None
    margin = config.action_plan.margin
    policy = fit_treatment_policy(data, settings, costs, margin)
    return evaluate_treatment_policy(policy, data, config, margin)
