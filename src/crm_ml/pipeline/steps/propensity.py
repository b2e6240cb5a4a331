"""Notebook 04's work: who will buy which category next (propensity), and whom a campaign
contact actually moves (uplift).

Category propensity: one calibrated LightGBM per category, for the few non-sensitive
categories with the most buyers, on the rolling snapshots of the run (label: a purchase in
the category within the horizon). The customer 360 has no per-category columns, so three
point-in-time columns of the customer's own history in that category are added
(`CATEGORY_HISTORY`, from order lines before the cutoff). The baseline is the category
purchase rate: the customer's own orders in the category over the last year, turned into a
probability by an isotonic fit on the training rows.

Uplift: campaign contacts with a randomised control group. Each contact gets the features
of its customer at the month start before the send (the feature engine's cutoff, so nothing
after the send is seen); treatment = not in the control group; outcome = a purchase in the
offered category within the response window after the send. By default the learner sees
the customer 360 only, so the registered model scores any customer from the scoring
features (`crm-ml score`); with `models.uplift.offer_features: true` it also sees the offer
(category, channel) and the customer's history in the offered category (on the default
world: Qini 0.0069 instead of 0.0062), and scoring needs `uplift_features`. An X-learner (or T-learner) is trained
on the earlier campaigns and judged on the latest ones by the Qini coefficient against
random targeting (the spread of random rankings shows the noise) and against targeting by
response probability. On the synthetic world the generator's true per-contact effect
(truth/, evaluation only, joined by contact_id, which the contract keeps unchanged) gives
the Spearman correlation of estimated and true uplift, and the true effect's own Qini as
the ceiling.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from crm_ml.features import CATALOG, FeatureEngine
from crm_ml.models import (
    BinaryModel,
    BinaryModelConfig,
    TrainingResult,
    UpliftConfig,
    UpliftModel,
    compare_to_baselines,
    default_baselines,
    qini_coefficient,
    train_binary_model,
    train_uplift_model,
)
from crm_ml.models.evaluation import spearman
from crm_ml.models.uplift import plot_qini, uplift_by_decile
from crm_ml.naming import safe_name
from crm_ml.pipeline.config import RunConfig
from crm_ml.pipeline.data import accepted_as_of, ensure_accepted, raw_source_dir
from crm_ml.pipeline.paths import RunPaths
from crm_ml.pipeline.promotions import run_tracking
from crm_ml.pipeline.steps.clv import typed_config
from crm_ml.pipeline.steps.frames import cutoff_plan, feature_config, holdout, training_frame
from crm_ml.pipeline.steps.tracked import Gate, flat_metrics, sample_sized, track_and_gate
from crm_ml.tracking.registry import GateDecision

log = logging.getLogger(__name__)
TARGET = "label"
HISTORY_DAYS = 365
CATEGORY_HISTORY = (
    "category_orders_365d",
    "category_spend_share_365d",
    "days_since_category_order",
)
RATE_COLUMN = "category_orders_365d"
BASELINE = "category_purchase_rate"
PROPENSITY_GATE = Gate(
    metric="holdout_roc_auc",
    higher_is_better=True,
    tolerance=0.005,
    calibration_metric="holdout_ece",
)
OFFER_COLUMNS = ("offer_category", "channel")
RANDOM_RANKINGS = 20
UPLIFT_GATE_RELATIVE_TOLERANCE = 0.2  # Qini moves a lot between campaigns


# ---------------------------------------------------------------- category history


def purchase_lines(accepted: Path) -> pd.DataFrame:
    """Purchase order lines (returns dropped) with their product category:
    customer_id, order_id, ts, amount, category."""
    orders = pd.read_parquet(accepted / "orders.parquet")
    if "is_return" in orders.columns:
        orders = orders[~orders["is_return"].fillna(False).astype(bool)]
    products = pd.read_parquet(accepted / "products.parquet", columns=["product_id", "category"])
    lines = orders.merge(products, on="product_id", how="inner")
    return pd.DataFrame(
        {
            "customer_id": lines["customer_id"].astype(str).to_numpy(),
            "order_id": lines["order_id"].astype(str).to_numpy(),
            "ts": lines["ts"].to_numpy(),
            "amount": lines["amount"].astype(float).to_numpy(),
            "category": lines["category"].astype(str).to_numpy(),
        }
    ).assign(ts=lambda f: pd.to_datetime(f["ts"], utc=True))


def category_history(lines: pd.DataFrame, cutoffs: Iterable[pd.Timestamp]) -> pd.DataFrame:
    """Each customer's history per category as of each cutoff (lines with ts < cutoff only):
    customer_id, cutoff, category, category_orders_365d (orders with a line in the category
    in the last year), category_spend_share_365d (share of last-year spend), and
    days_since_category_order (lifetime). Only customer x category pairs ever bought."""
    frames = []
    for cutoff in sorted(set(pd.Timestamp(c) for c in cutoffs)):
        before = lines[lines["ts"] < cutoff]
        year = before[before["ts"] >= cutoff - pd.Timedelta(days=HISTORY_DAYS)]
        keys = ["customer_id", "category"]
        ever = before.groupby(keys, observed=True)["ts"].max()
        orders = year.groupby(keys, observed=True)["order_id"].nunique()
        spend = year.groupby(keys, observed=True)["amount"].sum()
        total = year.groupby("customer_id")["amount"].sum()
        frame = (
            pd.DataFrame({"last": ever}).join(orders.rename("orders")).join(spend.rename("spend"))
        )
        frame = frame.reset_index()
        share = frame["spend"] / frame["customer_id"].map(total)
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": frame["customer_id"],
                    "cutoff": cutoff,
                    "category": frame["category"],
                    "category_orders_365d": frame["orders"].fillna(0.0).astype(float),
                    "category_spend_share_365d": share.where(np.isfinite(share)).fillna(0.0),
                    "days_since_category_order": (cutoff - frame["last"]).dt.days.astype(float),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def attach_category_history(
    frame: pd.DataFrame, history: pd.DataFrame, categories: str | pd.Series
) -> pd.DataFrame:
    """`frame` (customer_id, cutoff, ...) plus the CATEGORY_HISTORY columns of one category
    per row (a name, or a column such as the offered category). Never bought: 0 orders,
    0 share, days since missing."""
    names = (
        np.full(len(frame), categories)
        if isinstance(categories, str)
        else categories.astype(str).to_numpy()
    )
    keys = pd.DataFrame(
        {
            "customer_id": frame["customer_id"].astype(str).to_numpy(),
            "cutoff": pd.to_datetime(frame["cutoff"], utc=True).to_numpy(),
            "category": names,
        }
    ).assign(cutoff=lambda f: pd.to_datetime(f["cutoff"], utc=True))
    joined = keys.merge(history, on=["customer_id", "cutoff", "category"], how="left")
    out = frame.drop(columns=[c for c in CATEGORY_HISTORY if c in frame.columns]).copy()
    out["category_orders_365d"] = joined["category_orders_365d"].fillna(0.0).to_numpy()
    out["category_spend_share_365d"] = joined["category_spend_share_365d"].fillna(0.0).to_numpy()
    out["days_since_category_order"] = joined["days_since_category_order"].to_numpy()
    return out


def top_categories(
    lines: pd.DataFrame, before: pd.Timestamp, n: int, excluded: Sequence[str] = ()
) -> list[str]:
    """The `n` categories with the most distinct buyers before `before` (ties by name)."""
    seen = lines[(lines["ts"] < before) & ~lines["category"].isin(list(excluded))]
    buyers = seen.groupby("category")["customer_id"].nunique()
    ranked = sorted(buyers.items(), key=lambda item: (-item[1], item[0]))
    return [name for name, _ in ranked[:n]]


def sensitive_categories(accepted: Path) -> list[str]:
    """Categories never targeted by cross-sell models (products.is_sensitive)."""
    products = pd.read_parquet(accepted / "products.parquet")
    if "is_sensitive" not in products.columns:
        return []
    flagged = products[products["is_sensitive"].fillna(False).astype(bool)]
    return sorted(flagged["category"].astype(str).unique())


# ---------------------------------------------------------------- category propensity


def propensity_settings(config: RunConfig) -> tuple[int, BinaryModelConfig]:
    """(number of categories, trainer config) from `models.propensity` of the run config."""
    settings = dict(config.models.get("propensity", {}))
    n_categories = int(settings.pop("categories", 3))
    return n_categories, typed_config(BinaryModelConfig, settings)


def registry_name(category: str) -> str:
    """One registered model per category: `propensity_<category>` for a plain category
    (`books`), else `propensity_<slug>-<hash>`, so `Food/Drink` and `Food Drink` never
    share a registry entry (see `crm_ml.naming.safe_name`)."""
    return safe_name(category, "propensity_", keep_plain=True)


def _comparison_row(category: str, table: pd.DataFrame) -> dict[str, Any]:
    rows = table.set_index("model")
    model = rows.loc["model"]
    base = rows.loc[BASELINE] if BASELINE in rows.index else pd.Series(dtype=float)
    return {
        "category": category,
        "model_roc_auc": model["roc_auc"],
        "baseline_roc_auc": base.get("roc_auc", np.nan),
        "model_pr_auc": model["pr_auc"],
        "baseline_pr_auc": base.get("pr_auc", np.nan),
        "model_log_loss": model["log_loss"],
        "baseline_log_loss": base.get("log_loss", np.nan),
        "positive_rate": model["positive_rate"],
        "holdout_rows": model["rows"],
        "beaten": bool(base.get("beaten_by_model", False)),
    }


@dataclass
class CategoryPropensity:
    categories: list[str]
    models: dict[str, BinaryModel]
    results: dict[str, TrainingResult]
    table: pd.DataFrame  # propensity_vs_baseline
    comparisons: dict[str, pd.DataFrame]  # full model-vs-baseline table per category
    not_beaten: list[str]  # "<category>: <baseline>"
    decisions: dict[str, GateDecision] = field(default_factory=dict)


def run_category_propensity(
    paths: RunPaths, config: RunConfig, lines: pd.DataFrame, track: bool = True
) -> CategoryPropensity:
    n_categories, settings = propensity_settings(config)
    plan = cutoff_plan(paths, config)
    categories = top_categories(
        lines, plan.holdout, n_categories, excluded=sensitive_categories(paths.accepted)
    )
    history = category_history(lines, [cutoff for cutoff, _ in plan.items()])
    out = CategoryPropensity(categories, {}, {}, pd.DataFrame(), {}, [])
    rows = []
    tracking = run_tracking(paths, config)
    for category in tqdm(categories, desc="propensity", unit="category"):
        frame = training_frame(paths, config, f"category:{category}")
        frame = attach_category_history(frame, history, category)
        result = train_binary_model(frame, TARGET, settings)
        comparison = compare_to_baselines(
            result.model,
            frame,
            TARGET,
            default_baselines("propensity", category_rate_column=RATE_COLUMN),
        )
        out.models[category], out.results[category] = result.model, result
        out.comparisons[category] = comparison.table
        out.not_beaten += [f"{category}: {name}" for name in comparison.not_beaten]
        rows.append(_comparison_row(category, comparison.table))
        if track:
            features = holdout(frame)[list(result.model.feature_names)]
            _, out.decisions[category] = track_and_gate(
                "propensity",
                result.model,
                features=features,
                params={
                    "category": category,
                    "horizon_days": config.horizon_days,
                    **vars(settings),
                },
                metrics=flat_metrics(result.metrics),
                baseline_table=comparison.table,
                figures={},
                gate=sample_sized(
                    PROPENSITY_GATE,
                    float(config.models.get("calibration_bound", 0.02)),
                    result,
                ),
                run_name=f"{paths.run_id}-{category}",
                tracking=tracking,
                register_as=registry_name(category),
            )
    out.table = pd.DataFrame(rows)
    return out


def score_propensity(
    models: Mapping[str, BinaryModel], current_features: pd.DataFrame, accepted: Path
) -> pd.DataFrame:
    """Probability of buying each modelled category in the horizon after the features'
    cutoff: customer_id, category, probability. `accepted` is the folder of accepted tables
    the category history is read from (only lines before the cutoff are used)."""
    cutoffs = pd.to_datetime(current_features["cutoff"], utc=True).unique()
    history = category_history(purchase_lines(accepted), cutoffs)
    parts = []
    for category, model in models.items():
        X = attach_category_history(current_features, history, category)
        parts.append(
            pd.DataFrame(
                {
                    "customer_id": current_features["customer_id"].to_numpy(),
                    "category": category,
                    "probability": model.predict(X),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


# ---------------------------------------------------------------- uplift


@dataclass(frozen=True)
class UpliftSettings:
    """`models.uplift` of the run config. offer_features: also learn from the offer and the
    customer's history in the offered category (better targeting for a known offer, but
    scoring then needs `uplift_features`); off, the model scores from the customer 360."""

    learner: UpliftConfig
    response_window_days: int = 14
    holdout_share: float = 0.25
    offer_features: bool = False


def uplift_settings(config: RunConfig) -> UpliftSettings:
    settings = dict(config.models.get("uplift", {}))
    own = {
        key: settings.pop(key)
        for key in ("response_window_days", "holdout_share", "offer_features")
        if key in settings
    }
    return UpliftSettings(typed_config(UpliftConfig, settings), **own)


def month_start(ts: pd.Series) -> pd.Series:
    return ts.dt.normalize() - pd.to_timedelta(ts.dt.day - 1, unit="D")


def _contacts_with_outcome(paths: RunPaths, window_days: int) -> pd.DataFrame | None:
    """Contacts whose response window closed before the export, with treated / responded;
    None when the input has no contacts with a control group and response times."""
    file = paths.accepted / "contacts.parquet"
    if not file.exists():
        return None
    contacts = pd.read_parquet(file)
    needed = {"is_control", "responded_ts", "offer_category"}
    if not needed <= set(contacts.columns):
        log.warning("uplift skipped: contacts lack %s", sorted(needed - set(contacts.columns)))
        return None
    window = pd.Timedelta(days=window_days)
    as_of = pd.Timestamp(accepted_as_of(paths))
    keep = contacts["is_control"].notna() & (contacts["sent_ts"] + window <= as_of)
    contacts = contacts[keep].reset_index(drop=True)
    sent, answered = contacts["sent_ts"], contacts["responded_ts"]
    out = pd.DataFrame(
        {
            "contact_id": contacts["contact_id"].astype(str).to_numpy(),
            "customer_id": contacts["customer_id"].astype(str).to_numpy(),
            "campaign_id": contacts["campaign_id"].astype(str).to_numpy(),
            "sent_ts": sent,
            "cutoff": month_start(sent),
            "offer_category": contacts["offer_category"].astype(str).to_numpy(),
            "channel": (
                contacts["channel"].astype(str).to_numpy()
                if "channel" in contacts.columns
                else "unknown"
            ),
            "is_control": contacts["is_control"].astype(bool).to_numpy(),
            "responded": (
                answered.notna() & (answered >= sent) & (answered < sent + window)
            ).to_numpy(dtype=int),
        }
    )
    out["treated"] = ~out["is_control"]
    if out["is_control"].all() or not out["is_control"].any():
        log.warning("uplift skipped: contacts need both treated and control rows")
        return None
    return out


def contact_frame(
    paths: RunPaths, config: RunConfig, lines: pd.DataFrame, window_days: int
) -> pd.DataFrame | None:
    """One row per contact: customer features at the month start before the send, the
    offer, the history in the offered category, treated and responded (cached per run)."""
    cache = paths.features / f"uplift_contacts_w{window_days}.parquet"
    if cache.exists():
        return pd.read_parquet(cache)
    contacts = _contacts_with_outcome(paths, window_days)
    if contacts is None:
        return None
    cutoffs = sorted(contacts["cutoff"].unique())
    parts = []
    with FeatureEngine(paths.accepted, feature_config(config)) as engine:
        for cutoff in tqdm(cutoffs, desc="contact features", unit="month"):
            features = engine.features(pd.Timestamp(cutoff)).drop(columns="cutoff")
            features["customer_id"] = features["customer_id"].astype(str)
            month = contacts[contacts["cutoff"] == cutoff]
            parts.append(month.merge(features, on="customer_id", how="inner"))
    frame = pd.concat(parts, ignore_index=True)
    frame = attach_category_history(
        frame, category_history(lines, cutoffs), frame["offer_category"]
    )
    frame.to_parquet(cache, index=False)
    log.info(
        "uplift frame: %d contacts of %d campaigns", len(frame), frame["campaign_id"].nunique()
    )
    return frame


def uplift_feature_columns(frame: pd.DataFrame, offer_features: bool) -> list[str]:
    """Customer 360 features (+ the category history of the offer and the offer itself)."""
    catalog = [spec.name if hasattr(spec, "name") else spec for spec in CATALOG]
    customer = [c for c in catalog if c in frame.columns]
    return [*customer, *CATEGORY_HISTORY, *OFFER_COLUMNS] if offer_features else customer


def split_by_campaign(frame: pd.DataFrame, holdout_share: float) -> np.ndarray:
    """True for contacts of the latest campaigns (by first send), at least one campaign."""
    first_send = frame.groupby("campaign_id")["sent_ts"].min().sort_values()
    n_holdout = max(1, round(holdout_share * len(first_send)))
    if n_holdout >= len(first_send):
        raise ValueError(f"uplift needs at least 2 campaigns, found {len(first_send)}")
    latest = set(first_send.index[-n_holdout:])
    return frame["campaign_id"].isin(latest).to_numpy()


def true_contact_effect(raw_dir: Path) -> pd.Series | None:
    """The generator's true effect per contact_id (synthetic world only; evaluation only)."""
    file = raw_dir / "truth" / "contacts.parquet"
    if not file.exists():
        return None
    truth = pd.read_parquet(file, columns=["contact_id", "true_effect"])
    return truth.set_index(truth["contact_id"].astype(str))["true_effect"]


