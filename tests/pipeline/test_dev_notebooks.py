"""The notebooks opened by hand: every step in its own cell, nothing sent to the registry.

A data scientist runs the numbered notebooks one after the other in JupyterLab with their
defaults (`track = False`). They must run top to bottom on a small world, score with the
models they just trained, and leave the MLflow registry alone; `crm-ml run` (the other
tests) sets `track = True`.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
MODELLING = {  # notebook -> the calls that make up its steps
    "03_churn": {
        "fit": "train_binary_model(",
        "evaluate": "compare_to_baselines(",
        "explain": "global_drivers(",
    },
    "03_churn_contracts": {
        "fit": "train_contract_model(",
        "evaluate": "compare_contract_model(",
        "explain": "global_drivers(",
    },
    "04_propensity_uplift": {
        "fit": "train_binary_model(",
        "evaluate": "compare_propensity(",
        "explain": "global_drivers(",
    },
    "05_clv": {
        "fit": "train_spend_model(",
        "evaluate": "clv_comparison(",
        "explain": "global_drivers(",
    },
    "06_recommendations": {
        "fit": "choose_recommender(",
        "evaluate": "recsys_metrics(",
        "explain": "explain_recommendations(",
    },
}
WHOLE_STEPS = (
    "run_churn(",
    "run_propensity(",
    "run_category_propensity(",
    "run_uplift(",
    "run_clv(",
    "run_recommendations(",
)


def code_cells(name: str) -> list[str]:
    cells = json.loads((REPO / "notebooks" / f"{name}.ipynb").read_text())["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


@pytest.mark.parametrize("name", sorted(MODELLING))
def test_each_modelling_notebook_shows_its_steps_in_cells_of_their_own(name: str) -> None:
    cells = code_cells(name)
    steps = MODELLING[name]
    where = {step: [i for i, c in enumerate(cells) if call in c] for step, call in steps.items()}
    assert all(where.values()), f"{name}: steps without a cell: {where}"
    # fit, evaluate and explain are separate cells, in that order
    firsts = [where[step][0] for step in ("fit", "evaluate", "explain")]
    assert firsts == sorted(set(firsts)), f"{name}: steps share a cell or are out of order"
    calls = [call for c in cells for call in WHOLE_STEPS if call in c]
    assert not calls, f"{name} calls whole steps: {calls}"
    assert "track = False" in cells[0]  # the parameters cell: off by hand, on under crm-ml run


@pytest.mark.slow
@pytest.mark.notebook
def test_notebooks_opened_by_hand_run_and_leave_the_registry_alone(tmp_path: Path) -> None:
    import papermill as pm

    from crm_ml.notebooks import EXPORTS, unavailable_for
    from crm_ml.pipeline.notebook import missing_tables
    from crm_ml.pipeline.paths import RunPaths

    (tmp_path / "pyproject.toml").write_text("# a project root\n")
    (tmp_path / "notebooks").symlink_to(REPO / "notebooks")
    (tmp_path / "configs").mkdir()
    retail = (REPO / "configs" / "retail.yaml").read_text()
    config = tmp_path / "configs" / "small.yaml"
    config.write_text(retail.replace("customers: 20000", "customers: 1500"))
    env = {"CRM_ML_ROOT": str(tmp_path), "CRM_ML_PSEUDONYM_KEY": "dev-test"}
    dev = tmp_path / "experiments" / "runs" / "dev"
    previous = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        for notebook in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")):
            if unavailable_for(notebook.stem, EXPORTS):  # the single-table source's own
                continue
            if missing_tables(notebook.stem, RunPaths(dev)):  # retail has no subscriptions
                continue
            pm.execute_notebook(
                str(notebook),
                str(tmp_path / notebook.name),
                parameters={"config_path": str(config)},  # run_dir "" and track False
                cwd=str(tmp_path),
                progress_bar=False,
            )
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    assert not (dev / "scores" / "contract_scores.parquet").exists()
    store = tmp_path / "experiments" / "mlflow.db"
    if store.exists():  # an untouched store may not even exist
        with sqlite3.connect(store) as db:
            tables = {row[0] for row in db.execute("select name from sqlite_master")}
            if "registered_models" in tables:
                assert db.execute("select count(*) from registered_models").fetchone()[0] == 0
    scores = pd.read_parquet(dev / "scores" / "customer_scores.parquet")
    assert scores["scored_with"].str.contains("churn this run's unregistered model").all()
    assert (dev / "report" / "report.html").exists()
