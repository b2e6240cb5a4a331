"""Benchmark: model quality of one pipeline run against baselines, the oracle and the literature.

Calls the pipeline steps directly (as bench_pipeline.py's direct run does) on the synthetic
world and reads every figure from the steps' outcome objects:

- CDNOW: BG/NBD parameters r, alpha, a, b (calibration weeks 1-39 of the 1/10 sample) against
  Fader, Hardie & Lee (2005); per-customer holdout (weeks 40-78) MAE, LightGBM vs BG/NBD;
- churn: ROC-AUC of the model, its baselines and the oracle; gap closure; ECE;
- recommendations: recall@10 of the best model, popularity, buy-again and the oracle;
- uplift: Qini of the learner against random targeting; with several treatments, the
  chosen-per-customer policy's net value against the best single treatment and the oracle;
- CLV: MAE of the spend model against BG/NBD + Gamma-Gamma; the share of holdout buyers
  inside their 80% range.

Runs in a sandbox project root (its own MLflow store, reports and scores), so the user's
store and reports/latest stay untouched.

    .venv/bin/python benchmarks/bench_quality.py --customers 20000 --json quality.json
"""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import cpu_seconds, peak_rss_gb, sandbox_project, write_json

from crm_ml.notebooks import Notebook

CONFIG = "configs/retail.yaml"
# Fader, Hardie & Lee (2005), "'Counting Your Customers' the Easy Way: An Alternative to the
# Pareto/NBD Model", Marketing Science 24(2):275-284, BG/NBD on the CDNOW 1/10 sample.
CDNOW_CITATION = (
    "Fader, Hardie & Lee (2005), Counting Your Customers the Easy Way, "
    "Marketing Science 24(2):275-284"
)
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
log = logging.getLogger("bench_quality")


@dataclass
class DirectRun:
    """What the steps returned and how long each took."""

    outcomes: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    cpu_seconds: float = 0.0

    @property
    def total_seconds(self) -> float:
        return float(sum(self.seconds.values()))


# the step(s) each numbered notebook runs, in order
NOTEBOOK_STEPS = (
    (Notebook.DATA_QUALITY, ("validate",)),
    (Notebook.FEATURES_SEGMENTS, ("segments",)),
    (Notebook.CHURN, ("churn",)),
    (Notebook.PROPENSITY_UPLIFT, ("propensity",)),
    (Notebook.CLV, ("clv", "cdnow")),
    (Notebook.RECOMMENDATIONS, ("recommendations",)),
    (Notebook.SCORING, ("scoring",)),
    (Notebook.REPORT, ("reports",)),
)


def run_direct(
    customers: int, run_id: str, pipeline_equivalent: bool, notebooks: int | None = None
) -> DirectRun:
    """The steps of notebooks 01-08 called in order without Papermill.

    `pipeline_equivalent`: also track in MLflow, score and build the reports, i.e. exactly the
    work `crm-ml run` does (the fair peer of the pipeline); otherwise only the steps whose
    outcomes the quality figures read, without tracking. `notebooks`: only the steps of the
    first n notebooks (a short smoke run).
    """
    from crm_ml.pipeline import RunPaths, load_config
    from crm_ml.pipeline.data import ensure_accepted
    from crm_ml.pipeline.steps.churn import run_churn
    from crm_ml.pipeline.steps.clv import run_cdnow_clv, run_clv
    from crm_ml.pipeline.steps.propensity import run_propensity
    from crm_ml.pipeline.steps.recommend import run_recommendations
    from crm_ml.pipeline.steps.segments import run_segments

    config = load_config(CONFIG, {"data.synthetic.customers": customers})
    paths = RunPaths.for_run(run_id).ensure()
    track = pipeline_equivalent
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("validate", lambda: ensure_accepted(paths, config)),
        ("segments", lambda: run_segments(paths, config)),
        ("churn", lambda: run_churn(paths, config, track=track)),
        ("propensity", lambda: run_propensity(paths, config, track=track)),
        ("clv", lambda: run_clv(paths, config, track=track)),
        ("cdnow", run_cdnow_clv),
        ("recommendations", lambda: run_recommendations(paths, config, track=track)),
    ]
    if pipeline_equivalent:
        from crm_ml.pipeline.steps.scoring import run_scoring
        from crm_ml.reports.run import build_run_reports

        steps += [
            ("scoring", lambda: run_scoring(paths, config)),
            ("reports", lambda: build_run_reports(paths, config, screenshot=True)),
        ]
    if notebooks is not None:
        wanted = {step for _, names in NOTEBOOK_STEPS[:notebooks] for step in names}
        steps = [(name, step) for name, step in steps if name in wanted]
    run = DirectRun()
    cpu_start = cpu_seconds()
    for name, step in steps:
        started = time.perf_counter()
        run.outcomes[name] = step()
        run.seconds[name] = time.perf_counter() - started
        log.info("%-16s %7.1f s", name, run.seconds[name])
    run.cpu_seconds = cpu_seconds() - cpu_start
    return run


