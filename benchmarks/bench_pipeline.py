"""Benchmark: orchestration overhead of the notebook pipeline.

Runs the whole pipeline twice on the same configuration, side by side in one process
tree: once as `crm-ml run` (Papermill, one kernel per notebook, records, manifest,
publishing) and once as the same steps called directly from Python (bench_quality.py's
`run_direct`, with tracking, scoring and reports, i.e. the same work). Prints both wall
times and their ratio (target: at most 1.3x on the default world) and whether the full
run stays under 5 minutes (the `make run` target on 2 cores).

Both runs happen in a sandbox project root (own MLflow store, reports and scores; the
synthetic world cache is shared), so reports/latest and the user's MLflow store stay as
they were. `--quality-json` also writes the model-quality figures of the direct run (the
same file bench_quality.py writes), so a harness run needs the pipeline only once.

    .venv/bin/python benchmarks/bench_pipeline.py                  # default world, 20k customers
    .venv/bin/python benchmarks/bench_pipeline.py --customers 3000 --json p.json
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_quality import CONFIG, NOTEBOOK_STEPS, run_direct, use_sandbox, write_quality_json
from harness import cpu_seconds, peak_rss_gb, phase, sandbox_env, write_json

TARGET_OVERHEAD = 1.3
TARGET_RUN_SECONDS = 300.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--quality-json", type=Path, default=None, help="model quality of the direct run"
    )
    parser.add_argument(
        "--notebooks",
        type=int,
        default=len(NOTEBOOK_STEPS),
        help="only the first n notebooks and their steps (a short smoke run)",
    )
    parser.add_argument("--keep-root", action="store_true", help="keep the sandbox project")
    args = parser.parse_args()
    if args.quality_json is not None and args.notebooks < len(NOTEBOOK_STEPS):
        parser.error("--quality-json needs every notebook's steps")
    notebooks = [name for name, _ in NOTEBOOK_STEPS[: args.notebooks]]
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    logging.getLogger("crm_ml").setLevel(logging.WARNING)
    root = use_sandbox(args.keep_root)
    print(f"sandbox project root {root}")
    from crm_ml.pipeline import load_config
    from crm_ml.pipeline.data import raw_source_dir

    overrides = {"data.synthetic.customers": args.customers}
    raw_source_dir(load_config(CONFIG, overrides))  # generate outside the timing
    from crm_ml.tracking import configure_tracking
    from crm_ml.tracking.store import ensure_experiment

    configure_tracking()
    ensure_experiment(
        "churn"
    )  # both runs find the sandbox's MLflow store created, not only the second
    stamp = time.strftime("%Y%m%dT%H%M%S")
    start, cpu_start = time.perf_counter(), cpu_seconds(children=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "crm_ml.cli",
            "run",
            "--quiet",
            "--config",
            CONFIG,
            "--run-id",
            f"bench-nb-{stamp}",
            "--param",
            f"data.synthetic.customers={args.customers}",
            "--param",
            f"notebooks=[{', '.join(notebooks)}]",
        ],
        check=True,
        cwd=root,
        env=sandbox_env(root),
    )
    pipeline = time.perf_counter() - start
    pipeline_cpu = cpu_seconds(children=True) - cpu_start
    pipeline_peak = peak_rss_gb(children=True)  # largest process of the run (a kernel or the CLI)
    direct = run_direct(
        args.customers, f"bench-direct-{stamp}", pipeline_equivalent=True, notebooks=args.notebooks
    )
    direct_s = direct.total_seconds
    print(f"customers {args.customers:,}, notebooks {notebooks[0]} .. {notebooks[-1]}")
    print(f"pipeline (crm-ml run, Papermill)  {pipeline:8.1f} s")
    print(f"same steps called directly        {direct_s:8.1f} s")
    print(
        f"orchestration overhead            {pipeline / direct_s:8.2f}x "
        f"(target <= {TARGET_OVERHEAD}x)"
    )
    print(
        f"make run under 5 minutes          {'yes' if pipeline < TARGET_RUN_SECONDS else 'NO'} "
        f"({pipeline / 60:.1f} min)"
    )
    write_json(
        args.json,
        "pipeline",
        {"customers": args.customers, "config": CONFIG, "notebooks": notebooks},
        variants={
            "pipeline": phase(pipeline, pipeline_cpu, args.customers, pipeline_peak),
            "direct": phase(direct_s, direct.cpu_seconds, args.customers, peak_rss_gb()),
        },
        direct_steps_s=direct.seconds,
    )
    if args.quality_json is not None:
        write_quality_json(args.quality_json, args.customers, direct)


if __name__ == "__main__":
    main()
