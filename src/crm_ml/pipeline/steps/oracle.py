"""The synthetic world's oracle, for evaluation only: how close a model gets to the ceiling.

Reads the generator's ground truth (allowed here: this is evaluation, not a feature or a
model) and pseudonymises its raw ids with the run's key so they join the holdout rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from crm_ml.contract import pseudonymise_ids
from crm_ml.models.evaluation import gap_closure, roc_auc


def has_oracle(raw_dir: Path) -> bool:
    return (raw_dir / "truth").is_dir()


def oracle_churn(
    raw_dir: Path, cutoff: pd.Timestamp, horizon_days: int, history_only: bool = False
) -> pd.DataFrame:
    """customer_id (pseudonym), p_churn_oracle at one cutoff.

    `history_only` picks the history oracle (purchase rate, dropout and event rate
    integrated over their priors) instead of the one that knows every latent trait.
    """
    from crm_ml.datasets.synthetic import (
        history_oracle_churn_probability,
        oracle_churn_probability,
    )

    compute = history_oracle_churn_probability if history_only else oracle_churn_probability
    oracle = compute(raw_dir, cutoff, horizon_days=horizon_days)
    return pd.DataFrame(
        {
            "customer_id": pseudonymise_ids(oracle["customer_id"].astype(str)).to_numpy(),
            "p_churn_oracle": oracle["p_no_order"].to_numpy(),
        }
    )


def churn_gap_closure(
    predictions: pd.DataFrame,
    holdout_rows: pd.DataFrame,
    raw_dir: Path,
    horizon_days: int,
    recency_column: str = "days_since_last_order",
) -> dict[str, float]:
    """AUC of model, recency rule and both oracles on the same holdout customers, and the
    gap closures (model - recency) / (oracle - recency).

    `history_oracle_*` is the target's measure: the ceiling given the observable history
    (an upper bound of it, see `history_oracle`). `oracle_*` is against the oracle that
    knows each customer's latent traits, a ceiling no model of the history can reach.
    """
    cutoff = pd.Timestamp(holdout_rows["cutoff"].iloc[0])
    latent = oracle_churn(raw_dir, cutoff, horizon_days)
    history = oracle_churn(raw_dir, cutoff, horizon_days, history_only=True)
    rows = holdout_rows[["customer_id", recency_column]].assign(
        y_pred=predictions["y_pred"].to_numpy(), y_true=predictions["y_true"].to_numpy()
    )
    joined = rows.merge(latent, on="customer_id", how="inner").merge(
        history, on="customer_id", how="inner", suffixes=("", "_history")
    )
    y = joined["y_true"].to_numpy()
    model_auc = roc_auc(y, joined["y_pred"])
    recency_auc = roc_auc(y, joined[recency_column].fillna(np.inf))
    oracle_auc = roc_auc(y, joined["p_churn_oracle"])
    history_auc = roc_auc(y, joined["p_churn_oracle_history"])
    return {
        "oracle_rows": float(len(joined)),
        "model_auc": model_auc,
        "recency_auc": recency_auc,
        "oracle_auc": oracle_auc,
        "oracle_gap_closure": gap_closure(model_auc, recency_auc, oracle_auc),
        "history_oracle_auc": history_auc,
        "history_oracle_gap_closure": gap_closure(model_auc, recency_auc, history_auc),
    }


def load_true_affinity(world_dir: str | Path, key: bytes | None = None) -> pd.DataFrame:
    """The synthetic world's true customer x category affinity, with pseudonymised ids.

    The generator writes raw customer ids under `<world>/truth/`; the contract loader
    pseudonymises them, so the truth is keyed the same way (same key) before joining.
    """
    path = Path(world_dir) / "truth" / "category_affinity.parquet"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no true affinities (is this a synthetic world?)")
    affinity = pd.read_parquet(path, columns=["customer_id", "category", "affinity"])
    affinity["customer_id"] = pseudonymise_ids(affinity["customer_id"].astype(str), key=key)
    return affinity
