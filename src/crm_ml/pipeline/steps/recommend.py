"""Notebook 06's work: compare recommenders on a time split, serve the best one, track it.

Evaluation trains every recommender on interactions before the holdout cutoff and scores
the purchases of the following horizon; serving refits the best model on everything up to
the export date and writes the rule-abiding lists of consenting customers to the run's
scores. The served engine is kept in the run folder for the scoring notebook's offers.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from crm_ml.pipeline.config import RunConfig
from crm_ml.pipeline.data import accepted_as_of, ensure_accepted, raw_source_dir
from crm_ml.pipeline.paths import RunPaths
from crm_ml.pipeline.promotions import run_tracking
from crm_ml.pipeline.steps.frames import cutoff_plan
from crm_ml.pipeline.steps.oracle import has_oracle, load_true_affinity
from crm_ml.pipeline.steps.segments import CURRENT
from crm_ml.pipeline.steps.tracked import Gate, apply_gate
from crm_ml.recsys import (
    MODEL_NAMES,
    RecommendationEngine,
    RecsysConfig,
    SearchResult,
    fit_engine,
    select_recommender,
)
from crm_ml.recsys.selection import Selection
from crm_ml.recsys.tuning import HALF_LIFE, SEARCH_SPACE
from crm_ml.tracking.registry import GateDecision

MODELS = MODEL_NAMES
SERVED_FILE = "recommendations.parquet"  # in the run's scores folder
ENGINE_FILE = "recsys_engine.pkl"
SKIPPED_FILE = "recsys_skipped.txt"  # why this run recommends nothing (scoring reads it)
GATE_METRIC = "served_recall_at_10"
GATE = Gate(GATE_METRIC, higher_is_better=True, tolerance=0.005, calibration_metric=None)
MIN_PRODUCTS = 2  # a recommender chooses between products; one product leaves no choice


@dataclass
class RecsysOutcome:
    comparison: pd.DataFrame
    best_model: str
    recommendations: pd.DataFrame
    engine: RecommendationEngine | None
    metrics: dict[str, float]
    figures: dict[str, Any] = field(default_factory=dict)
    decision: Any = None
    searched: pd.DataFrame = field(default_factory=pd.DataFrame)  # chosen settings per model
    skipped: str = ""  # why nothing was trained or recommended (empty: it was)

    def summary(self) -> str:
        """The best model and the served lists against popularity, in one line."""
        if self.skipped:
            return f"no recommendations: {self.skipped}"
        m = self.metrics

        def versus(value: float) -> str:
            popular = m["popularity_recall_at_10"]
            return f"{value / popular:.2f}x popularity" if popular > 0 else "popularity hit nothing"

        return (
            f"best model {self.best_model}: recall@10 {m['best_recall_at_10']:.3f} "
            f"({versus(m['best_recall_at_10'])}); served with rules and buy-again slots: "
            f"{m['served_recall_at_10']:.3f} ({versus(m['served_recall_at_10'])})"
        )

    def decision_summary(self) -> str:
        if self.decision is None:
            return self.skipped or "not tracked (track=False)"
        return self.decision.summary


def load_accepted(paths: RunPaths) -> dict[str, pd.DataFrame]:
    return {p.stem: pd.read_parquet(p) for p in sorted(paths.accepted.glob("*.parquet"))}


def segments_of(paths: RunPaths) -> pd.Series | None:
    """Each customer's RFM segment (from notebook 02), for segment-aware cold start."""
    current = paths.features / CURRENT
    if not current.exists():
        return None
    frame = pd.read_parquet(current, columns=["customer_id", "rfm_segment"])
    return frame.set_index("customer_id")["rfm_segment"].astype(str)


def comparison_chart(table: pd.DataFrame) -> Figure:
    """Recall@10 of every recommender as bars, with popularity's as a dashed line: how far
    each one is above the rule it must beat.

    Parameters
    ----------
    table : pandas.DataFrame
        The comparison of `choose_recommender` (``chosen.comparison``): indexed by
        recommender, with a ``recall@10`` column and a ``popular`` row.

    Returns
    -------
    matplotlib.figure.Figure
        A horizontal bar chart, bars sorted by recall@10.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame(
    ...     {"recall@10": [0.12, 0.05, 0.09]}, index=["als", "popular", "item_knn"]
    ... )
    >>> figure = comparison_chart(table)
    >>> [label.get_text() for label in figure.axes[0].get_yticklabels()]
    ['popular', 'item_knn', 'als']
    """
    fig = Figure(figsize=(8, 3.6))
    ax = fig.subplots()
    table["recall@10"].sort_values().plot.barh(ax=ax, color="#6c8ebf")
    ax.axvline(
        table.loc["popular", "recall@10"], color="#b85450", linestyle="--", label="popularity"
    )
    ax.set_xlabel("recall@10 on purchases after the cutoff")
    ax.set_ylabel("")
    ax.legend(loc="lower right")
    return fig


