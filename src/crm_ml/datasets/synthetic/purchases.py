"""Purchases: buy-till-you-die timing, dropout at purchases, order lines, returns.

Timing: the first order is placed at signup; further organic purchases follow a Poisson
process with rate lambda on the active-time axis (see `clock`), and treated campaign
contacts add same-day orders. Every purchase is a dropout opportunity: with probability
p_k (the base p raised by the service trouble visible at that moment, see `service`) the
customer decides to leave and never orders again. Candidate purchases are drawn as if the
customer lived forever; the first dropout cuts the rest, which is exactly the sequential
process because p_k only depends on the past.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from crm_ml.datasets.synthetic.campaigns import Contacts
from crm_ml.datasets.synthetic.catalog import Catalog
from crm_ml.datasets.synthetic.clock import DAY, active_to_seconds
from crm_ml.datasets.synthetic.population import NEVER, Population
from crm_ml.datasets.synthetic.profiles import IndustryProfile
from crm_ml.datasets.synthetic.service import ServiceHistory, dropout_probability
from crm_ml.datasets.synthetic.timeline import group_starts, poisson_times, rank_within

ORGANIC, CAMPAIGN = 0, 1
MAX_LINES = 6


@dataclass
class Purchases:
    """Purchases that happened (order level), sorted by customer then time."""

    owner: np.ndarray
    ts_s: np.ndarray
    source: np.ndarray  # ORGANIC or CAMPAIGN
    campaign: np.ndarray  # index of the campaign answered, -1 for organic purchases
    dropout_probability: np.ndarray
    open_complaints: np.ndarray  # raised since the previous purchase and still open
    visible_breaches: np.ndarray  # visible since the previous purchase
    dropped_out: np.ndarray  # the dropout decision was taken at this purchase

    def __len__(self) -> int:
        return len(self.owner)


def simulate_purchases(
    profile: IndustryProfile,
    pop: Population,
    contacts: Contacts,
    service: ServiceHistory,
    rng: np.random.Generator,
    history_days: int,
) -> tuple[Purchases, np.ndarray]:
    """Purchases that happen and each customer's dropout time (NEVER if still alive)."""
    owner, active = poisson_times(
        rng, pop.purchase_rate, pop.first_order_active, np.full(pop.n, float(history_days))
    )
    organic_owner = np.concatenate([np.arange(pop.n), owner])
    organic_s = np.concatenate([pop.first_order_s, active_to_seconds(active)])
    answered = contacts.answers
    cand_owner = np.concatenate([organic_owner, contacts.owner[answered]])
    cand_s = np.concatenate([organic_s, contacts.answer_s[answered]])
    source = np.concatenate(
        [np.full(len(organic_owner), ORGANIC), np.full(int(answered.sum()), CAMPAIGN)]
    )
    campaign = np.concatenate([np.full(len(organic_owner), -1), contacts.campaign[answered]])
    order = np.lexsort((cand_s, cand_owner))
    cand_owner, cand_s, source, campaign = (
        a[order] for a in (cand_owner, cand_s, source, campaign)
    )

    complaints, breaches = service.trouble_before_purchases(cand_owner, cand_s)
    prob = dropout_probability(profile, pop.dropout[cand_owner], complaints, breaches)
    dies = rng.random(len(cand_owner)) < prob
    deaths_so_far = np.cumsum(dies)
    first_row = np.flatnonzero(group_starts(cand_owner))
    deaths_before_owner = (deaths_so_far - dies)[first_row]
    owner_offset = np.repeat(deaths_before_owner, np.diff(np.append(first_row, len(cand_owner))))
    happens = (deaths_so_far - dies - owner_offset) == 0
    death_s = np.full(pop.n, NEVER, dtype=np.int64)
    died = happens & dies
    death_s[cand_owner[died]] = cand_s[died]
    purchases = Purchases(
        owner=cand_owner[happens],
        ts_s=cand_s[happens],
        source=source[happens],
        campaign=campaign[happens],
        dropout_probability=prob[happens],
        open_complaints=complaints[happens],
        visible_breaches=breaches[happens],
        dropped_out=dies[happens],
    )
    return purchases, death_s


