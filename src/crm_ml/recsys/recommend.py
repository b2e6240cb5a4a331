"""Served recommendation lists: model scores -> business rules -> slots -> one tidy table.

The flow per batch of customers: the model (or segment popularity for cold-start customers)
proposes an over-fetched candidate list without already-bought items; "buy again" proposes
repeatable items the customer bought; the rules of `crm_ml.recsys.rules` run on all candidates;
buy-again keeps at most `buy_again_slots` places at the end of the list; lists still short are
topped up from popularity. Every row says which path produced it (`source`).

Example::

    engine = fit_engine(tables, cutoff="2024-06-01", config=RecsysConfig())
    recs = engine.recommend(export=True)   # customer_id, rank, product_id, category, score, source
"""

from __future__ import annotations

import copy
import logging
import math
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from tqdm.auto import tqdm

from crm_ml.recsys.baselines import BuyAgainRecommender, PopularityRecommender, buy_again_matrix
from crm_ml.recsys.catalogue import Catalogue
from crm_ml.recsys.config import RecsysConfig
from crm_ml.recsys.interactions import InteractionData, build_interactions
from crm_ml.recsys.models import Recommender, build_model
from crm_ml.recsys.rules import (
    ANALYTICS_RULES,
    EXPORT_RULES,
    SOURCE_CODES,
    SOURCE_LABELS,
    Candidates,
    Rule,
    RuleContext,
    apply_rules,
    build_rule_context,
    drop_without_consent,
    first_proposal,
    position_in_group,
)
from crm_ml.recsys.timestamps import utc_tables

log = logging.getLogger(__name__)

_BUY_AGAIN = SOURCE_CODES["buy_again"]
OUTPUT_COLUMNS = ["customer_id", "rank", "product_id", "category", "score", "source"]


def recent_purchases(
    data: InteractionData, window_days: int | Literal["auto"] | None
) -> sp.csr_matrix:
    """Purchase counts restricted to the last `window_days` before the cutoff.

    "auto": the median time since a customer last bought a product (over every customer x
    product bought), so the window holds the most recent half of them on any time scale.
    """
    counts = data.purchase_counts.copy()
    if window_days == "auto":
        days = data.days_since_purchase.data
        window_days = float(np.median(days)) if len(days) else None
    if window_days is not None:
        counts.data = np.where(data.days_since_purchase.data <= window_days, counts.data, 0)
        counts.eliminate_zeros()
    return counts


def segment_codes(customer_ids: pd.Index, segments: pd.Series | None) -> np.ndarray | None:
    """Segment code per customer row (-1 unknown) from an optional customer_id -> segment map."""
    if segments is None:
        return None
    labels = segments.copy()
    labels.index = labels.index.astype(str)
    aligned = labels.reindex(customer_ids)
    codes, _ = pd.factorize(aligned)
    return codes.astype(np.int64)