def random_qini(
    y: np.ndarray, treated: np.ndarray, n: int = RANDOM_RANKINGS, seed: int = 42
) -> np.ndarray:
    """Qini coefficients of `n` random rankings: the noise level a model must clear."""
    rng = np.random.default_rng(seed)
    return np.array([qini_coefficient(y, treated, rng.random(len(y))) for _ in range(n)])


def decile_table(
    y: np.ndarray, treated: np.ndarray, uplift: np.ndarray, true_effect: np.ndarray | None
) -> pd.DataFrame:
    """uplift_by_decile with the report's column names (+ mean true effect when known)."""
    table = uplift_by_decile(y, treated, uplift).rename(
        columns={
            "bin": "decile",
            "count": "n",
            "response_treated": "treated_response_rate",
            "response_control": "control_response_rate",
            "observed_uplift": "uplift",
            "mean_predicted_uplift": "predicted_uplift",
        }
    )
    if true_effect is not None:
        order = np.argsort(-uplift, kind="stable")  # the same bins as uplift_by_decile
        table["true_uplift"] = [true_effect[c].mean() for c in np.array_split(order, len(table))]
    return table


@dataclass
class UpliftOutcome:
    model: UpliftModel
    deciles: pd.DataFrame  # uplift_by_decile
    metrics: dict[str, float]  # qini_coefficient, random_qini, ... (+ truth when known)
    random_qinis: np.ndarray
    figure: Any
    decision: GateDecision | None = None


