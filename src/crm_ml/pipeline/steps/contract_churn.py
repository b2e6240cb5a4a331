"""The steps of notebook 03_churn_contracts: contract churn, renewals and value at risk.

For an export with a `subscriptions` table (B2B contracts, financial products, monthly
plans): one row per contract active at each cutoff (`crm_ml.features.contracts`), the
label "ends (or its balance halves) in the horizon", a LightGBM model on the same temporal
split as customer churn, judged on the holdout beside the survival baselines
(`crm_ml.models.survival.contract_baselines`: a days-to-renewal rule, sBG and Kaplan-Meier
by plan) and, on a synthetic world, the history oracle. The contracts active at the export
date are then scored with their reasons, their expected remaining tenure and subscription
CLV (the sBG of their plan), and turned into what account managers work from: the renewal
calendar (term contracts up for renewal within the horizon, riskiest value first), the
`renewals_to_secure` action list (consenting customers only), the accounts that may leave
a product category and, where balances are held, the assets at risk. Kaplan-Meier curves
by plan show retention over the whole export.

Value: `recurring_amount` is read as the amount billed per month, so a contract's annual
value is 12 x recurring_amount; a holding without one is worth its last balance (assets,
not revenue, and reported as such).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crm_ml.features.builder import FeatureEngine
from crm_ml.features.contracts import CONTRACT_TARGET, build_contract_frame
from crm_ml.models import BinaryModelConfig, TrainingResult, reason_codes, train_binary_model
from crm_ml.models.evaluation import binary_metrics
from crm_ml.models.survival import (
    MONTH_DAYS,
    contract_baselines,
    kaplan_meier,
    remaining_tenure,
)
from crm_ml.pipeline.config import RunConfig
from crm_ml.pipeline.data import accepted_as_of, accepted_tables, ensure_accepted, raw_source_dir
from crm_ml.pipeline.paths import RunPaths
from crm_ml.pipeline.promotions import run_tracking
from crm_ml.pipeline.steps.churn import GATE
from crm_ml.pipeline.steps.frames import (
    _cached,
    cutoff_plan,
    feature_config,
    snapshots,
    typed_config,
)
from crm_ml.pipeline.steps.oracle import has_oracle
from crm_ml.pipeline.steps.tracked import flat_metrics, sample_sized, track_and_gate
from crm_ml.tracking.registry import GateDecision

log = logging.getLogger(__name__)

TARGET = CONTRACT_TARGET
NOT_FEATURES = (
    "customer_id",
    "holder_id",
    "product_id",
    "category",
    "ended_in_horizon",
    "balance_drop_in_horizon",
)
FRAME_FILE = "contract_frame.parquet"
SCORES_FILE = "contract_scores.parquet"
MONTHS_PER_YEAR = 12


def has_contracts(paths: RunPaths, config: RunConfig) -> bool:
    """Whether the run's export has a subscriptions table (validating it first if needed).

    Parameters
    ----------
    paths : RunPaths
        The run's folders.
    config : RunConfig
        Where the exports come from.

    Returns
    -------
    bool
        True when contract churn can be modelled.

    Examples
    --------
    >>> has_contracts(ctx.paths, ctx.config)  # doctest: +SKIP
    True
    """
    ensure_accepted(paths, config)
    return "subscriptions" in accepted_tables(paths)


def contract_frame(paths: RunPaths, config: RunConfig) -> pd.DataFrame:
    """Contracts at every cutoff of the run's plan, with the customer 360 of the run's
    snapshots and the label; computed once per run.

    Parameters
    ----------
    paths : RunPaths
        The run's folders (accepted tables, feature cache).
    config : RunConfig
        ``horizon_days``, ``models.n_train_cutoffs`` and the feature settings.

    Returns
    -------
    pandas.DataFrame
        One row per contract and cutoff (`build_contract_frame`), the split and the label
        ``contract_churned``.

    Examples
    --------
    >>> frame = contract_frame(ctx.paths, ctx.config)  # doctest: +SKIP
    """
    if not has_contracts(paths, config):
        raise ValueError("the export has no subscriptions table: no contract churn to model")

    def build() -> pd.DataFrame:
        plan = cutoff_plan(paths, config)
        contracts = build_contract_frame(
            paths.accepted, plan, feature_config(config), customer_features=False
        )
        customers = snapshots(paths, config).drop(columns="split")
        categories = pd.read_parquet(
            paths.accepted / "products.parquet", columns=["product_id", "category"]
        )
        return contracts.merge(customers, on=["customer_id", "cutoff"], how="left").merge(
            categories.astype({"category": str}), on="product_id", how="left"
        )

    return _cached(paths.features / FRAME_FILE, build)


def model_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame the trainer reads: ids other than subscription_id and the label parts out."""
    return frame.drop(columns=[c for c in NOT_FEATURES if c in frame])


