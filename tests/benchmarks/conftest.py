"""The benchmark scripts live outside the package: make them importable, and run the smoke
profile once for every test that needs real benchmark output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

PROJECT = Path(__file__).resolve().parents[2]
BENCHMARKS = PROJECT / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))


@pytest.fixture(scope="session")
def smoke_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`run_all.py --profile smoke` into a temp folder (never reports/benchmarks/)."""
    out = tmp_path_factory.mktemp("bench-smoke")
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "run_all.py"), "--profile", "smoke", "--out", str(out)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (json_file,) = out.glob("*-smoke.json")
    report = json.loads(json_file.read_text())
    report["_paths"] = {"json": str(json_file), "md": str(json_file.with_suffix(".md"))}
    return report
