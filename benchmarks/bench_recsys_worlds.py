"""Benchmark: recommenders on interaction worlds of different time scales, through the
package's own data flow with its defaults.

Issue #17: on public multi-year data the package's defaults (a 180-day decay, a 30-day
validation window) made ALS no better than popularity and item-kNN a sixth of it, silently.
This battery judges the defaults on worlds whose time scales differ by two orders of
magnitude (crm_ml.datasets.interaction_worlds, seeded), plus the synthetic retail world:

- grocery_2m: weekly baskets of staples, two months of history, a 14-day test;
- grocery_5y: the same shopping over five years, customers come and go, a 28-day test;
- electronics_5y: one or two purchases a year over five years, orders alone (no product or
  customer columns), a 180-day test;
- electronics_5y_per_customer: customers active for a while at some point of five years,
  each judged on their own last 20% of purchases (a per-customer temporal split);
- retail: crm_ml.datasets.synthetic.generate_world (small), loaded through the contract,
  tested as the pipeline does (the 30 days after the holdout cutoff).

Per world, everything runs as notebook 06 does: `select_recommender` searches every model
(ALS, BPR, item-kNN, EASE) on a validation window before the cutoff, compares them with
popularity and buy-again on the test and serves the best through the business rules
(`served`). Default settings throughout, except two that only make figures repeat run to run:
the search's time budget, raised so that the trial count (8 per model) alone bounds the
search, and one thread per model (BPR's parallel updates race, so its figures wobble by
~1e-3 between runs on several threads).

    .venv/bin/python benchmarks/bench_recsys_worlds.py --json worlds.json
    .venv/bin/python benchmarks/bench_recsys_worlds.py --worlds grocery_2m,retail
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import cpu_seconds, write_json

TARGET_VS_POPULAR = 1.5
METRICS = ("recall@10", "ndcg@10")
RETAIL = "retail"
RETAIL_HORIZON_DAYS = 30  # the pipeline's eval_horizon_days
SEARCH_BUDGET_SECONDS = 3600.0  # the trial count bounds the search, not the clock
log = logging.getLogger("bench_recsys_worlds")


@dataclass(frozen=True)
class WorldCase:
    """One world as the flow sees it: tables, the cutoff, and the test."""

    name: str
    tables: dict[str, pd.DataFrame]
    cutoff: pd.Timestamp
    split: str
    horizon_days: int
    truth: pd.DataFrame | None
    history_days: float


def simulated_case(name: str) -> WorldCase:
    from crm_ml.datasets.interaction_worlds import WORLDS, simulate_interactions
    from crm_ml.recsys import split_last_purchases

    world = WORLDS[name]
    tables = simulate_interactions(world)
    if world.split == "last_per_customer":
        split = split_last_purchases(tables, world.holdout_share)
        return WorldCase(
            name, split.train, split.cutoff, world.split, 0, split.truth, world.history_days
        )
    cutoff = world.as_of - pd.Timedelta(days=world.horizon_days)
    return WorldCase(
        name, tables, cutoff, world.split, world.horizon_days, None, world.history_days
    )


def retail_case(customers: int, folder: Path) -> WorldCase:
    from crm_ml.contract import load_tables
    from crm_ml.datasets.synthetic import generate_world

    world = generate_world(folder, customers=customers, months=24, show_progress=False)
    tables = load_tables(world.out_dir, quarantine_dir=None, progress=False, key=b"bench").tables
    cutoff = world.default_cutoffs[-1]  # the pipeline's holdout cutoff
    history = (cutoff - tables["orders"]["ts"].min()) / pd.Timedelta(days=1)
    return WorldCase(RETAIL, tables, cutoff, "time", RETAIL_HORIZON_DAYS, None, float(history))


class _Collect(logging.Handler):
    """Keeps the warnings the package logs while one world runs."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def run_world(case: WorldCase) -> dict[str, Any]:
    """The default flow on one world; every figure read from its comparison table."""
    from crm_ml.recsys import (
        MODEL_NAMES,
        ModelConfig,
        RecsysConfig,
        SearchConfig,
        select_recommender,
    )

    config = RecsysConfig(
        model=ModelConfig(num_threads=1),
        search=SearchConfig(time_budget_seconds=SEARCH_BUDGET_SECONDS),
    )
    collect = _Collect()
    logging.getLogger("crm_ml").addHandler(collect)
    started, cpu_start = time.perf_counter(), cpu_seconds()
    try:
        chosen = select_recommender(
            case.tables,
            case.cutoff,
            config,
            MODEL_NAMES,
            horizon_days=case.horizon_days or 30,
            truth=case.truth,
        )
    finally:
        logging.getLogger("crm_ml").removeHandler(collect)
    table = chosen.comparison
    served = f"served:{chosen.best_model}"
    rows = [m for m in MODEL_NAMES if m in table.index]
    names = {"popular": "popular", **{m: m for m in rows}, "buy_again": "buy_again"}
    names["served"] = served
    figures = {
        metric: {label: float(table.loc[row, metric]) for label, row in names.items()}
        for metric in METRICS
    }
    popular = figures["recall@10"]["popular"]
    orders = case.tables["orders"]
    return {
        "split": case.split,
        "horizon_days": case.horizon_days,
        "history_days": round(case.history_days, 1),
        "customers": int(orders["customer_id"].nunique()),
        "products": int(orders["product_id"].nunique()),
        "order_lines": len(orders),
        "test_customers": int(table["n_test_customers"].iloc[0]),
        "best_model": chosen.best_model,
        **figures,
        "served_vs_popular": figures["recall@10"]["served"] / popular if popular else np.inf,
        "models_not_above_popular": [m for m in rows if figures["recall@10"][m] <= popular],
        "search": {
            name: {
                "validation": result.validation,
                "validation_days": result.validation_days,
                "validation_customers": result.validation_customers,
                "validation_recall": result.best_score,
                "validation_popularity_recall": result.popularity_score,
                "half_life": result.interactions.describe_decay()
                if result.interactions
                else "none",
                "trials": len(result.trials),
            }
            for name, result in chosen.searched.items()
        },
        "warnings": collect.messages,
        "wall_s": time.perf_counter() - started,
        "cpu_s": cpu_seconds() - cpu_start,
    }