def run_uplift(
    paths: RunPaths, config: RunConfig, lines: pd.DataFrame, track: bool = True
) -> UpliftOutcome | None:
    """Train the uplift learner on earlier campaigns, judge it on the latest ones."""
    settings = uplift_settings(config)
    frame = contact_frame(paths, config, lines, settings.response_window_days)
    if frame is None:
        return None
    columns = uplift_feature_columns(frame, settings.offer_features)
    is_holdout = split_by_campaign(frame, settings.holdout_share)
    train, held = frame[~is_holdout], frame[is_holdout].reset_index(drop=True)
    model = train_uplift_model(
        train[[*columns, "responded", "is_control"]],
        "responded",
        config=settings.learner,
        id_column=None,
        feature_columns=columns,
    )
    y, treated = held["responded"].to_numpy(float), held["treated"].to_numpy(bool)
    estimated = model.predict(held)
    response = model.boosters["treated"].predict(model.schema.to_matrix(held))
    randoms = random_qini(y, treated, seed=config.seed)
    metrics = {
        "qini_coefficient": qini_coefficient(y, treated, estimated),
        "random_qini": float(randoms.mean()),
        "random_qini_sd": float(randoms.std(ddof=1)),
        "random_qini_max": float(randoms.max()),
        "response_model_qini": qini_coefficient(y, treated, response),
        "train_contacts": float(len(train)),
        "holdout_contacts": float(len(held)),
        "holdout_campaigns": float(held["campaign_id"].nunique()),
        "holdout_treated_response_rate": float(y[treated].mean()),
        "holdout_control_response_rate": float(y[~treated].mean()),
    }
    scores = {f"{settings.learner.learner.upper()}-learner": estimated, "response model": response}
    truth = true_contact_effect(raw_source_dir(config))
    true_effect = None
    if truth is not None:
        true_effect = held["contact_id"].map(truth).to_numpy(float)
        known = np.isfinite(true_effect)
        metrics["true_uplift_spearman"] = spearman(true_effect[known], estimated[known])
        metrics["oracle_qini"] = qini_coefficient(y[known], treated[known], true_effect[known])
        metrics["truth_rows"] = float(known.sum())
        scores["true effect (ceiling)"] = np.where(known, true_effect, 0.0)
        true_effect = np.where(known, true_effect, np.nan)
    figure = plot_qini(y, treated, scores)
    outcome = UpliftOutcome(
        model=model,
        deciles=decile_table(y, treated, estimated, true_effect),
        metrics=metrics,
        random_qinis=randoms,
        figure=figure,
    )
    if track:
        gate = Gate(
            metric="holdout_qini",
            higher_is_better=True,
            tolerance=UPLIFT_GATE_RELATIVE_TOLERANCE * abs(metrics["qini_coefficient"]),
            calibration_metric=None,
        )
        tracked = {"holdout_qini": metrics["qini_coefficient"], **metrics}
        _, outcome.decision = track_and_gate(
            "uplift",
            model,
            features=held[columns],
            params={
                "learner": settings.learner.learner,
                "response_window_days": settings.response_window_days,
                "holdout_share": settings.holdout_share,
                "offer_features": settings.offer_features,
            },
            metrics=tracked,
            baseline_table=None,
            figures={"qini": figure},
            gate=gate,
            run_name=paths.run_id,
            tracking=run_tracking(paths, config),
        )
    return outcome


