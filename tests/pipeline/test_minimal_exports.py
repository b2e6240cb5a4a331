"""The whole pipeline on exports that hold only the three required tables.

A company's own export often has customers, products and orders and nothing else. Two such
exports run end to end through `crm-ml run` with the folder source: the CDNOW sample (a
public purchase history; its catalogue is one product) and a synthetic world cut down to
the required tables. Both must succeed, and the report must say which tables were missing
and what that switched off, instead of failing or showing bare "not available" lines.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

OPTIONAL = ("events", "tickets", "contacts", "surveys", "exclusions", "erasure")
REQUIRED = ("customers", "products", "orders")


def _project(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    root = tmp_path_factory.mktemp(name)
    (root / "notebooks").symlink_to(REPO / "notebooks")
    (root / "configs").symlink_to(REPO / "configs")
    return root


def _run(cli, root: Path, folder: Path) -> Path:
    run = cli(
        root,
        "run",
        "--run-id",
        "minimal",
        "--quiet",
        "--param",
        "data.source=folder",
        "--param",
        f"data.folder={folder}",
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    return root


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory: pytest.TempPathFactory, cli) -> Path:
    root = _project(tmp_path_factory, "cdnow")
    written = cli(root, "datasets", "write", "cdnow-sample", "--out", str(root / "export"))
    assert written.returncode == 0, written.stderr[-2000:]
    return _run(cli, root, root / "export")


@pytest.fixture(scope="module")
def cut_world(tmp_path_factory: pytest.TempPathFactory, cli) -> Path:
    root = _project(tmp_path_factory, "cut")
    world = root / "world"
    made = cli(root, "generate", "--customers", "1500", "--seed", "5", "--out", str(world))
    assert made.returncode == 0, made.stderr[-2000:]
    export = root / "export"
    export.mkdir()
    for table in REQUIRED:
        shutil.copy(world / f"{table}.parquet", export)
    shutil.copy(world / "manifest.json", export)
    return _run(cli, root, export)


def report_text(root: Path) -> str:
    page = (root / "reports" / "latest" / "report.html").read_text()
    page = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


@pytest.mark.parametrize("export", ["cdnow", "cut_world"])
def test_report_lists_the_missing_tables_and_what_they_switch_off(export, request) -> None:
    root = request.getfixturevalue(export)
    manifest = json.loads((root / "experiments/runs/minimal/manifest.json").read_text())
    assert manifest["status"] == "succeeded"
    text = report_text(root)
    assert f"Missing tables: {', '.join(OPTIONAL)}" in text
    for table in OPTIONAL:
        assert f"No {table} table in the export" in text  # the notes at the top
    assert "not available: the export has no tickets table" in text  # SLA and its KPIs
    assert "not available: the export has no surveys table" in text  # NPS
    assert "not available: the export has no contacts table" in text  # uplift
    assert "-0.0%" not in text


def test_a_one_product_catalogue_is_said_to_leave_nothing_to_recommend(cdnow: Path) -> None:
    text = report_text(cdnow)
    assert "the orders hold 1 product(s), so there is nothing to choose between" in text
    scores = cdnow / "data" / "scores" / "latest"
    assert not (scores / "recommendations.parquet").exists()


def test_a_cut_world_still_recommends_and_lists_who_to_cross_sell(cut_world: Path) -> None:
    actions = cut_world / "reports" / "latest" / "actions"
    assert sum(1 for _ in (actions / "cross_sell_audience.csv").open()) > 1
    assert (cut_world / "data" / "scores" / "latest" / "recommendations.parquet").exists()


@pytest.mark.parametrize("export", ["cdnow", "cut_world"])
def test_the_run_publishes_what_scoring_would_and_marks_a_challenger(export, request, cli):
    # last in this file: the refresh publishes over the run's outputs
    root = request.getfixturevalue(export)
    manifest = json.loads((root / "experiments/runs/minimal/manifest.json").read_text())
    churn = [name for name in manifest["promoted"] if name.startswith("churn.")]
    scores = pd.read_parquet(root / "data" / "scores" / "latest" / "customer_scores.parquet")
    refresh = cli(
        root,
        "score",
        "--quiet",
        "--param",
        "data.source=folder",
        "--param",
        f"data.folder={root / 'export'}",
    )
    if churn:  # promoted: the run scored with it, and so does the refresh
        version = manifest["promoted"][churn[0]]
        assert scores["scored_with"].str.startswith(f"churn champion v{version}").all()
        assert refresh.returncode == 0, refresh.stderr[-2000:]
    else:  # refused: the run's scores say so, and the refresh has no champion to use
        assert scores["scored_with"].str.startswith("churn challenger (not promoted)").all()
        assert refresh.returncode != 0 and "no churn champion" in refresh.stderr
