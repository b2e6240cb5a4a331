"""The product catalogue and the latent geometry that gives recommenders their signal.

Categories and products carry latent factors; customers get factors too (in
`population.py`). A customer's category affinity is softmax(log popularity + u . v_c), so
purchases, views and cart adds share a low-rank structure that collaborative filtering
can recover, and the true affinities are written to truth/ for scoring.

A product's own taste factors are its subcategory's plus a product part, so what a
products table says about a product (category, subcategory, price) tells who will like
it before anyone has bought it; a share of the catalogue launches during the history
(`new_product_share`), the cold start a recommender meets every season.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crm_ml.datasets.synthetic.clock import DAY
from crm_ml.datasets.synthetic.profiles import IndustryProfile

PRODUCT_TASTE_WEIGHT = 0.5  # how much product-level factors move choice within a category
SUBCATEGORY_TASTE_SD, OWN_TASTE_SD = 0.6, 0.4  # a product's taste: its subcategory's + its own
SUBCATEGORIES = "abc"
ALWAYS = -(1 << 40)  # launch second of the products on sale from the start


@dataclass(frozen=True)
class Catalog:
    """Products (one entry per product) and category factors, all as arrays."""

    category_names: tuple[str, ...]
    category_factors: np.ndarray  # (C, k)
    category_log_popularity: np.ndarray  # (C,)
    category_sensitive: np.ndarray  # (C,) bool
    product_ids: np.ndarray  # (P,) str
    product_category: np.ndarray  # (P,) int
    product_subcategory: np.ndarray  # (P,) str
    product_price: np.ndarray  # (P,) float
    product_repeatable: np.ndarray  # (P,) bool
    product_log_popularity: np.ndarray  # (P,) within its category
    product_taste: np.ndarray  # (P, k): product factor minus its category factor
    fallback_product: np.ndarray  # (P,) a repeatable product of the same category
    product_launch_s: np.ndarray  # (P,) world second it goes on sale (ALWAYS: from the start)

    @property
    def n_products(self) -> int:
        return len(self.product_ids)

    @property
    def n_categories(self) -> int:
        return len(self.category_names)

    def category_onehot(self) -> np.ndarray:
        onehot = np.zeros((self.n_products, self.n_categories))
        onehot[np.arange(self.n_products), self.product_category] = 1.0
        return onehot


def build_catalog(
    profile: IndustryProfile, rng: np.random.Generator, history_days: int = 0
) -> Catalog:
    """Draw the catalogue of `profile`: prices, repeatability, popularity, factors and, for
    `new_product_share` of the products, a launch in the second half of the history."""
    k = profile.n_factors
    specs = profile.categories
    category_factors = rng.normal(0.0, profile.affinity_scale, size=(len(specs), k))
    cats, subs, prices, repeatable, log_pop, taste = [], [], [], [], [], []
    for c, spec in enumerate(specs):
        n = spec.n_products
        cats.append(np.full(n, c))
        sub = np.arange(n) % len(SUBCATEGORIES)
        subs.append(np.array([f"{spec.name}/{SUBCATEGORIES[j]}" for j in sub]))
        price = np.exp(rng.normal(np.log(spec.price_median), spec.price_sigma, size=n))
        prices.append(np.round(np.maximum(price, 0.5), 2))
        rep = rng.random(n) < spec.repeatable_share
        rep[0] = True  # every category keeps one product that can be bought again
        repeatable.append(rep)
        ranks = rng.permutation(n) + 1
        log_pop.append(-0.8 * np.log(ranks))
        sub_taste = rng.normal(0.0, SUBCATEGORY_TASTE_SD, size=(len(SUBCATEGORIES), k))
        taste.append(sub_taste[sub] + rng.normal(0.0, OWN_TASTE_SD, size=(n, k)))
    product_category = np.concatenate(cats)
    n_products = len(product_category)
    product_ids = np.array([f"P{j + 1:05d}" for j in range(n_products)])
    product_repeatable = np.concatenate(repeatable)
    product_log_popularity = np.concatenate(log_pop)
    fallback = np.empty(n_products, dtype=np.int64)
    for c in range(len(specs)):
        members = np.flatnonzero(product_category == c)
        reps = members[product_repeatable[members]]
        fallback[members] = reps[np.argmax(product_log_popularity[reps])]
    launch = np.full(n_products, ALWAYS, dtype=np.int64)
    late = (rng.random(n_products) < profile.new_product_share) & (
        fallback != np.arange(n_products)
    )
    start, end = history_days * DAY // 2, history_days * DAY
    launch[late] = rng.integers(start, max(end, start + 1), size=int(late.sum()))
    return Catalog(
        category_names=tuple(s.name for s in specs),
        category_factors=category_factors,
        category_log_popularity=np.log(
            [s.popularity / sum(x.popularity for x in specs) for s in specs]
        ),
        category_sensitive=np.array([s.is_sensitive for s in specs]),
        product_ids=product_ids,
        product_category=product_category,
        product_subcategory=np.concatenate(subs),
        product_price=np.concatenate(prices),
        product_repeatable=product_repeatable,
        product_log_popularity=product_log_popularity,
        product_taste=np.concatenate(taste),
        fallback_product=fallback,
        product_launch_s=launch,
    )


def category_logits(catalog: Catalog, factors: np.ndarray) -> np.ndarray:
    """(n, C) logits of category choice for customers with latent `factors` (n, k)."""
    return catalog.category_log_popularity[None, :] + factors @ catalog.category_factors.T


def category_probabilities(catalog: Catalog, factors: np.ndarray) -> np.ndarray:
    """(n, C) true category affinities: the share of a customer's purchases per category."""
    logits = category_logits(catalog, factors)
    logits -= logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    return weights / weights.sum(axis=1, keepdims=True)


def product_probabilities(catalog: Catalog, factors: np.ndarray) -> np.ndarray:
    """(n, P) probability that a customer's next order line is each product.

    Category affinity times a within-category choice driven by popularity and the
    customer's taste for the product's own factors.
    """
    onehot = catalog.category_onehot()
    within = catalog.product_log_popularity[None, :] + PRODUCT_TASTE_WEIGHT * (
        factors @ catalog.product_taste.T
    )
    within -= within.max(axis=1, keepdims=True)
    weights = np.exp(within)
    per_category = weights @ onehot  # (n, C)
    within_share = weights / per_category[:, catalog.product_category]
    return category_probabilities(catalog, factors)[:, catalog.product_category] * within_share