def search_table(found: dict[str, SearchResult]) -> pd.DataFrame:
    """Per model: the searched settings, their recall on the validation window (and
    popularity's), the window and the interaction half-life chosen.

    Parameters
    ----------
    found : dict of str to SearchResult
        Model name -> its search (``chosen.searched`` of `choose_recommender`).

    Returns
    -------
    pandas.DataFrame
        One row per model: ``model``, ``validation_recall``,
        ``validation_popularity_recall``, ``validation``, ``validation_days``,
        ``validation_customers``, the half-life column and the model's searched settings.

    Examples
    --------
    >>> searched = ctx.record.table("recsys_search", search_table(chosen.searched))  # doctest: +SKIP
    """
    rows = []
    for name, result in found.items():
        chosen = {p: getattr(result.best, p) for p in SEARCH_SPACE[name]}
        decay = result.interactions.describe_decay() if result.interactions else "none"
        rows.append(
            {
                "model": name,
                "validation_recall": result.best_score,
                "validation_popularity_recall": result.popularity_score,
                "validation": result.validation,
                "validation_days": result.validation_days,
                "validation_customers": result.validation_customers,
                HALF_LIFE: decay,
                **chosen,
            }
        )
    return pd.DataFrame(rows)


def skipped_outcome(reason: str) -> RecsysOutcome:
    """What a run without recommendations shows: empty tables with their columns, the reason."""
    fig = Figure(figsize=(8, 1.2))
    fig.text(0.5, 0.5, f"No recommendations: {reason}", ha="center", va="center", wrap=True)
    return RecsysOutcome(
        comparison=pd.DataFrame(columns=COMPARISON_COLUMNS).rename_axis("recommender"),
        best_model="",
        recommendations=pd.DataFrame(columns=["customer_id", "product_id", "rank", "source"]),
        engine=None,
        metrics={},
        figures={"recsys": fig},
        skipped=reason,
    )


@dataclass(frozen=True)
class RecsysInputs:
    """What the recommenders learn from and how they are judged: the accepted tables, the
    settings, the holdout cutoff (search before it, test after it), the synthetic world's
    true affinities (oracle row, None elsewhere) and the customers' segments."""

    tables: dict[str, pd.DataFrame]
    settings: RecsysConfig
    holdout_cutoff: pd.Timestamp
    affinity: pd.DataFrame | None
    segments: pd.Series | None
    skipped: str = ""  # why nothing can be recommended (empty: it can)


def recsys_inputs(paths: RunPaths, config: RunConfig) -> RecsysInputs:
    """The inputs of notebook 06; `skipped` says why when the catalogue leaves no choice.

    Validates the raw exports first if the run has no accepted tables yet.

    Parameters
    ----------
    paths : RunPaths
        The run's folders: the accepted tables, and the customers' segments when notebook
        02 wrote them.
    config : RunConfig
        The run configuration: the data source, the cutoff plan and ``recsys`` (validated
        into a `RecsysConfig`).

    Returns
    -------
    RecsysInputs
        The accepted ``tables``, the ``settings``, the ``holdout_cutoff``, the synthetic
        world's true ``affinity`` (None elsewhere), the ``segments`` (None before
        notebook 02) and ``skipped`` (non-empty when the orders hold fewer than 2
        products).

    Raises
    ------
    ContractError
        When the raw exports cannot be taken (see `crm_ml.pipeline.data.ensure_accepted`).

    Examples
    --------
    >>> inputs = recsys_inputs(ctx.paths, ctx.config)  # doctest: +SKIP
    >>> recommending = not inputs.skipped  # doctest: +SKIP
    """
    ensure_accepted(paths, config)
    tables = load_accepted(paths)
    products = tables["orders"]["product_id"].nunique()
    skipped = ""
    if products < MIN_PRODUCTS:
        skipped = (
            f"the orders hold {products} product(s), so there is nothing to choose between: "
            "no recommender was trained and no offers are made"
        )
    raw_dir = raw_source_dir(config)
    return RecsysInputs(
        tables,
        RecsysConfig.model_validate(config.recsys),
        cutoff_plan(paths, config).holdout,
        load_true_affinity(raw_dir) if has_oracle(raw_dir) else None,
        segments_of(paths),
        skipped,
    )