def _validation(search: dict[str, Any]) -> str:
    if search["validation"] == "window":
        return f"{search['validation_days']}d"
    return "last purchases"


def print_table(results: dict[str, dict[str, Any]]) -> None:
    models = [
        m
        for m in ("als", "bpr", "item_knn", "ease")
        if any(m in r["recall@10"] for r in results.values())
    ]
    columns = ["popular", *models, "buy_again", "served"]
    for metric in METRICS:
        header = f"{'world':<30}" + "".join(f"{c:>10}" for c in columns)
        print(f"\n{metric}\n{header}{'best':>10}{'ratio':>8}")
        for name, r in results.items():
            values = "".join(f"{r[metric].get(c, float('nan')):>10.4f}" for c in columns)
            print(f"{name:<30}{values}{r['best_model']:>10}{r['served_vs_popular']:>8.2f}")
    print("\nsearch (validation: window days or last purchases / customers; chosen decay):")
    for name, r in results.items():
        parts = [
            f"{m} {_validation(s)}/{s['validation_customers']} {s['half_life']}"
            for m, s in r["search"].items()
        ]
        print(f"  {name}: " + "; ".join(parts))
    for name, r in results.items():
        for message in r["warnings"]:
            print(f"  warning [{name}]: {message}")


def main() -> None:
    from crm_ml.datasets.interaction_worlds import WORLDS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--worlds",
        default=",".join([*WORLDS, RETAIL]),
        help="comma-separated world names (default: all)",
    )
    parser.add_argument("--retail-customers", type=int, default=5_000)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    os.environ.setdefault("TQDM_DISABLE", "1")  # the search's progress bar, per world
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    names = [n.strip() for n in args.worlds.split(",") if n.strip()]
    unknown = set(names) - {*WORLDS, RETAIL}
    if unknown:
        parser.error(f"unknown world(s) {sorted(unknown)}; choose from {[*WORLDS, RETAIL]}")
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="crm_ml_worlds_") as tmp:
        for name in names:
            started = time.perf_counter()
            case = (
                retail_case(args.retail_customers, Path(tmp) / RETAIL)
                if name == RETAIL
                else simulated_case(name)
            )
            results[name] = run_world(case)
            print(
                f"{name}: served {results[name]['best_model']} "
                f"{results[name]['served_vs_popular']:.2f}x popularity "
                f"({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
    print_table(results)
    ratios = [r["served_vs_popular"] for r in results.values()]
    met = [name for name, r in results.items() if r["served_vs_popular"] >= TARGET_VS_POPULAR]
    print(
        f"\nserved / popularity recall@10: min {min(ratios):.2f} "
        f"(target >= {TARGET_VS_POPULAR}; met on {len(met)} of {len(results)} worlds)"
    )
    write_json(
        args.json,
        "recsys_worlds",
        {
            "worlds": names,
            "retail_customers": args.retail_customers,
            "search_time_budget_s": SEARCH_BUDGET_SECONDS,
            "model_threads": 1,
        },
        worlds=results,
        summary={
            "target_served_vs_popular": TARGET_VS_POPULAR,
            "min_served_vs_popular": min(ratios),
            "worlds_meeting_target": met,
        },
    )


if __name__ == "__main__":
    main()