#: The contract model's trainer settings that differ from `BinaryModelConfig`'s defaults;
#: ``models.contract_churn`` in the run config goes over them. Contract churn is a rare
#: event (1-3% of contracts a quarter, some 70 in the early-stopping rows of the split), so
#: the number of trees comes from cross-fitting the train rows (`SplitConfig.rounds`).
CONTRACT_MODEL_DEFAULTS: dict[str, Any] = {"split": {"rounds": "cross_fit"}}


def contract_model_config(config: RunConfig) -> BinaryModelConfig:
    """The contract trainer's settings: ``models.contract_churn`` over
    `CONTRACT_MODEL_DEFAULTS` (nested sections merged key by key).

    Examples
    --------
    >>> from crm_ml.pipeline import load_config
    >>> config = load_config(None, {"models.contract_churn": {"lightgbm": {"num_threads": 1}}})
    >>> settings = contract_model_config(config)
    >>> settings.split.rounds, settings.lightgbm.num_threads
    ('cross_fit', 1)
    """
    settings = {key: dict(value) for key, value in CONTRACT_MODEL_DEFAULTS.items()}
    for key, value in config.models.get("contract_churn", {}).items():
        settings[key] = {**settings.get(key, {}), **value} if isinstance(value, dict) else value
    return typed_config(BinaryModelConfig, settings)


def train_contract_model(frame: pd.DataFrame, config: RunConfig) -> TrainingResult:
    """LightGBM on the temporal split: trees fitted on the training cutoffs (their number
    cross-fitted there by default), calibrated on the validation cutoff, judged on the holdout.

    Parameters
    ----------
    frame : pandas.DataFrame
        The contract frame (`contract_frame`).
    config : RunConfig
        ``models.contract_churn`` holds the trainer settings (`contract_model_config`).

    Returns
    -------
    TrainingResult
        The model and its metrics per split; holdout predictions in holdout row order.

    Examples
    --------
    >>> result = train_contract_model(frame, ctx.config)  # doctest: +SKIP
    """
    return train_binary_model(
        model_frame(frame), TARGET, contract_model_config(config), id_column="subscription_id"
    )


@dataclass
class ContractComparison:
    """The model beside the baselines on the holdout rows.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per model (the model first): roc_auc, pr_auc, log_loss, brier, ece, ...
    not_beaten : list of str
        Baselines whose holdout ROC AUC the model did not beat.
    metrics : dict
        Headline numbers: holdout AUC and ECE, the best baseline's AUC and, with ground
        truth, the history oracle's AUC and the gap closure to it from the rule.
    """

    table: pd.DataFrame
    not_beaten: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)


def compare_contract_model(
    result: TrainingResult, frame: pd.DataFrame, config: RunConfig
) -> ContractComparison:
    """Score the model, the survival baselines and (on a synthetic world) the history
    oracle on the same holdout rows.

    Parameters
    ----------
    result : TrainingResult
        The trained contract model (`train_contract_model`).
    frame : pandas.DataFrame
        The contract frame it was trained on; the baselines are fitted on its training
        rows only.
    config : RunConfig
        ``horizon_days``; where the raw exports (and any ground truth) are.

    Returns
    -------
    ContractComparison
        The table, the baselines not beaten and the headline metrics.

    Examples
    --------
    >>> comparison = compare_contract_model(result, frame, ctx.config)  # doctest: +SKIP
    >>> comparison.table.round(4)  # doctest: +SKIP
    """
    raw_dir = raw_source_dir(config)
    oracle = history_oracle(frame, raw_dir) if has_oracle(raw_dir) else None
    return contract_comparison(result, frame, config.horizon_days, oracle)


