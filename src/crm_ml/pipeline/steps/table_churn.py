"""The steps of notebook 03_churn_table: churn on a single customer table (`data.source: table`).

A table with one row per subscriber and a churn flag has no time axis, so there is no later
cutoff to hold out: the model is judged by stratified cross-validation, beside
`LGBMClassifier()` and a logistic regression on the same folds (`crm_ml.models.fit_table`).
Each customer's score is the out-of-fold probability, from the fold that did not see their
label, so the save list ranks customers by a fair score; the reasons come from the model
fitted on every row. The scores are written where the export pipeline's scoring notebook
writes them, so the report and the action lists read them the same way.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from crm_ml.contract.customer_table import CONSENT, TABLE
from crm_ml.models import TableFit, fit_table, global_drivers
from crm_ml.models.plots import plot_cumulative_gain, plot_reliability, plot_roc
from crm_ml.pipeline.config import RunConfig, TableSource
from crm_ml.pipeline.data import table_source
from crm_ml.pipeline.paths import RunPaths
from crm_ml.pipeline.promotions import run_tracking
from crm_ml.pipeline.steps.churn import model_config
from crm_ml.pipeline.steps.scoring import SCORES
from crm_ml.pipeline.steps.tracked import Gate, track_and_gate
from crm_ml.scoring.score import risk_by_segment
from crm_ml.tracking.registry import GateDecision

log = logging.getLogger(__name__)

N_FOLDS = 5


def customer_table(paths: RunPaths) -> pd.DataFrame:
    """The run's accepted customer table (notebook 01 validated it).

    Parameters
    ----------
    paths : RunPaths
        A run of a `data.source: table` configuration whose table was accepted.

    Returns
    -------
    pandas.DataFrame
        One row per customer: the pseudonymised id, the features, the 0/1 label and
        `marketing_consent` when the configuration names a consent column.

    Examples
    --------
    >>> table = customer_table(ctx.paths)  # doctest: +SKIP
    """
    return pd.read_parquet(paths.accepted / f"{TABLE}.parquet")


def fit_churn_table(
    table: pd.DataFrame, config: RunConfig, *, n_folds: int = N_FOLDS, progress: bool = True
) -> TableFit:
    """Cross-validate the churn model beside the references and fit it on every row.

    Parameters
    ----------
    table : pandas.DataFrame
        The accepted customer table (`customer_table`); consent is never a feature.
    config : RunConfig
        `data.table` names the label and id columns; ``models.churn`` the trainer settings.
    n_folds : int, default 5
        Folds of the comparison (the same for every model) and of the out-of-fold scores.
    progress : bool, default True
        A progress bar over the models' folds.

    Returns
    -------
    TableFit
        The model fitted on every row, the cross-validated comparison and the out-of-fold
        probability of every row.

    Examples
    --------
    >>> fit = fit_churn_table(customer_table(ctx.paths), ctx.config)  # doctest: +SKIP
    >>> fit.comparison.index.tolist()  # doctest: +SKIP
    ['crm_ml', 'lightgbm_default', 'logistic']
    """
    source = table_source(config)
    features = table.drop(columns=[c for c in (CONSENT,) if c in table])
    return fit_table(
        features,
        source.label,
        id_column=source.id_column,
        n_folds=n_folds,
        config=model_config(config),
        progress=progress,
    )


def table_scores(fit: TableFit, table: pd.DataFrame, config: RunConfig) -> pd.DataFrame:
    """One row per customer, in the columns the report and the action lists read.

    Parameters
    ----------
    fit : TableFit
        The cross-validated fit (`fit_churn_table`).
    table : pandas.DataFrame
        The accepted customer table it was fitted on.
    config : RunConfig
        `data.table`: the value column (x ``value_periods`` = ``clv_12m``), the segment
        column and the consent column.

    Returns
    -------
    pandas.DataFrame
        customer_id, segment, churn_probability (out of fold), reason_1..3, clv_12m
        (NaN without a value column), uplift (NaN: a single table has no campaigns),
        next_best_offer and offer_reason (missing: no catalogue) and marketing_consent
        (False for everyone without a consent column).

    Examples
    --------
    >>> scores = table_scores(fit, customer_table(ctx.paths), ctx.config)  # doctest: +SKIP
    """
    source = table_source(config)
    ids = table[source.id_column].astype(str)
    reasons = fit.reasons.set_axis(fit.reasons.index.astype(str)).loc[ids]
    scores = pd.DataFrame(
        {
            "customer_id": ids.to_numpy(),
            "segment": _segment(table, source),
            "churn_probability": fit.out_of_fold.set_axis(fit.out_of_fold.index.astype(str))
            .loc[ids]
            .to_numpy(dtype=float),
            "clv_12m": _yearly_value(table, source),
            "uplift": np.nan,
            "next_best_offer": pd.NA,  # no catalogue, no orders: nothing to recommend
            "offer_reason": pd.NA,
            "marketing_consent": (
                table[CONSENT].astype(bool).to_numpy()
                if CONSENT in table
                else np.zeros(len(table), dtype=bool)
            ),
        }
    )
    for column in (c for c in reasons.columns if c.startswith("reason_")):
        scores[column] = reasons[column].astype(str).to_numpy()
    return scores


def _segment(table: pd.DataFrame, source: TableSource) -> np.ndarray:
    if source.segment_column is None:
        return np.full(len(table), "all customers", dtype=object)
    return table[source.segment_column].astype("string").fillna("unknown").to_numpy(dtype=object)


def _yearly_value(table: pd.DataFrame, source: TableSource) -> np.ndarray:
    if source.value_column is None:
        return np.full(len(table), np.nan)
    value = pd.to_numeric(table[source.value_column], errors="coerce")
    return (value * source.value_periods).to_numpy(dtype=float)


def write_table_scores(paths: RunPaths, scores: pd.DataFrame) -> pd.DataFrame:
    """Write the scores where the report and the action lists read them; return the churn
    risk per segment.

    Parameters
    ----------
    paths : RunPaths
        The run; the scores go to ``paths.scores / "customer_scores.parquet"``.
    scores : pandas.DataFrame
        The output of `table_scores`.

    Returns
    -------
    pandas.DataFrame
        segment, customers, mean_churn_probability, high_risk_share.

    Examples
    --------
    >>> by_segment = write_table_scores(ctx.paths, scores)  # doctest: +SKIP
    """
    scores.to_parquet(paths.scores / SCORES, index=False)
    return risk_by_segment(scores)


def table_figures(fit: TableFit, table: pd.DataFrame, config: RunConfig) -> dict[str, Figure]:
    """ROC, calibration and cumulative gain of the out-of-fold probabilities.

    Parameters
    ----------
    fit : TableFit
        The cross-validated fit.
    table : pandas.DataFrame
        The accepted customer table (for the labels).
    config : RunConfig
        `data.table.label` names the label.

    Returns
    -------
    dict of str to matplotlib.figure.Figure
        ``roc``, ``calibration`` and ``gain``.

    Examples
    --------
    >>> figures = table_figures(fit, customer_table(ctx.paths), ctx.config)  # doctest: +SKIP
    """
    source = table_source(config)
    y = table.set_index(table[source.id_column].astype(str))[source.label]
    probability = fit.out_of_fold.set_axis(fit.out_of_fold.index.astype(str))
    y = y.loc[probability.index].to_numpy(dtype=int)
    p = probability.to_numpy(dtype=float)
    named = {"LightGBM (out of fold)": p}
    return {
        "roc": plot_roc(y, named),
        "calibration": plot_reliability(y, named),
        "gain": plot_cumulative_gain(y, named),
    }


def table_drivers(fit: TableFit) -> pd.DataFrame:
    """What drives churn risk across the table's customers (mean |SHAP| of the fitted model).

    Parameters
    ----------
    fit : TableFit
        The fit on every row.

    Returns
    -------
    pandas.DataFrame
        feature, description, mean_abs_shap (strongest first).

    Examples
    --------
    >>> table_drivers(fit).head(3)  # doctest: +SKIP
    """
    return global_drivers(fit.model.model_, fit.model.model_input(fit.snapshot.features))


def comparison_metrics(fit: TableFit) -> dict[str, Any]:
    """The cross-validated metrics the report and the manifest read, ours and the best
    reference's.

    Parameters
    ----------
    fit : TableFit
        The cross-validated fit.

    Returns
    -------
    dict
        cv_roc_auc, cv_ece, cv_top20_capture of our model; best_reference_roc_auc and
        best_reference (its name); baselines_not_beaten (how many references have a
        higher AUC).

    Examples
    --------
    >>> comparison_metrics(fit)["cv_roc_auc"]  # doctest: +SKIP
    """
    table = fit.comparison
    ours = table.loc["crm_ml"]
    references = table.drop(index="crm_ml")
    best = references["roc_auc"].idxmax()
    return {
        "cv_roc_auc": float(ours["roc_auc"]),
        "cv_ece": float(ours["ece"]),
        "cv_top20_capture": float(ours["top20_capture"]),
        "best_reference": str(best),
        "best_reference_roc_auc": float(references.loc[best, "roc_auc"]),
        "baselines_not_beaten": int((references["roc_auc"] > ours["roc_auc"]).sum()),
    }


GATE = Gate(
    metric="cv_roc_auc", higher_is_better=True, tolerance=0.005, calibration_metric="cv_ece"
)


def track_table_churn(
    paths: RunPaths,
    config: RunConfig,
    fit: TableFit,
    metrics: dict[str, Any],
    figures: dict[str, Figure],
) -> GateDecision:
    """Log the table's churn model to MLflow and pass it through the champion gate.

    The gate compares the cross-validated ROC AUC with the champion's of the same table
    (tolerance 0.005) and bounds the cross-validated ECE by ``models.calibration_bound``
    (default 0.02); the registered name carries the table's path (`run_scope`).

    Parameters
    ----------
    paths : RunPaths
        The run's folders; the MLflow run is named after ``paths.run_id``.
    config : RunConfig
        The run configuration (data scope, trainer settings).
    fit : TableFit
        The cross-validated fit.
    metrics : dict
        `comparison_metrics` of the fit, logged with the comparison table.
    figures : dict of str to Figure
        The figures to log (`table_figures`).

    Returns
    -------
    GateDecision
        Whether the model became (or is staged to become) the champion, and why.

    Examples
    --------
    >>> decision = track_table_churn(ctx.paths, ctx.config, fit, metrics, figures)  # doctest: +SKIP
    >>> print(decision.summary)  # doctest: +SKIP
    """
    features = fit.model.model_input(fit.snapshot.features)
    numbers = {k: v for k, v in metrics.items() if isinstance(v, int | float)}
    bound = float(config.models.get("calibration_bound", 0.02))
    _, decision = track_and_gate(
        "churn",
        fit.model.model_,
        features=features,
        params={"source": "table", "n_folds": N_FOLDS, **vars(model_config(config))},
        metrics=numbers,
        baseline_table=fit.comparison.reset_index(),
        figures=figures,
        gate=replace(GATE, calibration_bound=bound),
        run_name=paths.run_id,
        tracking=run_tracking(paths, config),
    )
    return decision