def choose_recommender(inputs: RecsysInputs) -> Selection:
    """Search every model on a window before the holdout cutoff (never on it), compare them
    all with popularity and buy-again on the purchases after it, pick the best.

    Parameters
    ----------
    inputs : RecsysInputs
        What `recsys_inputs` returned (not skipped); the test horizon is
        ``settings.eval_horizon_days``.

    Returns
    -------
    Selection
        ``comparison`` (one row per recommender, the served lists as ``served:<best>``),
        ``best_model``, ``searched`` (each model's search) and ``serving`` (the config
        to serve).

    Examples
    --------
    >>> chosen = choose_recommender(inputs)  # doctest: +SKIP
    >>> chosen.best_model  # doctest: +SKIP
    """
    return select_recommender(
        inputs.tables,
        inputs.holdout_cutoff,
        inputs.settings,
        MODELS,
        horizon_days=inputs.settings.eval_horizon_days,
        affinity=inputs.affinity,
        segments=inputs.segments,
    )


def serve(paths: RunPaths, inputs: RecsysInputs, chosen: Selection) -> RecommendationEngine:
    """The best model refitted on everything up to the export date; its rule-abiding lists
    of consenting customers go to the run's scores, the engine to the run folder.

    Writes ``recommendations.parquet`` to ``paths.scores`` and pickles the engine to
    ``recsys_engine.pkl`` in the run folder (where the scoring notebook finds it), and
    removes a ``recsys_skipped.txt`` an earlier `skip` left.

    Parameters
    ----------
    paths : RunPaths
        The run's folders; the export date is that of the accepted tables.
    inputs : RecsysInputs
        What `recsys_inputs` returned (tables and segments).
    chosen : Selection
        What `choose_recommender` returned; ``chosen.serving`` is fitted.

    Returns
    -------
    RecommendationEngine
        The fitted engine; `served_lists` reads back the lists it wrote.

    Examples
    --------
    >>> engine = serve(ctx.paths, inputs, chosen)  # doctest: +SKIP
    >>> recs = served_lists(ctx.paths)  # doctest: +SKIP
    """
    engine = fit_engine(
        inputs.tables, pd.Timestamp(accepted_as_of(paths)), chosen.serving, inputs.segments
    )
    engine.recommend(export=True).to_parquet(paths.scores / SERVED_FILE, index=False)
    with (paths.root / ENGINE_FILE).open("wb") as fh:
        pickle.dump(engine, fh)
    (paths.root / SKIPPED_FILE).unlink(missing_ok=True)
    return engine


def recsys_metrics(chosen: Selection) -> dict[str, float]:
    """The figures the report, the scorecard and the gate read.

    Parameters
    ----------
    chosen : Selection
        What `choose_recommender` returned; read from ``chosen.comparison`` (rows
        ``<best_model>``, ``served:<best_model>`` and ``popular``).

    Returns
    -------
    dict of str to float
        ``best_recall_at_10``, ``served_recall_at_10`` (the gate's metric),
        ``popularity_recall_at_10`` and ``recommendation_conversion`` (the served lists'
        hit rate at 10).

    Examples
    --------
    >>> import pandas as pd
    >>> from types import SimpleNamespace
    >>> comparison = pd.DataFrame(
    ...     {"recall@10": [0.2, 0.25, 0.1], "hit_rate@10": [0.3, 0.35, 0.2]},
    ...     index=["als", "served:als", "popular"],
    ... )
    >>> recsys_metrics(SimpleNamespace(comparison=comparison, best_model="als"))
    {'best_recall_at_10': 0.2, 'served_recall_at_10': 0.25, 'popularity_recall_at_10': 0.1, 'recommendation_conversion': 0.35}
    """
    comparison, best = chosen.comparison, chosen.best_model
    served = f"served:{best}"
    return {
        "best_recall_at_10": float(comparison.loc[best, "recall@10"]),
        "served_recall_at_10": float(comparison.loc[served, "recall@10"]),
        "popularity_recall_at_10": float(comparison.loc["popular", "recall@10"]),
        "recommendation_conversion": float(comparison.loc[served, "hit_rate@10"]),
    }


def skip(paths: RunPaths, reason: str) -> RecsysOutcome:
    """Record why this run recommends nothing (scoring then makes no offers).

    Writes `reason` to ``recsys_skipped.txt`` in the run folder, which the scoring
    notebook reads.

    Parameters
    ----------
    paths : RunPaths
        The run's folders.
    reason : str
        Why nothing is recommended (``inputs.skipped`` of `recsys_inputs`).

    Returns
    -------
    RecsysOutcome
        Empty comparison and recommendation tables with their columns, no engine, no
        metrics, a figure stating the reason, and ``skipped`` = `reason`.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from crm_ml.pipeline import RunPaths
    >>> folder = tempfile.TemporaryDirectory()
    >>> paths = RunPaths(Path(folder.name) / "run-1")
    >>> paths.root.mkdir(parents=True)
    >>> outcome = skip(paths, "the orders hold 1 product(s)")
    >>> outcome.summary()
    'no recommendations: the orders hold 1 product(s)'
    >>> (paths.root / "recsys_skipped.txt").read_text()
    'the orders hold 1 product(s)'
    >>> folder.cleanup()
    """
    (paths.root / SKIPPED_FILE).write_text(reason)
    return skipped_outcome(reason)


