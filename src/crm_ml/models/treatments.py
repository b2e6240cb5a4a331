"""Several treatments: the best intervention per customer (or none) and what it earns.

A campaign history with several kinds of treatment (a coupon, a service callback, a loyalty
benefit), each with its own randomised control group, answers "which one, for whom?". One
uplift learner per treatment (`train_uplift_model` on that treatment's treated contacts
against the control groups of all campaigns) estimates the effect tau_k(x) on the chance
to buy. A
customer's expected net value of treatment k is value * tau_k(x) - cost_k; the policy takes
the largest, or no contact when none is positive.

A policy is judged by its net value per customer:

- `policy_value_ipw`: from the randomised contacts alone (inverse propensity weighting,
  Horvitz & Thompson 1952): on the contacts of treatment k, the customers the policy gives
  k contribute value * (T Y / p - (1 - T) Y / (1 - p)) - cost_k, p the share treated of
  their campaign; the policy's value is the sum over treatments of these means. Unbiased
  for any policy, noisy where few customers get a treatment.
- `true_policy_value`: where the true effect of every treatment on every contact is known
  (the synthetic world), the exact net value; the oracle policy takes the best true one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from crm_ml.models.uplift import UpliftConfig, UpliftModel, train_uplift_model

NO_CONTACT = "none"


@dataclass
class TreatmentPolicy:
    """One uplift model per treatment and each treatment's cost per contact."""

    models: dict[str, UpliftModel]
    costs: dict[str, float]
    offered: list[str] | None = None  # the treatments `choose` may give; None: all

    @property
    def treatments(self) -> list[str]:
        return list(self.models)

    def uplifts(self, X: pd.DataFrame) -> pd.DataFrame:
        """Estimated effect of each treatment on the chance to respond (one column each)."""
        return pd.DataFrame(
            {name: model.predict(X) for name, model in self.models.items()}, index=X.index
        )

    def net_values(self, X: pd.DataFrame, value: ArrayLike) -> pd.DataFrame:
        """value * uplift - cost per treatment: what each contact is expected to earn."""
        return net_values(self.uplifts(X), value, self.costs)

    def choose(self, X: pd.DataFrame, value: ArrayLike) -> pd.DataFrame:
        """The chosen treatment per row among the offered ones (`NO_CONTACT` when none
        pays) and its net value."""
        return self.choose_from(self.net_values(X, value))

    def choose_from(self, net: pd.DataFrame) -> pd.DataFrame:
        """`choose` on net values already computed (`net_values`)."""
        return choose_treatments(net[self.offered or self.treatments])


def net_values(effects: pd.DataFrame, value: ArrayLike, costs: Mapping[str, float]) -> pd.DataFrame:
    """value * effect - cost per treatment column of `effects`."""
    value = np.asarray(value, dtype=np.float64)
    return pd.DataFrame(
        {k: value * effects[k].to_numpy() - costs[k] for k in effects.columns}, index=effects.index
    )


def choose_treatments(net: pd.DataFrame) -> pd.DataFrame:
    """Per row the treatment with the largest positive net value, else `NO_CONTACT`."""
    values = net.to_numpy()
    best = values.argmax(axis=1)
    best_value = values[np.arange(len(values)), best]
    names = np.array(net.columns, dtype=object)[best]
    return pd.DataFrame(
        {
            "treatment": np.where(best_value > 0, names, NO_CONTACT),
            "expected_net_value": np.maximum(best_value, 0.0),
        },
        index=net.index,
    )


def train_treatment_policy(
    frame: pd.DataFrame,
    outcome: str,
    costs: Mapping[str, float],
    treatment_column: str = "treatment",
    control_column: str = "is_control",
    config: UpliftConfig | None = None,
    feature_columns: Sequence[str] | None = None,
) -> TreatmentPolicy:
    """Fit one uplift learner per treatment in `costs`: that treatment's treated rows
    against the control rows of every campaign.

    Not being contacted is the same condition whichever campaign held a customer out, so
    the control groups are pooled: each learner's baseline comes from all of them, not a
    third (the effect estimates are then far less noisy for the same campaigns).
    """
    missing = sorted(set(costs) - set(frame[treatment_column].unique()))
    if missing:
        raise ValueError(f"no contacts of treatment(s) {missing} in column {treatment_column!r}")
    control = frame[control_column].to_numpy(dtype=bool)
    models = {}
    for name in costs:
        rows = frame[control | (frame[treatment_column] == name).to_numpy()]
        models[name] = train_uplift_model(
            rows.drop(columns=[treatment_column]),
            outcome,
            treatment_column=control_column,
            control_value=True,
            config=config or UpliftConfig(),
            feature_columns=feature_columns,
        )
    return TreatmentPolicy(models, dict(costs))


def true_gains(
    chosen: ArrayLike, true_effects: pd.DataFrame, value: ArrayLike, costs: Mapping[str, float]
) -> np.ndarray:
    """True net value of giving each row its `chosen` treatment (`NO_CONTACT`: 0)."""
    chosen = np.asarray(chosen, dtype=object)
    value = np.asarray(value, dtype=np.float64)
    gain = np.zeros(len(chosen))
    for name in true_effects.columns:
        hit = chosen == name
        gain[hit] = value[hit] * true_effects[name].to_numpy()[hit] - costs[name]
    return gain


