"""The churn notebook's work: train, compare with baselines and the oracle, explain, track."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from crm_ml.models import (
    BinaryModelConfig,
    TrainingResult,
    compare_to_baselines,
    default_baselines,
    global_drivers,
    train_binary_model,
)
from crm_ml.models.explain import plot_shap_summary
from crm_ml.models.plots import plot_cumulative_gain, plot_reliability, plot_roc
from crm_ml.pipeline.config import RunConfig
from crm_ml.pipeline.data import raw_source_dir
from crm_ml.pipeline.paths import RunPaths
from crm_ml.pipeline.promotions import run_tracking
from crm_ml.pipeline.steps.frames import (
    feature_columns,
    holdout,
    training_frame,
    typed_config,
)
from crm_ml.pipeline.steps.oracle import churn_gap_closure, has_oracle
from crm_ml.pipeline.steps.run_models import forget_run_model, keep_in_run
from crm_ml.pipeline.steps.tracked import Gate, flat_metrics, sample_sized, track_and_gate
from crm_ml.tracking.registry import GateDecision

log = logging.getLogger(__name__)
LABEL = "churn"
TARGET = "label"  # build_training_frame names the label column `label`
GATE = Gate(
    metric="holdout_roc_auc",
    higher_is_better=True,
    tolerance=0.005,
    calibration_metric="holdout_ece",
)


@dataclass
class ChurnOutcome:
    result: TrainingResult
    comparison: pd.DataFrame  # model + baselines on the same holdout
    not_beaten: list[str]
    oracle: dict[str, float]  # empty without ground truth
    drivers: pd.DataFrame
    figures: dict[str, Any] = field(default_factory=dict)
    decision: GateDecision | None = None


def model_config(config: RunConfig) -> BinaryModelConfig:
    """The churn trainer's settings: `models.churn` of the run config over the defaults.

    Parameters
    ----------
    config : RunConfig
        The run configuration; its ``models["churn"]`` mapping (missing: all defaults)
        gives the `BinaryModelConfig` fields, nested sections such as ``lightgbm`` becoming
        their own dataclasses.

    Returns
    -------
    BinaryModelConfig
        What `crm_ml.models.train_binary_model` takes.

    Examples
    --------
    >>> from crm_ml.pipeline import load_config
    >>> config = load_config(None, {"models.churn": {"lightgbm": {"num_threads": 1}}})
    >>> settings = model_config(config)
    >>> settings.lightgbm.num_threads, settings.calibration_metric
    (1, 'log_loss')
    """
    return typed_config(BinaryModelConfig, config.models.get("churn", {}))


def churn_frame(paths: RunPaths, config: RunConfig) -> pd.DataFrame:
    """Features at every rolling cutoff with the churn label (`label`) and the split.

    Built once per run (validating the raw exports first if the run has no accepted tables
    yet) and cached as ``training_churn.parquet`` in ``paths.features``; later calls read
    the cache.

    Parameters
    ----------
    paths : RunPaths
        The run's folders.
    config : RunConfig
        The run configuration: the data source, ``horizon_days``, the feature settings and
        ``models.n_train_cutoffs`` (the number of rolling training cutoffs, default 6).

    Returns
    -------
    pandas.DataFrame
        One row per active customer (a purchase in the 365 days before the cutoff) and
        cutoff: ``customer_id``, ``cutoff``, the features, ``label`` (``TARGET``: no
        purchase order in the horizon after the cutoff) and ``split`` (train, validation
        or holdout).

    Raises
    ------
    ContractError
        When the raw exports cannot be taken (see `crm_ml.pipeline.data.ensure_accepted`).

    Examples
    --------
    >>> frame = churn_frame(ctx.paths, ctx.config)  # doctest: +SKIP
    >>> frame.groupby("split", observed=True)[TARGET].agg(rows="size", churn_rate="mean")  # doctest: +SKIP
    """
    return training_frame(paths, config, LABEL)


def churn_baselines(config: RunConfig) -> list:
    """The rules a churn model must beat: recency, a logistic RFM model, BG/NBD.

    Parameters
    ----------
    config : RunConfig
        The run configuration; ``horizon_days`` sets BG/NBD's horizon.

    Returns
    -------
    list
        The baselines for `crm_ml.models.compare_to_baselines`, in this order:
        ``recency_rule``, ``logistic_rfm`` and ``bg_nbd``.

    Examples
    --------
    >>> from crm_ml.pipeline import load_config
    >>> [baseline.name for baseline in churn_baselines(load_config(None))]
    ['recency_rule', 'logistic_rfm', 'bg_nbd']

    In notebook 03:

    >>> comparison = compare_to_baselines(
    ...     result.model, frame, TARGET, churn_baselines(ctx.config)
    ... )  # doctest: +SKIP
    """
    return default_baselines("churn", horizon_days=config.horizon_days)


def churn_oracle(
    config: RunConfig, frame: pd.DataFrame, result: TrainingResult
) -> dict[str, float]:
    """Gap closure to the history and latent-trait oracles (empty without ground truth).

    Parameters
    ----------
    config : RunConfig
        The run configuration: where the raw exports are (the synthetic world writes its
        ground truth beside them) and ``horizon_days``.
    frame : pandas.DataFrame
        The churn frame the model was trained on (`churn_frame`); its holdout rows are
        scored by the oracles.
    result : TrainingResult
        The trained churn model; its holdout ``predictions`` are compared with the oracles'.

    Returns
    -------
    dict of str to float
        The gap-closure metrics (see `crm_ml.pipeline.steps.oracle.churn_gap_closure`);
        an empty dict when the data source has no ground truth.

    Examples
    --------
    >>> oracle = churn_oracle(ctx.config, frame, result)  # doctest: +SKIP
    >>> ctx.record.metrics({"holdout_roc_auc": holdout["roc_auc"], **oracle})  # doctest: +SKIP
    """
    raw_dir = raw_source_dir(config)
    if not has_oracle(raw_dir):
        return {}
    return churn_gap_closure(result.predictions, holdout(frame), raw_dir, config.horizon_days)


def holdout_features(frame: pd.DataFrame) -> pd.DataFrame:
    """The holdout rows' feature columns: what the explanation and the logged example use.

    Parameters
    ----------
    frame : pandas.DataFrame
        A training frame with ``split`` and the label column ``TARGET`` (e.g. `churn_frame`).

    Returns
    -------
    pandas.DataFrame
        The holdout rows (`crm_ml.pipeline.steps.frames.holdout`) with the
        `crm_ml.pipeline.steps.frames.feature_columns` only: no ids, cutoff, split or label.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame(
    ...     {
    ...         "customer_id": ["a", "b"],
    ...         "cutoff": pd.to_datetime(["2024-01-01", "2024-02-01"]),
    ...         "recency_days": [3, 40],
    ...         "split": ["train", "holdout"],
    ...         "label": [0, 1],
    ...     }
    ... )
    >>> holdout_features(frame)
       recency_days
    1            40
    """
    return holdout(frame)[feature_columns(frame, TARGET)]


def binary_figures(result: TrainingResult, X: pd.DataFrame | None = None) -> dict[str, Any]:
    """ROC, reliability and cumulative gain on the holdout (and a SHAP summary of `X`).

    Parameters
    ----------
    result : TrainingResult
        A trained binary model; the curves use its holdout ``predictions`` (``y_true``,
        ``y_pred``).
    X : pandas.DataFrame or None, default None
        Feature rows to explain (e.g. `holdout_features`); None leaves the SHAP summary out.

    Returns
    -------
    dict of str to Figure
        ``"roc"``, ``"calibration"`` and ``"gain"``, plus ``"shap_summary"`` when `X` is
        given.

    Examples
    --------
    >>> X = holdout_features(frame)  # doctest: +SKIP
    >>> figures = binary_figures(result, X)  # doctest: +SKIP
    >>> for name, fig in figures.items():  # doctest: +SKIP
    ...     ctx.record.figure(name, fig)
    """
    y, p = result.predictions["y_true"], result.predictions["y_pred"]
    figures = {
        "roc": plot_roc(y, {"LightGBM": p}),
        "calibration": plot_reliability(y, {"LightGBM": p}),
        "gain": plot_cumulative_gain(y, {"LightGBM": p}),
    }
    if X is not None:
        figures["shap_summary"] = plot_shap_summary(result.model, X)
    return figures


def track_churn(
    paths: RunPaths,
    config: RunConfig,
    frame: pd.DataFrame,
    result: TrainingResult,
    comparison: pd.DataFrame,
    figures: dict[str, Any],
    oracle: dict[str, float],
) -> GateDecision:
    """Log the model to MLflow and pass it through the champion gate (staged under the
    pipeline, see `crm_ml.pipeline.promotions`).

    The run logs the model with the holdout features as its input example, the horizon and
    the trainer settings as parameters, the metrics and the oracle's gap closure, the
    baseline table and the figures. The gate compares holdout ROC AUC with the champion's
    (tolerance 0.005) and bounds the holdout ECE by ``models.calibration_bound`` (default
    0.02) or the noise level of the holdout's size, whichever is larger. A model this run
    kept untracked (`keep_in_run`) is forgotten first.

    Parameters
    ----------
    paths : RunPaths
        The run's folders; the MLflow run is named after ``paths.run_id``.
    config : RunConfig
        The run configuration (data scope of the registered model, horizon, settings).
    frame : pandas.DataFrame
        The churn frame the model was trained on (`churn_frame`).
    result : TrainingResult
        The trained churn model.
    comparison : pandas.DataFrame
        The model-vs-baselines table (``compare_to_baselines(...).table``).
    figures : dict of str to Figure
        The figures to log (`binary_figures`).
    oracle : dict of str to float
        The gap-closure metrics (`churn_oracle`), logged with the others.

    Returns
    -------
    GateDecision
        Whether the new version became (or, under the pipeline, is staged to become) the
        champion, and why (``decision.summary``).

    Examples
    --------
    >>> decision = track_churn(
    ...     ctx.paths, ctx.config, frame, result, comparison.table, figures, oracle
    ... )  # doctest: +SKIP
    >>> print(decision.summary)  # doctest: +SKIP
    """
    forget_run_model(paths, "churn")
    _, decision = track_and_gate(
        "churn",
        result.model,
        features=holdout_features(frame),
        params={"horizon_days": config.horizon_days, **vars(model_config(config))},
        metrics={**flat_metrics(result.metrics), **oracle},
        baseline_table=comparison,
        figures=figures,
        gate=sample_sized(GATE, float(config.models.get("calibration_bound", 0.02)), result),
        run_name=paths.run_id,
        tracking=run_tracking(paths, config),
    )
    return decision


def run_churn(paths: RunPaths, config: RunConfig, track: bool = True) -> ChurnOutcome:
    """Every step of notebook 03 in one call (the benchmarks' direct run and the tests);
    the notebook shows the same steps cell by cell. Untracked, the model is kept in the
    run folder for scoring (`keep_in_run`)."""
    frame = churn_frame(paths, config)
    result = train_binary_model(frame, TARGET, model_config(config))
    comparison = compare_to_baselines(result.model, frame, TARGET, churn_baselines(config))
    oracle = churn_oracle(config, frame, result)
    X = holdout_features(frame)
    outcome = ChurnOutcome(
        result=result,
        comparison=comparison.table,
        not_beaten=comparison.not_beaten,
        oracle=oracle,
        drivers=global_drivers(result.model, X),
        figures=binary_figures(result, X),
    )
    if track:
        outcome.decision = track_churn(
            paths, config, frame, result, comparison.table, outcome.figures, oracle
        )
    else:
        keep_in_run(paths, "churn", result.model)
    return outcome