def contract_comparison(
    result: TrainingResult,
    frame: pd.DataFrame,
    horizon_days: int,
    oracle: np.ndarray | None = None,
) -> ContractComparison:
    """The model beside the survival baselines fitted on the frame's training rows, and
    beside `oracle` (a probability per holdout row, in holdout order) when given.

    Parameters
    ----------
    result : TrainingResult
        The trained contract model; its predictions are the holdout's.
    frame : pandas.DataFrame
        The contract frame it was trained on.
    horizon_days : int
        The label's horizon.
    oracle : numpy.ndarray, optional
        The history oracle's probabilities for the holdout rows (`history_oracle`).

    Returns
    -------
    ContractComparison
        The table, the baselines not beaten and the headline metrics: with an oracle, its
        AUC and the gap closure from the days-to-renewal rule to it.

    Examples
    --------
    >>> comparison = contract_comparison(result, frame, 90)  # doctest: +SKIP
    """
    split = frame["split"].astype(str)
    train, held = frame[split == "train"], frame[split == "holdout"].reset_index(drop=True)
    y = held[TARGET].to_numpy()
    scores = {"model": result.predictions["y_pred"].to_numpy(dtype=float)}
    baselines = contract_baselines(train, held, horizon_days)
    scores |= {name: baselines[name].to_numpy(dtype=float) for name in baselines.columns}
    if oracle is not None:
        scores["history_oracle"] = oracle
    table = pd.DataFrame(
        [{"model": name, **binary_metrics(y, p)} for name, p in scores.items()]
    ).set_index("model")
    auc = table["roc_auc"]
    not_beaten = [b for b in baselines.columns if auc[b] >= auc["model"]]
    metrics: dict[str, Any] = {
        "holdout_roc_auc": float(auc["model"]),
        "ece": float(table.loc["model", "ece"]),
        "best_baseline_roc_auc": float(auc[list(baselines.columns)].max()),
        "baselines_not_beaten": len(not_beaten),
    }
    if "category" in held:
        by_category = account_category_auc(held, scores)
        metrics |= {f"account_category_roc_auc_{k}": v for k, v in by_category.items()}
    if oracle is not None:
        rule, ceiling = float(auc["days_to_renewal_rule"]), float(auc["history_oracle"])
        metrics["history_oracle_auc"] = ceiling
        if not np.isclose(ceiling, rule):
            metrics["history_oracle_gap_closure"] = (float(auc["model"]) - rule) / (ceiling - rule)
    return ContractComparison(table.reset_index(), not_beaten, metrics)


def account_category_churn(rows: pd.DataFrame, probability: np.ndarray) -> pd.DataFrame:
    """Per account (holder), product category (and cutoff, when `rows` have one): the
    chance that the account leaves the category, i.e. that every one of its contracts
    there ends in the horizon.

    The product of the contracts' probabilities: they are taken as independent given
    their features (the shared account state is in the features: its other contracts,
    usage and tickets), so correlated exits are under-counted; `account_category_auc`
    judges the ranking on the holdout.

    Parameters
    ----------
    rows : pandas.DataFrame
        Contract rows with holder_id and category: the contract frame (with its cutoff
        and label), or the contract scores of today (with their annual_value).
    probability : numpy.ndarray
        Each row's churn probability.

    Returns
    -------
    pandas.DataFrame
        [cutoff,] holder_id, category, contracts, leave_probability; ``left`` (1 when
        every contract churned) where `rows` have the label; annual_value (summed) and
        value_at_risk (leave_probability x annual_value) where they have annual values,
        most value at risk first.

    Examples
    --------
    >>> rows = pd.DataFrame({"holder_id": ["a", "a", "b"], "category": "crm",
    ...                      "annual_value": [100.0, 50.0, 80.0]})
    >>> account_category_churn(rows, np.array([0.5, 0.2, 0.3])).to_dict("list")
    {'holder_id': ['b', 'a'], 'category': ['crm', 'crm'], 'contracts': [1, 2], 'annual_value': [80.0, 150.0], 'leave_probability': [0.3, 0.1], 'value_at_risk': [24.0, 15.0]}
    """
    keys = [k for k in ("cutoff", "holder_id", "category") if k in rows]
    frame = rows[keys].assign(log_p=np.log(np.clip(probability, 1e-12, 1.0)))
    aggregations = {"contracts": ("log_p", "size"), "log_leave": ("log_p", "sum")}
    for column, how in ((TARGET, "min"), ("annual_value", "sum")):
        if column in rows:
            frame[column] = rows[column].to_numpy()
            aggregations["left" if column == TARGET else column] = (column, how)
    out = frame.groupby(keys, observed=True, sort=True).agg(**aggregations).reset_index()
    out["leave_probability"] = np.exp(out.pop("log_leave")).round(6)
    if "annual_value" in out:
        out["value_at_risk"] = (out["leave_probability"] * out["annual_value"]).round(2)
        out = out.sort_values("value_at_risk", ascending=False, kind="stable")
    return out.reset_index(drop=True)


