"""Notebook 04's second part: whom a campaign contact actually moves (uplift).

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from crm_ml.features import CATALOG, FeatureEngine
from crm_ml.models import UpliftConfig, UpliftModel, qini_coefficient, train_uplift_model
from crm_ml.models.evaluation import spearman
from crm_ml.models.uplift import plot_qini, uplift_by_decile
from crm_ml.pipeline.config import RunConfig
from crm_ml.pipeline.data import accepted_as_of, raw_source_dir
from crm_ml.pipeline.paths import RunPaths
from crm_ml.pipeline.promotions import run_tracking
from crm_ml.pipeline.steps.category_history import (
    CATEGORY_HISTORY,
    attach_category_history,
    category_history,
    purchase_lines,
)
from crm_ml.pipeline.steps.frames import feature_config, typed_config
from crm_ml.pipeline.steps.run_models import forget_run_model, keep_in_run
from crm_ml.pipeline.steps.tracked import Gate, track_and_gate
from crm_ml.tracking.registry import GateDecision

log = logging.getLogger(__name__)
OFFER_COLUMNS = ("offer_category", "channel")
RANDOM_RANKINGS = 20
UPLIFT_GATE_RELATIVE_TOLERANCE = 0.2  # Qini moves a lot between campaigns


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
    """The uplift step's settings: `models.uplift` of the run config over the defaults.

    Parameters
    ----------
    config : RunConfig
        The run configuration; ``models["uplift"]`` holds ``response_window_days``
        (default 14), ``holdout_share`` (default 0.25), ``offer_features`` (default False)
        and the learner's `UpliftConfig` fields.

    Returns
    -------
    UpliftSettings
        ``learner`` (the `UpliftConfig`) and the three step settings.

    Examples
    --------
    >>> from crm_ml.pipeline import load_config
    >>> settings = uplift_settings(load_config(None, {"models.uplift": {"learner": "t"}}))
    >>> settings.learner.learner, settings.response_window_days, settings.offer_features
    ('t', 14, False)
    """
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
    for optional in ("treatment", "cost"):  # several treatments (`steps.treatments`)
        if optional in contacts.columns:
            out[optional] = contacts[optional].to_numpy()
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
    treatments: Any = None  # steps.treatments.TreatmentOutcome, with several treatments


@dataclass(frozen=True)
class UpliftData:
    """The contacts split by campaign: earlier campaigns train, the latest are judged."""

    train: pd.DataFrame
    held: pd.DataFrame
    columns: list[str]  # the learner's features


def uplift_data(
    paths: RunPaths, config: RunConfig, lines: pd.DataFrame | None = None
) -> UpliftData | None:
    """Contacts with their features, split by campaign; None without contacts that have a
    control group and response times.

    Only contacts whose response window closed before the export date are used. The frame
    of contacts is cached per response window in the run's features folder.

    Parameters
    ----------
    paths : RunPaths
        The run's folders (accepted tables, features cache).
    config : RunConfig
        The run configuration: `models.uplift` (`uplift_settings`) and the feature settings.
    lines : pandas.DataFrame or None, default None
        The purchase order lines with their category; None reads them from the accepted
        tables.

    Returns
    -------
    UpliftData or None
        ``train`` (contacts of the earlier campaigns), ``held`` (those of the latest
        ``holdout_share`` of campaigns by first send, at least one) and ``columns`` (the
        learner's features); None when the contacts table is missing, lacks
        ``is_control``, ``responded_ts`` or ``offer_category``, or has no treated or no
        control rows.

    Raises
    ------
    ValueError
        When the contacts come from fewer than 2 campaigns (nothing left to train on).

    Examples
    --------
    >>> contacts = uplift_data(ctx.paths, ctx.config)  # doctest: +SKIP
    >>> contacts is None or len(contacts.train) > 0  # doctest: +SKIP
    """
    settings = uplift_settings(config)
    lines = purchase_lines(paths.accepted) if lines is None else lines
    frame = contact_frame(paths, config, lines, settings.response_window_days)
    if frame is None:
        return None
    is_holdout = split_by_campaign(frame, settings.holdout_share)
    return UpliftData(
        frame[~is_holdout],
        frame[is_holdout].reset_index(drop=True),
        uplift_feature_columns(frame, settings.offer_features),
    )


def fit_uplift(data: UpliftData, settings: UpliftSettings) -> UpliftModel:
    """The learner (X- or T-learner on LightGBM) on the earlier campaigns.

    Parameters
    ----------
    data : UpliftData
        What `uplift_data` returned; trained on ``data.train[data.columns]`` with
        ``responded`` as the outcome and ``is_control`` as the arm.
    settings : UpliftSettings
        What `uplift_settings` returned; ``settings.learner`` configures the learner.

    Returns
    -------
    UpliftModel
        The fitted learner; ``predict`` gives the estimated effect per contact.

    Examples
    --------
    >>> up_settings = uplift_settings(ctx.config)  # doctest: +SKIP
    >>> learner = fit_uplift(contacts, up_settings)  # doctest: +SKIP
    """
    return train_uplift_model(
        data.train[[*data.columns, "responded", "is_control"]],
        "responded",
        config=settings.learner,
        id_column=None,
        feature_columns=data.columns,
    )


def evaluate_uplift(
    model: UpliftModel, data: UpliftData, config: RunConfig, settings: UpliftSettings
) -> UpliftOutcome:
    """Qini on the latest campaigns against random rankings and a response model, by
    decile, and against the true effect where the world knows it.

    Parameters
    ----------
    model : UpliftModel
        The learner of `fit_uplift`.
    data : UpliftData
        What `uplift_data` returned; judged on ``data.held``.
    config : RunConfig
        The run configuration: ``seed`` for the 20 random rankings and the data source
        (the synthetic world's true effect per contact).
    settings : UpliftSettings
        What `uplift_settings` returned (the learner's name labels the Qini curve).

    Returns
    -------
    UpliftOutcome
        ``model``; ``deciles`` (observed and predicted uplift per decile of estimated
        uplift, + ``true_uplift`` when known); ``metrics`` (``qini_coefficient``,
        ``random_qini``, ``random_qini_sd``, ``random_qini_max``,
        ``response_model_qini``, the contact, campaign and response-rate counts, and
        ``true_uplift_spearman``, ``oracle_qini``, ``truth_rows`` when the true effect is
        known); ``random_qinis``; the Qini ``figure``.

    Examples
    --------
    >>> uplift = evaluate_uplift(learner, contacts, ctx.config, up_settings)  # doctest: +SKIP
    >>> uplift.metrics["qini_coefficient"] > uplift.metrics["random_qini_max"]  # doctest: +SKIP
    """
    held = data.held
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
        "train_contacts": float(len(data.train)),
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
    return UpliftOutcome(
        model=model,
        deciles=decile_table(y, treated, estimated, true_effect),
        metrics=metrics,
        random_qinis=randoms,
        figure=plot_qini(y, treated, scores),
    )


def track_uplift(
    paths: RunPaths, config: RunConfig, outcome: UpliftOutcome, data: UpliftData
) -> GateDecision:
    """Log the learner and gate it on the holdout Qini (relative tolerance: Qini moves a
    lot between campaigns).

    The tolerance is 20% of the model's own holdout Qini; there is no calibration check.
    A learner this run kept untracked (`keep_in_run`) is forgotten first.

    Parameters
    ----------
    paths : RunPaths
        The run's folders; the MLflow run is named after ``paths.run_id``.
    config : RunConfig
        The run configuration (data scope, `models.uplift` logged as parameters).
    outcome : UpliftOutcome
        What `evaluate_uplift` returned: the model, its metrics (logged, with
        ``holdout_qini``) and the Qini figure.
    data : UpliftData
        The contacts; ``data.held[data.columns]`` is the input example.

    Returns
    -------
    GateDecision
        Whether the new version became (or, under the pipeline, is staged to become) the
        champion, and why (``decision.summary``).

    Examples
    --------
    >>> print(track_uplift(ctx.paths, ctx.config, uplift, contacts).summary)  # doctest: +SKIP
    """
    settings = uplift_settings(config)
    metrics = outcome.metrics
    gate = Gate(
        metric="holdout_qini",
        higher_is_better=True,
        tolerance=UPLIFT_GATE_RELATIVE_TOLERANCE * abs(metrics["qini_coefficient"]),
        calibration_metric=None,
    )
    forget_run_model(paths, "uplift")
    _, decision = track_and_gate(
        "uplift",
        outcome.model,
        features=data.held[data.columns],
        params={
            "learner": settings.learner.learner,
            "response_window_days": settings.response_window_days,
            "holdout_share": settings.holdout_share,
            "offer_features": settings.offer_features,
        },
        metrics={"holdout_qini": metrics["qini_coefficient"], **metrics},
        baseline_table=None,
        figures={"qini": outcome.figure},
        gate=gate,
        run_name=paths.run_id,
        tracking=run_tracking(paths, config),
    )
    return decision


def run_uplift(
    paths: RunPaths, config: RunConfig, lines: pd.DataFrame | None = None, track: bool = True
) -> UpliftOutcome | None:
    """Every uplift step of notebook 04 in one call (the benchmarks' direct run and the
    tests); untracked, the learner is kept in the run folder for scoring."""
    data = uplift_data(paths, config, lines)
    if data is None:
        return None
    settings = uplift_settings(config)
    outcome = evaluate_uplift(fit_uplift(data, settings), data, config, settings)
    from crm_ml.pipeline.steps.treatments import run_treatment_policy  # it imports this module

    outcome.treatments = run_treatment_policy(data, config, settings)
    if track:
        outcome.decision = track_uplift(paths, config, outcome, data)
    else:
        keep_in_run(paths, "uplift", outcome.model)
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
