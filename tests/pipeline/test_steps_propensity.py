"""Notebook 04's step: category propensity vs the purchase-rate baseline, and campaign uplift
judged by Qini against random targeting and the synthetic world's true effect."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crm_ml.pipeline.config import RunConfig, load_config
from crm_ml.pipeline.data import run_scope
from crm_ml.pipeline.paths import RunPaths
from crm_ml.pipeline.steps import frames
from crm_ml.pipeline.steps.category_history import (
    CATEGORY_HISTORY,
    attach_category_history,
    category_history,
)
from crm_ml.pipeline.steps.frames import training_frame, training_frame_path
from crm_ml.pipeline.steps.propensity import registry_name, run_propensity, score_propensity
from crm_ml.pipeline.steps.uplift import score_uplift, split_by_campaign, uplift_features
from crm_ml.tracking import load_champion

# One LightGBM thread: the test machine is shared, and OpenMP spinning on a busy core
# makes boosting many times slower.
SYNTHETIC_TEST_CONFIG = """
name: test
data:
  source: synthetic
  synthetic:
    customers: 1500
models:
  propensity:
    categories: 2
    lightgbm: {num_threads: 1}
  uplift:
    lightgbm: {num_threads: 1, num_boost_round: 1000, early_stopping_rounds: 50}
  clv:
    lightgbm: {num_threads: 1}
"""


@pytest.fixture
def synthetic_project(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The runner tests' project root, reading a small synthetic world instead."""
    (project / "configs" / "test.yaml").write_text(SYNTHETIC_TEST_CONFIG)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # the project's own store
    return project


