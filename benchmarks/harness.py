"""Shared pieces of the benchmark scripts: resource readings, the JSON they write, the sandbox
project the pipeline benchmarks run in, and the arithmetic of the report (growth exponent,
ratios, targets).

Kept free of crm_ml imports so that run_all.py and the tests load it instantly.
"""

from __future__ import annotations

import json
import math
import os
import resource
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
SCHEMA_VERSION = 1


def _rss_gb(kib: float) -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS
    return kib / 1024**3 if sys.platform == "darwin" else kib / 1024**2


def peak_rss_gb(children: bool = False) -> float:
    """Peak resident memory of this process (or of its largest finished child) in GB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return _rss_gb(resource.getrusage(who).ru_maxrss)


def cpu_seconds(children: bool = False) -> float:
    """User + system CPU time: comparable between runs even on a busy shared machine."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def phase(
    wall_s: float, cpu_s: float, rows: float, peak_gb: float, **extra: float
) -> dict[str, float]:
    """One measured variant or phase, in the shape every benchmark JSON uses."""
    return {
        "wall_s": float(wall_s),
        "cpu_s": float(cpu_s),
        "rows": float(rows),
        "rows_per_s": float(rows) / wall_s if wall_s > 0 else math.nan,
        "peak_rss_gb": float(peak_gb),
        **{k: float(v) for k, v in extra.items()},
    }


def write_json(path: str | Path | None, benchmark: str, params: Mapping[str, Any], **body: Any):
    """Write `{benchmark, params, ...body}` to `path` (nothing when path is None)."""
    if path is None:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"schema": SCHEMA_VERSION, "benchmark": benchmark, "params": dict(params), **body}
    path.write_text(json.dumps(payload, indent=2, sort_keys=True, allow_nan=False) + "\n")


# ---------------------------------------------------------------- sandbox project


def sandbox_project(base: Path | None = None) -> Path:
    """A throw-away project root for pipeline runs, so a benchmark never touches the user's
    MLflow store, reports/latest or data/scores: configs and notebooks are linked from the
    real project, data/raw/synthetic too (generated worlds are a cache worth sharing)."""
    root = Path(tempfile.mkdtemp(prefix="crm_ml_bench_root_", dir=base))
    (root / "pyproject.toml").write_text("# sandbox project root of a benchmark run\n")
    for name in ("configs", "notebooks"):
        (root / name).symlink_to(PROJECT / name, target_is_directory=True)
    cache = PROJECT / "data" / "raw" / "synthetic"
    cache.mkdir(parents=True, exist_ok=True)
    (root / "data" / "raw").mkdir(parents=True)
    (root / "data" / "raw" / "synthetic").symlink_to(cache, target_is_directory=True)
    return root


def sandbox_env(root: Path) -> dict[str, str]:
    """Environment that points crm_ml (and MLflow, through it) at the sandbox root."""
    env = os.environ.copy()
    env["CRM_ML_ROOT"] = str(root)
    env.pop("MLFLOW_TRACKING_URI", None)  # the sandbox's own sqlite store under experiments/
    env.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    return env


# ---------------------------------------------------------------- report arithmetic


def growth_exponent(n1: float, t1: float, n2: float, t2: float) -> float:
    """Exponent k of t ~ n^k between two sizes: log(t2/t1) / log(n2/n1) (1.0 = linear)."""
    if min(n1, n2, t1, t2) <= 0 or n1 == n2:
        raise ValueError(f"growth exponent needs positive, distinct sizes: {n1}, {n2}, {t1}, {t2}")
    return math.log(t2 / t1) / math.log(n2 / n1)


def ratio(ours: float, peer: float, of: str) -> float:
    """`ours/peer` or `peer/ours` (which one a row uses is stored next to the value)."""
    if of == "ours/peer":
        return ours / peer
    if of == "peer/ours":
        return peer / ours
    raise ValueError(f"ratio must be 'ours/peer' or 'peer/ours', got {of!r}")


def target_met(value: float, op: str, threshold: float | Sequence[float]) -> bool:
    """Whether `value op threshold` holds (op one of <, <=, >, >=; or "between" with a
    (low, high) pair, both ends included)."""
    if op == "between":
        low, high = threshold  # type: ignore[misc]
        return bool(low <= value <= high)
    checks = {
        "<": value < threshold,
        "<=": value <= threshold,
        ">": value > threshold,
        ">=": value >= threshold,
    }
    if op not in checks:
        raise ValueError(f"unknown comparison {op!r}")
    return bool(checks[op])
