"""The notebook pipeline: publishing, failure behaviour, idempotent re-runs, concurrent runs."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from crm_ml.pipeline.runner import PipelineError, run_pipeline

pytestmark = pytest.mark.notebook


def test_run_executes_in_order_records_and_publishes(project: Path, notebooks) -> None:
    notebooks({"01_first": 1.5, "02_second": 2.5})
    result = run_pipeline(project / "configs" / "test.yaml", run_id="r1", progress=False)
    manifest = json.loads((result.paths.root / "manifest.json").read_text())
    assert manifest["status"] == "succeeded"
    assert [n["notebook"] for n in manifest["notebooks"]] == ["01_first.ipynb", "02_second.ipynb"]
    assert all(n["seconds"] > 0 for n in manifest["notebooks"])
    assert manifest["records"]["02_second"]["value"] == 2.5
    assert manifest["data"]["files"]["orders.csv"]  # fingerprint of every raw file
    assert (result.paths.notebooks / "01_first.ipynb").exists()
    assert (project / "data" / "scores" / "latest" / "scores.csv").read_text().endswith("2.5\n")
    assert (project / "reports" / "latest" / "report.html").read_text() == "<html>2.5</html>"


def test_failed_notebook_stops_the_run_and_keeps_last_good_outputs(
    project: Path, notebooks
) -> None:
    notebooks({"01_first": 1.0})
    run_pipeline(project / "configs" / "test.yaml", run_id="good", progress=False)
    notebooks({"01_first": 7.0, "02_broken": "fail", "03_never": 3.0})
    with pytest.raises(
        PipelineError, match=r"02_broken.ipynb failed .*ValueError: the model did not converge"
    ):
        run_pipeline(project / "configs" / "test.yaml", run_id="bad", progress=False)
    bad = project / "experiments" / "runs" / "bad"
    manifest = json.loads((bad / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "02_broken" in manifest["reason"]
    assert (bad / "notebooks" / "02_broken.ipynb").exists()  # kept for reading
    assert not (bad / "notebooks" / "03_never.ipynb").exists()
    # the last good run stays published
    assert (project / "reports" / "latest" / "report.html").read_text() == "<html>1.0</html>"
    assert (project / "data" / "scores" / "latest" / "scores.csv").read_text().endswith("1.0\n")


def test_cli_exit_code_and_one_line_reason(project: Path, notebooks, python: str) -> None:
    notebooks({"01_broken": "fail"})
    proc = subprocess.run(
        [
            python,
            "-m",
            "crm_ml.cli",
            "run",
            "--config",
            str(project / "configs" / "test.yaml"),
            "--run-id",
            "cli",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=False,
    )
    assert proc.returncode == 1
    assert "FAILED: 01_broken.ipynb failed in cell" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_same_run_id_is_idempotent(project: Path, notebooks) -> None:
    notebooks({"01_first": 4.0})
    first = run_pipeline(project / "configs" / "test.yaml", run_id="same", progress=False)
    again = run_pipeline(project / "configs" / "test.yaml", run_id="same", progress=False)
    assert again.skipped and again.manifest["finished"] == first.manifest["finished"]
    forced = run_pipeline(
        project / "configs" / "test.yaml", run_id="same", force=True, progress=False
    )
    assert forced.manifest["records"] == first.manifest["records"]


def test_two_runs_at_once_do_not_corrupt_each_other(project: Path, notebooks, python: str) -> None:
    notebooks({"01_first": 5.0})
    config = str(project / "configs" / "test.yaml")
    procs = [
        subprocess.Popen(
            [
                python,
                "-m",
                "crm_ml.cli",
                "run",
                "--config",
                config,
                "--run-id",
                run_id,
                "--quiet",
                "--param",
                f"seed={seed}",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
        )
        for run_id, seed in (("a", 1), ("b", 2))
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    for run_id in ("a", "b"):
        manifest = json.loads(
            (project / "experiments" / "runs" / run_id / "manifest.json").read_text()
        )
        assert manifest["status"] == "succeeded"
        assert manifest["parameters"]["seed"] == {"a": 1, "b": 2}[run_id]
    latest = (project / "reports" / "latest").resolve().name
    assert latest in {"a", "b"}
    assert (project / "reports" / "latest" / "report.html").read_text() == "<html>5.0</html>"


def test_only_notebooks_that_declare_track_are_passed_it(tmp_path: Path) -> None:
    # Papermill warns of every parameter a notebook does not declare
    from crm_ml.notebooks import Notebook
    from crm_ml.pipeline.paths import RunPaths
    from crm_ml.pipeline.runner import _parameters

    notebooks = Path(__file__).resolve().parents[2] / "notebooks"
    paths, config = RunPaths(tmp_path / "run"), tmp_path / "c.yaml"
    passed = {n: "track" in _parameters(notebooks / n.file_name, paths, config) for n in Notebook}
    modelling = {
        Notebook.CHURN,
        Notebook.CHURN_CONTRACTS,
        Notebook.CHURN_TABLE,
        Notebook.PROPENSITY_UPLIFT,
        Notebook.CLV,
        Notebook.RECOMMENDATIONS,
    }
    assert {n for n, track in passed.items() if track} == modelling
