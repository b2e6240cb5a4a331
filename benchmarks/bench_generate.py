"""Benchmark: generate a synthetic CRM world and report rows, rows/s, wall time, peak RSS.

    python benchmarks/bench_generate.py --customers 1000000 --months 24 --out /tmp/world

The acceptance target (issue 3): 1,000,000 customers x 24 months in bounded memory
(peak RSS under 8 GB); the default demo (20,000 customers) in seconds.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from crm_ml.datasets.synthetic import generate_world


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB (ru_maxrss is KB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--industry", default="retail", choices=["retail", "finance", "b2b"])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--chunk-customers", type=int, default=50_000)
    parser.add_argument("--format", default="parquet", choices=["parquet", "csv"])
    parser.add_argument("--out", type=Path, default=None, help="output dir (default: a temp dir)")
    args = parser.parse_args(argv)

    out = args.out or Path(tempfile.mkdtemp(prefix="crm_ml_world_"))
    started = time.perf_counter()
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
    wall = time.perf_counter() - started
    truth_rows = sum(summary.truth_row_counts.values())
    size_mb = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6

    print(f"world: {args.industry}, {args.customers:,} customers x {args.months} months -> {out}")
    print(f"{'table':<12}{'rows':>14}")
    for table, rows in summary.row_counts.items():
        print(f"{table:<12}{rows:>14,}")
    print(f"{'total':<12}{summary.total_rows:>14,}   (+ {truth_rows:,} truth rows)")
    print(f"wall time     {wall:10.1f} s")
    print(f"rows/s        {summary.total_rows / wall:14,.0f}   (contract tables)")
    print(f"peak RSS      {peak_rss_mb():10.0f} MB")
    print(f"on disk       {size_mb:10.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