# ---------------------------------------------------------------- figures from the outcomes


def cdnow_bgnbd_parameters() -> dict[str, float]:
    """Maximum-likelihood BG/NBD (no penalty, as in the paper) on CDNOW calibration weeks
    1-39, fitted by the project's BG/NBD baseline on the project's calibration summary."""
    from crm_ml.datasets.cdnow import cdnow_calibration_holdout, load_cdnow
    from crm_ml.models import BgNbdBaseline

    summary = cdnow_calibration_holdout(load_cdnow(sample=True)["orders"])
    inputs = summary.rename(
        columns={"frequency_cal": "frequency", "recency_cal": "recency", "T_cal": "T"}
    )[["frequency", "recency", "T"]].reset_index(drop=True)
    baseline = BgNbdBaseline(
        target="transactions",
        columns=None,
        horizon_days=39 * 7.0,
        time_unit_days=7.0,
        penalizer=0.0,
    )
    baseline.predict(inputs)
    (fitted,) = baseline.fitted.values()
    return {name: float(fitted[name]) for name in PUBLISHED_BGNBD}


def _records(table: pd.DataFrame, index: str, columns: list[str]) -> dict[str, dict[str, float]]:
    """{row name: {column: value}} of the numeric columns that exist."""
    frame = table.reset_index() if index not in table.columns else table
    present = [c for c in columns if c in frame.columns]
    return {
        str(row[index]): {c: float(row[c]) for c in present if pd.notna(row[c])}
        for _, row in frame.iterrows()
    }


def churn_figures(outcome: Any) -> dict[str, Any]:
    holdout = outcome.result.metrics.loc["holdout"]
    comparison = outcome.comparison
    print("churn comparison (ChurnOutcome.comparison):\n" + comparison.to_string())
    print(f"churn oracle (ChurnOutcome.oracle): {outcome.oracle}")
    return {
        "holdout_roc_auc": float(holdout["roc_auc"]),
        "holdout_ece": float(holdout["ece"]),
        "comparison": _records(comparison, "model", ["roc_auc", "pr_auc", "ece", "brier"]),
        "oracle": {k: float(v) for k, v in outcome.oracle.items()},
    }


def clv_figures(outcome: Any) -> dict[str, Any]:
    print("CLV comparison (ClvOutcome.comparison):\n" + outcome.comparison.to_string())
    return {
        "comparison": _records(
            outcome.comparison, "model", ["mae", "rmse", "spearman", "total_spend_error"]
        ),
        "horizon_days": float(outcome.horizon_days),
        "holdout": {
            k: float(v)
            for k, v in outcome.result.metrics.loc["holdout"].items()
            if k in ("interval_coverage", "interval_mean_width", "p_spend_ece", "spender_share")
        },
    }


def cdnow_figures(outcome: Any) -> dict[str, Any]:
    print("CDNOW holdout weeks 40-78 (CdnowOutcome.table):\n" + outcome.table.to_string())
    parameters = cdnow_bgnbd_parameters()
    print(f"CDNOW BG/NBD parameters: {parameters} (published {PUBLISHED_BGNBD})")
    return {
        "customers": float(outcome.customers),
        "holdout": _records(
            outcome.table, "model", ["mae", "rmse", "spearman", "total_predicted", "total_error"]
        ),
        "bgnbd_parameters": parameters,
    }


