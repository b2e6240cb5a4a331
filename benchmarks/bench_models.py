"""Benchmark: train churn on N customer snapshots, then score + reason codes for N customers.

    python benchmarks/bench_models.py --rows 1_000_000

Synthetic numeric features named like crm_ml.features columns (so the catalogue's reason
templates apply) plus noise columns; churn drawn from a known logistic model. Prints wall
time, rows/s and peak RSS per phase. Target (issue 5): scoring with reason codes at least
50,000 customers/s on 2 cores.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from crm_ml.models import BinaryModelConfig, LightGBMConfig, reason_codes, train_binary_model

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import cpu_seconds, peak_rss_gb, phase, write_json

TARGET_SCORE_ROWS_PER_S = 50_000


def synthetic_snapshots(rows: int, noise_features: int, seed: int) -> pd.DataFrame:
    """Customer x cutoff rows with a known churn mechanism and a time split."""
    rng = np.random.default_rng(seed)
    usual_gap = rng.gamma(2.0, 20.0, rows) + 3
    days_since = rng.exponential(usual_gap * 1.2)
    orders_365d = rng.poisson(365 / usual_gap)
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(rows).astype(str),
            "days_since_last_order": days_since.round(),
            "mean_days_between_orders": usual_gap.round(1),
            "days_since_last_order_vs_usual_gap": (days_since / usual_gap).round(2),
            "orders_365d": orders_365d.astype(float),
            "orders_90d": rng.binomial(orders_365d, 0.25).astype(float),
            "net_spend_365d": (orders_365d * rng.gamma(3, 20, rows)).round(2),
            "tenure_days": rng.integers(30, 2000, rows).astype(float),
            "complaints_unresolved": rng.poisson(0.1, rows).astype(float),
            "sessions_30d": rng.poisson(4, rows).astype(float),
            "last_nps": rng.integers(0, 11, rows).astype(float),
        }
    )
    for j in range(noise_features):
        frame[f"noise_{j:02d}"] = rng.normal(size=rows)
    logit = (
        -2.0
        + 2.5 * np.log1p(frame["days_since_last_order_vs_usual_gap"])
        - 0.15 * frame["orders_90d"]
        + 1.2 * frame["complaints_unresolved"]
        - 0.3 * np.log1p(frame["sessions_30d"])
        - 0.15 * (frame["last_nps"] - 7)
    )
    frame["label"] = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    frame["split"] = rng.choice(["train", "validation", "holdout"], rows, p=[0.7, 0.15, 0.15])
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=lambda s: int(s.replace("_", "")), default=100_000)
    parser.add_argument("--noise-features", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    start = time.perf_counter()
    frame = synthetic_snapshots(args.rows, args.noise_features, args.seed)
    print(
        f"data      {len(frame):>10,} rows x {frame.shape[1]} cols  "
        f"{time.perf_counter() - start:7.1f} s  peak RSS {peak_rss_gb():.2f} GB"
    )

    config = BinaryModelConfig(lightgbm=LightGBMConfig(num_threads=args.threads))
    start, cpu_start = time.perf_counter(), cpu_seconds()
    result = train_binary_model(frame, "label", config)
    seconds = time.perf_counter() - start
    train = phase(seconds, cpu_seconds() - cpu_start, len(frame), peak_rss_gb())
    holdout = result.metrics.loc["holdout"]
    print(
        f"train     {len(frame):>10,} rows  {seconds:7.1f} s  {len(frame) / seconds:>10,.0f} rows/s"
        f"  trees {result.model.best_iteration}  holdout AUC {holdout['roc_auc']:.4f}"
        f"  ECE {holdout['ece']:.4f}  peak RSS {peak_rss_gb():.2f} GB"
    )

    features = frame.drop(columns=["label", "split"])
    start, cpu_start = time.perf_counter(), cpu_seconds()
    reasons = reason_codes(
        result.model,
        features,
        batch_size=args.batch_size,
        num_threads=1,
        workers=args.threads,
        progress=False,
    )
    seconds = time.perf_counter() - start
    score = phase(seconds, cpu_seconds() - cpu_start, len(reasons), peak_rss_gb())
    print(
        f"score+why {len(reasons):>10,} rows  {seconds:7.1f} s  "
        f"{len(reasons) / seconds:>10,.0f} rows/s  peak RSS {peak_rss_gb():.2f} GB"
    )
    print("example:", " | ".join(reasons.iloc[0][["reason_1", "reason_2", "reason_3"]]))
    sample = features.iloc[: min(len(features), 20_000)]
    check = np.abs(reasons["score"].to_numpy()[: len(sample)] - result.model.predict(sample))
    print(f"max |score - model.predict| on {len(sample):,} rows: {check.max():.2e}")
    write_json(
        args.json,
        "models",
        {"rows": args.rows, "noise_features": args.noise_features, "threads": args.threads},
        phases={"train": train, "score_with_reasons": score},
        quality={
            "holdout_roc_auc": float(holdout["roc_auc"]),
            "holdout_ece": float(holdout["ece"]),
            "trees": float(result.model.best_iteration),
            "max_score_difference": float(check.max()),
        },
    )


if __name__ == "__main__":
    main()
