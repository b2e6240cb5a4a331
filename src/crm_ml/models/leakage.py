"""Leakage canary: one feature alone should never explain the label almost perfectly.

A feature copied from the label, computed over the label horizon, or joined from the
future separates the validation rows by itself. We score each feature alone on the
validation rows - ROC-AUC (direction-free: max(AUC, 1 - AUC)) for binary labels, |Spearman|
for spend - and stop (or warn loudly) above the threshold. Categorical features are scored
through their training-row label means, so a high-cardinality id column is not flagged just
for memorising the validation rows.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from crm_ml.errors import CrmMlError
from crm_ml.models.config import LeakageConfig

log = logging.getLogger(__name__)


class LeakageError(CrmMlError, ValueError):
    """A feature predicts the label suspiciously well on its own."""


def _filled(matrix: np.ndarray) -> np.ndarray:
    """Missing values ranked below every observed value of their column."""
    out = matrix.copy()
    lowest = np.nanmin(np.where(np.isnan(out), np.inf, out), axis=0) - 1.0
    lowest[~np.isfinite(lowest)] = 0.0
    rows, cols = np.nonzero(np.isnan(out))
    out[rows, cols] = lowest[cols]
    return out


def _encode_categories(
    valid: np.ndarray, train: np.ndarray, y_train: np.ndarray, categorical: Sequence[int]
) -> np.ndarray:
    """Replace category codes by their training label mean (unseen -> overall mean)."""
    out = valid.copy()
    overall = float(np.mean(y_train))
    for j in categorical:
        frame = pd.DataFrame({"code": train[:, j], "y": y_train}).fillna({"code": -1.0})
        means = frame.groupby("code")["y"].mean()
        codes = pd.Series(valid[:, j]).fillna(-1.0)
        out[:, j] = codes.map(means).fillna(overall).to_numpy()
    return out


def single_feature_scores(
    valid: np.ndarray,
    y_valid: np.ndarray,
    feature_names: Sequence[str],
    task: str,
    train: np.ndarray | None = None,
    y_train: np.ndarray | None = None,
    categorical: Sequence[int] = (),
) -> pd.DataFrame:
    """Per feature: how well it alone orders the labels (feature, score), highest first."""
    matrix = valid
    if categorical:
        if train is None or y_train is None:
            raise ValueError("categorical features need the training rows to be encoded")
        matrix = _encode_categories(valid, train, y_train, categorical)
    ranks = rankdata(_filled(matrix), axis=0)
    y = np.asarray(y_valid, dtype=np.float64)
    if task == "binary":
        positive = y == 1
        n_pos, n_neg = int(positive.sum()), int((~positive).sum())
        if n_pos == 0 or n_neg == 0:
            raise ValueError("validation rows hold a single class; cannot check for leakage")
        auc = (ranks[positive].sum(axis=0) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
        score = np.maximum(auc, 1 - auc)
    else:
        label_ranks = rankdata(y)
        centred = ranks - ranks.mean(axis=0)
        label_centred = label_ranks - label_ranks.mean()
        denominator = np.sqrt((centred**2).sum(axis=0) * (label_centred**2).sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            score = np.abs(centred.T @ label_centred) / denominator
        score = np.nan_to_num(score, nan=0.0)
    table = pd.DataFrame({"feature": list(feature_names), "score": score})
    return table.sort_values("score", ascending=False, ignore_index=True)


def check_leakage(
    valid: np.ndarray,
    y_valid: np.ndarray,
    feature_names: Sequence[str],
    task: str,
    config: LeakageConfig,
    train: np.ndarray | None = None,
    y_train: np.ndarray | None = None,
    categorical: Sequence[int] = (),
) -> pd.DataFrame:
    """Score every feature alone; raise LeakageError (or log an error) above the threshold."""
    rng = np.random.default_rng(0)
    if len(y_valid) > config.max_rows:
        rows = np.sort(rng.choice(len(y_valid), config.max_rows, replace=False))
        valid, y_valid = valid[rows], np.asarray(y_valid)[rows]
    table = single_feature_scores(valid, y_valid, feature_names, task, train, y_train, categorical)
    threshold = config.auc_threshold if task == "binary" else config.spearman_threshold
    measure = "ROC-AUC" if task == "binary" else "|Spearman|"
    table["suspect"] = table["score"] >= threshold
    suspects = table[table["suspect"]]
    if not suspects.empty:
        listed = ", ".join(f"{r.feature} ({measure} {r.score:.3f})" for r in suspects.itertuples())
        message = (
            f"LEAKAGE CANARY: feature(s) alone predict the label on validation rows: {listed}. "
            f"Threshold {threshold}. Such a feature is almost surely computed from the label "
            "or from data after the cutoff; remove it (exclude_columns) or fix its definition."
        )
        if config.action == "raise":
            raise LeakageError(message)
        log.error(message)
    return table