def recommendation_figures(outcome: Any) -> dict[str, Any]:
    table = outcome.comparison
    print(
        f"recommenders (RecsysOutcome.comparison, best {outcome.best_model}):\n"
        + table[[c for c in table.columns if c.endswith("@10")]].to_string()
    )
    return {
        "best_model": outcome.best_model,
        "comparison": _records(
            table, "recommender", ["recall@10", "precision@10", "ndcg@10", "hit_rate@10"]
        ),
        "test_customers": float(table["n_test_customers"].iloc[0]),
    }


def uplift_figures(outcome: Any) -> dict[str, Any] | None:
    uplift = outcome.uplift
    if uplift is None:
        print("uplift: no contacts with a control group, no figures")
        return None
    print(f"uplift (UpliftOutcome.metrics): {uplift.metrics}")
    figures: dict[str, Any] = {"metrics": {k: float(v) for k, v in uplift.metrics.items()}}
    if uplift.treatments is not None:
        print(f"treatment policies:\n{uplift.treatments.policies.round(4).to_string()}")
        figures["treatments"] = {
            "metrics": {k: float(v) for k, v in uplift.treatments.metrics.items()},
            "best_single": uplift.treatments.best_single,
        }
    return figures


def quality_figures(run: DirectRun) -> dict[str, Any]:
    """Every model-quality figure the report needs, read from the step outcomes."""
    return {
        "churn": churn_figures(run.outcomes["churn"]),
        "clv": clv_figures(run.outcomes["clv"]),
        "cdnow": cdnow_figures(run.outcomes["cdnow"]),
        "recommendations": recommendation_figures(run.outcomes["recommendations"]),
        "segments": {"core_churn_rate": run.outcomes["segments"].core_churn_rate},
        "uplift": uplift_figures(run.outcomes["propensity"]),
        "published": {
            "cdnow_bgnbd": {"parameters": PUBLISHED_BGNBD, "citation": CDNOW_CITATION},
        },
    }


def write_quality_json(path: Path | None, customers: int, run: DirectRun) -> None:
    figures = quality_figures(run)
    write_json(
        path,
        "quality",
        {"customers": customers, "config": CONFIG},
        quality=_finite(figures),
        timing={"steps_s": run.seconds, "wall_s": run.total_seconds, "cpu_s": run.cpu_seconds},
    )


def _finite(value: Any) -> Any:
    """JSON has no NaN: drop non-finite numbers (a metric a small world cannot compute)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items() if not _is_nan(v)}
    return value


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and not np.isfinite(value)


def use_sandbox(keep: bool = False) -> Path:
    """The sandbox root of this process: CRM_ML_ROOT when the caller set one, else a new one,
    removed at exit unless `keep` (the links to configs, notebooks and the world cache are
    removed, not followed)."""
    if not os.environ.get("CRM_ML_ROOT"):
        root = sandbox_project()
        os.environ["CRM_ML_ROOT"] = str(root)
        os.environ.pop("MLFLOW_TRACKING_URI", None)
        if not keep:
            atexit.register(shutil.rmtree, root, ignore_errors=True)
    return Path(os.environ["CRM_ML_ROOT"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--keep-root", action="store_true", help="keep the sandbox project")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    logging.getLogger("crm_ml").setLevel(logging.WARNING)
    root = use_sandbox(args.keep_root)
    print(f"sandbox project root {root}")
    from crm_ml.pipeline import load_config
    from crm_ml.pipeline.data import raw_source_dir

    raw_source_dir(load_config(CONFIG, {"data.synthetic.customers": args.customers}))
    run = run_direct(args.customers, f"bench-quality-{time.strftime('%Y%m%dT%H%M%S')}", False)
    write_quality_json(args.json, args.customers, run)
    print(f"steps {run.total_seconds:.1f} s, peak RSS {peak_rss_gb():.2f} GB")


if __name__ == "__main__":
    main()
