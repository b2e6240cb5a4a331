"""Small seeded purchase histories on different time scales, to test recommenders' defaults.

The synthetic retail world (`crm_ml.datasets.synthetic`) is one company on one time scale.
A recommender's defaults (interaction decay, validation window) must also hold on weekly
grocery baskets over two months and on yearly electronics purchases over five years; these
worlds give such histories in the shape of accepted contract tables, with nothing more
than the chosen columns (minimal input is part of what they test).

The mechanism, per customer:

- an active span: from a start (everyone on board at the beginning, or spread over the
  history) to an end (the end of the history, or after an exponential lifetime), so on long
  histories many customers have long gone quiet;
- a purchase rate per year ~ Gamma (heavy and light buyers); orders are a Poisson process
  over the active span, each with 1 + Poisson(`items_per_order` - 1) items;
- taste: a Dirichlet mix over item groups (skewed towards popular groups) and a preferred
  style; items sit in (group, style) cells with Zipf popularity inside each cell. Taste
  drifts: a share `drift` of it moves to a second mix over the customer's span;
- repeat buying: with chance `repeat_share` an item is one of the customer's staples (drawn
  once from their taste, bought again and again), else a new draw from their taste.

Example::

    tables = simulate_interactions(WORLDS["grocery_2m"])
    tables["orders"].head()   # order_id, customer_id, product_id, ts
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

ORIGIN = pd.Timestamp("2020-01-01", tz="UTC")
STYLES = 3
STAPLES = 12


@dataclass(frozen=True)
class InteractionWorld:
    """Parameters of one world and of the split it is judged on.

    `split` is "time" (train before `as_of - horizon_days`, test on the horizon) or
    "last_per_customer" (each customer's last `holdout_share` of purchases held out).
    `columns` says which optional columns the tables carry ("minimal": orders with
    customer_id, product_id, ts only, plus a products table of ids).
    """

    name: str
    customers: int = 2_000
    products: int = 1_000
    groups: int = 25
    history_days: int = 365
    orders_per_year: float = 12.0
    items_per_order: float = 1.0
    repeat_share: float = 0.0
    active_days: float | None = None
    taste_concentration: float = 0.3
    popularity_skew: float = 1.0
    style_weight: float = 0.8
    drift: float = 0.3
    split: Literal["time", "last_per_customer"] = "time"
    horizon_days: int = 30
    holdout_share: float = 0.2
    columns: Literal["minimal", "catalogue"] = "catalogue"
    seed: int = 0

    @property
    def as_of(self) -> pd.Timestamp:
        return ORIGIN + pd.Timedelta(days=self.history_days)


WORLDS: dict[str, InteractionWorld] = {
    world.name: world
    for world in (
        # weekly baskets of staples and a few new items; everyone shops all along
        InteractionWorld(
            "grocery_2m",
            customers=2_000,
            products=800,
            groups=20,
            history_days=61,
            orders_per_year=52,
            items_per_order=5,
            repeat_share=0.6,
            drift=0.1,
            horizon_days=14,
            seed=1,
        ),
        # the same shopping over five years: customers come and go
        InteractionWorld(
            "grocery_5y",
            customers=800,
            products=800,
            groups=20,
            history_days=5 * 365,
            orders_per_year=26,
            items_per_order=4,
            repeat_share=0.6,
            active_days=2 * 365,
            drift=0.3,
            horizon_days=28,
            seed=2,
        ),
        # one or two purchases a year, never the same item twice, orders alone
        InteractionWorld(
            "electronics_5y",
            customers=4_000,
            products=2_000,
            groups=40,
            history_days=5 * 365,
            orders_per_year=2,
            taste_concentration=0.1,
            active_days=3 * 365,
            drift=0.3,
            horizon_days=180,
            columns="minimal",
            seed=3,
        ),
        # as the public multi-year data of issue #17: each customer active for a while at
        # some point of five years, judged on their own last purchases
        InteractionWorld(
            "electronics_5y_per_customer",
            customers=1_000,
            products=3_000,
            groups=40,
            history_days=5 * 365,
            orders_per_year=40,
            taste_concentration=0.1,
            active_days=180,
            drift=0.3,
            split="last_per_customer",
            columns="minimal",
            seed=4,
        ),
    )
}


def _dirichlet_rows(rng: np.random.Generator, alpha: np.ndarray, n: int) -> np.ndarray:
    gamma = rng.gamma(np.broadcast_to(alpha, (n, len(alpha))))
    gamma += 1e-12  # tiny alphas can draw all zeros in float64
    return gamma / gamma.sum(axis=1, keepdims=True)


def _categorical(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One draw per entry of `rows` from the categorical `probs[rows]`."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(rows)) * cum[rows, -1]
    return (cum[rows] < u[:, None]).sum(axis=1).clip(0, probs.shape[1] - 1)


@dataclass(frozen=True)
class _Catalogue:
    cell: np.ndarray  # (P,) group * STYLES + style of each product
    cum: np.ndarray  # (P,) cell + cumulative popularity inside the cell, in (cell, cell + 1]
    order: np.ndarray  # product ids sorted by (cell, popularity rank)
    group_popularity: np.ndarray


def _catalogue(world: InteractionWorld, rng: np.random.Generator) -> _Catalogue:
    n_cells = world.groups * STYLES
    # every cell holds at least one product; the rest fall in cells at random
    cell = np.concatenate([np.arange(n_cells), rng.integers(0, n_cells, world.products - n_cells)])
    cell = np.sort(cell)
    rank = np.concatenate([np.arange(1, c + 1) for c in np.bincount(cell, minlength=n_cells)])
    weight = rank.astype(float) ** -world.popularity_skew
    cum = np.empty(world.products)
    for c in range(n_cells):
        members = cell == c
        cum[members] = c + np.cumsum(weight[members]) / weight[members].sum()
    order = rng.permutation(world.products)
    group_popularity = np.arange(1, world.groups + 1, dtype=float) ** -0.7
    return _Catalogue(cell, cum, order, group_popularity / group_popularity.sum())


def _item_in_cell(rng: np.random.Generator, catalogue: _Catalogue, cells: np.ndarray):
    """Product index for each drawn (group, style) cell, by popularity inside the cell."""
    position = np.searchsorted(catalogue.cum, cells + rng.random(len(cells)))
    return catalogue.order[position.clip(0, len(catalogue.cum) - 1)]


def _spans(world: InteractionWorld, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n, days = world.customers, float(world.history_days)
    if world.active_days is None:
        on_board = rng.random(n) < 0.6
        start = np.where(on_board, 0.0, rng.uniform(0, days * 0.8, n))
        return start, np.full(n, days)
    start = rng.uniform(-world.active_days, days * 0.95, n).clip(0, None)
    end = np.minimum(start + rng.exponential(world.active_days, n), days)
    return start, np.maximum(end, start + 1.0)


def simulate_interactions(world: InteractionWorld) -> dict[str, pd.DataFrame]:
    """Tables `customers`, `products` and `orders` of `world`, same seed same tables.

    Parameters
    ----------
    world : InteractionWorld
        The world's parameters (see `WORLDS` for the battery's worlds).

    Returns
    -------
    dict[str, pandas.DataFrame]
        `orders` (order_id, customer_id, product_id, ts UTC), `products` (product_id, plus
        category and is_repeatable unless `world.columns == "minimal"`) and, unless minimal,
        `customers` (customer_id, signup_ts).
    """
    rng = np.random.default_rng(world.seed)
    catalogue = _catalogue(world, rng)
    n = world.customers
    start, end = _spans(world, rng)
    rate = rng.gamma(2.0, world.orders_per_year / 2.0, n)
    n_orders = 1 + rng.poisson(rate * (end - start) / 365.0)
    order_customer = np.repeat(np.arange(n), n_orders)
    order_day = (
        start[order_customer] + rng.random(len(order_customer)) * (end - start)[order_customer]
    )
    first = np.concatenate([[0], np.cumsum(n_orders)[:-1]])
    order_day[first] = start  # a customer's first order opens their span
    basket = 1 + rng.poisson(max(world.items_per_order - 1.0, 0.0), len(order_customer))
    slot_order = np.repeat(np.arange(len(order_customer)), basket)
    cust = order_customer[slot_order]
    day = order_day[slot_order]

    alpha = world.taste_concentration * world.groups * catalogue.group_popularity
    taste_now = _dirichlet_rows(rng, alpha, n)
    taste_later = _dirichlet_rows(rng, alpha, n)
    style = _dirichlet_rows(rng, np.full(STYLES, 1.0), n) ** (1.0 + 4.0 * world.style_weight)
    progress = (day - start[cust]) / (end - start)[cust]
    later = rng.random(len(cust)) < world.drift * progress
    group = np.where(
        later, _categorical(rng, taste_later, cust), _categorical(rng, taste_now, cust)
    )
    cells = group * STYLES + _categorical(rng, style, cust)
    item = _item_in_cell(rng, catalogue, cells)
    if world.repeat_share > 0:
        staple_rows = np.repeat(np.arange(n), STAPLES)
        staple_cells = _categorical(rng, taste_now, staple_rows) * STYLES + _categorical(
            rng, style, staple_rows
        )
        staples = _item_in_cell(rng, catalogue, staple_cells).reshape(n, STAPLES)
        favourite = _dirichlet_rows(rng, np.full(STAPLES, 0.5), n)
        repeat = rng.random(len(cust)) < world.repeat_share
        pick = _categorical(rng, favourite, cust[repeat])
        item[repeat] = staples[cust[repeat], pick]
    return _tables(world, catalogue, slot_order, cust, item, day, start, rng)


def _ids(prefix: str, values: np.ndarray) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(values.astype(str), 6))


def _tables(world, catalogue, slot_order, cust, item, day, start, rng) -> dict[str, pd.DataFrame]:
    # shops open 08:00-21:00
    seconds = np.floor(day) * 86_400 + rng.integers(8 * 3600, 21 * 3600, len(day))
    seconds = np.minimum(seconds, world.history_days * 86_400 - 1)
    orders = pd.DataFrame(
        {
            "order_id": _ids("o", slot_order),
            "customer_id": _ids("c", cust),
            "product_id": _ids("p", item),
            "ts": ORIGIN + pd.to_timedelta(seconds, unit="s"),
        }
    )
    # one line per order and product (a basket can draw a staple twice); without repeat
    # buying a product is bought once (a second draw of it is dropped)
    key = ["order_id", "product_id"] if world.repeat_share > 0 else ["customer_id", "product_id"]
    orders = (
        orders.sort_values("ts", kind="stable")
        .drop_duplicates(key)
        .sort_values(["ts", "order_id"], kind="stable", ignore_index=True)
    )
    product_index = np.arange(world.products)
    products = pd.DataFrame({"product_id": _ids("p", product_index)})
    tables = {"orders": orders, "products": products}
    if world.columns == "catalogue":
        group = np.empty(world.products, dtype=np.int64)
        group[catalogue.order] = catalogue.cell // STYLES
        products["category"] = _ids("g", group)
        products["is_repeatable"] = world.repeat_share > 0
        customers = np.arange(world.customers)
        tables["customers"] = pd.DataFrame(
            {
                "customer_id": _ids("c", customers),
                "signup_ts": ORIGIN + pd.to_timedelta(np.floor(start), unit="D"),
            }
        )
    return tables