def true_policy_value(
    chosen: ArrayLike, true_effects: pd.DataFrame, value: ArrayLike, costs: Mapping[str, float]
) -> float:
    """Mean true net value per row of giving each row its `chosen` treatment."""
    return float(np.mean(true_gains(chosen, true_effects, value, costs)))


def oracle_treatments(
    true_effects: pd.DataFrame, value: ArrayLike, costs: Mapping[str, float]
) -> np.ndarray:
    """The oracle policy: per row the treatment of largest positive true net value."""
    return choose_treatments(net_values(true_effects, value, costs))["treatment"].to_numpy()


def ipw_gains(
    chosen: ArrayLike,
    treatment: ArrayLike,
    treated: ArrayLike,
    y: ArrayLike,
    value: ArrayLike,
    costs: Mapping[str, float],
    propensity: ArrayLike,
) -> np.ndarray:
    """Each row's share of a policy's IPW net value (module doc); they sum to it.

    `treatment` is each row's campaign treatment, `treated` whether it was sent (not
    control), `propensity` the share treated of its campaign.
    """
    chosen, treatment = np.asarray(chosen, dtype=object), np.asarray(treatment, dtype=object)
    treated = np.asarray(treated, dtype=bool)
    y, value = np.asarray(y, dtype=np.float64), np.asarray(value, dtype=np.float64)
    p = np.asarray(propensity, dtype=np.float64)
    weighted = np.where(treated, y / p, -y / (1.0 - p))
    gains = np.zeros(len(chosen))
    for name, cost in costs.items():
        rows = treatment == name
        if rows.any():
            gain = np.where(chosen == name, value * weighted - cost, 0.0)
            gains[rows] = gain[rows] / rows.sum()
    return gains


def policy_value_ipw(
    chosen: ArrayLike,
    treatment: ArrayLike,
    treated: ArrayLike,
    y: ArrayLike,
    value: ArrayLike,
    costs: Mapping[str, float],
    propensity: ArrayLike,
) -> float:
    """Net value per customer of a policy, estimated from randomised contacts (module doc;
    arguments as `ipw_gains`)."""
    return float(ipw_gains(chosen, treatment, treated, y, value, costs, propensity).sum())


def ipw_difference(
    gains_a: np.ndarray, gains_b: np.ndarray, treatment: ArrayLike
) -> tuple[float, float]:
    """IPW value of policy A minus policy B (their `ipw_gains` on the same rows) and its
    standard error: within a treatment's rows the per-row differences are independent."""
    treatment = np.asarray(treatment, dtype=object)
    difference = gains_a - gains_b
    variance = 0.0
    for name in np.unique(treatment):
        rows = difference[treatment == name]
        if len(rows) > 1:
            variance += len(rows) * float(rows.var(ddof=1))
    return float(difference.sum()), float(np.sqrt(variance))


def single_treatment_policies(net: pd.DataFrame) -> dict[str, tuple[str, np.ndarray]]:
    """For each treatment k, (k, the chosen treatment per row) of two policies: "all k"
    (everyone gets k) and "k where it pays" (its own net value estimate is positive)."""
    policies: dict[str, tuple[str, np.ndarray]] = {}
    for name in net.columns:
        policies[f"all {name}"] = (name, np.full(len(net), name, dtype=object))
        policies[f"{name} where it pays"] = (
            name,
            np.where(net[name].to_numpy() > 0, name, NO_CONTACT).astype(object),
        )
    return policies


def policy_value_curve(
    score: ArrayLike,
    chosen: ArrayLike,
    true_effects: pd.DataFrame,
    value: ArrayLike,
    costs: Mapping[str, float],
    points: int = 50,
) -> pd.DataFrame:
    """True net value per customer when only the top share by `score` gets its `chosen`
    treatment (the multi-treatment Qini): columns share_contacted, net_value."""
    score = np.asarray(score, dtype=np.float64)
    gain = true_gains(chosen, true_effects, value, costs)
    order = np.argsort(-score, kind="stable")
    cumulative = np.r_[0.0, np.cumsum(gain[order])] / max(len(gain), 1)
    at = np.unique(np.linspace(0, len(gain), points + 1).round().astype(int))
    return pd.DataFrame({"share_contacted": at / max(len(gain), 1), "net_value": cumulative[at]})


def plot_policy_values(curves: Mapping[str, pd.DataFrame]) -> Figure:
    """Net value per customer against the share contacted, one line per policy."""
    figure = Figure(figsize=(6.5, 4.5), layout="constrained")
    axes = figure.add_subplot()
    for name, curve in curves.items():
        axes.plot(curve["share_contacted"], curve["net_value"], label=name)
    axes.axhline(0.0, color="grey", linewidth=0.8)
    axes.set(
        title="Net value of each policy (true effects, holdout campaigns)",
        xlabel="share of customers contacted (highest expected net value first)",
        ylabel="net value per customer",
    )
    axes.grid(alpha=0.3)
    axes.legend(loc="best", fontsize="small")
    return figure