def served_lists(paths: RunPaths) -> pd.DataFrame:
    """The lists `serve` wrote for this run (read back, not recomputed for every customer).

    Parameters
    ----------
    paths : RunPaths
        The run's folders.

    Returns
    -------
    pandas.DataFrame
        One row per recommendation, with the columns of
        ``RecommendationEngine.recommend(export=True)``.

    Examples
    --------
    >>> recs = served_lists(ctx.paths)  # doctest: +SKIP
    """
    return pd.read_parquet(paths.scores / SERVED_FILE)


def run_recommendations(paths: RunPaths, config: RunConfig, track: bool = True) -> RecsysOutcome:
    """Every step of notebook 06 in one call (the benchmarks' direct run and the tests)."""
    inputs = recsys_inputs(paths, config)
    if inputs.skipped:
        return skip(paths, inputs.skipped)
    chosen = choose_recommender(inputs)
    engine = serve(paths, inputs, chosen)
    metrics = recsys_metrics(chosen)
    outcome = RecsysOutcome(
        chosen.comparison,
        chosen.best_model,
        served_lists(paths),
        engine,
        metrics,
        {"recsys": comparison_chart(chosen.comparison)},
        searched=search_table(chosen.searched),
    )
    if track:
        outcome.decision = track_recommender(paths, config, engine, chosen.comparison, metrics)
    return outcome


def track_recommender(
    paths: RunPaths,
    config: RunConfig,
    engine: RecommendationEngine,
    comparison: pd.DataFrame,
    metrics: dict[str, float],
) -> GateDecision:
    """Log the served engine as a pyfunc model and gate it on the served lists' recall@10.

    The run (MLflow experiment ``recsys``) logs the engine with the comparison table, the
    metrics and the data scope's tags; the engine registers as a challenger of the
    scope's ``recsys`` model and the gate compares ``served_recall_at_10`` with the
    champion's (tolerance 0.005, no calibration).

    Parameters
    ----------
    paths : RunPaths
        The run's folders; the MLflow run is named after ``paths.run_id``.
    config : RunConfig
        The run configuration (data scope of the registered model).
    engine : RecommendationEngine
        The served engine (`serve`).
    comparison : pandas.DataFrame
        ``chosen.comparison`` of `choose_recommender`.
    metrics : dict of str to float
        What `recsys_metrics` returned; logged to the run.

    Returns
    -------
    GateDecision
        Whether the new version became (or, under the pipeline, is staged to become) the
        champion, and why (``decision.summary``).

    Examples
    --------
    >>> decision = track_recommender(
    ...     ctx.paths, ctx.config, engine, chosen.comparison, metrics
    ... )  # doctest: +SKIP
    >>> print(decision.summary)  # doctest: +SKIP
    """
    from mlflow import MlflowClient

    from crm_ml.recsys.pyfunc import log_recommender
    from crm_ml.tracking import configure_tracking
    from crm_ml.tracking.registry import register_challenger
    from crm_ml.tracking.store import ensure_experiment

    configure_tracking()
    tracking = run_tracking(paths, config)
    logged = log_recommender(
        engine, comparison, run_name=paths.run_id, experiment_id=ensure_experiment("recsys")
    )
    client = MlflowClient()
    for name, value in metrics.items():
        client.log_metric(logged.run_id, name, value)
    for tag, value in tracking.scope.tags.items():
        client.set_tag(logged.run_id, tag, value)
    name = tracking.registry_name("recsys")
    version = register_challenger(
        name, logged.model_uri, run_id=logged.run_id, tags=tracking.scope.tags
    )
    return apply_gate(name, str(version.version), GATE, tracking)


COMPARISON_COLUMNS = [
    f"{metric}@10"
    for metric in (
        "precision",
        "recall",
        "ndcg",
        "map",
        "hit_rate",
        "coverage",
        "novelty",
        "diversity",
    )
] + ["recall@10_vs_popular"]


def load_engine(paths: RunPaths) -> RecommendationEngine:
    with (paths.root / ENGINE_FILE).open("rb") as fh:
        return pickle.load(fh)