@dataclass
class OrderLines:
    """Order lines (purchases and returns), sorted by order then product."""

    order_number: np.ndarray  # global order number; returns reuse their order's number
    owner: np.ndarray
    product: np.ndarray
    ts_s: np.ndarray
    quantity: np.ndarray
    amount: np.ndarray
    channel: np.ndarray
    is_return: np.ndarray

    def __len__(self) -> int:
        return len(self.owner)


class ProductSampler:
    """Draw products from each customer's own product distribution (inverse CDF), among
    the products on sale at the time: a draw of a product not launched yet is drawn again
    (rejection keeps the distribution exactly the customer's, renormalised to what is on
    sale); after a few rounds the product's category fallback, which is always on sale."""

    REDRAWS = 8

    def __init__(self, probabilities: np.ndarray, catalog: Catalog) -> None:
        self.n_products = probabilities.shape[1]
        cumulative = np.cumsum(probabilities, axis=1)
        cumulative /= cumulative[:, -1:]
        cumulative[:, -1] = 1.0
        self._flat = (cumulative + np.arange(len(cumulative))[:, None]).ravel()
        self._probabilities = probabilities
        self._launch_s = catalog.product_launch_s
        self._fallback = catalog.fallback_product

    def sample(self, owner: np.ndarray, at_s: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        product = self._draw(owner, rng)
        return self._on_sale(product, at_s, lambda rows: self._draw(owner[rows], rng))

    def sample_in(
        self, owner: np.ndarray, members: np.ndarray, at_s: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Products restricted to `members` (one category), by the same preferences."""
        weights = self._probabilities[np.ix_(owner, members)]
        cumulative = np.cumsum(weights, axis=1)
        cumulative /= cumulative[:, -1:]

        def draw(rows: np.ndarray) -> np.ndarray:
            pick = (cumulative[rows] < rng.random(len(rows))[:, None]).sum(axis=1)
            return members[np.minimum(pick, len(members) - 1)]

        return self._on_sale(draw(np.arange(len(owner))), at_s, draw)

    def _draw(self, owner: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        u = rng.random(len(owner))
        idx = np.searchsorted(self._flat, owner + u, side="right")
        return np.clip(idx - owner * self.n_products, 0, self.n_products - 1)

    def _on_sale(
        self, product: np.ndarray, at_s: np.ndarray, redraw: Callable[[np.ndarray], np.ndarray]
    ) -> np.ndarray:
        for _ in range(self.REDRAWS):
            early = np.flatnonzero(self._launch_s[product] > at_s)
            if len(early) == 0:
                return product
            product[early] = redraw(early)
        early = self._launch_s[product] > at_s
        product[early] = self._fallback[product[early]]
        return product


def build_order_lines(
    profile: IndustryProfile,
    pop: Population,
    purchases: Purchases,
    offer_category_of_campaign: np.ndarray,
    catalog: Catalog,
    sampler: ProductSampler,
    rng: np.random.Generator,
    first_order_number: int,
    end_s: int,
) -> OrderLines:
    """Lines of every purchase (products, quantities, amounts) and the returns that follow."""
    n_orders = len(purchases)
    numbers = first_order_number + 1 + np.arange(n_orders)
    n_lines = np.minimum(1 + rng.poisson(profile.extra_lines_mean, n_orders), MAX_LINES)
    line_order = np.repeat(np.arange(n_orders), n_lines)
    is_first_line = group_starts(line_order)
    line_owner = purchases.owner[line_order]
    line_s = purchases.ts_s[line_order]
    product = sampler.sample(line_owner, line_s, rng)

    # campaign answers: the first line comes from the offer category
    campaign_first = is_first_line & (purchases.source[line_order] == CAMPAIGN)
    offer_cat = np.where(
        campaign_first,
        offer_category_of_campaign[np.maximum(purchases.campaign, 0)][line_order],
        -1,
    )
    for category in np.unique(offer_cat[offer_cat >= 0]):
        rows = np.flatnonzero(offer_cat == category)
        members = np.flatnonzero(catalog.product_category == category)
        product[rows] = sampler.sample_in(line_owner[rows], members, line_s[rows], rng)

    # loyalty: an organic repeat order often starts with the previous order's first product
    first_product = product[is_first_line]
    later_order = rank_within(purchases.owner) > 0
    sticky = (
        later_order & (rng.random(n_orders) < profile.stickiness) & (purchases.source == ORGANIC)
    )
    carried = _forward_fill(first_product, ~sticky, group_starts(purchases.owner))
    use_carried = sticky & catalog.product_repeatable[carried]
    first_product = np.where(use_carried, carried, first_product)
    product[is_first_line] = first_product

    # one-off products are bought once per customer; a repeat becomes a repeatable sibling
    once = ~catalog.product_repeatable[product]
    pair = line_owner.astype(np.int64) * catalog.n_products + product
    repeat = ~_first_occurrence(pair)
    product = np.where(once & repeat, catalog.fallback_product[product], product)

    # one line per product within an order
    keep = _first_occurrence(line_order.astype(np.int64) * catalog.n_products + product)
    line_order, product, line_owner = line_order[keep], product[keep], line_owner[keep]

    lines_per_order = np.bincount(line_order, minlength=n_orders)
    target_value = rng.gamma(profile.spend_p, 1.0 / pop.spend_rate[purchases.owner])
    price = catalog.product_price[product]
    share = target_value[line_order] / lines_per_order[line_order]
    quantity = np.clip(np.round(share / price), 1, profile.max_quantity).astype(np.int64)
    amount = np.round(price * quantity, 2)
    channel = _order_channels(profile, pop, purchases, use_carried, rng)[line_order]

    returned = rng.random(len(product)) < profile.return_rate
    return_s = purchases.ts_s[line_order] + rng.integers(DAY, 30 * DAY, size=len(product))
    returned &= return_s < end_s
    lines = OrderLines(
        order_number=np.concatenate([numbers[line_order], numbers[line_order][returned]]),
        owner=np.concatenate([line_owner, line_owner[returned]]),
        product=np.concatenate([product, product[returned]]),
        ts_s=np.concatenate([purchases.ts_s[line_order], return_s[returned]]),
        quantity=np.concatenate([quantity, quantity[returned]]),
        amount=np.concatenate([amount, -amount[returned]]),
        channel=np.concatenate([channel, channel[returned]]),
        is_return=np.concatenate(
            [np.zeros(len(product), bool), np.ones(int(returned.sum()), bool)]
        ),
    )
    return lines


def _first_occurrence(keys: np.ndarray) -> np.ndarray:
    """Mask of the first row holding each key value."""
    first = np.zeros(len(keys), dtype=bool)
    first[np.unique(keys, return_index=True)[1]] = True
    return first


def _forward_fill(values: np.ndarray, is_source: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """For each row, the value of the latest source row of the same group at or before it."""
    idx = np.where(is_source | starts, np.arange(len(values)), 0)
    return values[np.maximum.accumulate(idx)] if len(values) else values


def _order_channels(
    profile: IndustryProfile,
    pop: Population,
    purchases: Purchases,
    renewal: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Mostly the customer's preferred channel; b2b re-orders of a plan are renewals."""
    n = len(purchases)
    channels = np.where(
        rng.random(n) < 0.7,
        pop.preferred_channel[purchases.owner],
        rng.integers(0, len(profile.order_channels), size=n),
    )
    if "renewal" in profile.order_channels:
        renewal_idx = profile.order_channels.index("renewal")
        others = [i for i in range(len(profile.order_channels)) if i != renewal_idx]
        channels = np.where(
            channels == renewal_idx, np.array(others)[channels % len(others)], channels
        )
        channels = np.where(renewal, renewal_idx, channels)
    return channels