def account_category_auc(held: pd.DataFrame, scores: dict[str, np.ndarray]) -> dict[str, float]:
    """Holdout ROC AUC of "the account leaves the product category" for each model's
    contract probabilities (`account_category_churn`); empty when every or no account
    left a category."""
    aucs = {}
    for name, probability in scores.items():
        table = account_category_churn(held, probability)
        if table["left"].nunique() < 2:
            return {}
        aucs[name] = float(binary_metrics(table["left"], table["leave_probability"])["roc_auc"])
    return aucs


def history_oracle(frame: pd.DataFrame, world: Path) -> np.ndarray | None:
    """The generator's P(churn | observable history) for the frame's holdout rows (in
    their order), from the synthetic world in `world`; None when it lacks any of them.

    Parameters
    ----------
    frame : pandas.DataFrame
        A contract frame (cutoff, subscription_id, split).
    world : pathlib.Path
        The raw synthetic world, whose ``truth/contract_churn.parquet`` holds the oracle.

    Returns
    -------
    numpy.ndarray or None
        One probability per holdout row.

    Examples
    --------
    >>> oracle = history_oracle(frame, raw_source_dir(ctx.config))  # doctest: +SKIP
    """
    truth_file = world / "truth" / "contract_churn.parquet"
    if not truth_file.exists():
        return None
    held = frame[frame["split"].astype(str) == "holdout"]
    truth = pd.read_parquet(truth_file, columns=["cutoff", "subscription_id", "p_churn_history"])
    keys = held[["cutoff", "subscription_id"]].astype({"subscription_id": str})
    joined = keys.merge(truth.astype({"subscription_id": str}), how="left")
    if joined["p_churn_history"].isna().any():
        log.warning("the ground truth lacks some holdout contracts: no history oracle")
        return None
    return joined["p_churn_history"].clip(0, 1).to_numpy(dtype=float)


def score_contracts(
    paths: RunPaths, config: RunConfig, result: TrainingResult, frame: pd.DataFrame
) -> pd.DataFrame:
    """Every contract active at the export date, scored, with reasons, value, renewal and
    the expected remaining tenure.

    Parameters
    ----------
    paths : RunPaths
        The run; the scores are also written to ``paths.scores / "contract_scores.parquet"``.
    config : RunConfig
        ``horizon_days`` (which renewals count as upcoming) and the feature settings.
    result : TrainingResult
        The trained contract model.
    frame : pandas.DataFrame
        The contract frame it was trained on: its training rows fit the sBG of each plan
        that gives the remaining tenure (`crm_ml.models.survival.remaining_tenure`).

    Returns
    -------
    pandas.DataFrame
        subscription_id, customer_id (pseudonym), holder_id, product_id, category,
        churn_probability,
        reason_1..3, days_to_renewal, renews_within_horizon, is_month_to_month,
        annual_value, balance, value_at_risk (churn_probability x annual_value, or x
        balance for a holding without a recurring amount), expected_months_remaining
        (discounted at 10% a year), subscription_clv (recurring amount x those months:
        revenue, not margin), marketing_consent.

    Examples
    --------
    >>> scores = score_contracts(ctx.paths, ctx.config, result, frame)  # doctest: +SKIP
    """

    as_of = pd.Timestamp(accepted_as_of(paths))
    with FeatureEngine(paths.accepted, feature_config(config)) as engine:
        contracts = engine.contract_features(as_of)
        customers = engine.features(as_of).drop(columns="cutoff")
    rows = contracts.merge(customers, on="customer_id", how="left")
    X = rows[list(result.model.feature_names)]
    probability = result.model.predict(X)
    reasons = reason_codes(result.model, X, progress=False)
    subscriptions = pd.read_parquet(
        paths.accepted / "subscriptions.parquet", columns=["subscription_id", "recurring_amount"]
    )
    categories = pd.read_parquet(
        paths.accepted / "products.parquet", columns=["product_id", "category"]
    ).astype({"category": str})
    consent = pd.read_parquet(
        paths.accepted / "customers.parquet", columns=["customer_id", "marketing_consent"]
    )
    scores = rows[["subscription_id", "customer_id", "holder_id", "product_id"]].assign(
        churn_probability=probability,
        **{c: reasons[c].to_numpy() for c in reasons.columns if c.startswith("reason_")},
        days_to_renewal=rows["days_to_renewal"].to_numpy(),
        is_month_to_month=rows["is_month_to_month"].astype(bool).to_numpy(),
        balance=rows["balance_last"].to_numpy() if "balance_last" in rows else np.nan,
    )
    scores = (
        scores.merge(subscriptions, on="subscription_id", how="left")
        .merge(categories, on="product_id", how="left")
        .merge(consent, on="customer_id", how="left")
    )
    scores["renews_within_horizon"] = ~scores["is_month_to_month"] & (
        scores["days_to_renewal"] <= config.horizon_days
    )
    monthly = scores.pop("recurring_amount").astype(float)
    scores["annual_value"] = MONTHS_PER_YEAR * monthly
    train = frame[frame["split"].astype(str) == "train"]
    months = remaining_tenure(train, rows, config.horizon_days).to_numpy()
    scores["expected_months_remaining"] = months.round(1)
    scores["subscription_clv"] = (monthly * months).round(2)
    worth = scores["annual_value"].fillna(scores["balance"])
    scores["value_at_risk"] = (scores["churn_probability"] * worth).round(2)
    scores["marketing_consent"] = scores["marketing_consent"].fillna(False).astype(bool)
    scores.to_parquet(paths.scores / SCORES_FILE, index=False)
    return scores


