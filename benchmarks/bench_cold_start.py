"""Benchmark: cold-start products, the attribute model against the lists without a model.

    .venv/bin/python benchmarks/bench_cold_start.py --json cold_start.json

On synthetic retail worlds (the default 20,000 customers and seed 42, and two more seeds
at 10,000), a quarter of the catalogue launches during the second year. At a cutoff 180
days before the end of the history, `crm_ml.recsys.cold_start.cold_start_evaluation`
ranks the products launched in the 180 days after it for every customer known at the
cutoff and judges the lists on what they bought: recall@10 and ndcg@10 of the attribute
model (category, subcategory, price band) beside the new products by category popularity,
by days on sale and, as a ceiling for any list that is the same for everyone, by their
purchases in the horizon (hindsight). Issue 21: the model must beat the newest products
ranked by popularity.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import write_json

from crm_ml.datasets.synthetic import generate_world
from crm_ml.recsys.cold_start import cold_start_evaluation

WORLDS = ((20_000, 42), (10_000, 7), (10_000, 11))  # (customers, seed); the first is the default
HORIZON_DAYS = 180
TABLES = ("orders", "customers", "products", "events")


def evaluate_world(customers: int, seed: int) -> dict:
    """The evaluation table of one generated retail world, as plain figures."""
    with tempfile.TemporaryDirectory() as folder:
        world = generate_world(Path(folder), customers, seed=seed, show_progress=False).out_dir
        as_of = pd.Timestamp(json.loads((world / "manifest.json").read_text())["as_of"])
        tables = {t: pd.read_parquet(world / f"{t}.parquet") for t in TABLES}
    cutoff = as_of - pd.Timedelta(days=HORIZON_DAYS)
    started = time.perf_counter()
    table = cold_start_evaluation(tables, cutoff, horizon_days=HORIZON_DAYS)
    return {
        "customers": customers,
        "seed": seed,
        "default": (customers, seed) == WORLDS[0],
        "cutoff": str(cutoff.date()),
        "judged_customers": int(table.attrs["customers"]),
        "new_products": int(table.attrs["new_products"]),
        "seconds": time.perf_counter() - started,
        **{metric: table[metric].to_dict() for metric in table.columns},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    worlds = {}
    for customers, seed in WORLDS:
        figures = evaluate_world(customers, seed)
        worlds[f"retail-{customers}-s{seed}"] = figures
        print(
            f"retail {customers:,} customers, seed {seed}: {figures['new_products']} new "
            f"products, {figures['judged_customers']:,} buyers of them"
        )
        print(pd.DataFrame({m: figures[m] for m in ("recall@10", "ndcg@10")}).round(4))
    write_json(args.json, "cold_start", {"horizon_days": HORIZON_DAYS}, worlds=worlds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
