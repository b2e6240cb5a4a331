"""Run every benchmark of the project for one profile and write the dated report.

    .venv/bin/python benchmarks/run_all.py --profile quick            # make bench-quick
    .venv/bin/python benchmarks/run_all.py --profile full             # make bench
    .venv/bin/python benchmarks/run_all.py --profile smoke --out /tmp/bench --only models,recsys

Each benchmark runs as its own subprocess (its peak memory is its own) with the sizes of
the profile, writes its figures as JSON, and its printed output is streamed here. The run's
JSON (machine facts, every benchmark's JSON, the report rows) and its markdown rendering go
to `<out>/<YYYY-MM-DD>-<profile>.json` and `.md`.

Sizes are in customers; the other tables scale as in the 1M definitions of the scripts:
30 order lines and 100 events per customer (features), 10 order lines per customer
(validation: the ratio of bench_validate.py's export, so 1M customers = 10M CSV lines),
products = customers / 20 and 30 interactions per customer (recommender), churn
snapshots = customers (models), the synthetic world's own mix (generation, pipeline).

The batteries of data the defaults were not tuned on (bench_tables.py: plain customer tables;
bench_recsys_worlds.py: interaction worlds of different time scales) run once per profile.

Profiles:
  smoke  2,000 customers, every benchmark; the pipeline only through notebook 02; one table
         and one world of the batteries (CI)
  quick  20,000 customers (the demo world), every benchmark, four tables and two worlds
  full   20,000, 200,000 and 1,000,000 customers; the pipeline at 20,000 only; every table
         and every world
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from tqdm import tqdm

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import PROJECT, SCHEMA_VERSION  # noqa: E402
from render import render_markdown  # noqa: E402
from report_rows import (  # noqa: E402
    cold_start_rows,
    contract_rows,
    growth_rows,
    quality_rows,
    realism_rows,
    replication_rows,
    speed_rows,
    table_rows,
    world_rows,
)

DEFAULT_OUT = PROJECT / "reports" / "benchmarks"
# bench_validate.py's own export has a customer per 10 order lines; 30 (the feature
# benchmark's ratio) would make the 1M-customer export 30M CSV lines, ~15 GB to validate
VALIDATE_LINES_PER_CUSTOMER = 10
# run once per profile, whatever its sizes: batteries of data the defaults were not tuned on
BATTERIES = (
    "tables",
    "recsys_worlds",
    "replications",
    "contracts",
    "cold_start",
    "world_realism",
)
BENCHMARKS = (
    "validate",
    "generate",
    "features",
    "models",
    "recsys",
    "pipeline",
    "quality",
    *BATTERIES,
)
LIBRARIES = (
    "crm-ml",
    "numpy",
    "pandas",
    "pyarrow",
    "duckdb",
    "lightgbm",
    "scikit-learn",
    "implicit",
    "lifetimes",
    "mlflow",
    "papermill",
)


@dataclass(frozen=True)
class Profile:
    """Sizes (customers) of one profile."""

    name: str
    sizes: tuple[int, ...]
    pipeline_customers: int
    pipeline_notebooks: int | None = None  # None: all; fewer: quality gets its own run
    tables: str | None = None  # bench_tables.py --only (None: every table)
    worlds: str | None = None  # bench_recsys_worlds.py --worlds (None: every world)
    contracts: str | None = None  # bench_contracts.py --worlds (None: every world)
    contract_customers: int | None = None  # None: each world's configured size


PROFILES = {
    "smoke": Profile(
        "smoke",
        (2_000,),
        2_000,
        pipeline_notebooks=2,
        tables="cdnow_repeat",
        worlds="grocery_2m",
        contracts="b2b",
        contract_customers=1_500,
    ),
    "quick": Profile(
        "quick",
        (20_000,),
        20_000,
        tables="cdnow_repeat,telco_like,phone_plan_like,coil_like",
        worlds="grocery_2m,electronics_5y",
    ),
    "full": Profile("full", (20_000, 200_000, 1_000_000), 20_000),
}


def commands(
    bench: str,
    size: int,
    json_path: Path,
    extra_json: Path | None,
    notebooks: int | None = None,
    profile: Profile | None = None,
) -> list[str]:
    """The command line of one benchmark at one size (the batteries ignore the size)."""
    script = str(HERE / f"bench_{bench}.py")
    out = ["--json", str(json_path)]
    args: dict[str, list[str]] = {
        "validate": ["--orders", str(VALIDATE_LINES_PER_CUSTOMER * size), "--customers", str(size)],
        "generate": ["--customers", str(size)],
        "features": [
            "--customers",
            str(size),
            "--orders",
            str(30 * size),
            "--events",
            str(100 * size),
        ],
        "models": ["--rows", str(size)],
        "recsys": [
            "--customers",
            str(size),
            "--products",
            str(max(size // 20, 50)),
            "--interactions",
            str(30 * size),
        ],
        "pipeline": ["--customers", str(size)]
        + ([] if notebooks is None else ["--notebooks", str(notebooks)]),
        "quality": ["--customers", str(size)],
        "tables": ["--only", profile.tables] if profile and profile.tables else [],
        "recsys_worlds": ["--worlds", profile.worlds] if profile and profile.worlds else [],
        "replications": [],
        "cold_start": [],
        "world_realism": [],
        "contracts": [
            *(["--worlds", profile.contracts] if profile and profile.contracts else []),
            *(
                ["--customers", str(profile.contract_customers)]
                if profile and profile.contract_customers
                else []
            ),
        ],
    }
    command = [sys.executable, script, *args[bench], *out]
    if extra_json is not None:
        command += ["--quality-json", str(extra_json)]
    return command


def plan(profile: Profile, only: set[str]) -> list[tuple[str, int]]:
    """(benchmark, size) pairs to run, smallest sizes first so a failure shows early. A run of
    the whole pipeline also yields the quality figures (its direct run is the quality run)."""
    jobs = [
        (bench, size)
        for size in profile.sizes
        for bench in ("validate", "generate", "features", "models", "recsys")
        if bench in only
    ]
    if "pipeline" in only:
        jobs.append(("pipeline", profile.pipeline_customers))
    if "quality" in only and ("pipeline" not in only or profile.pipeline_notebooks is not None):
        jobs.append(("quality", profile.pipeline_customers))
    jobs += [(bench, 0) for bench in BATTERIES if bench in only]
    return jobs


def run_one(command: list[str], log_path: Path, bar: tqdm) -> float:
    """Run a benchmark, streaming its stdout through tqdm; stderr (progress bars, warnings)
    goes to a log file whose tail is shown when it fails."""
    started = time.perf_counter()
    with log_path.open("w") as errors:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=errors, text=True, cwd=PROJECT, bufsize=1
        )
        assert process.stdout is not None
        for line in process.stdout:
            bar.write(f"  {line.rstrip()}")
        code = process.wait()
    if code != 0:
        tail = "\n".join(log_path.read_text().splitlines()[-30:])
        raise RuntimeError(f"{' '.join(command)} failed with exit code {code}:\n{tail}")
    return time.perf_counter() - started


def machine_facts() -> dict[str, Any]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    ram_gb = None
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total_kib = next(
            int(line.split()[1])
            for line in meminfo.read_text().splitlines()
            if line.startswith("MemTotal")
        )
        ram_gb = round(total_kib / 1024**2, 1)
    return {
        "cores": os.cpu_count(),
        "ram_gb": ram_gb,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
    }


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=PROJECT, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip()


def build_rows(results: dict[str, dict[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for size, quality in sorted(results.get("quality", {}).items()):
        rows += quality_rows(quality, size)
    for data in results.get("tables", {}).values():
        rows += table_rows(data)
    for data in results.get("recsys_worlds", {}).values():
        rows += world_rows(data)
    for data in results.get("replications", {}).values():
        rows += replication_rows(data)
    for data in results.get("contracts", {}).values():
        rows += contract_rows(data)
    for data in results.get("cold_start", {}).values():
        rows += cold_start_rows(data)
    for data in results.get("world_realism", {}).values():
        rows += realism_rows(data)
    return rows + speed_rows(results) + growth_rows(results)


def run_profile(profile: Profile, out: Path, only: set[str]) -> tuple[Path, bool]:
    """Run the benchmarks, write `<out>/<date>-<profile>.json` and `.md`; returns the JSON
    path and whether every benchmark succeeded (a failed one is recorded and skipped)."""
    unknown = only - set(BENCHMARKS)
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {sorted(unknown)}; known: {BENCHMARKS}")
    out.mkdir(parents=True, exist_ok=True)
    started_at = dt.datetime.now(dt.UTC)
    facts = machine_facts()
    facts["load_average_before"] = list(os.getloadavg())
    results: dict[str, dict[int, dict[str, Any]]] = {}
    seconds: dict[str, float] = {}
    failures: dict[str, str] = {}
    jobs = plan(profile, only)
    with tempfile.TemporaryDirectory(prefix="crm_ml_bench_") as tmp:
        work = Path(tmp)
        bar = tqdm(jobs, desc=f"bench {profile.name}", unit="benchmark")
        for bench, size in bar:
            bar.set_postfix_str(f"{bench} {size:,}")
            bar.write(f"== {bench}" + (f" at {size:,} customers" if size else ""))
            json_path = work / f"{bench}-{size}.json"
            whole = bench == "pipeline" and profile.pipeline_notebooks is None
            quality = work / f"quality-{size}.json" if whole and "quality" in only else None
            command = commands(bench, size, json_path, quality, profile.pipeline_notebooks, profile)
            try:
                seconds[f"{bench}-{size}"] = run_one(command, work / f"{bench}-{size}.log", bar)
            except RuntimeError as error:  # keep going: a long run is still worth its report
                bar.write(str(error))
                failures[f"{bench}-{size}"] = str(error)[-2000:]
                continue
            results.setdefault(bench, {})[size] = json.loads(json_path.read_text())
            if quality is not None:
                results.setdefault("quality", {})[size] = json.loads(quality.read_text())
    facts["load_average_after"] = list(os.getloadavg())
    report = {
        "schema": SCHEMA_VERSION,
        "profile": profile.name,
        "date": started_at.date().isoformat(),
        "started": started_at.isoformat(timespec="seconds"),
        "wall_s": float(sum(seconds.values())),
        "benchmark_wall_s": seconds,
        "failures": failures,
        "machine": facts,
        "sizes": list(profile.sizes),
        "pipeline_customers": profile.pipeline_customers,
        "results": {b: {str(n): r for n, r in sorted(by.items())} for b, by in results.items()},
        "rows": build_rows(results),
    }
    stem = out / f"{report['date']}-{profile.name}"
    json_file = stem.with_suffix(".json")
    write_report(json_file, report)
    return json_file, not failures


def rebuild(json_file: Path) -> None:
    """Recompute the rows of a finished run from its benchmark JSON (after a change to the
    row definitions or targets) and render its markdown again; the measurements stay."""
    report = json.loads(json_file.read_text())
    results = {
        bench: {int(size): data for size, data in by_size.items()}
        for bench, by_size in report["results"].items()
    }
    report["rows"] = build_rows(results)
    write_report(json_file, report)


def write_report(json_file: Path, report: dict[str, Any]) -> None:
    """The JSON and, rendered from what the JSON holds (key order included), the markdown."""
    text = json.dumps(report, indent=1, sort_keys=True, allow_nan=False) + "\n"
    json_file.write_text(text)
    json_file.with_suffix(".md").write_text(render_markdown(json.loads(text)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", choices=sorted(PROFILES))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated names")
    parser.add_argument("--rebuild", type=Path, help="recompute the rows of a run's JSON")
    args = parser.parse_args(argv)
    if args.rebuild:
        rebuild(args.rebuild)
        print(f"rebuilt {args.rebuild} and {args.rebuild.with_suffix('.md').name}")
        return 0
    if args.profile is None:
        parser.error("--profile is required (or --rebuild PATH)")
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    started = time.perf_counter()
    json_file, complete = run_profile(PROFILES[args.profile], args.out, only)
    print(f"wrote {json_file} and {json_file.with_suffix('.md').name}")
    print(f"total {time.perf_counter() - started:.0f} s")
    if not complete:
        print("some benchmarks failed: see `failures` in the JSON", file=sys.stderr)
    return 0 if complete else 1


if __name__ == "__main__":
    raise SystemExit(main())
