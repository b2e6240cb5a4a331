"""Benchmark: the full DuckDB feature table against a pandas implementation of RFM + engagement.

    python benchmarks/bench_features.py                       # 1M customers, 30M lines, 100M events
    python benchmarks/bench_features.py --customers 20000 --orders 600000 --events 2000000

Random contract-shaped Parquet data is generated once per size under --cache-dir. Each
engine then runs in its own subprocess, so its peak resident memory (ru_maxrss, which
includes DuckDB's native allocations) is measured on its own. Both write their result
next to the data, and the common columns are compared so the speed-up is for the same
numbers. Targets (2 cores, 24 GB): DuckDB >= 3x faster than pandas with lower peak memory,
the whole table in < 90 s and < 8 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_features_data import cached_dataset  # noqa: E402
from harness import phase, write_json  # noqa: E402

CUTOFF = pd.Timestamp("2023-10-01", tz="UTC")
TARGET_SECONDS = 90.0
TARGET_GB = 8.0


def peak_rss_gb() -> float:
    """Peak resident memory of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def cpu_seconds() -> float:
    """User + system CPU time of this process: comparable even on a busy shared machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_engine(engine: str, data_dir: Path, threads: int | None, memory_limit: str) -> dict:
    """Build features with one engine in this process; returns timings and memory."""
    started, cpu_started = time.perf_counter(), cpu_seconds()
    if engine == "duckdb":
        from crm_ml.features import FeatureConfig, build_features

        config = FeatureConfig(duckdb_threads=threads, duckdb_memory_limit=memory_limit)
        result = build_features(data_dir, CUTOFF, config)
    else:
        from pandas_features_reference import pandas_rfm_engagement

        result = pandas_rfm_engagement(data_dir, CUTOFF)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    result.drop(columns=[c for c in ("cutoff", "service_tier") if c in result]).to_parquet(
        data_dir / f"_result_{engine}.parquet", index=False
    )
    return {
        "engine": engine,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_rss_gb": peak_rss_gb(),
        "customers": len(result),
        "features": result.shape[1] - 1,
    }


def spawn(engine: str, data_dir: Path, args: argparse.Namespace) -> dict:
    command = [
        sys.executable,
        __file__,
        "--run",
        engine,
        "--data-dir",
        str(data_dir),
        "--memory-limit",
        args.memory_limit,
    ]
    if args.threads is not None:
        command += ["--threads", str(args.threads)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(data_dir: Path) -> tuple[int, float]:
    """Common columns of both results: how many, and the largest absolute difference."""
    duck = pd.read_parquet(data_dir / "_result_duckdb.parquet").set_index("customer_id")
    pandas = pd.read_parquet(data_dir / "_result_pandas.parquet").set_index("customer_id")
    common = [c for c in pandas.columns if c in duck.columns]
    pandas = pandas.reindex(duck.index)
    worst = 0.0
    for column in common:
        a, b = duck[column].to_numpy(float), pandas[column].to_numpy(float)
        if not np.array_equal(np.isnan(a), np.isnan(b)):
            raise AssertionError(f"{column}: DuckDB and pandas disagree on which values are empty")
        both = ~np.isnan(a)
        if both.any():
            worst = max(
                worst, float(np.max(np.abs(a[both] - b[both]) / np.maximum(1.0, np.abs(b[both]))))
            )
    return len(common), worst


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=30_000_000, help="order lines")
    parser.add_argument("--events", type=int, default=100_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/crm_ml_bench_features"))
    parser.add_argument(
        "--threads", type=int, default=None, help="DuckDB threads (default: all cores)"
    )
    parser.add_argument("--memory-limit", default="5GB", help="DuckDB memory_limit")
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--run", choices=["duckdb", "pandas"], help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.run:
        print(json.dumps(run_engine(args.run, args.data_dir, args.threads, args.memory_limit)))
        return

    started = time.perf_counter()
    data_dir, rows = cached_dataset(
        args.cache_dir, args.customers, args.orders, args.events, args.seed
    )
    print(f"data: {data_dir} ({time.perf_counter() - started:.1f}s to generate or find)")
    print("rows: " + ", ".join(f"{t} {n:,}" for t, n in rows.items()))
    input_rows = {
        "duckdb": sum(rows.values()),
        "pandas": rows["customers"] + rows["orders"] + rows["events"],
    }
    engines = ["duckdb"] if args.skip_pandas else ["duckdb", "pandas"]
    results = {engine: spawn(engine, data_dir, args) for engine in engines}

    header = (
        f"{'engine':<8} {'scope':<26} {'wall s':>8} {'cpu s':>8} {'input rows/s':>14} "
        f"{'customers/s':>12} {'peak GB':>8}"
    )
    print(header)
    print("-" * len(header))
    for engine, r in results.items():
        scope = (
            f"full table, {r['features']} features"
            if engine == "duckdb"
            else f"RFM+engagement, {r['features']}"
        )
        print(
            f"{engine:<8} {scope:<26} {r['seconds']:>8.1f} {r['cpu_seconds']:>8.1f} "
            f"{input_rows[engine] / r['seconds']:>14,.0f} "
            f"{r['customers'] / r['seconds']:>12,.0f} {r['peak_rss_gb']:>8.2f}"
        )
    duck = results["duckdb"]
    agreement = {}
    verdicts = [
        f"DuckDB whole table {duck['seconds']:.1f}s (< {TARGET_SECONDS:.0f}s: "
        f"{'yes' if duck['seconds'] < TARGET_SECONDS else 'NO'}), peak {duck['peak_rss_gb']:.2f} GB "
        f"(< {TARGET_GB:.0f} GB: {'yes' if duck['peak_rss_gb'] < TARGET_GB else 'NO'})"
    ]
    if "pandas" in results:
        pandas = results["pandas"]
        speed = pandas["seconds"] / duck["seconds"]
        memory = pandas["peak_rss_gb"] / duck["peak_rss_gb"]
        columns, worst = compare(data_dir)
        agreement = {"common_columns": columns, "max_relative_difference": worst}
        verdicts += [
            f"speed-up {speed:.1f}x (target >= 3x: {'yes' if speed >= 3 else 'NO'}); "
            f"pandas/DuckDB peak memory {memory:.2f}x (DuckDB lower: {'yes' if memory > 1 else 'NO'})",
            f"{columns} common columns agree to a relative difference of {worst:.1e}",
        ]
    print("\n".join(verdicts))
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (a busy machine slows both)"
    )
    write_json(
        args.json,
        "features",
        {"customers": args.customers, "orders": args.orders, "events": args.events},
        variants={
            engine: phase(
                r["seconds"],
                r["cpu_seconds"],
                input_rows[engine],
                r["peak_rss_gb"],
                customers_per_s=r["customers"] / r["seconds"],
                features=r["features"],
            )
            for engine, r in results.items()
        },
        agreement=agreement,
        tables=rows,
    )


if __name__ == "__main__":
    main()
