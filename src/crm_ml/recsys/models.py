"""ALS, BPR and item-kNN from `implicit`, and EASE, behind one interface shared with the baselines.

Every recommender here (and in `crm_ml.recsys.baselines`) has the shape of implicit's
`RecommenderBase`: `fit(user_items)` on a customers x products `scipy.sparse.csr_matrix`,
batch `recommend(userids, user_items, N, exclude)` returning `(ids, scores)` arrays of shape
(len(userids), N) (padded with -1 / -inf), and `explain`. Callers switch models by name.

Example::

    model = build_model(ModelConfig(name="als", factors=64)).fit(data.user_items)
    ids, scores = model.recommend(np.arange(100), data.user_items[:100], N=20,
                                  exclude=data.purchase_counts[:100])
"""

from __future__ import annotations

import logging
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

import implicit
import numpy as np
import scipy.linalg
import scipy.sparse as sp
from implicit.utils import ParameterWarning
from threadpoolctl import threadpool_limits

from crm_ml.errors import CrmMlError
from crm_ml.recsys.config import ModelConfig

log = logging.getLogger(__name__)

Contribution = tuple[int, float]


def lookup(matrix: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Values of `matrix` at (rows[i], cols[i]) pairs, vectorised (0 where absent)."""
    if len(rows) == 0:
        return np.zeros(0, dtype=matrix.dtype)
    return np.asarray(matrix[rows, cols]).ravel()


def mask_excluded(ids: np.ndarray, scores: np.ndarray, exclude: sp.csr_matrix | None, N: int):
    """Drop ids found in the aligned row of `exclude`, keep order, cut or pad to N columns."""
    ids = np.asarray(ids)
    scores = np.asarray(scores, dtype=np.float32)
    bad = ids < 0
    if exclude is not None and exclude.nnz:
        rows = np.repeat(np.arange(ids.shape[0], dtype=np.int32), ids.shape[1])
        flat = ids.ravel()
        hit = np.zeros(flat.shape, dtype=bool)
        valid = flat >= 0
        hit[valid] = lookup(exclude, rows[valid], flat[valid]) != 0
        bad |= hit.reshape(ids.shape)
    return compact(ids, scores, ~bad, N)


def compact(ids: np.ndarray, scores: np.ndarray, keep: np.ndarray, N: int):
    """Move kept entries of each row to the front (stable), pad with -1 / -inf to N columns."""
    order = np.argsort(~keep, axis=1, kind="stable")[:, :N]
    ids = np.take_along_axis(ids, order, axis=1).astype(np.int32)
    scores = np.take_along_axis(scores, order, axis=1).astype(np.float32)
    kept = np.take_along_axis(keep, order, axis=1)
    ids[~kept] = -1
    scores[~kept] = -np.inf
    if ids.shape[1] < N:
        pad = N - ids.shape[1]
        ids = np.pad(ids, ((0, 0), (0, pad)), constant_values=-1)
        scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=-np.inf)
    return ids, scores


# candidates (rows x fetch size) held at once by one fetch: bounds the memory of the deep
# re-fetches that customers with long exclusion lists need (~30 bytes per cell in flight)
FETCH_CELLS = 2_000_000


def top_n_excluding(
    fetch: Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]],
    n_rows: int,
    N: int,
    exclude: sp.csr_matrix | None,
    max_fetch: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-N after per-row exclusions, fetching more only for rows that came up short.

    `fetch(rows, F)` returns the unfiltered top-F (ids, scores) of those rows. Rows with many
    exclusions (heavy buyers) are re-fetched with a growing F instead of over-fetching for all.
    """
    ids = np.full((n_rows, N), -1, dtype=np.int32)
    scores = np.full((n_rows, N), -np.inf, dtype=np.float32)
    if n_rows == 0:
        return ids, scores
    has_exclusions = (
        np.diff(exclude.indptr) > 0 if exclude is not None else np.zeros(n_rows, dtype=bool)
    )
    rows = np.arange(n_rows)
    size = min(2 * N if has_exclusions.any() else N, max_fetch)
    while len(rows):
        # deep re-fetches of many rows would hold rows x size candidates at once
        step = max(1, FETCH_CELLS // size)
        for start in range(0, len(rows), step):
            part = rows[start : start + step]
            got_ids, got_scores = fetch(part, size)
            ids[part], scores[part] = mask_excluded(
                got_ids, got_scores, exclude[part] if exclude is not None else None, N
            )
        if size >= max_fetch:
            break
        rows = rows[(ids[rows] < 0).any(axis=1) & has_exclusions[rows]]
        size = min(size * 4, max_fetch)
    return ids, scores


class Recommender(ABC):
    """The interface every model and baseline shares (implicit's RecommenderBase, trimmed).

    `source` is the label written in the `source` column of every row the model produces.
    """

    name: str = "recommender"
    source: str = "recommender"

    @abstractmethod
    def fit(self, user_items: sp.csr_matrix) -> Recommender:
        """Learn from a customers x products confidence matrix."""

    @abstractmethod
    def recommend(
        self,
        userids: np.ndarray,
        user_items: sp.csr_matrix,
        N: int = 10,
        exclude: sp.csr_matrix | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-N (ids, scores) per user; `user_items` and `exclude` rows align with `userids`.

        `exclude` holds per-user items never to return (e.g. already bought).
        """

    def row_sources(self, userids: np.ndarray) -> np.ndarray:
        """Which path produced each user's list (one label per user)."""
        return np.full(len(userids), self.source, dtype=object)

    def explain(
        self, userid: int, user_items: sp.csr_matrix, itemid: int, N: int = 3
    ) -> list[Contribution]:
        """The user's items that contributed most to `itemid`'s score; `user_items` is 1 row."""
        return []


class ImplicitRecommender(Recommender):
    """Adapter around an implicit model chosen by `ModelConfig.name` (als / bpr / item_knn)."""

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.name = config.name
        self.source = config.name
        self.model = _new_implicit_model(config)

    @property
    def is_knn(self) -> bool:
        return self.config.name == "item_knn"

    def fit(self, user_items: sp.csr_matrix, show_progress: bool = False) -> ImplicitRecommender:
        # implicit warns and slows down when BLAS runs its own thread pool next to its threads
        with threadpool_limits(1, "blas"), warnings.catch_warnings():
            # implicit's own kNN weighting hands itself COO matrices and warns about it
            warnings.simplefilter("ignore", ParameterWarning)
            self.model.fit(sp.csr_matrix(user_items, dtype=np.float32), show_progress=show_progress)
        return self

    def recommend(self, userids, user_items, N=10, exclude=None):
        userids = np.asarray(userids, dtype=np.int32)
        if len(userids) == 0:
            return np.zeros((0, N), np.int32), np.zeros((0, N), np.float32)
        if self.is_knn:
            user_items = sp.csr_matrix(user_items, dtype=np.float32)

            def fetch(rows: np.ndarray, size: int):
                ids, scores = self.model.recommend(
                    userids[rows], user_items[rows], N=size, filter_already_liked_items=False
                )
                return _drop_padding(ids, scores), scores

            return top_n_excluding(fetch, len(userids), N, exclude, self.model.similarity.shape[0])
        # ALS/BPR read user_items only to filter, so the exclusions go in its place and the
        # filtering happens inside implicit's own top-k (no over-fetch needed)
        filter_rows = exclude if exclude is not None else sp.csr_matrix(user_items.shape)
        with threadpool_limits(1, "blas"):
            ids, scores = self.model.recommend(
                userids,
                sp.csr_matrix(filter_rows, dtype=np.float32),
                N=min(N, self.model.item_factors.shape[0]),
                filter_already_liked_items=True,
            )
        return mask_excluded(_drop_padding(ids, scores), scores, None, N)

    def explain(self, userid, user_items, itemid, N=3):
        row = sp.csr_matrix(user_items[0] if user_items.shape[0] > 1 else user_items)
        if row.nnz == 0:
            return []
        if self.config.name == "als":
            _, top, _ = self.model.explain(0, row, int(itemid), N=N)
            return [(int(i), float(s)) for i, s in top if s > 0]
        if self.is_knn:
            # score(item) = sum_j user[j] * similarity[j, item]; each term is j's contribution
            items = row.indices
            contrib = row.data * lookup(self.model.similarity, items, np.full_like(items, itemid))
        else:
            # BPR has no closed-form explanation: cosine of item factors, weighted by confidence
            factors = self.model.item_factors
            norms = np.linalg.norm(factors, axis=1) + 1e-9
            items = row.indices
            cos = factors[items] @ factors[itemid] / (norms[items] * norms[itemid])
            contrib = row.data * cos
        best = np.argsort(-contrib)[:N]
        return [(int(items[b]), float(contrib[b])) for b in best if contrib[b] > 0]


class CatalogueTooLargeError(CrmMlError, ValueError):
    """A model that holds an items x items dense matrix was asked to fit a too large catalogue."""


def ease_fits(n_items: int, config: ModelConfig) -> bool:
    """Whether EASE may fit a catalogue of `n_items` under `config.ease_max_items`."""
    return n_items <= config.ease_max_items


def usable_models(models: Sequence[str], n_items: int, config: ModelConfig) -> tuple[str, ...]:
    """`models` without EASE when the catalogue exceeds `config.ease_max_items` (warned)."""
    if "ease" in models and not ease_fits(n_items, config):
        log.warning(
            "EASE skipped: %d products exceed model.ease_max_items = %d (EASE holds a dense "
            "items x items matrix)",
            n_items,
            config.ease_max_items,
        )
        return tuple(m for m in models if m != "ease")
    return tuple(models)


class EaseRecommender(Recommender):
    """EASE: a closed-form item-item linear model, our own code (implicit has none).

    Steck (2019), "Embarrassingly Shallow Autoencoders for Sparse Data", WWW '19: with the
    Gram matrix G = X^T X of the customers x products confidence X,

        P = (G + lambda I)^-1,    B = I - P diag(1 / diag(P))    (so diag(B) = 0),

    and the scores of a customer are x_u B. `lambda` is `ModelConfig.ease_lambda` (the
    paper's L2 penalty, in the units of G). B is dense items x items, so catalogues above
    `ModelConfig.ease_max_items` are refused with `CatalogueTooLargeError`.

    Example::

        model = EaseRecommender(ModelConfig(name="ease", ease_lambda=100)).fit(user_items)
        ids, scores = model.recommend(np.arange(10), user_items[:10], N=5)
    """

    name = "ease"
    source = "ease"

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.weights = np.zeros((0, 0), dtype=np.float32)

    def fit(self, user_items: sp.csr_matrix) -> EaseRecommender:
        """Solve for B in closed form (one dense Cholesky-sized inversion).

        Raises
        ------
        CatalogueTooLargeError
            If the catalogue has more than `config.ease_max_items` products.
        """
        n_items = user_items.shape[1]
        if not ease_fits(n_items, self.config):
            gigabytes = n_items**2 * 8 / 1e9
            raise CatalogueTooLargeError(
                f"EASE needs a dense {n_items:,} x {n_items:,} matrix ({gigabytes:.1f} GB) and "
                f"the limit is model.ease_max_items = {self.config.ease_max_items:,}; raise "
                f"the limit or use als, bpr or item_knn for this catalogue"
            )
        x = sp.csr_matrix(user_items, dtype=np.float64)
        gram = (x.T @ x).toarray()
        gram[np.diag_indices(n_items)] += self.config.ease_lambda
        with threadpool_limits(self.config.num_threads or None, "blas"):
            inverse = scipy.linalg.inv(gram, overwrite_a=True, check_finite=False)
        weights = -inverse / np.diag(inverse)[None, :]
        weights[np.diag_indices(n_items)] = 0.0
        self.weights = weights.astype(np.float32)
        return self

    def recommend(self, userids, user_items, N=10, exclude=None):
        n_rows, n_items = len(userids), self.weights.shape[0]
        ids = np.full((n_rows, N), -1, dtype=np.int32)
        scores = np.full((n_rows, N), -np.inf, dtype=np.float32)
        user_items = sp.csr_matrix(user_items, dtype=np.float32)
        take = min(N, n_items)
        step = max(1, FETCH_CELLS // max(n_items, 1))  # dense scores of `step` rows at once
        for start in range(0, n_rows, step):
            rows = slice(start, min(start + step, n_rows))
            dense = np.asarray(user_items[rows] @ self.weights)
            if exclude is not None:
                mask = sp.csr_matrix(exclude[rows]).tocoo()
                dense[mask.row, mask.col] = -np.inf
            top = np.argpartition(-dense, take - 1, axis=1)[:, :take]
            part = np.take_along_axis(dense, top, axis=1)
            order = np.argsort(-part, axis=1, kind="stable")
            top_ids = np.take_along_axis(top, order, axis=1)
            top_scores = np.take_along_axis(part, order, axis=1)
            ids[rows, :take] = np.where(np.isneginf(top_scores), -1, top_ids)
            scores[rows, :take] = top_scores
        return ids, scores

    def explain(self, userid, user_items, itemid, N=3):
        # score(item) = sum_j x_uj B[j, item]: each term is exactly j's contribution
        row = sp.csr_matrix(user_items[0] if user_items.shape[0] > 1 else user_items)
        items = row.indices
        contrib = row.data * self.weights[items, itemid]
        best = np.argsort(-contrib)[:N]
        return [(int(items[b]), float(contrib[b])) for b in best if contrib[b] > 0]


def _drop_padding(ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """implicit marks filtered or missing entries with score -FLT_MAX (id kept or -1)."""
    return np.where(np.asarray(scores) <= -np.finfo(np.float32).max / 2, -1, ids)


def _new_implicit_model(config: ModelConfig):
    with threadpool_limits(1, "blas"):  # implicit checks the BLAS pool when a model is built
        return _implicit_model(config)


def _implicit_model(config: ModelConfig):
    if config.name == "als":
        return implicit.als.AlternatingLeastSquares(
            factors=config.factors,
            regularization=config.regularization,
            alpha=config.alpha,
            iterations=config.iterations,
            num_threads=config.num_threads,
            random_state=config.random_state,
            use_gpu=False,
        )
    if config.name == "bpr":
        return implicit.bpr.BayesianPersonalizedRanking(
            factors=config.factors,
            learning_rate=config.learning_rate,
            regularization=config.regularization,
            iterations=config.bpr_iterations,
            # its parallel SGD races between threads: one thread keeps a seeded run the same
            num_threads=1,
            random_state=config.random_state,
            use_gpu=False,
        )
    if config.name == "item_knn":
        if config.similarity == "cosine":
            return implicit.nearest_neighbours.CosineRecommender(
                K=config.neighbours, num_threads=config.num_threads
            )
        return implicit.nearest_neighbours.BM25Recommender(
            K=config.neighbours,
            K1=config.knn_bm25_k1,
            B=config.knn_bm25_b,
            num_threads=config.num_threads,
        )
    raise ValueError(f"unknown recommender model '{config.name}'; use als, bpr, item_knn or ease")


def build_model(config: ModelConfig | None = None) -> Recommender:
    """An unfitted model chosen by name (implicit's, or EASE), seed and threads from config."""
    config = config or ModelConfig()
    if config.name == "ease":
        return EaseRecommender(config)
    return ImplicitRecommender(config)
