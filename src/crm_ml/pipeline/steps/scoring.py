"""Notebook 07's work (and `crm-ml score`'s): score every current customer, offer, drift.

Inside `crm-ml run` a family without a champion yet is scored by this run's challenger,
with a note in the report; the scheduled refresh (`allow_challenger=False`) insists on
champions and trains nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from crm_ml.pipeline.config import RunConfig
from crm_ml.pipeline.data import accepted_as_of, run_scope
from crm_ml.pipeline.paths import RunPaths
from crm_ml.pipeline.promotions import staged_promotions
from crm_ml.pipeline.steps.recommend import ENGINE_FILE, SKIPPED_FILE, load_engine
from crm_ml.pipeline.steps.run_models import run_models
from crm_ml.pipeline.steps.segments import CURRENT
from crm_ml.recsys import RecommendationEngine, next_best_offer
from crm_ml.scoring.champions import scoring_model
from crm_ml.scoring.score import risk_by_segment, score_customers, score_drift

SCORES = "customer_scores.parquet"
FEATURES = "customer_features.parquet"
RECOMMENDATIONS = "recommendations.parquet"


@dataclass
class ScoringOutcome:
    scores: pd.DataFrame
    risk_by_segment: pd.DataFrame
    offers: pd.DataFrame
    drift: pd.DataFrame | None
    notes: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)


def serving_engine(
    paths: RunPaths, config: RunConfig, allow_challenger: bool, notes: list[str]
) -> RecommendationEngine | None:
    """This run's served engine (notebook 06), else the registered recommender of this
    data's scope served at this export (newcomers get the cold-start path; what it cannot
    serve is counted in `notes`); None when notebook 06 decided there is nothing to
    recommend."""
    if (paths.root / SKIPPED_FILE).exists():
        return None
    if (paths.root / ENGINE_FILE).exists():
        return load_engine(paths)
    found = scoring_model(
        "recsys",
        allow_challenger,
        run_scope(config),
        required=False,
        staged=staged_promotions(paths.root),
    )
    if found is None:
        return None
    engine = found.model.pyfunc_model.unwrap_python_model().engine
    tables = {  # what consent, exclusions and the catalogue need; not the big event table
        name: pd.read_parquet(paths.accepted / f"{name}.parquet")
        for name in ("customers", "products", "exclusions")
        if (paths.accepted / f"{name}.parquet").exists()
    }
    engine, new_customers, new_products = engine.for_export_date(tables, accepted_as_of(paths))
    if len(new_customers):
        notes.append(
            f"{len(new_customers):,} customers joined since the recommender was trained: "
            "they get popularity lists (the cold-start path) until the next `crm-ml run`."
        )
    if len(new_products):
        notes.append(
            f"{len(new_products):,} products are new since the recommender was trained: "
            "they are not recommended until the next `crm-ml run` retrains it."
        )
    return engine


def previous_scores(paths: RunPaths) -> RunPaths | None:
    from crm_ml.reports.run import find_previous_run

    previous = find_previous_run(paths)
    return previous if previous and (previous.scores / FEATURES).exists() else None


def run_scoring(
    paths: RunPaths, config: RunConfig, allow_challenger: bool = True, progress: bool = False
) -> ScoringOutcome:
    """Score every current customer with the run's models, add the next best offer, and
    compare the score inputs with the previous run's (drift).

    Reads the customer 360 of notebook 02 (``current.parquet``); a model this run kept
    untracked (`keep_in_run`) is used before a registered one. Writes
    ``customer_scores.parquet``, ``customer_features.parquet`` (the numeric inputs and the
    churn probability, for the next run's drift check) and ``recommendations.parquet`` to
    ``paths.scores``.

    Parameters
    ----------
    paths : RunPaths
        The run's folders; notebook 02 must have written ``current.parquet``.
    config : RunConfig
        The run configuration: the data scope of the models and ``psi_alert``.
    allow_challenger : bool, default True
        Score a family without a champion with this run's challenger (with a note);
        False insists on champions (the scheduled refresh).
    progress : bool, default False
        A progress bar over the churn reason codes.

    Returns
    -------
    ScoringOutcome
        ``scores`` (one row per customer: churn probability and reasons, CLV, uplift
        where modelled, ``next_best_offer`` and ``offer_reason``), ``risk_by_segment``,
        ``offers``, ``drift`` (None without a previous run), ``notes`` and ``versions``
        (the model that scored each family).

    Raises
    ------
    LookupError
        When no churn model can score this data (a `ModelNotFoundError` when
        `allow_challenger` is False and there is no churn champion).
    ModelScopeError
        When `allow_challenger` is False and the churn champion belongs to other data.

    Examples
    --------
    >>> outcome = run_scoring(ctx.paths, ctx.config, allow_challenger=True)  # doctest: +SKIP
    >>> print("models used:", outcome.versions)  # doctest: +SKIP
    """
    current = pd.read_parquet(paths.features / CURRENT)
    result = score_customers(
        current,
        run_scope(config),
        allow_challenger=allow_challenger,
        progress=progress,
        staged=staged_promotions(paths.root),
        unregistered=run_models(paths),
    )
    scores = result.scores
    notes = list(result.notes)
    engine = serving_engine(paths, config, allow_challenger, notes)
    offers = pd.DataFrame(columns=["customer_id", "category", "reason"])
    if engine is None:
        scores = scores.assign(next_best_offer=pd.NA, offer_reason=pd.NA)
        skipped = paths.root / SKIPPED_FILE
        notes.append(
            f"No next best offers: {skipped.read_text()}"
            if skipped.exists()
            else "No next best offers: no recommender was trained in this run or registered."
        )
    else:
        recs_file = paths.scores / RECOMMENDATIONS
        recs = pd.read_parquet(recs_file) if recs_file.exists() else engine.recommend(export=True)
        recs.to_parquet(recs_file, index=False)
        offers = next_best_offer(engine, recs)
        scores = scores.merge(
            offers[["customer_id", "category", "reason", "propensity", "margin"]].rename(
                columns={
                    "category": "next_best_offer",
                    "reason": "offer_reason",
                    "propensity": "offer_propensity",  # the action plan values offers by
                    "margin": "offer_margin",  # propensity x margin
                }
            ),
            on="customer_id",
            how="left",
        )
    scores.to_parquet(paths.scores / SCORES, index=False)
    numeric = current.select_dtypes("number").assign(
        customer_id=current["customer_id"], churn_probability=scores["churn_probability"].to_numpy()
    )
    numeric.to_parquet(paths.scores / FEATURES, index=False)
    previous = previous_scores(paths)
    drift = None
    if previous is not None:
        drift = score_drift(pd.read_parquet(previous.scores / FEATURES), numeric, config.psi_alert)
    return ScoringOutcome(
        scores=scores,
        risk_by_segment=risk_by_segment(scores),
        offers=offers,
        drift=drift,
        notes=notes,
        versions=result.versions,
    )
