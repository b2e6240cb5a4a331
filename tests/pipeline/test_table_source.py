"""`data.source: table` end to end through `crm-ml run`: one customer table in, a validated
table, a cross-validated churn model, the report and a save list out.

The table is the generated telecom-style example with an e-mail column, a consent column
and two bad rows. The run must skip the notebooks that need an export's orders and events
(saying why), judge the model beside the references on the same folds, rank the save list
by out-of-fold scores of consenting customers only, and write no raw id or e-mail anywhere.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from crm_ml.datasets.examples import EXAMPLE_TABLE_FILE, write_subscriber_table

REPO = Path(__file__).resolve().parents[2]
ROWS = 1500

pytestmark = [pytest.mark.notebook, pytest.mark.slow]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, cli) -> Path:
    root = tmp_path_factory.mktemp("table")
    (root / "notebooks").symlink_to(REPO / "notebooks")
    (root / "configs").symlink_to(REPO / "configs")
    write_subscriber_table(root / "export", n=ROWS, seed=3)
    run = cli(
        root,
        "run",
        "--config",
        "configs/table.yaml",
        "--run-id",
        "table",
        "--quiet",
        "--param",
        f"data.table.file={root / 'export' / EXAMPLE_TABLE_FILE}",
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    return root


def _manifest(project: Path) -> dict:
    return json.loads((project / "experiments/runs/table/manifest.json").read_text())


def test_only_the_notebooks_for_a_table_ran_and_the_others_say_why(project: Path) -> None:
    entries = {e["notebook"]: e for e in _manifest(project)["notebooks"]}
    ran = sorted(n for n, e in entries.items() if e["status"] == "succeeded")
    assert ran == ["01_data_quality.ipynb", "03_churn_table.ipynb", "08_report.ipynb"]
    skipped = [e for e in entries.values() if e["status"] == "skipped"]
    assert len(skipped) == len(entries) - 3
    assert all("single-table source" in e["reason"] for e in skipped)
    assert list(entries) == sorted(entries)  # the manifest lists them in run order


def test_validation_accounts_for_every_row(project: Path) -> None:
    records = _manifest(project)["records"]["01_data_quality"]
    assert records["rows_read"] == ROWS + 2
    assert records["rows_accepted"] == ROWS and records["rows_quarantined"] == 2


def test_the_model_is_judged_by_cross_validation_beside_the_references(project: Path) -> None:
    records = _manifest(project)["records"]["03_churn_table"]
    assert records["cv_roc_auc"] > 0.75
    # the table is close to additive-logistic: our model must at least match the references
    assert records["cv_roc_auc"] > records["best_reference_roc_auc"] - 0.01
    comparison = pd.read_parquet(
        project / "experiments/runs/table/records/03_churn_table.model_vs_baselines.parquet"
    )
    assert comparison["model"].tolist() == ["crm_ml", "lightgbm_default", "logistic"]


def test_scores_are_out_of_fold_and_the_save_list_holds_only_consenting_customers(
    project: Path,
) -> None:
    scores = pd.read_parquet(project / "data/scores/latest/customer_scores.parquet")
    assert len(scores) == ROWS and scores["churn_probability"].between(0, 1).all()
    assert scores["reason_1"].str.len().gt(0).mean() > 0.9
    table = pd.read_csv(project / "export" / EXAMPLE_TABLE_FILE).iloc[:ROWS]
    assert scores["clv_12m"].to_numpy() == pytest.approx(12 * table["MonthlyCharges"].to_numpy())
    save = pd.read_csv(project / "reports/latest/actions/customers_to_save.csv")
    assert len(save) > 0
    consenting = set(scores.loc[scores["marketing_consent"], "customer_id"])
    assert set(save["customer_id"]) <= consenting
    assert save["value_at_risk"].is_monotonic_decreasing
    assert (save["churn_probability"] >= 0.5).all()


def test_the_report_shows_the_table_sections_only(project: Path) -> None:
    page = (project / "reports/latest/report.html").read_text()
    assert "5-fold cross-validated" in page and "customer table" in page
    assert "Recommendation quality" not in page and "Customer value (CLV)" not in page


def test_no_raw_id_or_e_mail_is_written_anywhere(project: Path) -> None:
    table = pd.read_csv(project / "export" / EXAMPLE_TABLE_FILE)
    secrets = set(table["customerID"]) | set(table["email"])
    shapes = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+|\d{4}-[0-9A-F]+|extra-\d+")
    written = []
    for folder in ("experiments", "reports", "data/scores"):
        for path in (project / folder).rglob("*"):
            if path.is_file():
                if path.suffix == ".parquet":
                    written.append(pd.read_parquet(path).astype(str).to_csv(index=False))
                else:
                    written.append(path.read_bytes().decode("utf-8", errors="replace"))
    leaked = secrets & set(shapes.findall("\n".join(written)))
    assert not leaked, f"{len(leaked)} raw values leaked, e.g. {sorted(leaked)[:3]}"
    assert secrets & set(shapes.findall((project / "export" / EXAMPLE_TABLE_FILE).read_text()))


def test_a_notebook_for_exports_opened_by_hand_says_it_does_not_apply(project: Path) -> None:
    from crm_ml.pipeline import notebook_context
    from crm_ml.pipeline.config import ConfigError

    with pytest.raises(ConfigError, match=r"05_clv .* not available for a single-table source"):
        notebook_context(
            str(project / "experiments/runs/by-hand"), str(REPO / "configs/table.yaml"), "05_clv"
        )
