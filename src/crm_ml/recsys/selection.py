"""Which model to serve: search each model on a window before the cutoff, compare them all on
the test after it, serve the best with its searched settings.

The pipeline (notebook 06) and the benchmarks call this one function, so the served model of
a benchmark is chosen exactly as in a run.

Example::

    chosen = select_recommender(tables, cutoff="2024-10-01", horizon_days=30)
    chosen.comparison.loc[["popular", chosen.best_model], "recall@10"]
    engine = fit_engine(tables, as_of, chosen.serving)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from crm_ml.recsys.config import MODEL_NAMES, ModelName, RecsysConfig
from crm_ml.recsys.evaluation import compare_recommenders
from crm_ml.recsys.timestamps import utc_tables
from crm_ml.recsys.tuning import SearchResult, tune_models


@dataclass(frozen=True)
class Selection:
    """The comparison table, the best model, each model's search and the config to serve."""

    comparison: pd.DataFrame
    best_model: str
    searched: dict[str, SearchResult]
    serving: RecsysConfig


def select_recommender(
    tables: Mapping[str, pd.DataFrame],
    cutoff: pd.Timestamp | str,
    config: RecsysConfig | None = None,
    models: Sequence[ModelName] = MODEL_NAMES,
    *,
    horizon_days: int = 30,
    truth: pd.DataFrame | None = None,
    affinity: pd.DataFrame | None = None,
    segments: pd.Series | None = None,
) -> Selection:
    """Search every model before `cutoff`, compare them after it, pick the best by recall@10.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Accepted tables; only orders (customer_id, product_id, ts) are required.
    cutoff : Timestamp or str
        The search validates on a window ending here; the comparison tests after it.
    config : RecsysConfig, optional
        Settings; `search.enabled = False` compares the configured settings as they are.
    models : sequence of str
        Candidate models (EASE is left out, warned, above `model.ease_max_items`).
    horizon_days : int
        Test horizon after `cutoff` (unless `truth` is given).
    truth : DataFrame, optional
        customer_id, product_id pairs to test on (a per-customer split).
    affinity, segments : optional
        As in `compare_recommenders`.

    Returns
    -------
    Selection
        `comparison` (one row per model, baseline and "served:<best>"; columns such as
        recall@10), `best_model`, `searched` (each model's search) and `serving`: `config`
        with the best model's searched settings and interaction weighting, ready for
        `fit_engine` at the export date.

    Raises
    ------
    ValueError
        When none of `models` could be compared (none to select).

    Examples
    --------
    >>> from crm_ml.datasets.interaction_worlds import InteractionWorld, simulate_interactions
    >>> tables = simulate_interactions(InteractionWorld("tiny", customers=200, products=40,
    ...                                                 groups=4, history_days=180))
    >>> from crm_ml.recsys import RecsysConfig, SearchConfig
    >>> as_is = RecsysConfig(search=SearchConfig(enabled=False))   # no search: fast
    >>> chosen = select_recommender(tables, "2020-05-01", as_is, ("item_knn", "ease"),
    ...                             horizon_days=60)
    >>> chosen.comparison.index[:4].tolist()
    ['item_knn', 'ease', 'popular', 'buy_again']
    >>> f"served:{chosen.best_model}" in chosen.comparison.index
    True
    """
    config = config or RecsysConfig()
    tables = utc_tables(tables)
    searched = tune_models(tables, cutoff, config, models)
    comparison = compare_recommenders(
        tables,
        cutoff,
        horizon_days=horizon_days,
        config=config,
        models=models,
        affinity=affinity,
        segments=segments,
        model_configs={name: result.best for name, result in searched.items()},
        interaction_configs={
            name: result.interactions
            for name, result in searched.items()
            if result.interactions is not None
        },
        truth=truth,
    )
    served = [name for name in comparison.index if str(name).startswith("served:")]
    if not served:
        raise ValueError(f"no recommender to select among models {list(models)}")
    best = served[0].split(":", 1)[1]
    serving = searched[best].config(config) if best in searched else config.for_model(best)
    return Selection(comparison, best, searched, serving)