@dataclass
class RecommendationEngine:
    """A fitted model plus everything needed to serve rule-abiding lists as of `data.cutoff`.

    Built by `fit_engine` (or `assemble_engine` around a model fitted elsewhere); logged to
    MLflow as a pyfunc, it serves the same lists after loading.

    Parameters
    ----------
    config : RecsysConfig
        k, the rules and the offer settings the lists follow.
    data : InteractionData
        The customer x product confidence matrix as of the cutoff, with its catalogue.
    model : Recommender
        The fitted model (ALS, BPR, item-kNN or EASE).
    popularity : PopularityRecommender
        The cold-start path: popularity (per segment where segments are given).
    buy_again : BuyAgainRecommender
        Fills the buy-again slots with repeatable products a customer bought.
    context : RuleContext
        Consent, exclusions and sensitive products as of the cutoff.

    Examples
    --------
    >>> from crm_ml.datasets.interaction_worlds import InteractionWorld, simulate_interactions
    >>> tables = simulate_interactions(InteractionWorld("tiny", customers=200, products=40,
    ...                                                 groups=4, history_days=180))
    >>> engine = fit_engine(tables, "2020-06-01")
    >>> type(engine).__name__, engine.n_items, engine.config.k
    ('RecommendationEngine', 40, 10)
    """

    config: RecsysConfig
    data: InteractionData
    model: Recommender
    popularity: PopularityRecommender
    buy_again: BuyAgainRecommender
    context: RuleContext

    # ---- candidate generation -------------------------------------------------------------
    def _fetch_size(self, k: int) -> int:
        rules = self.config.rules
        return min(math.ceil(k * rules.overfetch_factor) + rules.overfetch_extra, self.n_items)

    @property
    def n_items(self) -> int:
        return self.data.catalogue.n_items

    def _propose(
        self, model: Recommender, users: np.ndarray, n: int, exclude_bought: bool = True
    ) -> Candidates:
        ui, bought = self.data.user_items, self.data.purchase_counts
        exclude = bought[users] if exclude_bought else None
        ids, scores = model.recommend(users, ui[users], N=n, exclude=exclude)
        return Candidates.from_arrays(users, ids, scores, model.row_sources(users))

    def _candidates(self, users: np.ndarray, k: int) -> Candidates:
        warm = np.diff(self.data.user_items.indptr)[users] > 0
        fetch = self._fetch_size(k)
        parts = []
        slots = self.config.rules.buy_again_slots
        if slots:
            parts.append(self._propose(self.buy_again, users, 3 * slots, exclude_bought=False))
        parts.append(self._propose(self.model, users[warm], fetch))
        parts.append(self._propose(self.popularity, users[~warm], fetch))
        return Candidates.concat(parts)

    # ---- selection ----------------------------------------------------------------------
    def _select(
        self, c: Candidates, k: int, rules: Sequence[Rule]
    ) -> tuple[Candidates, np.ndarray]:
        """Rules, then slots: buy-again gets at most `buy_again_slots` (and at most k // 2) places
        at the end of the list, the main list fills the rest.

        Returns the chosen candidates and their 1-based rank (main list first, buy-again last).
        """
        c = apply_rules(c, self.context, rules)
        is_ba = c.source == _BUY_AGAIN
        pos = position_in_group(c.user, is_ba)
        n_users = self.data.n_users
        # buy-again never takes more than half a list: discovery is the point of the list
        ba_keep = is_ba & (pos < min(self.config.rules.buy_again_slots, k // 2))
        n_ba = np.bincount(c.user[ba_keep], minlength=n_users)
        main_keep = ~is_ba & (pos < k - n_ba[c.user])
        n_main = np.bincount(c.user[main_keep], minlength=n_users)
        keep = ba_keep | main_keep
        rank = np.where(is_ba, n_main[c.user] + pos, pos) + 1
        return c.subset(keep), rank[keep]

    def _recommend_rows(
        self, users: np.ndarray, k: int, rules: Sequence[Rule]
    ) -> tuple[Candidates, np.ndarray]:
        proposed = self._candidates(users, k)
        chosen, rank = self._select(proposed, k, rules)
        counts = np.bincount(chosen.user, minlength=self.data.n_users)[users]
        short = counts < k
        if drop_without_consent in rules:
            short &= self.context.consent[users]  # their lists are empty on purpose
        short = users[short]
        if len(short) == 0:
            return chosen, rank
        # top up short lists from popularity; rules run again on the enlarged candidate set
        # deeper than the first fetch: these customers already lost many candidates to rules
        depth = min(4 * self._fetch_size(k) + k, self.n_items)
        fill = self._propose(self.popularity, short, depth)
        enlarged = Candidates.concat([proposed.subset(np.isin(proposed.user, short)), fill])
        enlarged = enlarged.subset(first_proposal(enlarged))
        again, again_rank = self._select(enlarged, k, rules)
        done = ~np.isin(chosen.user, short)
        return (
            Candidates.concat([chosen.subset(done), again]),
            np.concatenate([rank[done], again_rank]),
        )

    # ---- public -------------------------------------------------------------------------
    def recommend(
        self,
        customer_ids: Sequence[str] | pd.Series | None = None,
        *,
        k: int | None = None,
        export: bool = True,
        batch_size: int = 5_000,
        show_progress: bool = False,
    ) -> pd.DataFrame:
        """Top-k rule-abiding recommendations; `export=True` also drops non-consenting customers.

        Columns: customer_id, rank (1 = best), product_id, category, score, source (ids as
        categoricals). Customers unknown at the cutoff get no rows (they have no consent or
        exclusions on record). Batches bound the memory of candidate generation.

        Parameters
        ----------
        customer_ids : sequence of str or pandas.Series, optional
            Whom to recommend to (pseudonymised ids); default every customer known at the
            cutoff.
        k : int, optional
            List length; `config.k` by default.
        export : bool, default True
            Apply the export rules (marketing consent, exclusions, sensitive products);
            False applies the analytics rules only, for evaluation. An export that comes
            out empty logs which condition nobody met.
        batch_size : int, default 5000
            Customers per batch of candidate generation.
        show_progress : bool, default False
            A progress bar over the batches.

        Returns
        -------
        pandas.DataFrame
            Up to `k` rows per customer, ordered by customer and rank: customer_id, rank,
            product_id, category, score, source (the model's name, "buy_again" or
            "popular"...).

        Examples
        --------
        >>> from crm_ml.datasets.interaction_worlds import InteractionWorld, simulate_interactions
        >>> tables = simulate_interactions(InteractionWorld("tiny", customers=200, products=40,
        ...                                                 groups=4, history_days=180))
        >>> engine = fit_engine(tables, "2020-06-01")
        >>> recs = engine.recommend(["c000000", "c000001", "unknown"], k=3, export=False)
        >>> recs.columns.tolist()
        ['customer_id', 'rank', 'product_id', 'category', 'score', 'source']
        >>> recs.groupby("customer_id", observed=True)["rank"].apply(list).to_dict()
        {'c000000': [1, 2, 3], 'c000001': [1, 2, 3]}
        >>> len(engine.recommend(["c000000"], export=True))   # no marketing consent on record
        0
        """
        k = k or self.config.k
        rules = EXPORT_RULES if export else ANALYTICS_RULES
        if customer_ids is None:
            users = np.arange(self.data.n_users, dtype=np.int32)
        else:
            users = self.data.customer_index(customer_ids)
            if (users < 0).any():
                log.info("%d customer(s) unknown at the cutoff get no rows", (users < 0).sum())
            users = np.unique(users[users >= 0]).astype(np.int32)
        out = _Output(len(users) * k)
        batches = range(0, len(users), batch_size)
        for start in tqdm(batches, desc="recommend", disable=not show_progress):
            chosen, rank = self._recommend_rows(users[start : start + batch_size], k, rules)
            order = np.lexsort((rank, chosen.user))  # batches are in user order already
            out.append(chosen.subset(order), rank[order])
        if export and out.size == 0 and len(users):
            self._warn_empty_export(users)
        return self.to_frame(*out.result())

    def for_export_date(
        self, tables: Mapping[str, pd.DataFrame], as_of: pd.Timestamp | str
    ) -> tuple[RecommendationEngine, pd.Index, pd.Index]:
        """This (registered) engine served at a later export: customers who joined since
        it was trained are added with no history, so they get the cold-start path (segment
        or global popularity) through the same rules, and consent and exclusions are read
        from `tables` as of `as_of`. The model is not refitted: products new since
        training are not in its catalogue and are not recommended.

        Returns (engine, new customer ids, new product ids).
        """
        tables = utc_tables(tables)
        customers = pd.Index(tables["customers"]["customer_id"].astype(str).unique())
        new = customers.difference(self.data.customer_ids, sort=False)
        product_ids = tables.get("products", pd.DataFrame({"product_id": []}))["product_id"]
        unseen = pd.Index(product_ids.astype(str).unique()).difference(
            self.data.catalogue.product_ids, sort=False
        )
        empty = sp.csr_matrix((len(new), self.n_items), dtype=np.float32)

        def grown(matrix: sp.csr_matrix) -> sp.csr_matrix:
            return sp.vstack([matrix, empty.astype(matrix.dtype)], format="csr")

        data = InteractionData(
            user_items=grown(self.data.user_items),
            purchase_counts=grown(self.data.purchase_counts),
            days_since_purchase=grown(self.data.days_since_purchase),
            customer_ids=self.data.customer_ids.append(new),
            catalogue=self.data.catalogue,
            cutoff=pd.Timestamp(as_of),
        )
        popularity = copy.copy(self.popularity)
        if popularity.segments is not None:  # newcomers have no segment yet: global list
            popularity.segments = np.concatenate([popularity.segments, np.full(len(new), -1)])
        buy_again = copy.copy(self.buy_again)
        buy_again.history = grown(self.buy_again.history)
        context = build_rule_context(data, tables, rules=self.config.rules)
        engine = RecommendationEngine(self.config, data, self.model, popularity, buy_again, context)
        return engine, new, unseen

    def _warn_empty_export(self, users: np.ndarray) -> None:
        """An export without a single row must say why (DESIGN.md: never silence)."""
        if not self.context.has_consent_column:
            reason = (
                "table 'customers' has no 'marketing_consent' column, so every customer "
                "counts as not consenting (DESIGN.md); add the column to export lists, or "
                "call recommend(export=False) for analytics"
            )
        elif not self.context.consent[users].any():
            reason = f"none of the {len(users):,} customers has marketing_consent = true"
        else:
            reason = "the business rules removed every candidate"
        log.warning("recommendation export is empty: %s", reason)

    def to_frame(self, c: Candidates, rank: np.ndarray) -> pd.DataFrame:
        """Tidy table in the given row order; ids as categoricals so millions of rows stay cheap.

        The columns are taken without copying (`copy=False`): at a million customers a copy
        of the output is a few hundred MB of peak memory for nothing.
        """
        catalogue = self.data.catalogue
        return pd.DataFrame(
            {
                "customer_id": pd.Categorical.from_codes(c.user, categories=self.data.customer_ids),
                "rank": rank.astype(np.int16, copy=False),
                "product_id": pd.Categorical.from_codes(c.item, categories=catalogue.product_ids),
                "category": pd.Categorical.from_codes(
                    catalogue.category_codes[c.item], categories=catalogue.categories
                ),
                "score": c.score.astype(np.float32, copy=False),
                "source": pd.Categorical.from_codes(c.source, categories=list(SOURCE_LABELS)),
            },
            copy=False,
        )

    def save(self, path: str | Path) -> Path:
        """Pickle the fitted engine (implicit models pickle cleanly)."""
        path = Path(path)
        with path.open("wb") as fh:
            pickle.dump(self, fh, protocol=pickle.HIGHEST_PROTOCOL)
        return path

    @staticmethod
    def load(path: str | Path) -> RecommendationEngine:
        with Path(path).open("rb") as fh:
            return pickle.load(fh)


class _Output:
    """Preallocated result columns, so the output is never held twice while concatenating."""

    def __init__(self, capacity: int) -> None:
        self.user = np.empty(capacity, dtype=np.int32)
        self.item = np.empty(capacity, dtype=np.int32)
        self.score = np.empty(capacity, dtype=np.float32)
        self.source = np.empty(capacity, dtype=np.int8)
        self.rank = np.empty(capacity, dtype=np.int16)
        self.size = 0

    def append(self, c: Candidates, rank: np.ndarray) -> None:
        end = self.size + len(c)
        self.user[self.size : end] = c.user
        self.item[self.size : end] = c.item
        self.score[self.size : end] = c.score
        self.source[self.size : end] = c.source
        self.rank[self.size : end] = rank
        self.size = end

    def result(self) -> tuple[Candidates, np.ndarray]:
        n = self.size
        c = Candidates(self.user[:n], self.item[:n], self.score[:n], self.source[:n])
        return c, self.rank[:n]


def assemble_engine(
    data: InteractionData,
    context: RuleContext,
    model: Recommender,
    config: RecsysConfig,
    segments: pd.Series | None = None,
) -> RecommendationEngine:
    """Engine from a fitted model and prepared data (fits the popularity and buy-again paths)."""
    rules = config.rules
    popularity = PopularityRecommender(
        segment_codes(data.customer_ids, segments), rules.min_segment_buyers
    ).fit(recent_purchases(data, rules.popularity_window_days))
    buy_again = BuyAgainRecommender().fit(
        buy_again_matrix(
            data.purchase_counts,
            data.days_since_purchase,
            data.catalogue.is_repeatable,
            rules.buy_again_half_life_days,
        )
    )
    return RecommendationEngine(config, data, model, popularity, buy_again, context)


def fit_engine(
    tables: Mapping[str, pd.DataFrame],
    cutoff: pd.Timestamp | str,
    config: RecsysConfig | None = None,
    segments: pd.Series | None = None,
) -> RecommendationEngine:
    """Build interactions as of `cutoff`, fit the configured model and wrap it with the rules.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        Accepted tables; only orders (customer_id, product_id, ts) are required, the other
        columns serve the rules that use them (naive timestamps are read as UTC, with a
        warning).
    cutoff : pandas.Timestamp or str
        Interactions before it are used; consent and exclusions are read as of it.
    config : RecsysConfig, optional
        Model, interactions, rules; ``RecsysConfig()`` (ALS) by default, or
        `Selection.serving` from `select_recommender`.
    segments : pandas.Series, optional
        Segment per customer id, for per-segment popularity on the cold-start path.

    Returns
    -------
    RecommendationEngine
        Ready for `RecommendationEngine.recommend` and `next_best_offer`.

    Examples
    --------
    >>> from crm_ml.datasets.interaction_worlds import InteractionWorld, simulate_interactions
    >>> tables = simulate_interactions(InteractionWorld("tiny", customers=200, products=40,
    ...                                                 groups=4, history_days=180))
    >>> from crm_ml.recsys import ModelConfig, RecsysConfig
    >>> engine = fit_engine(tables, "2020-06-01", RecsysConfig(model=ModelConfig(name="ease")))
    >>> type(engine.model).__name__, engine.data.n_users
    ('EaseRecommender', 200)
    """
    config = config or RecsysConfig()
    tables = utc_tables(tables)
    catalogue = Catalogue.from_tables(tables, config.offer.default_margin_rate)
    data = build_interactions(tables, cutoff, config.interactions, catalogue)
    model = build_model(config.model).fit(data.user_items)
    context = build_rule_context(data, tables, rules=config.rules)
    return assemble_engine(data, context, model, config, segments)