def retention_by_plan(paths: RunPaths, max_plans: int = 8) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Kaplan-Meier curves of contract tenure by plan, from every subscription of the
    export: a contract still active at the export date is censored there.

    Parameters
    ----------
    paths : RunPaths
        The run (accepted subscriptions and products, the export date).
    max_plans : int, default 8
        The plans with the most contracts get a curve; the others are left out.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        The curves (group "category / plan", time in months, at_risk, events, survival),
        and per plan: contracts, ended, share still active after 12 and 24 months.

    Examples
    --------
    >>> curves, summary = retention_by_plan(ctx.paths)  # doctest: +SKIP
    """
    as_of = pd.Timestamp(accepted_as_of(paths))
    subscriptions = pd.read_parquet(
        paths.accepted / "subscriptions.parquet", columns=["product_id", "start_ts", "end_ts"]
    )
    categories = pd.read_parquet(
        paths.accepted / "products.parquet", columns=["product_id", "category"]
    )
    subs = subscriptions.merge(categories, on="product_id", how="left")
    ended = subs["end_ts"].notna() & (subs["end_ts"] <= as_of)
    until = subs["end_ts"].where(ended, as_of)
    subs["months"] = ((until - subs["start_ts"]).dt.total_seconds() / 86_400 / MONTH_DAYS).clip(
        lower=0
    )
    subs["ended"] = ended
    subs["group"] = subs["category"].astype(str) + " / " + subs["product_id"].astype(str)
    curves, summary = [], []
    for group in subs["group"].value_counts().index[:max_plans]:
        rows = subs[subs["group"] == group]
        curve = kaplan_meier(rows["months"], rows["ended"]).assign(group=group)
        curves.append(curve)
        summary.append(
            {
                "plan": group,
                "contracts": len(rows),
                "ended": int(rows["ended"].sum()),
                **{f"active_after_{m}m": _survival_at(curve, m) for m in (12, 24)},
            }
        )
    columns = ["group", "time", "at_risk", "events", "survival"]
    curves_frame = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=columns)
    return curves_frame[columns], pd.DataFrame(summary)


def _survival_at(curve: pd.DataFrame, months: float) -> float:
    """The curve's survival beyond `months` (1 before its first event, the last value past
    its end)."""
    if curve.empty:
        return 1.0
    before = curve.loc[curve["time"] <= months, "survival"]
    return round(float(before.iloc[-1]) if len(before) else 1.0, 4)


def contract_metrics(scores: pd.DataFrame, calendar: pd.DataFrame) -> dict[str, float]:
    """The headline numbers of the contracts active today (the report's tiles).

    Parameters
    ----------
    scores : pandas.DataFrame
        The contract scores (`score_contracts`).
    calendar : pandas.DataFrame
        Their renewal calendar (`crm_ml.reports.actions.renewal_calendar`).

    Returns
    -------
    dict of str to float
        contracts_active, expected_contract_churn, renewals_due, renewal_value_at_risk,
        and where contracts have recurring amounts subscription_clv (the sum) and
        expected_months_remaining (the median).

    Examples
    --------
    >>> scores = pd.DataFrame({"churn_probability": [0.1, 0.3], "subscription_clv": [50.0, None],
    ...                        "expected_months_remaining": [10.0, 20.0]})
    >>> calendar = pd.DataFrame({"value_at_risk": [4.0]})
    >>> contract_metrics(scores, calendar)["subscription_clv"]
    50.0
    """
    metrics = {
        "contracts_active": float(len(scores)),
        "expected_contract_churn": float(scores["churn_probability"].sum()),
        "renewals_due": float(len(calendar)),
        "renewal_value_at_risk": float(calendar["value_at_risk"].sum()),
    }
    valued = scores["subscription_clv"].notna()
    if valued.any():
        metrics["subscription_clv"] = float(scores.loc[valued, "subscription_clv"].sum())
        metrics["expected_months_remaining"] = float(
            scores.loc[valued, "expected_months_remaining"].median()
        )
    return metrics


def assets_at_risk(scores: pd.DataFrame) -> pd.DataFrame:
    """Balances held in contracts expected to close or halve, per product category.

    Parameters
    ----------
    scores : pandas.DataFrame
        The contract scores (`score_contracts`: category, balance, churn_probability);
        only rows with a balance count.

    Returns
    -------
    pandas.DataFrame
        category, holdings, balances (sum), assets_at_risk (sum of churn_probability x
        balance), share_at_risk; empty when no contract holds a balance.

    Examples
    --------
    >>> scores = pd.DataFrame({"category": ["savings", "savings", "funds"],
    ...                        "balance": [100.0, 300.0, 50.0], "churn_probability": [0.5, 0.1, 0.2]})
    >>> assets_at_risk(scores).to_dict("records")[0]
    {'category': 'savings', 'holdings': 2, 'balances': 400.0, 'assets_at_risk': 80.0, 'share_at_risk': 0.2}
    """
    held = scores[scores["balance"].notna()]
    held = held.assign(at_risk=held["churn_probability"] * held["balance"])
    table = held.groupby("category", observed=True).agg(
        holdings=("balance", "size"), balances=("balance", "sum"), assets_at_risk=("at_risk", "sum")
    )
    table["share_at_risk"] = (table["assets_at_risk"] / table["balances"]).round(4)
    table = table.sort_values("assets_at_risk", ascending=False).reset_index()
    return table.astype({"category": str}).round({"balances": 2, "assets_at_risk": 2})


def track_contract_churn(
    paths: RunPaths,
    config: RunConfig,
    frame: pd.DataFrame,
    result: TrainingResult,
    comparison: ContractComparison,
    figures: dict[str, Any],
) -> GateDecision:
    """Log the contract model to MLflow (churn family, registered as `contract_churn`) and
    pass it through the churn gate (holdout ROC AUC against the champion, ECE bound).

    Parameters
    ----------
    paths : RunPaths
        The run's folders; the MLflow run is named after ``paths.run_id``.
    config : RunConfig
        Data scope, horizon and trainer settings.
    frame : pandas.DataFrame
        The contract frame; its holdout rows are the input example.
    result : TrainingResult
        The trained contract model.
    comparison : ContractComparison
        The model beside the baselines (logged as the baseline table, metrics included).
    figures : dict of str to Figure
        The figures to log.

    Returns
    -------
    GateDecision
        Whether the model became (or is staged to become) the champion, and why.

    Examples
    --------
    >>> decision = track_contract_churn(ctx.paths, ctx.config, frame, result, comparison,
    ...                                 figures)  # doctest: +SKIP
    >>> print(decision.summary)  # doctest: +SKIP
    """
    held = model_frame(frame[frame["split"].astype(str) == "holdout"])
    _, decision = track_and_gate(
        "churn",
        result.model,
        features=held[list(result.model.feature_names)],
        params={
            "horizon_days": config.horizon_days,
            "label": TARGET,
            **vars(contract_model_config(config)),
        },
        metrics={**flat_metrics(result.metrics), **comparison.metrics},
        baseline_table=comparison.table,
        figures=figures,
        gate=sample_sized(GATE, float(config.models.get("calibration_bound", 0.02)), result),
        run_name=paths.run_id,
        tracking=run_tracking(paths, config),
        register_as="contract_churn",
    )
    return decision
