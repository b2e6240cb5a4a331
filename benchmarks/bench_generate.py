"""Benchmark: generate a synthetic CRM world and report rows, rows/s, wall time, peak RSS.

    python benchmarks/bench_generate.py --customers 1000000 --months 24 --out /tmp/world

The acceptance target (issue 3): 1,000,000 customers x 24 months in bounded memory
(peak RSS under 8 GB); the default demo (20,000 customers) in seconds.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from crm_ml.datasets.synthetic import generate_world

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import cpu_seconds, peak_rss_gb, phase, write_json

TARGET_GB = 8.0


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB."""
    return peak_rss_gb() * 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--industry", default="retail", choices=["retail", "finance", "b2b"])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--chunk-customers", type=int, default=50_000)
    parser.add_argument("--format", default="parquet", choices=["parquet", "csv"])
    parser.add_argument("--out", type=Path, default=None, help="output dir (default: a temp dir)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--keep", action="store_true", help="keep the world written to the temp dir"
    )
    args = parser.parse_args(argv)

    out = args.out or Path(tempfile.mkdtemp(prefix="crm_ml_world_"))
    started, cpu_started = time.perf_counter(), cpu_seconds()
    summary = generate_world(
        out,
        customers=args.customers,
        months=args.months,
        industry=args.industry,
        seed=args.seed,
        file_format=args.format,
        chunk_customers=args.chunk_customers,
        show_progress=True,
    )
    wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    truth_rows = sum(summary.truth_row_counts.values())
    size_mb = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6

    kept = args.out is not None or args.keep
    where = out if kept else f"{out} (removed at the end; --keep keeps it)"
    print(f"world: {args.industry}, {args.customers:,} customers x {args.months} months -> {where}")
    print(f"{'table':<12}{'rows':>14}")
    for table, rows in summary.row_counts.items():
        print(f"{table:<12}{rows:>14,}")
    print(f"{'total':<12}{summary.total_rows:>14,}   (+ {truth_rows:,} truth rows)")
    print(f"wall time     {wall:10.1f} s")
    print(f"rows/s        {summary.total_rows / wall:14,.0f}   (contract tables)")
    print(f"peak RSS      {peak_rss_mb():10.0f} MB")
    print(f"on disk       {size_mb:10.0f} MB")
    write_json(
        args.json,
        "generate",
        {"customers": args.customers, "months": args.months, "industry": args.industry},
        variants={
            "ours": phase(
                wall, cpu, summary.total_rows, peak_rss_gb(), truth_rows=truth_rows, disk_mb=size_mb
            )
        },
        tables=dict(summary.row_counts),
    )
    if not kept:
        shutil.rmtree(out, ignore_errors=True)  # a 1M world is gigabytes of /tmp
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
