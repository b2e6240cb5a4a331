"""Business rules applied AFTER scoring: what customers told us, and what we promised them.

Each rule is one function `rule(candidates, context) -> keep mask` over a long table of
candidates (user row, item, score, source). `apply_rules` runs them in order, each on the
survivors of the previous one, so an order-dependent rule (the per-category cap) sees the final
ranking. Rules never look at scores, so they hold for every model and baseline alike.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from crm_ml.recsys.catalogue import Catalogue
from crm_ml.recsys.config import RulesConfig
from crm_ml.recsys.interactions import InteractionData
from crm_ml.recsys.models import lookup
from crm_ml.recsys.timestamps import utc_tables

log = logging.getLogger(__name__)


SOURCE_LABELS: tuple[str, ...] = (
    "als",
    "bpr",
    "item_knn",
    "buy_again",
    "popular",
    "popular_segment",
    "oracle",
    "ease",  # appended: codes of the labels before it are stored in saved engines
)
SOURCE_CODES: dict[str, int] = {label: code for code, label in enumerate(SOURCE_LABELS)}


def source_codes(labels: np.ndarray) -> np.ndarray:
    """int8 codes of source labels (compact for millions of candidate rows)."""
    labels = np.asarray(labels, dtype=object)
    unknown = set(labels) - set(SOURCE_CODES)
    if unknown:
        raise ValueError(f"unknown recommendation source(s) {sorted(unknown)}")
    return np.array([SOURCE_CODES[x] for x in labels], dtype=np.int8)


@dataclass(frozen=True)
class Candidates:
    """One row per (user row, item) candidate; per user, rows are in the order they compete.

    `source` holds int8 codes into `SOURCE_LABELS`.
    """

    user: np.ndarray
    item: np.ndarray
    score: np.ndarray
    source: np.ndarray

    def __len__(self) -> int:
        return len(self.user)

    def subset(self, keep: np.ndarray) -> Candidates:
        return Candidates(self.user[keep], self.item[keep], self.score[keep], self.source[keep])

    @classmethod
    def from_arrays(
        cls, userids: np.ndarray, ids: np.ndarray, scores: np.ndarray, sources: np.ndarray
    ) -> Candidates:
        """From batch (ids, scores) of shape (users, N); -1 ids (padding) are dropped."""
        n = ids.shape[1]
        user = np.repeat(np.asarray(userids, dtype=np.int32), n)
        source = np.repeat(source_codes(sources), n)
        flat = ids.ravel()
        valid = flat >= 0
        return cls(user[valid], flat[valid].astype(np.int32), scores.ravel()[valid], source[valid])

    @classmethod
    def concat(cls, parts: Sequence[Candidates]) -> Candidates:
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in cls._fields()))

    @staticmethod
    def _fields() -> tuple[str, ...]:
        return ("user", "item", "score", "source")


@dataclass(frozen=True)
class RuleContext:
    """What the rules need, aligned on the matrices' user rows and item columns.

    `excluded` and `bought_categories` are customers x categories; `consent` is per customer
    (`has_consent_column` False: the customers table had no `marketing_consent`, so nobody
    counts as consenting).
    """

    purchase_counts: sp.csr_matrix
    bought_categories: sp.csr_matrix
    excluded: sp.csr_matrix
    consent: np.ndarray
    category_codes: np.ndarray
    is_repeatable: np.ndarray
    is_sensitive: np.ndarray
    category_cap: int | None = 3
    has_consent_column: bool = True
    on_sale: np.ndarray | None = None  # per item; None: every product is on sale


Rule = Callable[[Candidates, RuleContext], np.ndarray]


def drop_bought_one_off(c: Candidates, ctx: RuleContext) -> np.ndarray:
    """A one-off product the customer already bought is never offered again."""
    bought = lookup(ctx.purchase_counts, c.user, c.item) > 0
    return ~(bought & ~ctx.is_repeatable[c.item])


def drop_excluded_categories(c: Candidates, ctx: RuleContext) -> np.ndarray:
    """Nothing from a category the customer dismissed or complained about (exclusions)."""
    return lookup(ctx.excluded, c.user, ctx.category_codes[c.item]) == 0


def drop_sensitive_outside_purpose(c: Candidates, ctx: RuleContext) -> np.ndarray:
    """Sensitive products (e.g. health) only to customers who bought in that category."""
    sensitive = ctx.is_sensitive[c.item]
    own = lookup(ctx.bought_categories, c.user, ctx.category_codes[c.item]) > 0
    return ~sensitive | own


def drop_not_on_sale(c: Candidates, ctx: RuleContext) -> np.ndarray:
    """A product whose `products.launch_ts` lies after the cutoff is not offered yet."""
    return np.ones(len(c), dtype=bool) if ctx.on_sale is None else ctx.on_sale[c.item]


def drop_without_consent(c: Candidates, ctx: RuleContext) -> np.ndarray:
    """Customers without marketing consent never appear in an export."""
    return ctx.consent[c.user]


def first_proposal(c: Candidates) -> np.ndarray:
    """Keep mask: one row per (customer, product), the first source that proposed it wins."""
    return position_in_group(c.user, c.item) == 0


def position_in_group(*keys: np.ndarray) -> np.ndarray:
    """0-based position of each row among earlier rows with the same keys (order preserved)."""
    if len(keys[0]) == 0:
        return np.zeros(0, dtype=np.int64)
    # one int64 key hashes much faster than a multi-column groupby on millions of rows
    combined = np.zeros(len(keys[0]), dtype=np.int64)
    for key in keys:
        key = np.asarray(key, dtype=np.int64)
        combined = combined * (int(key.max()) + 1) + key
    return pd.Series(combined).groupby(combined, sort=False).cumcount().to_numpy()


def cap_per_category(c: Candidates, ctx: RuleContext) -> np.ndarray:
    """At most `category_cap` products of one category per customer, for diversity."""
    if ctx.category_cap is None:
        return np.ones(len(c), dtype=bool)
    return position_in_group(c.user, ctx.category_codes[c.item]) < ctx.category_cap


ANALYTICS_RULES: tuple[Rule, ...] = (
    drop_not_on_sale,
    drop_bought_one_off,
    drop_excluded_categories,
    drop_sensitive_outside_purpose,
    cap_per_category,
)
EXPORT_RULES: tuple[Rule, ...] = (drop_without_consent, *ANALYTICS_RULES)


def apply_rules(c: Candidates, ctx: RuleContext, rules: Sequence[Rule]) -> Candidates:
    """Run `rules` in order, each on the survivors of the previous one."""
    for rule in rules:
        before = len(c)
        c = c.subset(rule(c, ctx))
        log.debug("rule %s dropped %d of %d candidates", rule.__name__, before - len(c), before)
    return c


def _check_explicit_cap(rules: RulesConfig, catalogue: Catalogue) -> None:
    explicit = "category_cap" in rules.model_fields_set
    if explicit and rules.category_cap is not None and not catalogue.has_category:
        raise ValueError(
            f"recsys.rules.category_cap = {rules.category_cap} needs column 'category' in "
            "table 'products'; add it, or set category_cap to null"
        )


def _require_categories(catalogue: Catalogue, tables: Mapping[str, pd.DataFrame]) -> None:
    """Exclusions and sensitive products are promises to customers: never skipped silently."""
    if catalogue.has_category:
        return
    exclusions = tables.get("exclusions")
    if exclusions is not None and len(exclusions):
        raise ValueError(
            "table 'exclusions' lists dismissed categories but table 'products' lacks column "
            "'category' to find their products; add products.category"
        )
    if catalogue.is_sensitive.any():
        raise ValueError(
            "table 'products' marks sensitive products (is_sensitive) but lacks column "
            "'category' that says who bought in their category; add products.category"
        )


def build_rule_context(
    data: InteractionData,
    tables: Mapping[str, pd.DataFrame],
    category_cap: int | None = 3,
    rules: RulesConfig | None = None,
) -> RuleContext:
    """Rule inputs as of `data.cutoff`: exclusions recorded before it, consent as exported.

    Customers without a `marketing_consent` value (or without the column) count as not
    consenting (DESIGN.md). The cap comes from `rules` when given, else `category_cap`;
    without products.category a default cap is skipped with a note.

    Raises
    ------
    ValueError
        If exclusions or sensitive products are given, or `rules.category_cap` was set
        explicitly, but products have no category (the message names the column).
    """
    catalogue = data.catalogue
    _require_categories(catalogue, tables)
    if rules is not None:
        _check_explicit_cap(rules, catalogue)
        category_cap = rules.category_cap
    n_users, n_cats = data.n_users, len(catalogue.categories)
    excluded = sp.csr_matrix((n_users, n_cats), dtype=np.float32)
    exclusions = tables.get("exclusions")
    if exclusions is not None and len(exclusions):
        exclusions = utc_tables({"exclusions": exclusions})["exclusions"]
        past = exclusions.loc[exclusions["ts"] < data.cutoff]
        rows = data.customer_index(past["customer_id"])
        cols = catalogue.categories.get_indexer(past["category"].astype(str))
        ok = (rows >= 0) & (cols >= 0)
        excluded = sp.csr_matrix(
            (np.ones(ok.sum(), np.float32), (rows[ok], cols[ok])), shape=(n_users, n_cats)
        )
        excluded.sum_duplicates()
    customers = tables.get("customers", pd.DataFrame())
    consent = np.zeros(n_users, dtype=bool)
    has_consent_column = "marketing_consent" in customers.columns
    if has_consent_column:
        rows = data.customer_index(customers["customer_id"])
        flags = customers["marketing_consent"].astype("boolean").fillna(False).to_numpy(bool)
        consent[rows[rows >= 0]] = flags[rows >= 0]
    return RuleContext(
        purchase_counts=data.purchase_counts,
        bought_categories=data.bought_categories(),
        excluded=excluded.tocsr(),
        consent=consent,
        category_codes=catalogue.category_codes,
        is_repeatable=catalogue.is_repeatable,
        is_sensitive=catalogue.is_sensitive,
        category_cap=_category_cap(category_cap, catalogue),
        has_consent_column=has_consent_column,
        on_sale=_on_sale(tables, catalogue, data.cutoff),
    )


def _on_sale(
    tables: Mapping[str, pd.DataFrame], catalogue: Catalogue, cutoff: pd.Timestamp
) -> np.ndarray | None:
    """Per catalogue item, whether it is on sale at `cutoff` (no launch date: always)."""
    products = tables.get("products")
    if products is None or "launch_ts" not in products.columns:
        return None
    launch = pd.to_datetime(products["launch_ts"], utc=True)
    launch.index = products["product_id"].astype(str)
    return ~(launch.reindex(catalogue.product_ids) >= cutoff).to_numpy(dtype=bool)


def _category_cap(category_cap: int | None, catalogue: Catalogue) -> int | None:
    if category_cap is not None and not catalogue.has_category:
        # one category holds every product: a cap would cut every list to `category_cap`
        log.info("table 'products' has no 'category' column: the per-category cap is skipped")
        return None
    return category_cap


def with_cap(ctx: RuleContext, category_cap: int | None) -> RuleContext:
    """The same context with another per-category cap (None = no cap)."""
    return replace(ctx, category_cap=category_cap)
