"""Notebook 04's first part: who will buy which category next (propensity).

Category propensity: one calibrated LightGBM per category, for the few non-sensitive
categories with the most buyers, on the rolling snapshots of the run (label: a purchase in
the category within the horizon). The customer 360 has no per-category columns, so three
point-in-time columns of the customer's own history in that category are added
(`CATEGORY_HISTORY`, from order lines before the cutoff). The baseline is the category
purchase rate: the customer's own orders in the category over the last year, turned into a
probability by an isotonic fit on the training rows.
Uplift is its own module (`crm_ml.pipeline.steps.uplift`); `run_propensity` runs both.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from crm_ml.models import (
    BinaryModel,
    BinaryModelConfig,
    TrainingResult,
    compare_to_baselines,
    default_baselines,
    train_binary_model,
)
from crm_ml.models.baselines import BaselineComparison
from crm_ml.naming import safe_name
from crm_ml.pipeline.config import RunConfig
from crm_ml.pipeline.data import ensure_accepted
from crm_ml.pipeline.paths import RunPaths
from crm_ml.pipeline.promotions import run_tracking
from crm_ml.pipeline.steps.category_history import (
    attach_category_history,
    category_history,
    purchase_lines,
)
from crm_ml.pipeline.steps.clv import typed_config
from crm_ml.pipeline.steps.frames import cutoff_plan, holdout, training_frame
from crm_ml.pipeline.steps.tracked import Gate, flat_metrics, sample_sized, track_and_gate
from crm_ml.pipeline.steps.uplift import UpliftOutcome, run_uplift
from crm_ml.tracking.registry import GateDecision

log = logging.getLogger(__name__)
TARGET = "label"
RATE_COLUMN = "category_orders_365d"
BASELINE = "category_purchase_rate"
PROPENSITY_GATE = Gate(
    metric="holdout_roc_auc",
    higher_is_better=True,
    tolerance=0.005,
    calibration_metric="holdout_ece",
)


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
    """(number of categories, trainer config) from `models.propensity` of the run config.

    Parameters
    ----------
    config : RunConfig
        The run configuration; ``models["propensity"]`` holds ``categories`` (how many
        categories get a model, default 3) and the `BinaryModelConfig` fields.

    Returns
    -------
    n_categories : int
        How many of the categories with the most buyers get a model.
    settings : BinaryModelConfig
        The trainer config every category's model is trained with.

    Examples
    --------
    >>> from crm_ml.pipeline import load_config
    >>> n, settings = propensity_settings(load_config(None, {"models.propensity": {"categories": 2}}))
    >>> n, type(settings).__name__
    (2, 'BinaryModelConfig')
    """
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
    """The category models of a run, filled category by category with `add`.

    Parameters
    ----------
    categories : list of str
        The modelled categories (``PropensityData.categories``).
    models : dict of str to BinaryModel, optional
        Category -> its trained model (filled by `add`).
    results : dict of str to TrainingResult, optional
        Category -> its training result (filled by `add`).
    table : pandas.DataFrame, optional
        ``propensity_vs_baseline``: one row per category with the model's and the
        purchase-rate baseline's ROC AUC, PR AUC and log loss, the positive rate, the
        holdout rows and ``beaten`` (filled by `add`).
    comparisons : dict of str to pandas.DataFrame, optional
        Category -> its model-vs-baseline table (filled by `add`).
    not_beaten : list of str, optional
        ``"<category>: <baseline>"`` for every baseline a model did not beat.
    decisions : dict of str to GateDecision, optional
        Category -> its gate decision, when tracked.

    Examples
    --------
    >>> propensity = CategoryPropensity(["books", "music"])
    >>> propensity.table.empty, propensity.not_beaten
    (True, [])

    In notebook 04:

    >>> for c in data.categories:  # doctest: +SKIP
    ...     propensity.add(c, results[c], comparisons[c])
    >>> propensity.table.round(4)  # doctest: +SKIP
    """

    categories: list[str]
    models: dict[str, BinaryModel] = field(default_factory=dict)
    results: dict[str, TrainingResult] = field(default_factory=dict)
    table: pd.DataFrame = field(default_factory=pd.DataFrame)  # propensity_vs_baseline
    comparisons: dict[str, pd.DataFrame] = field(default_factory=dict)  # per category
    not_beaten: list[str] = field(default_factory=list)  # "<category>: <baseline>"
    decisions: dict[str, GateDecision] = field(default_factory=dict)

    def add(self, category: str, result: TrainingResult, comparison: BaselineComparison) -> None:
        """One category's model, its comparison, and its row of the summary table.

        Parameters
        ----------
        category : str
            The category.
        result : TrainingResult
            Its trained model.
        comparison : BaselineComparison
            Its comparison with the purchase-rate baseline (`compare_propensity`).

        Examples
        --------
        >>> propensity.add("books", results["books"], comparisons["books"])  # doctest: +SKIP
        """
        self.models[category], self.results[category] = result.model, result
        self.comparisons[category] = comparison.table
        self.not_beaten += [f"{category}: {name}" for name in comparison.not_beaten]
        row = pd.DataFrame([_comparison_row(category, comparison.table)])
        self.table = row if self.table.empty else pd.concat([self.table, row], ignore_index=True)


@dataclass(frozen=True)
class PropensityData:
    """What every category's model trains on: the categories chosen, and the customers'
    history per category at every cutoff of the run."""

    categories: list[str]
    history: pd.DataFrame


def propensity_data(
    paths: RunPaths, config: RunConfig, lines: pd.DataFrame | None = None
) -> PropensityData:
    """The non-sensitive categories with the most buyers before the holdout cutoff.

    Validates the raw exports first if the run has no accepted tables yet. Categories of
    sensitive products (``products.is_sensitive``) are never modelled; ties in the number
    of distinct buyers go by name.

    Parameters
    ----------
    paths : RunPaths
        The run's folders.
    config : RunConfig
        The run configuration: the data source, the cutoff plan and
        ``models.propensity.categories`` (how many categories, default 3).
    lines : pandas.DataFrame or None, default None
        The purchase order lines with their category; None reads them from the accepted
        tables.

    Returns
    -------
    PropensityData
        ``categories`` (most buyers first) and ``history``: each customer's orders in each
        category before every cutoff of the run.

    Raises
    ------
    ContractError
        When the raw exports cannot be taken (see `crm_ml.pipeline.data.ensure_accepted`).

    Examples
    --------
    >>> data = propensity_data(ctx.paths, ctx.config)  # doctest: +SKIP
    >>> data.categories  # doctest: +SKIP
    """
    ensure_accepted(paths, config)
    lines = purchase_lines(paths.accepted) if lines is None else lines
    n_categories, _ = propensity_settings(config)
    plan = cutoff_plan(paths, config)
    categories = top_categories(
        lines, plan.holdout, n_categories, excluded=sensitive_categories(paths.accepted)
    )
    history = category_history(lines, [cutoff for cutoff, _ in plan.items()])
    return PropensityData(categories, history)


def propensity_frame(
    paths: RunPaths, config: RunConfig, data: PropensityData, category: str
) -> pd.DataFrame:
    """The rolling-snapshot frame of one category: the customer 360, the customer's history
    in the category, the label (a purchase in it within the horizon) and the split.

    The frame without the category history is cached per category in the run's features
    folder.

    Parameters
    ----------
    paths : RunPaths
        The run's folders.
    config : RunConfig
        The run configuration (horizon, feature settings, cutoff plan).
    data : PropensityData
        What `propensity_data` returned; its ``history`` gives the category columns.
    category : str
        One of ``data.categories``.

    Returns
    -------
    pandas.DataFrame
        One row per customer and cutoff: ``customer_id``, ``cutoff``, the features and the
        customer's history in `category`, ``label`` (``TARGET``) and ``split``.

    Examples
    --------
    >>> frames = {
    ...     c: propensity_frame(ctx.paths, ctx.config, data, c) for c in data.categories
    ... }  # doctest: +SKIP
    """
    frame = training_frame(paths, config, f"category:{category}")
    return attach_category_history(frame, data.history, category)


def compare_propensity(result: TrainingResult, frame: pd.DataFrame) -> BaselineComparison:
    """The model beside the customer's own purchase rate in the category (same rows).

    The baseline (``category_purchase_rate``) turns the customer's orders in the category
    over the last year into a probability by an isotonic fit on the training rows.

    Parameters
    ----------
    result : TrainingResult
        One category's trained model.
    frame : pandas.DataFrame
        The category's frame (`propensity_frame`) the model was trained on.

    Returns
    -------
    BaselineComparison
        ``table`` (the model and the baseline on the holdout rows) and ``not_beaten``.

    Examples
    --------
    >>> comparisons = {
    ...     c: compare_propensity(results[c], frames[c]) for c in data.categories
    ... }  # doctest: +SKIP
    """
    baselines = default_baselines("propensity", category_rate_column=RATE_COLUMN)
    return compare_to_baselines(result.model, frame, TARGET, baselines)


def track_propensity(
    paths: RunPaths,
    config: RunConfig,
    category: str,
    frame: pd.DataFrame,
    result: TrainingResult,
    comparison: pd.DataFrame,
) -> GateDecision:
    """Log one category's model (registered per category) and pass it through its gate.

    The model registers as ``propensity_<category>`` (a slug and hash for a category name
    that is not plain) within the run's data scope; the gate compares holdout ROC AUC with
    that category's champion (tolerance 0.005) and bounds the holdout ECE by
    ``models.calibration_bound`` (default 0.02) or the noise level of the holdout's size,
    whichever is larger.

    Parameters
    ----------
    paths : RunPaths
        The run's folders; the MLflow run is named ``<run_id>-<category>``.
    config : RunConfig
        The run configuration (data scope, horizon, trainer settings).
    category : str
        The category of the model.
    frame : pandas.DataFrame
        The category's frame (`propensity_frame`); its holdout rows are the input example.
    result : TrainingResult
        The category's trained model.
    comparison : pandas.DataFrame
        Its model-vs-baseline table (``compare_propensity(...).table``).

    Returns
    -------
    GateDecision
        Whether the new version became (or, under the pipeline, is staged to become) the
        category's champion, and why (``decision.summary``).

    Examples
    --------
    >>> for c in data.categories:  # doctest: +SKIP
    ...     decision = track_propensity(
    ...         ctx.paths, ctx.config, c, frames[c], results[c], comparisons[c].table
    ...     )
    ...     print(decision.summary)
    """
    _, settings = propensity_settings(config)
    _, decision = track_and_gate(
        "propensity",
        result.model,
        features=holdout(frame)[list(result.model.feature_names)],
        params={"category": category, "horizon_days": config.horizon_days, **vars(settings)},
        metrics=flat_metrics(result.metrics),
        baseline_table=comparison,
        figures={},
        gate=sample_sized(
            PROPENSITY_GATE, float(config.models.get("calibration_bound", 0.02)), result
        ),
        run_name=f"{paths.run_id}-{category}",
        tracking=run_tracking(paths, config),
        register_as=registry_name(category),
    )
    return decision


def run_category_propensity(
    paths: RunPaths, config: RunConfig, lines: pd.DataFrame | None = None, track: bool = True
) -> CategoryPropensity:
    """Every propensity step of notebook 04 in one call (the benchmarks' direct run and the
    tests), category by category."""
    _, settings = propensity_settings(config)
    data = propensity_data(paths, config, lines)
    out = CategoryPropensity(data.categories)
    for category in tqdm(data.categories, desc="propensity", unit="category"):
        frame = propensity_frame(paths, config, data, category)
        result = train_binary_model(frame, TARGET, settings)
        comparison = compare_propensity(result, frame)
        out.add(category, result, comparison)
        if track:
            out.decisions[category] = track_propensity(
                paths, config, category, frame, result, comparison.table
            )
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
