"""Cross-fitting: every row trains, every row is scored out of fold, nothing is set aside.

A plain table of a few thousand rows cannot spare 15% for early stopping and another 15%
for calibration: the stopping point and the calibrator would rest on a few dozen positives.
Here the table is cut into k folds (stratified on the label, grouped by customer when a
customer has several rows). Each fold's booster trains on the other folds and records its
validation loss after every round; the number of rounds is the minimum of the *mean*
curve, so it is chosen by all rows at once. The out-of-fold margins at that number of
rounds are what the blend and the calibrator are fitted on; the caller then refits one
booster on every row for that many rounds.

Folds train in parallel threads, one LightGBM thread each, so results do not depend on the
number of cores. `lightgbm.cv` would do the same sequentially.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from crm_ml.errors import CrmMlError

log = logging.getLogger(__name__)

Fold = tuple[np.ndarray, np.ndarray]  # (training rows, validation rows) as positions


class TooFewRowsError(CrmMlError, ValueError):
    """The table has too few rows of a class to cross-validate; the message says how many."""


def make_folds(
    y: np.ndarray,
    n_folds: int,
    seed: int,
    groups: np.ndarray | None = None,
    min_minority_per_fold: int = 5,
    stratify: bool = True,
) -> list[Fold]:
    """Seeded, stratified (binary labels) folds, grouped when `groups` repeat.

    Fewer folds are used, with a warning, when the rarer class cannot give every fold
    `min_minority_per_fold` rows (down to one row per fold on a tiny table); a class with
    fewer than two rows is an error.
    """
    n = len(y)
    if stratify:
        minority = int(min(np.sum(y == 1), np.sum(y == 0)))
        if minority < 2:
            raise TooFewRowsError(
                f"the label has {minority} row(s) of its rarer class; cross-fitting needs "
                f"at least 2 (and {2 * min_minority_per_fold} to be trusted)"
            )
        possible = max(minority // min_minority_per_fold, 2)
        if possible < n_folds:
            log.warning(
                "only %d rows of the rarer class: %d folds instead of %d%s",
                minority,
                possible,
                n_folds,
                "; a model fitted on so few rows is not to be trusted"
                if minority < 2 * min_minority_per_fold
                else "",
            )
            n_folds = possible
        strata = y.astype(int)
    else:
        strata = np.zeros(n, dtype=int)
        n_folds = min(n_folds, n // 2)
        if n_folds < 2:
            raise TooFewRowsError(f"{n} rows: too few to cross-validate")
    index = np.zeros(n)
    if groups is not None and len(np.unique(groups)) < n:
        splitter = StratifiedGroupKFold(n_folds, shuffle=True, random_state=seed)
        return list(splitter.split(index, strata, groups))
    if stratify:
        return list(StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(index, strata))
    rng = np.random.default_rng(seed)
    assignment = rng.permutation(np.arange(n) % n_folds)
    return [
        (np.flatnonzero(assignment != k), np.flatnonzero(assignment == k)) for k in range(n_folds)
    ]


@dataclass(frozen=True)
class CrossFit:
    """What cross-fitting one parameter set gives.

    rounds: boosting rounds chosen by the mean validation curve; margin: out-of-fold raw
    margin of every row at `rounds`; loss: mean validation loss at `rounds` (the search's
    objective); curve: the mean validation loss after each round.
    """

    params: dict[str, Any]
    rounds: int
    margin: np.ndarray
    loss: float
    curve: np.ndarray


def _fold_datasets(
    dataset: lgb.Dataset, folds: Sequence[Fold]
) -> list[tuple[lgb.Dataset, lgb.Dataset]]:
    """Subsets of one binned dataset (bins are found once, from features only)."""
    out = []
    for train_rows, valid_rows in folds:
        train = dataset.subset(np.sort(train_rows)).construct()
        valid = dataset.subset(np.sort(valid_rows)).construct()
        out.append((train, valid))
    return out


def cross_fit_booster(
    dataset: lgb.Dataset,
    matrix: np.ndarray,
    folds: Sequence[Fold],
    params: dict[str, Any],
    num_boost_round: int,
    early_stopping_rounds: int,
    workers: int | None = None,
) -> CrossFit:
    """Train one booster per fold (early stopping on its validation fold), choose the number
    of rounds on the mean curve, return the out-of-fold margins at that number.

    `dataset` is the whole table's constructed `lgb.Dataset` with the label; its first
    metric (params["metric"]) must be a loss (lower is better).
    """
    fold_params = {**params, "num_threads": 1, "first_metric_only": True}
    pairs = _fold_datasets(dataset, folds)

    def train(pair: tuple[lgb.Dataset, lgb.Dataset]) -> tuple[lgb.Booster, list[float]]:
        record: dict[str, Any] = {}
        booster = lgb.train(
            fold_params,
            pair[0],
            num_boost_round=num_boost_round,
            valid_sets=[pair[1]],
            valid_names=["fold"],
            callbacks=[
                lgb.early_stopping(early_stopping_rounds, verbose=False),
                lgb.record_evaluation(record),
            ],
        )
        values = next(iter(record["fold"].values()))
        return booster, list(values)

    workers = workers or min(len(folds), os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        trained = list(pool.map(train, pairs))
    length = max(len(curve) for _, curve in trained)
    # a fold that stopped early keeps its last loss for the rounds it did not train
    padded = np.array([curve + [curve[-1]] * (length - len(curve)) for _, curve in trained])
    mean_curve = padded.mean(axis=0)
    rounds = int(np.argmin(mean_curve)) + 1
    margin = np.empty(len(matrix))
    for (booster, _), (_, valid_rows) in zip(trained, folds, strict=True):
        used = min(rounds, booster.current_iteration())
        margin[valid_rows] = booster.predict(matrix[valid_rows], raw_score=True, num_iteration=used)
    return CrossFit(params, rounds, margin, float(mean_curve[rounds - 1]), mean_curve)
