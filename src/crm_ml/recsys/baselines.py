"""Baselines with the same interface as the implicit models: popularity, buy again, oracle.

They are what a model must beat (DESIGN.md: every model is compared with simple baselines in
the same run), and popularity doubles as the cold-start path of the served lists.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.sparse as sp

from crm_ml.recsys.models import Recommender, top_n_excluding


def _top_rows(matrix: sp.csr_matrix, N: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-N columns of every row of a sparse matrix by value (padded with -1 / -inf)."""
    n = matrix.shape[0]
    ids = np.full((n, N), -1, dtype=np.int32)
    scores = np.full((n, N), -np.inf, dtype=np.float32)
    lengths = np.diff(matrix.indptr)
    if matrix.nnz == 0:
        return ids, scores
    rows = np.repeat(np.arange(n), lengths)
    order = np.lexsort((-matrix.data, rows))  # by row, then value descending
    starts = np.repeat(matrix.indptr[:-1], lengths)
    position = np.arange(matrix.nnz) - starts
    take = position < N
    sel = order[take]
    ids[rows[sel], position[take]] = matrix.indices[sel]
    scores[rows[sel], position[take]] = matrix.data[sel]
    return ids, scores


class PopularityRecommender(Recommender):
    """Most-bought items, per segment when a segment is known and big enough, else global.

    `segments` gives one segment code per user row (-1 = unknown); a segment needs at least
    `min_segment_buyers` distinct buyers, otherwise its members get the global list.
    """

    name = "popular"
    source = "popular"

    def __init__(self, segments: np.ndarray | None = None, min_segment_buyers: int = 20) -> None:
        self.segments = None if segments is None else np.asarray(segments, dtype=np.int64)
        self.min_segment_buyers = min_segment_buyers
        self.global_scores: np.ndarray = np.zeros(0)
        self.segment_scores: dict[int, np.ndarray] = {}

    def fit(self, user_items: sp.csr_matrix) -> PopularityRecommender:
        bought = (user_items > 0).astype(np.float32).tocsr()
        self.global_scores = np.asarray(bought.sum(axis=0)).ravel()
        self.segment_scores = {}
        if self.segments is not None:
            has_items = np.diff(bought.indptr) > 0
            for seg in np.unique(self.segments[self.segments >= 0]):
                members = self.segments == seg
                if (members & has_items).sum() >= self.min_segment_buyers:
                    self.segment_scores[int(seg)] = np.asarray(bought[members].sum(axis=0)).ravel()
        return self

    def _segment_of(self, userids: np.ndarray) -> np.ndarray:
        if self.segments is None:
            return np.full(len(userids), -1)
        seg = self.segments[userids]
        known = np.isin(seg, list(self.segment_scores))
        return np.where(known, seg, -1)

    def row_sources(self, userids):
        return np.where(self._segment_of(userids) >= 0, "popular_segment", "popular").astype(object)

    def recommend(self, userids, user_items, N=10, exclude=None):
        userids = np.asarray(userids)
        segs = self._segment_of(userids)
        ranked = {
            int(seg): np.argsort(
                -self.segment_scores.get(int(seg), self.global_scores), kind="stable"
            )
            for seg in np.unique(segs)
        }

        def fetch(rows: np.ndarray, size: int):
            ids = np.empty((len(rows), size), dtype=np.int32)
            scores = np.empty((len(rows), size), dtype=np.float32)
            for seg, order in ranked.items():
                mine = segs[rows] == seg
                popularity = self.segment_scores.get(seg, self.global_scores)
                ids[mine] = order[:size]
                scores[mine] = popularity[order[:size]]
            return ids, scores

        return top_n_excluding(fetch, len(userids), N, exclude, len(self.global_scores))


class BuyAgainRecommender(Recommender):
    """Items the customer bought before, ranked by the fitted (e.g. decayed count) value.

    Fit it on a matrix that holds only repeatable items; one-off items never come back.
    """

    name = "buy_again"
    source = "buy_again"

    def __init__(self) -> None:
        self.history = sp.csr_matrix((0, 0))

    def fit(self, user_items: sp.csr_matrix) -> BuyAgainRecommender:
        self.history = sp.csr_matrix(user_items, dtype=np.float32)
        self.history.eliminate_zeros()
        return self

    def recommend(self, userids, user_items, N=10, exclude=None):
        history = self.history[np.asarray(userids)]

        def fetch(rows: np.ndarray, size: int):
            return _top_rows(history[rows], size)

        return top_n_excluding(fetch, len(userids), N, exclude, max(history.shape[1], 1))


class OracleRecommender(Recommender):
    """Ranks by a known true affinity (customers x products): the ceiling on synthetic worlds."""

    name = "oracle"
    source = "oracle"

    def __init__(self) -> None:
        self.affinity = sp.csr_matrix((0, 0), dtype=np.float32)

    def fit(self, user_items: sp.csr_matrix | np.ndarray) -> OracleRecommender:
        self.affinity = sp.csr_matrix(user_items, dtype=np.float32)
        return self

    def recommend(self, userids, user_items, N=10, exclude=None):
        userids = np.asarray(userids)
        n_items = self.affinity.shape[1]

        def fetch(rows: np.ndarray, size: int):
            # dense per call only: the full affinity matrix may be large
            aff = self.affinity[userids[rows]].toarray()
            top = np.argpartition(-aff, size - 1, axis=1)[:, :size]
            part = np.take_along_axis(aff, top, axis=1)
            order = np.argsort(-part, axis=1, kind="stable")
            return np.take_along_axis(top, order, axis=1), np.take_along_axis(part, order, axis=1)

        return top_n_excluding(fetch, len(userids), N, exclude, n_items)


def buy_again_matrix(
    purchase_counts: sp.csr_matrix,
    days_since_purchase: sp.csr_matrix,
    is_repeatable: np.ndarray,
    half_life_days: float | Literal["auto"] | None = 90.0,
) -> sp.csr_matrix:
    """Purchase counts of repeatable items, faded by time since the last purchase.

    `half_life_days` "auto" is the median time since the last purchase of a product over
    every customer x product bought, so the fade follows the history's time scale.
    """
    counts = sp.csr_matrix(purchase_counts, dtype=np.float32, copy=True)
    days = sp.csr_matrix(days_since_purchase)
    if half_life_days == "auto":
        half_life_days = max(float(np.median(days.data)), 1.0) if days.nnz else None
    if half_life_days is not None:
        # both matrices come from the same grouped purchases: identical sparsity structure
        counts.data = counts.data * np.power(0.5, days.data / half_life_days).astype(np.float32)
    keep = sp.diags(is_repeatable.astype(np.float32))
    result = (counts @ keep).tocsr()
    result.eliminate_zeros()
    return result
