"""Models by name, seeds, exclusions, and the signal test: ALS beats popularity."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from crm_ml.recsys.baselines import (
    BuyAgainRecommender,
    OracleRecommender,
    PopularityRecommender,
)
from crm_ml.recsys.config import ModelConfig, RecsysConfig
from crm_ml.recsys.evaluation import compare_recommenders
from crm_ml.recsys.models import (
    CatalogueTooLargeError,
    EaseRecommender,
    build_model,
    top_n_excluding,
    usable_models,
)

from .conftest import CUTOFF

MATRIX = sp.random(40, 15, density=0.3, format="csr", random_state=1, dtype=np.float32)


@pytest.mark.parametrize("name", ["als", "bpr", "item_knn", "ease"])
def test_models_by_name_exclude_items_and_pad(name):
    model = build_model(ModelConfig(name=name, factors=4, iterations=3, bpr_iterations=5)).fit(
        MATRIX
    )
    users = np.arange(10)
    exclude = MATRIX[users]
    ids, scores = model.recommend(users, MATRIX[users], N=12, exclude=exclude)
    assert ids.shape == (10, 12) and scores.shape == (10, 12)
    for row in range(len(users)):
        got = ids[row][ids[row] >= 0]
        assert not set(got) & set(exclude[row].indices)
        assert len(set(got)) == len(got)
        assert np.all(np.diff(scores[row][ids[row] >= 0]) <= 1e-6)  # best first


@pytest.mark.parametrize("name", ["als", "bpr"])
def test_factor_models_are_deterministic_with_a_seed(name):
    """BPR's parallel SGD races between threads (a run-to-run difference of 1e-2 in its
    factors on 3,000 x 400), so it trains on one thread whatever num_threads says."""
    matrix = sp.random(3000, 400, density=0.02, format="csr", random_state=1, dtype=np.float32)
    matrix.data[:] = 1
    config = ModelConfig(name=name, factors=16, iterations=3, bpr_iterations=30, random_state=7)
    a = build_model(config).fit(matrix).model.item_factors
    b = build_model(config).fit(matrix).model.item_factors
    assert np.array_equal(a, b)


def test_ease_matches_the_closed_form_computed_directly():
    """B = I - P diag(1/diag(P)), P = (X^T X + lambda I)^-1 (Steck 2019), by plain numpy."""
    x = MATRIX.toarray().astype(np.float64)
    lam = 3.0
    p = np.linalg.inv(x.T @ x + lam * np.eye(x.shape[1]))
    expected = np.eye(x.shape[1]) - p @ np.diag(1.0 / np.diag(p))
    model = build_model(ModelConfig(name="ease", ease_lambda=lam)).fit(MATRIX)
    assert isinstance(model, EaseRecommender)
    np.testing.assert_allclose(model.weights, expected, atol=1e-5)
    assert np.all(np.diag(model.weights) == 0)
    users = np.arange(8)
    ids, scores = model.recommend(users, MATRIX[users], N=4, exclude=MATRIX[users])
    dense = x[:8] @ expected
    dense[x[:8] > 0] = -np.inf
    assert ids.tolist() == np.argsort(-dense, axis=1, kind="stable")[:, :4].tolist()
    np.testing.assert_allclose(scores, np.sort(dense, axis=1)[:, ::-1][:, :4], atol=1e-5)


def test_ease_explains_a_score_by_its_terms():
    model = build_model(ModelConfig(name="ease", ease_lambda=1.0)).fit(MATRIX)
    row = MATRIX[[3]]
    item = int(model.recommend(np.array([3]), row, N=1, exclude=row)[0][0, 0])
    terms = model.explain(3, row, item, N=MATRIX.shape[1])
    exact = row.data * model.weights[row.indices, item]
    assert sum(v for _, v in terms) == pytest.approx(exact[exact > 0].sum(), rel=1e-5)


def test_ease_refuses_a_catalogue_above_its_limit(caplog):
    config = ModelConfig(name="ease", ease_max_items=10)
    with pytest.raises(CatalogueTooLargeError, match=r"15 x 15.*ease_max_items = 10"):
        build_model(config).fit(MATRIX)
    with caplog.at_level("WARNING"):
        assert usable_models(("als", "ease"), 15, config) == ("als",)
    assert "EASE skipped: 15 products exceed model.ease_max_items = 10" in caplog.text
    assert usable_models(("als", "ease"), 10, config) == ("als", "ease")


def test_unknown_model_name_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown recommender model 'svd'"):
        build_model(ModelConfig.model_construct(name="svd"))


def test_top_n_excluding_refetches_only_short_rows():
    calls = []

    def fetch(rows, size):
        calls.append((len(rows), size))
        ids = np.tile(np.arange(size), (len(rows), 1))
        return ids, -ids.astype(np.float32)

    exclude = sp.csr_matrix(([1, 1, 1, 1, 1, 1], ([1] * 6, range(6))), shape=(2, 10))
    ids, _ = top_n_excluding(fetch, 2, 3, exclude, max_fetch=10)
    assert ids.tolist() == [[0, 1, 2], [6, 7, 8]]
    assert calls == [(2, 6), (1, 10)]


def test_top_n_excluding_fetches_in_bounded_chunks(monkeypatch):
    """Deep fetches are split so rows x size stays under FETCH_CELLS; the result is the same."""
    import crm_ml.recsys.models as models

    calls = []

    def fetch(rows, size):
        calls.append((len(rows), size))
        ids = np.tile(np.arange(size), (len(rows), 1))
        return ids, -ids.astype(np.float32)

    exclude = sp.csr_matrix((np.ones(8), ([0, 0, 1, 1, 2, 2, 3, 3], [0, 1, 0, 1, 0, 1, 0, 1])))
    exclude.resize(4, 10)
    whole, _ = top_n_excluding(fetch, 4, 3, exclude, max_fetch=10)
    monkeypatch.setattr(models, "FETCH_CELLS", 12)
    calls.clear()
    chunked, _ = top_n_excluding(fetch, 4, 3, exclude, max_fetch=10)
    assert chunked.tolist() == whole.tolist() == [[2, 3, 4]] * 4
    assert calls == [(2, 6), (2, 6)] and max(r * s for r, s in calls) <= 12


def test_baselines_share_the_interface():
    history = sp.csr_matrix(np.array([[0, 3, 1, 0], [0, 0, 0, 0], [2, 2, 2, 0]], np.float32))
    pop = PopularityRecommender().fit(history)
    ids, _ = pop.recommend(np.array([0, 1]), history[[0, 1]], N=2, exclude=history[[0, 1]])
    assert ids.tolist() == [[0, 3], [1, 2]]  # buyers: items 1, 2 (2 each), 0 (1), 3 (0)
    again = BuyAgainRecommender().fit(history)
    ids, _ = again.recommend(np.array([0, 1]), history[[0, 1]], N=3)
    assert ids.tolist() == [[1, 2, -1], [-1, -1, -1]]
    oracle = OracleRecommender().fit(np.array([[0.1, 0.5, 0.2, 0.9]] * 3))
    ids, _ = oracle.recommend(np.array([2]), history[[2]], N=2, exclude=history[[2]])
    assert ids.tolist() == [[3, -1]]


def test_segment_popularity_with_fallback():
    # segment 0 (3 buyers) likes item 0; everyone else, 4 buyers, likes item 1
    history = sp.csr_matrix(np.array([[1, 0]] * 3 + [[0, 1]] * 4, np.float32))
    segments = np.array([0, 0, 0, 1, 1, -1, -1])  # segment 1 has too few buyers
    pop = PopularityRecommender(segments, min_segment_buyers=3).fit(history)
    assert pop.row_sources(np.arange(7)).tolist() == ["popular_segment"] * 3 + ["popular"] * 4
    ids, _ = pop.recommend(np.array([0, 3, 5]), history[[0, 3, 5]], N=1)
    assert ids.tolist() == [[0], [1], [1]]


def test_signal_als_beats_popularity_on_latent_low_rank_world(world):
    tables, _ = world
    table = compare_recommenders(
        tables, CUTOFF, horizon_days=65, config=RecsysConfig(), models=("als",)
    )
    assert table.loc["als", "recall@10"] > 1.3 * table.loc["popular", "recall@10"]
    assert table.loc["als", "coverage@10"] > table.loc["popular", "coverage@10"]
