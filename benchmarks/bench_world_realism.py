"""Benchmark: how believable a synthetic world is, for the profiles and candidate priors.

    python benchmarks/bench_world_realism.py --json realism.json     # the battery
    python benchmarks/bench_world_realism.py --set dropout_a=0.5 --set dropout_b=30

Prints, per world, the figures a retailer would check against their own: core-tier churn
per 90 days (the scorecard KPI: top 20% of last-year spenders without a purchase in the
next 90 days), churn of all last-year buyers, the one-year repeat rate (share of customers
who buy again within 365 days of their first order), orders per active customer per year
and NPS. Issue 21 asks for core-tier churn between 5% and 25% on the default world.

The figures are read from the export alone (orders, surveys) at the last default cutoff,
as the pipeline would see them. The battery (no `--set`) measures the default retail world
(20,000 customers, seed 42), two more retail seeds and the other profiles; `--set` compares
one world of the profile with the same world under candidate priors (the calibration aid).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import write_json

from crm_ml.datasets.synthetic import generate_world
from crm_ml.datasets.synthetic.profiles import get_profile
from crm_ml.features.config import FeatureConfig

CORE_SHARE = FeatureConfig().core_tier_share  # the service tier's own default
HORIZON = pd.Timedelta(days=90)
# (industry, customers, seed); the first is the default world of `make run`
BATTERY = (
    ("retail", 20_000, 42),
    ("retail", 10_000, 7),
    ("retail", 10_000, 11),
    ("finance", 10_000, 42),
    ("b2b", 10_000, 42),
)
YEAR = pd.Timedelta(days=365)


def realism_figures(world: Path) -> dict[str, float]:
    """Core-tier churn, active churn, repeat rate, orders per active year and NPS."""
    cutoff = pd.Timestamp(json.loads((world / "manifest.json").read_text())["default_cutoffs"][-1])
    lines = pd.read_parquet(world / "orders.parquet")
    lines = lines[lines["quantity"] > 0]
    orders = lines.groupby(["customer_id", "order_id"], as_index=False).agg(
        ts=("ts", "min"), amount=("amount", "sum")
    )
    orders["ts"] = pd.to_datetime(orders["ts"], utc=True)
    last_year = orders[(orders["ts"] < cutoff) & (orders["ts"] >= cutoff - YEAR)]
    spend = last_year.groupby("customer_id")["amount"].sum()
    core = spend.index[spend.rank(pct=True) >= 1 - CORE_SHARE]
    horizon = orders[(orders["ts"] >= cutoff) & (orders["ts"] < cutoff + HORIZON)]
    bought = spend.index.isin(horizon["customer_id"])
    first = orders.groupby("customer_id")["ts"].transform("min")
    early = orders[first < cutoff - YEAR]
    again = early[(early["ts"] > first[early.index]) & (early["ts"] <= first[early.index] + YEAR)]
    scores = pd.read_parquet(world / "surveys.parquet")["nps"].astype(float)
    return {
        "core_churn_90d": float(1 - pd.Series(bought, spend.index)[core].mean()),
        "active_churn_90d": float(1 - bought.mean()),
        "repeat_rate_1y": again["customer_id"].nunique() / early["customer_id"].nunique(),
        "orders_per_active_year": len(last_year) / len(spend),
        "nps": 100 * float((scores >= 9).mean() - (scores <= 6).mean()),
    }


def parse_overrides(pairs: list[str]) -> dict[str, float]:
    out = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        out[key.strip()] = float(value)
    return out


def world_figures(industry: str, customers: int, seed: int, **overrides: float) -> dict:
    """`realism_figures` of a freshly generated world of the profile (with overrides)."""
    profile = get_profile(industry).with_overrides(**overrides)
    with tempfile.TemporaryDirectory() as folder:
        generate_world(Path(folder), customers, industry=profile, seed=seed, show_progress=False)
        return realism_figures(Path(folder))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000, help="with --set")
    parser.add_argument("--industry", default="retail", help="with --set")
    parser.add_argument("--seed", type=int, default=7, help="with --set")
    parser.add_argument("--set", action="append", default=[], help="profile field=value")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.set:
        world = (args.industry, args.customers, args.seed)
        rows = {
            "profile": world_figures(*world),
            "with --set": world_figures(*world, **parse_overrides(args.set)),
        }
        print(pd.DataFrame(rows).round(3).to_string())
        return 0
    worlds = {}
    for industry, customers, seed in BATTERY:
        figures = world_figures(industry, customers, seed)
        worlds[f"{industry}-{customers}-s{seed}"] = {
            "industry": industry,
            "customers": customers,
            "seed": seed,
            "default": (industry, customers, seed) == BATTERY[0],
            **figures,
        }
    print(pd.DataFrame(worlds).to_string())
    write_json(args.json, "world_realism", {"core_share": CORE_SHARE}, worlds=worlds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