def _lines(rows: list[tuple[str, str, str, float, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "order_id", "ts", "amount", "category"])
    return frame.assign(ts=pd.to_datetime(frame["ts"], utc=True))


def test_category_history_sees_only_lines_before_the_cutoff() -> None:
    lines = _lines(
        [
            ("a", "o1", "2023-02-01", 10.0, "books"),
            ("a", "o2", "2024-03-01", 30.0, "books"),
            ("a", "o2", "2024-03-01", 10.0, "toys"),
            ("a", "o3", "2024-06-01", 99.0, "books"),  # on the cutoff: horizon, not history
        ]
    )
    cutoff = pd.Timestamp("2024-06-01", tz="UTC")
    history = category_history(lines, [cutoff])
    frame = pd.DataFrame({"customer_id": ["a", "b"], "cutoff": [cutoff, cutoff]})
    books = attach_category_history(frame, history, "books")
    # o1 is older than a year: it counts for recency only
    assert books["category_orders_365d"].tolist() == [1.0, 0.0]
    assert books["category_spend_share_365d"].tolist() == [0.75, 0.0]
    assert books["days_since_category_order"].iloc[0] == (cutoff - lines["ts"][1]).days
    assert np.isnan(books["days_since_category_order"].iloc[1])  # never bought
    per_row = attach_category_history(frame, history, pd.Series(["toys", "books"]))
    assert per_row["category_spend_share_365d"].tolist() == [0.25, 0.0]


def test_category_history_of_a_cutoff_before_any_line() -> None:
    # nobody has a history yet at the first cutoff (its empty share was text on pandas 3)
    lines = _lines([("a", "o1", "2022-01-01", 10.0, "books")])
    early, late = pd.Timestamp("2021-06-01", tz="UTC"), pd.Timestamp("2024-06-01", tz="UTC")
    history = category_history(lines, [early, late])
    assert history["cutoff"].tolist() == [late]
    assert history["category_spend_share_365d"].dtype == float
    assert history["category_spend_share_365d"].tolist() == [0.0]  # older than a year


HOSTILE_CATEGORIES = ["Food/Drink", "Food Drink", "food drink", "..", "../../etc", "食品", ""]


def test_training_frames_of_hostile_categories_are_cached_inside_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`category:Food/Drink` used to become `training_category_Food/Drink.parquet`: an
    OSError (no folder `training_category_Food`) in notebook 04."""
    paths = RunPaths(tmp_path / "run").ensure()
    monkeypatch.setattr(frames, "snapshots", lambda paths, config: pd.DataFrame())

    def fake_label(accepted, snapshots, label, **_):
        return pd.DataFrame({"customer_id": ["a"], "label_name": [label]})

    monkeypatch.setattr(frames, "attach_label", fake_label)
    for category in HOSTILE_CATEGORIES:
        label = f"category:{category}"
        frame = training_frame(paths, RunConfig(), label)
        path = training_frame_path(paths, label)
        assert path.parent == paths.features and path.is_file(), path
        assert pd.read_parquet(path)["label_name"].tolist() == [label]
        pd.testing.assert_frame_equal(frame, training_frame(paths, RunConfig(), label))
    cached = sorted(p.name for p in paths.features.iterdir())
    assert len(cached) == len(HOSTILE_CATEGORIES), cached  # one file per category, no clash
    assert training_frame_path(paths, "category:Food/Drink").name.startswith(
        "training_category_food_drink-"
    )
    assert training_frame_path(paths, "churn").name == "training_churn.parquet"  # unchanged


def test_registry_names_are_safe_and_never_shared() -> None:
    names = [registry_name(category) for category in HOSTILE_CATEGORIES]
    assert len(set(names)) == len(names)  # Food/Drink and Food Drink no longer share one
    assert all(re.fullmatch(r"propensity[a-z0-9_]*-[0-9a-f]{12}", n) for n in names), names
    assert registry_name("books") == "propensity_books"  # plain names keep their old name
    assert registry_name("Books") != registry_name("books")


def test_uplift_holdout_is_the_latest_campaigns() -> None:
    sent = pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"], utc=True)
    frame = pd.DataFrame({"campaign_id": ["c2", "c1", "c4", "c3"], "sent_ts": sent[[1, 0, 3, 2]]})
    assert split_by_campaign(frame, 0.5).tolist() == [False, False, True, True]
    with pytest.raises(ValueError, match="at least 2 campaigns"):
        split_by_campaign(frame.iloc[:1], 0.5)


@pytest.mark.slow
def test_propensity_and_uplift_on_a_small_synthetic_world(synthetic_project: Path) -> None:
    config = load_config(synthetic_project / "configs" / "test.yaml")
    paths = RunPaths.for_run("propensity-test").ensure()
    outcome = run_propensity(paths, config)

    table = outcome.propensity_vs_baseline
    assert list(table.columns[:6]) == [
        "category",
        "model_roc_auc",
        "baseline_roc_auc",
        "model_pr_auc",
        "baseline_pr_auc",
        "model_log_loss",
    ]
    assert "beaten" in table.columns and len(table) == 2
    assert table["category"].tolist() == outcome.propensity.categories
    for category, comparison in outcome.propensity.comparisons.items():
        rows = comparison.set_index("model")
        # model and baseline scored on the very same holdout rows
        assert rows.loc["model", "rows"] == rows.loc["category_purchase_rate", "rows"]
        assert (
            rows.loc["model", "positive_rate"]
            == rows.loc["category_purchase_rate", "positive_rate"]
        )
        # the customer's own purchase rate is a real baseline, not a constant
        assert rows.loc["category_purchase_rate", "roc_auc"] > 0.6, category
    assert (table["model_roc_auc"] > table["baseline_roc_auc"]).all(), table
    assert outcome.propensity.not_beaten == []
    assert set(outcome.propensity.decisions) == set(outcome.propensity.categories)

    uplift = outcome.uplift
    m = uplift.metrics
    assert len(uplift.random_qinis) == 20
    assert abs(m["random_qini"]) < 3 * m["random_qini_sd"]
    assert m["qini_coefficient"] > m["random_qini_max"], m
    assert m["true_uplift_spearman"] > 0.2, m
    assert m["oracle_qini"] > m["random_qini_max"], m
    assert m["truth_rows"] == m["holdout_contacts"]

    # three treatments: the chosen-per-customer policy beside the simpler ones and the oracle
    treatments = uplift.treatments
    policies = treatments.policies.set_index("policy")
    assert set(treatments.policy.treatments) == {"coupon", "callback", "loyalty"}
    assert treatments.policy.offered and set(treatments.policy.offered) <= set(
        treatments.policy.treatments
    )
    assert policies.loc["no contact", ["ipw_net_value", "true_net_value"]].tolist() == [0.0, 0.0]
    oracle = policies.loc["oracle (true effects)", "true_net_value"]
    assert (policies["true_net_value"] <= oracle + 1e-12).all()
    assert 0 < treatments.metrics["policy_net_value"] < oracle
    assert treatments.metrics["share_of_oracle"] == pytest.approx(
        treatments.metrics["policy_net_value"] / oracle
    )
    deciles = uplift.deciles
    for column in ["decile", "n", "treated_response_rate", "control_response_rate", "uplift"]:
        assert column in deciles.columns
    assert deciles["n"].sum() == m["holdout_contacts"]
    # the top decile by estimated uplift holds more true effect than the bottom one
    assert deciles["true_uplift"].iloc[0] > deciles["true_uplift"].iloc[-1]
    assert uplift.decision is not None and uplift.decision.calibration_metric is None

    # scoring helpers on features at the latest cutoff
    current = pd.read_parquet(training_frame_path(paths, f"category:{table.category[0]}"))
    current = current[current["split"].astype(str) == "holdout"].drop(columns=["label", "split"])
    scores = score_propensity(outcome.models, current, paths.accepted)
    assert set(scores.columns) == {"customer_id", "category", "probability"}
    assert len(scores) == 2 * len(current)
    assert scores["probability"].between(0, 1).all()
    planned = uplift_features(current, paths.accepted, outcome.propensity.categories[0], "email")
    assert set(CATEGORY_HISTORY) <= set(planned.columns)
    effect = score_uplift(uplift.model, planned)
    assert effect.index.name == "customer_id" and len(effect) == len(current)
    assert effect.std() > 0
    # the registered champion scores from the customer 360 alone, as `crm-ml score` does
    champion = load_champion(run_scope(config).registry_name("uplift")).predict(current)
    np.testing.assert_allclose(champion, score_uplift(uplift.model, current).to_numpy())
