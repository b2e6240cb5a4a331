"""Benchmark: orchestration overhead of the notebook pipeline.

Runs the whole pipeline twice on the same configuration, side by side in one process
tree: once as `crm-ml run` (Papermill, one kernel per notebook, records, manifest,
publishing) and once as the same steps called directly from Python. Prints both wall
times and their ratio (target: at most 1.3x on the default world) and whether the full
run stays under 5 minutes (the `make run` target on 2 cores).

    .venv/bin/python benchmarks/bench_pipeline.py                  # default world, 20k customers
    .venv/bin/python benchmarks/bench_pipeline.py --customers 3000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from crm_ml.pipeline import RunPaths, load_config
from crm_ml.pipeline.data import ensure_accepted, raw_source_dir


def direct(overrides: dict[str, object], run_id: str) -> float:
    """The steps of notebooks 01-08, called in order without Papermill."""
    from crm_ml.pipeline.steps.churn import run_churn
    from crm_ml.pipeline.steps.clv import run_cdnow_clv, run_clv
    from crm_ml.pipeline.steps.propensity import run_propensity
    from crm_ml.pipeline.steps.recommend import run_recommendations
    from crm_ml.pipeline.steps.scoring import run_scoring
    from crm_ml.pipeline.steps.segments import run_segments
    from crm_ml.reports.run import build_run_reports

    config = load_config("configs/retail.yaml", overrides)
    paths = RunPaths.for_run(run_id).ensure()
    start = time.perf_counter()
    ensure_accepted(paths, config)
    run_segments(paths, config)
    run_churn(paths, config)
    run_propensity(paths, config)
    run_clv(paths, config)
    run_cdnow_clv()
    run_recommendations(paths, config)
    run_scoring(paths, config)
    build_run_reports(paths, config, screenshot=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    args = parser.parse_args()
    overrides = {"data.synthetic.customers": args.customers}
    raw_source_dir(load_config("configs/retail.yaml", overrides))  # generate outside the timing
    stamp = time.strftime("%Y%m%dT%H%M%S")
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "crm_ml.cli",
            "run",
            "--quiet",
            "--run-id",
            f"bench-nb-{stamp}",
            "--param",
            f"data.synthetic.customers={args.customers}",
        ],
        check=True,
        env=os.environ.copy(),
    )
    pipeline = time.perf_counter() - start
    direct_s = direct(overrides, f"bench-direct-{stamp}")
    print(f"customers {args.customers:,}")
    print(f"pipeline (crm-ml run, Papermill)  {pipeline:8.1f} s")
    print(f"same steps called directly        {direct_s:8.1f} s")
    print(f"orchestration overhead            {pipeline / direct_s:8.2f}x (target <= 1.3x)")
    print(
        f"make run under 5 minutes          {'yes' if pipeline < 300 else 'NO'} ({pipeline / 60:.1f} min)"
    )


if __name__ == "__main__":
    main()