def uplift_features(
    current_features: pd.DataFrame, accepted: Path, offer_category: str, channel: str
) -> pd.DataFrame:
    """Features for scoring a planned contact: the customer 360 at its cutoff, the history in
    the offered category and the offer itself."""
    cutoffs = pd.to_datetime(current_features["cutoff"], utc=True).unique()
    history = category_history(purchase_lines(accepted), cutoffs)
    frame = attach_category_history(current_features, history, offer_category)
    return frame.assign(offer_category=offer_category, channel=channel)


def score_uplift(model: UpliftModel, current_features: pd.DataFrame) -> pd.Series:
    """Estimated effect of a contact on the response probability, per customer (index
    customer_id); `current_features`: the customer 360 at the scoring cutoff, built by
    `uplift_features` when the model was trained with offer_features."""
    return pd.Series(
        model.predict(current_features),
        index=pd.Index(current_features["customer_id"], name="customer_id"),
        name="uplift",
    )


# ---------------------------------------------------------------- the notebook's call


@dataclass
class PropensityOutcome:
    propensity: CategoryPropensity
    uplift: UpliftOutcome | None  # None without contacts that have a control group

    @property
    def models(self) -> dict[str, BinaryModel]:
        return self.propensity.models

    @property
    def propensity_vs_baseline(self) -> pd.DataFrame:
        return self.propensity.table


def run_propensity(paths: RunPaths, config: RunConfig, track: bool = True) -> PropensityOutcome:
    """Category propensity models against the purchase-rate baseline, and campaign uplift."""
    ensure_accepted(paths, config)
    lines = purchase_lines(paths.accepted)
    propensity = run_category_propensity(paths, config, lines, track=track)
    uplift = run_uplift(paths, config, lines, track=track)
    return PropensityOutcome(propensity=propensity, uplift=uplift)
