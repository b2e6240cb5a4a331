"""Ranking metrics against values computed by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from crm_ml.recsys.evaluation import (
    catalog_coverage,
    hit_rate_at_k,
    map_at_k,
    ndcg_at_k,
    novelty,
    precision_at_k,
    recall_at_k,
)

TRUE = pd.DataFrame({"customer_id": ["u1", "u1", "u1", "u2"], "product_id": ["a", "b", "c", "d"]})
# u1: hits at ranks 1 and 3; u2: hit at rank 3
PRED = pd.DataFrame(
    {
        "customer_id": ["u1", "u1", "u1", "u2", "u2", "u2"],
        "product_id": ["a", "x", "b", "y", "z", "d"],
        "score": [0.9, 0.8, 0.7, 0.9, 0.8, 0.7],
    }
)


def test_precision_and_recall():
    assert precision_at_k(TRUE, PRED, k=3) == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert recall_at_k(TRUE, PRED, k=3) == pytest.approx((2 / 3 + 1) / 2)
    assert recall_at_k(TRUE, PRED, k=1) == pytest.approx((1 / 3 + 0) / 2)


def test_recall_denominator_relevant_or_capped_at_k():
    # u1 has 3 relevant items, 2 found in the top 2 (a, b); u2 has 1, found at rank 3
    pred = PRED.assign(rank=[1, 3, 2, 1, 2, 3])
    by_relevant = recall_at_k(TRUE, pred, k=2, col_rank="rank")
    capped = recall_at_k(TRUE, pred, k=2, col_rank="rank", denominator="min_relevant_k")
    assert by_relevant == pytest.approx((2 / 3 + 0) / 2)
    assert capped == pytest.approx((2 / 2 + 0) / 2)
    assert recall_at_k(TRUE, pred, k=3, denominator="min_relevant_k") == recall_at_k(
        TRUE, pred, k=3
    )
    with pytest.raises(ValueError, match="denominator"):
        recall_at_k(TRUE, pred, k=2, denominator="k")


def test_ndcg():
    u1 = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3) + 1 / math.log2(4))
    u2 = (1 / math.log2(4)) / 1
    assert ndcg_at_k(TRUE, PRED, k=3) == pytest.approx((u1 + u2) / 2)


def test_map_and_hit_rate():
    u1 = (1 / 1 + 2 / 3) / 3
    u2 = (1 / 3) / 1
    assert map_at_k(TRUE, PRED, k=3) == pytest.approx((u1 + u2) / 2)
    assert hit_rate_at_k(TRUE, PRED, k=3) == 1.0
    assert hit_rate_at_k(TRUE, PRED, k=2) == 0.5


def test_rank_column_overrides_scores():
    ranked = PRED.assign(rank=[3, 2, 1, 1, 2, 3])  # u1 now: b, x, a
    first_hit_only = precision_at_k(TRUE, ranked, k=1, col_rank="rank")
    assert first_hit_only == pytest.approx((1 + 0) / 2)


def test_user_without_predictions_counts_as_miss():
    truth = pd.concat([TRUE, pd.DataFrame({"customer_id": ["u3"], "product_id": ["e"]})])
    assert recall_at_k(truth, PRED, k=3) == pytest.approx((2 / 3 + 1 + 0) / 3)


def test_coverage_and_novelty():
    assert catalog_coverage(PRED, n_items=12, k=3) == pytest.approx(6 / 12)
    train = pd.DataFrame(
        {"customer_id": ["t1", "t2", "t3", "t4", "t1"], "product_id": ["a", "a", "x", "q", "q"]}
    )
    pred = PRED.iloc[:2]  # a: 2 of 4 users -> 1 bit; x: 1 of 4 -> 2 bits
    assert novelty(train, pred, k=2) == pytest.approx(1.5)
    unseen = pd.DataFrame({"customer_id": ["u1"], "product_id": ["never"], "score": [1.0]})
    assert novelty(train, unseen, k=1) == pytest.approx(2.0)  # p = 1 / 4 users


@pytest.mark.slow
def test_comparison_table_has_every_recommender_and_metric(world):
    from crm_ml.recsys.config import ModelConfig, RecsysConfig
    from crm_ml.recsys.evaluation import compare_recommenders

    from .conftest import CUTOFF

    tables, affinity = world
    customers = tables["customers"]["customer_id"].astype(str).to_numpy()
    products = tables["products"]["product_id"].astype(str).to_numpy()
    true = pd.DataFrame(
        {
            "customer_id": customers.repeat(len(products)),
            "product_id": list(products) * len(customers),
            "affinity": affinity.ravel(),
        }
    )
    config = RecsysConfig(model=ModelConfig(factors=16, iterations=5))
    table = compare_recommenders(
        tables, CUTOFF, 65, config, models=("als", "item_knn"), affinity=true
    )
    assert list(table.index) == [
        "als",
        "item_knn",
        "popular",
        "buy_again",
        "oracle",
        f"served:{table.index[-1][7:]}",
    ]
    for k in (5, 10, 20):
        for metric in ("precision", "recall", "ndcg", "map", "hit_rate"):
            assert table[f"{metric}@{k}"].between(0, 1).all()
    assert {"coverage@10", "novelty@10", "diversity@10", "recall@10_vs_popular"} <= set(
        table.columns
    )
    assert table["diversity@10"].between(0, 1).all()
    # the true affinities that generated the purchases rank better than any learned model
    assert table.loc["oracle", "recall@10"] >= table.loc[["als", "item_knn"], "recall@10"].max()
    assert table.loc["popular", "recall@10_vs_popular"] == 1.0


@pytest.mark.slow
def test_synthetic_world_oracle_hook(tmp_path):
    synthetic = pytest.importorskip("crm_ml.datasets.synthetic")
    from crm_ml.contract import load_tables
    from crm_ml.pipeline.steps.oracle import load_true_affinity
    from crm_ml.recsys.evaluation import compare_recommenders

    world = synthetic.generate_world(
        tmp_path / "world", customers=3000, months=18, show_progress=False
    )
    key = b"recsys-test-key"
    tables = load_tables(world.out_dir, quarantine_dir=None, progress=False, key=key).tables
    cutoff = world.default_cutoffs[-1]
    table = compare_recommenders(
        tables,
        cutoff,
        90,
        models=("item_knn",),
        affinity=load_true_affinity(world.out_dir, key=key),
    )
    assert "oracle" in table.index
    assert table.loc["served:item_knn", "recall@10"] > table.loc["popular", "recall@10"]
    assert table.loc["oracle", "recall@10"] > table.loc["popular", "recall@10"]


def test_compare_uses_the_given_model_settings(world, monkeypatch):
    """A searched config for one model replaces the default settings of that model only."""
    import crm_ml.recsys.evaluation as evaluation
    from crm_ml.recsys.config import ModelConfig, RecsysConfig

    from .conftest import CUTOFF

    tables, _ = world
    built = []
    real_build = evaluation.build_model
    monkeypatch.setattr(
        evaluation, "build_model", lambda settings: built.append(settings) or real_build(settings)
    )
    tuned = ModelConfig(name="item_knn", neighbours=7, similarity="cosine")
    config = RecsysConfig(model=ModelConfig(factors=8, iterations=3))
    evaluation.compare_recommenders(
        tables, CUTOFF, 65, config, models=("als", "item_knn"), model_configs={"item_knn": tuned}
    )
    assert [(s.name, s.neighbours) for s in built] == [("als", 50), ("item_knn", 7)]
    assert built[0].factors == 8


def test_a_given_truth_replaces_the_horizon_and_weak_models_are_warned(world, caplog):
    """Test purchases of a product nobody bought before: no recommender can find them, so
    every model ties with popularity at 0, and each is warned about."""
    from crm_ml.recsys.config import ModelConfig, RecsysConfig
    from crm_ml.recsys.evaluation import compare_recommenders

    from .conftest import CUTOFF

    tables, _ = world
    tables = dict(tables)
    tables["products"] = pd.concat(
        [tables["products"], pd.DataFrame({"product_id": ["brand-new"], "category": ["cat01"]})],
        ignore_index=True,
    )
    truth = pd.DataFrame({"customer_id": ["c00001", "c00002", "nobody"], "product_id": "brand-new"})
    config = RecsysConfig(model=ModelConfig(factors=8, iterations=3))
    with caplog.at_level("WARNING", logger="crm_ml.recsys"):
        table = compare_recommenders(
            tables, CUTOFF, config=config, models=("als", "ease"), truth=truth
        )
    assert (table["n_test_customers"] == 2).all()  # "nobody" is unknown at the cutoff
    assert (table["recall@10"] == 0).all()
    assert "recommender als scores recall@10 0.0000, not above popularity" in caplog.text
    assert "recommender ease scores" in caplog.text
