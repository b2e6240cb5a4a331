"""generate_world: determinism, layout, industries, the contract, dirt and truth isolation."""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from pathlib import Path

import pandas as pd
import pytest

from crm_ml.contract.tables import PERSONAL_COLUMNS, TABLES
from crm_ml.datasets.synthetic import WorldSummary, generate_world

CONTRACT_LAYER = {"subscriptions", "accounts", "balances"}  # tables retail worlds do not have
SRC = Path(__file__).resolve().parents[2] / "src" / "crm_ml"


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _load(world: Path):
    contract = pytest.importorskip("crm_ml.contract")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the development pseudonym key warns
        return contract.load_tables(world, quarantine_dir=None, progress=False)


def test_same_seed_same_bytes_and_other_seed_other_data(tmp_path: Path) -> None:
    kwargs = {"customers": 700, "months": 12, "chunk_customers": 300, "show_progress": False}
    first = _digests(generate_world(tmp_path / "a", seed=3, **kwargs).out_dir)
    second = _digests(generate_world(tmp_path / "b", seed=3, **kwargs).out_dir)
    other = _digests(generate_world(tmp_path / "c", seed=4, **kwargs).out_dir)

    assert first == second
    assert "truth/oracle_churn.parquet" in first
    changed = [name for name in first if first[name] != other.get(name)]
    assert {"orders.parquet", "events.parquet", "customers.parquet"} <= set(changed)


def test_layout_manifest_and_raw_personal_columns(synthetic_world: WorldSummary) -> None:
    world = synthetic_world.out_dir
    for table in TABLES:
        # retail has no contract layer: no subscriptions, accounts or balances
        retail_has = table not in CONTRACT_LAYER
        assert (world / f"{table}.parquet").exists() == retail_has, table
    manifest = json.loads((world / "manifest.json").read_text())
    assert manifest["as_of"] == "2025-01-01T00:00:00Z"
    assert manifest["seed"] == 11 and manifest["industry"] == "retail"
    assert manifest["parameters"]["customers"] == 10_000
    assert manifest["rows"]["customers"] == 10_000
    assert len(manifest["default_cutoffs"]) == 6
    assert manifest["default_cutoffs"][-1] == "2024-10-01T00:00:00Z"  # + 90 days <= as_of

    customers = pd.read_parquet(world / "customers.parquet")
    assert customers["customer_id"].iloc[0] == "C0000001"
    assert customers["customer_id"].str.fullmatch(r"C\d{7}").all()
    assert set(PERSONAL_COLUMNS) <= set(customers.columns)
    assert customers["email"].str.contains("@").all()
    products = pd.read_parquet(world / "products.parquet")
    assert products.loc[products["category"] == "health", "is_sensitive"].all()
    assert not products.loc[products["category"] != "health", "is_sensitive"].any()


def test_truth_stays_out_of_the_contract_tables(synthetic_world: WorldSummary) -> None:
    world = synthetic_world.out_dir
    for table, spec in TABLES.items():
        if table in CONTRACT_LAYER:
            continue
        columns = set(pd.read_parquet(world / f"{table}.parquet").columns)
        assert columns <= set(spec.columns), f"{table} has non-contract columns"
    assert (world / "truth" / "customers.parquet").exists()


def test_clean_world_passes_the_contract_with_nothing_quarantined(
    synthetic_world: WorldSummary,
) -> None:
    result = _load(synthetic_world.out_dir)
    report = result.report_frame().set_index("table")
    assert report["quarantined"].sum() == 0, result.reasons()
    assert report.loc["orders", "accepted"] > 50_000
    assert set(result.tables) == set(TABLES) - CONTRACT_LAYER


def test_dirty_world_fills_the_quarantine_with_what_the_manifest_says(
    synthetic_dirty_world: WorldSummary,
) -> None:
    result = _load(synthetic_dirty_world.out_dir)
    report = result.report_frame().set_index("table")
    injected = synthetic_dirty_world.dirt
    for table in ("orders", "events", "tickets", "contacts", "customers", "products"):
        expected = sum(injected[table].values())
        # a dirty copy of an erased customer's row is erased rather than quarantined
        assert 0.8 * expected <= report.loc[table, "quarantined"] <= expected, table
    manifest = json.loads((synthetic_dirty_world.out_dir / "manifest.json").read_text())
    assert manifest["dirt"] == injected
    assert injected["orders"]["unknown_customer"] >= 1


