"""Benchmark: contract churn on the default b2b, finance and subscription worlds.

Issue #20: per world, the steps of notebook 03_churn_contracts exactly as `crm-ml run`
calls them (`crm_ml.pipeline.steps.contract_churn`, the run configuration's defaults): the
contract frame at the plan's cutoffs, LightGBM on the temporal split, and on the same
holdout rows the survival baselines fitted on the training rows (a days-to-renewal rule,
sBG and Kaplan-Meier by plan) and the generator's history oracle (the exact posterior
given the observable history). Targets on b2b and finance: gap closure from the rule to
the oracle >= 0.85, ECE < 0.02 and a higher AUC than every baseline; the subscription
world is reported beside them.

    .venv/bin/python benchmarks/bench_contracts.py --json contracts.json
    .venv/bin/python benchmarks/bench_contracts.py --worlds b2b --customers 2000
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_quality import use_sandbox
from harness import peak_rss_gb, write_json

PROJECT = Path(__file__).resolve().parents[1]
# world -> run configuration and the overrides that make it (subscription has no config of
# its own: the retail configuration with the month-to-month profile)
WORLDS = {
    "b2b": ("configs/b2b.yaml", {}),
    "finance": ("configs/finance.yaml", {}),
    "subscription": ("configs/retail.yaml", {"data.synthetic.industry": "subscription"}),
}
JUDGED = ("b2b", "finance")  # the acceptance worlds
TARGET_CLOSURE, TARGET_ECE = 0.85, 0.02


def run_world(name: str, customers: int | None) -> dict[str, Any]:
    """Notebook 03_churn_contracts' steps on one world; its figures."""
    from crm_ml.pipeline import RunPaths, load_config
    from crm_ml.pipeline.data import ensure_accepted, raw_source_dir
    from crm_ml.pipeline.steps.contract_churn import (
        TARGET,
        compare_contract_model,
        contract_frame,
        train_contract_model,
    )

    config_file, overrides = WORLDS[name]
    if customers:
        overrides = {**overrides, "data.synthetic.customers": customers}
    config = load_config(PROJECT / config_file, overrides)
    raw_source_dir(config)  # generate outside the timing
    paths = RunPaths.for_run(f"bench-contracts-{name}").ensure()
    ensure_accepted(paths, config)
    started = time.perf_counter()
    frame = contract_frame(paths, config)
    built = time.perf_counter()
    result = train_contract_model(frame, config)
    trained = time.perf_counter()
    comparison = compare_contract_model(result, frame, config)
    table = comparison.table.set_index("model")
    split = frame["split"].astype(str)
    return {
        "customers": int(config.data.synthetic.customers),
        "rows": {s: int((split == s).sum()) for s in ("train", "validation", "holdout")},
        "holdout_churn_rate": float(frame.loc[split == "holdout", TARGET].mean()),
        "roc_auc": {m: float(v) for m, v in table["roc_auc"].items()},
        "ece": {m: float(v) for m, v in table["ece"].items()},
        "closure": comparison.metrics.get("history_oracle_gap_closure"),
        "account_category_roc_auc": {
            k.removeprefix("account_category_roc_auc_"): v
            for k, v in comparison.metrics.items()
            if k.startswith("account_category_roc_auc_")
        },
        "frame_seconds": built - started,
        "train_seconds": trained - built,
    }


def judge(name: str, world: dict[str, Any]) -> dict[str, bool]:
    """The issue's three targets on one world."""
    auc = world["roc_auc"]
    baselines = [m for m in auc if m not in ("model", "history_oracle")]
    return {
        "closure": world["closure"] is not None and world["closure"] >= TARGET_CLOSURE,
        "ece": world["ece"]["model"] < TARGET_ECE,
        "beats_baselines": all(auc["model"] > auc[b] for b in baselines),
    }


def print_world(name: str, world: dict[str, Any], met: dict[str, bool]) -> None:
    auc = "  ".join(f"{m} {v:.4f}" for m, v in world["roc_auc"].items())
    closure = "n/a" if world["closure"] is None else f"{world['closure']:.3f}"
    print(
        f"{name} ({world['customers']:,} customers, {world['rows']['holdout']:,} holdout "
        f"contracts, {world['holdout_churn_rate']:.1%} churn): ROC AUC {auc}\n"
        f"  gap closure to the history oracle {closure} (target >= {TARGET_CLOSURE}), "
        f"ECE {world['ece']['model']:.4f} (target < {TARGET_ECE}), targets met: "
        f"{', '.join(k for k, v in met.items() if v) or 'none'}"
        f"{'' if name in JUDGED else ' (reported, not judged)'}; frame "
        f"{world['frame_seconds']:.0f} s, training {world['train_seconds']:.0f} s"
        + (
            "\n  account leaves a product category, ROC AUC: "
            + "  ".join(f"{m} {v:.4f}" for m, v in world["account_category_roc_auc"].items())
            if world["account_category_roc_auc"]
            else ""
        ),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", default=",".join(WORLDS), help="comma-separated worlds")
    parser.add_argument(
        "--customers", type=int, default=None, help="default: each configuration's own"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--keep-root", action="store_true", help="keep the sandbox project")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    names = [n.strip() for n in args.worlds.split(",") if n.strip()]
    unknown = set(names) - set(WORLDS)
    if unknown:
        parser.error(f"unknown world(s) {sorted(unknown)}; choose from {list(WORLDS)}")
    use_sandbox(args.keep_root)
    worlds = {}
    for name in names:
        worlds[name] = run_world(name, args.customers)
        worlds[name]["met"] = judge(name, worlds[name])
        print_world(name, worlds[name], worlds[name]["met"])
    print(f"peak RSS {peak_rss_gb():.2f} GB")
    write_json(
        args.json,
        "contracts",
        {"customers": args.customers, "worlds": names},
        worlds=worlds,
        judged=[n for n in JUDGED if n in worlds],
    )


if __name__ == "__main__":
    main()