@pytest.mark.slow
@pytest.mark.parametrize("industry", ["finance", "b2b", "subscription"])
def test_every_industry_generates_and_passes_the_contract(tmp_path: Path, industry: str) -> None:
    summary = generate_world(
        tmp_path / industry, customers=800, months=12, industry=industry, show_progress=False
    )
    result = _load(summary.out_dir)
    assert result.report_frame()["quarantined"].sum() == 0
    orders = result.tables["orders"]
    assert len(orders) > 800
    products = pd.read_parquet(summary.out_dir / "products.parquet")
    assert products["is_sensitive"].any()
    if industry == "b2b":
        assert (orders["channel"] == "renewal").any()


@pytest.mark.slow
def test_csv_world_passes_the_contract(tmp_path: Path) -> None:
    summary = generate_world(
        tmp_path / "csv", customers=600, months=12, file_format="csv", show_progress=False
    )
    assert (summary.out_dir / "orders.csv").exists()
    assert not (summary.out_dir / "orders.parquet").exists()
    assert _load(summary.out_dir).report_frame()["quarantined"].sum() == 0


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="industry"):
        generate_world(tmp_path, customers=10, industry="telco", show_progress=False)
    with pytest.raises(ValueError, match="file_format"):
        generate_world(tmp_path, customers=10, file_format="xlsx", show_progress=False)


# Reading truth/ needs one of these; the bare word is fine ("truth" = a test set in recsys).
TRUTH_ACCESS = re.compile(
    r"""["'](?:[^"'\n]*/)?truth(?:/[^"'\n]*)?["']"""  # a path literal naming the truth folder
    r"|\btruth_dir\b|\bTRUTH_DIR\b|oracle_churn|datasets\.synthetic|datasets import synthetic"
)


def _reads_truth(source: str) -> bool:
    return TRUTH_ACCESS.search(source) is not None


def test_truth_access_pattern() -> None:
    assert _reads_truth('pd.read_parquet(world / "truth" / "customers.parquet")')
    assert _reads_truth("open('data/raw/truth/oracle_churn.parquet')")
    assert _reads_truth("from crm_ml.datasets.synthetic import oracle_churn_probability")
    assert not _reads_truth("truth = purchases_in_horizon(tables, cutoff, 90)")
    assert not _reads_truth('"""Distinct pairs bought in the horizon: the test truth."""')


def test_features_models_and_recsys_never_read_truth() -> None:
    """Ground truth is for evaluation only: no feature, model or recommender code reads it."""
    offenders = []
    for package in ("features", "models", "recsys"):
        folder = SRC / package
        if not folder.is_dir():
            continue
        for path in folder.rglob("*"):
            if path.suffix in {".py", ".sql", ".yaml"} and _reads_truth(
                path.read_text(encoding="utf-8")
            ):
                offenders.append(str(path.relative_to(SRC)))
    assert not offenders, f"modules that read the synthetic ground truth: {offenders}"


def test_registered_source_writes_a_world(tmp_path: Path) -> None:
    from crm_ml.datasets import get_source

    written = get_source("synthetic").write(tmp_path / "w", customers=300, show_progress=False)
    assert written == tmp_path / "w"
    assert (written / "manifest.json").exists()


def test_a_world_cached_by_an_older_generator_is_regenerated(tmp_path: Path, monkeypatch) -> None:
    import json

    from crm_ml.datasets.synthetic import is_current_world
    from crm_ml.pipeline import load_config
    from crm_ml.pipeline.data import raw_source_dir

    (tmp_path / "pyproject.toml").write_text("# project root\n")
    monkeypatch.setenv("CRM_ML_ROOT", str(tmp_path))
    config = load_config(
        Path(__file__).resolve().parents[2] / "configs" / "retail.yaml",
        {
            "data.synthetic.customers": 60,
            "data.synthetic.months": 13,
            "data.synthetic.industry": "b2b",
        },
    )
    folder = raw_source_dir(config)
    assert is_current_world(folder, "b2b") and (folder / "subscriptions.parquet").exists()
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["parameters"]["profile"]["contracts"]  # as written before contracts existed
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "subscriptions.parquet").unlink()
    assert not is_current_world(folder, "b2b")
    assert raw_source_dir(config) == folder
    assert is_current_world(folder, "b2b") and (folder / "subscriptions.parquet").exists()
