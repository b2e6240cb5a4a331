"""Digital engagement: events that lead purchases and fade after the dropout decision.

Two sources of events:
- lead bundles: in the 45 minutes before each order, a session, maybe a search, views and
  a cart add of every product bought. Orders are placed between 08:00 and 22:00, so a
  bundle never crosses midnight and says nothing about purchases after a midnight cutoff;
- background: a Poisson process with rate mu while alive (sessions, app opens, views and
  cart adds of products the customer likes, searches). After the dropout decision at time
  tau its intensity decays as mu * exp(-(t - tau) / fade_days): engagement fades before
  the churn becomes visible. The oracle uses exactly this intensity.

Exclusions (dismissed categories) are drawn here too: a small Poisson process per
customer, independent of the alive state, dismissing one of their least liked categories.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crm_ml.datasets.synthetic.clock import DAY
from crm_ml.datasets.synthetic.population import Population
from crm_ml.datasets.synthetic.profiles import IndustryProfile
from crm_ml.datasets.synthetic.purchases import OrderLines, ProductSampler
from crm_ml.datasets.synthetic.timeline import pack, poisson_times

# the engagement events this module draws; the contract's other types (`usage`) come from
# the contract layer (`contracts`), so adding a type to the contract changes no draw here
ENGAGEMENT_EVENT_TYPES = ("session", "app_open", "view", "search", "cart_add")
EVENT_CHANNELS = np.array(["web", "app"])
WITH_PRODUCT = np.array([t in ("view", "cart_add") for t in ENGAGEMENT_EVENT_TYPES])
EXCLUSION_SOURCES = np.array(["app_dismiss", "email_preferences", "call_centre"])


def fade_after_death(
    owner: np.ndarray,
    seconds: np.ndarray,
    death_s: np.ndarray,
    fade_days: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Mask keeping a point of an alive-time Poisson process under the fading intensity.

    Thinning a rate-r process with acceptance exp(-(t - tau)/fade) after tau gives exactly
    a process of intensity r * exp(-(t - tau)/fade) there.
    """
    after = seconds - death_s[owner]
    accept = np.exp(-np.maximum(after, 0) / (fade_days * DAY))
    return (after < 0) | (rng.random(len(owner)) < accept)


@dataclass
class Events:
    owner: np.ndarray
    ts_s: np.ndarray
    event_type: np.ndarray  # index into ENGAGEMENT_EVENT_TYPES
    product: np.ndarray  # -1 when the event has no product
    channel: np.ndarray

    def __len__(self) -> int:
        return len(self.owner)


def draw_background(
    profile: IndustryProfile,
    pop: Population,
    death_s: np.ndarray,
    sampler: ProductSampler,
    rng: np.random.Generator,
    end_s: int,
) -> Events:
    """Background engagement while alive, faded after the dropout decision."""
    owner, ts = poisson_times(
        rng, pop.event_rate / DAY, pop.signup_s.astype(float), np.full(pop.n, float(end_s))
    )
    ts = ts.astype(np.int64)
    keep = fade_after_death(owner, ts, death_s, profile.fade_days, rng)
    owner, ts = owner[keep], ts[keep]
    weights = np.array(profile.event_type_weights) / sum(profile.event_type_weights)
    kind = rng.choice(len(ENGAGEMENT_EVENT_TYPES), size=len(owner), p=weights)
    product = np.where(WITH_PRODUCT[kind], sampler.sample(owner, ts, rng), -1)
    channel = np.where(
        np.array(ENGAGEMENT_EVENT_TYPES)[kind] == "app_open", 1, rng.integers(0, 2, size=len(owner))
    )
    return Events(owner, ts, kind, product, channel)


def draw_lead_bundles(lines: OrderLines, rng: np.random.Generator) -> Events:
    """Session, search, views and cart adds in the 45 minutes before each order."""
    bought = ~lines.is_return
    owner, product, ts = lines.owner[bought], lines.product[bought], lines.ts_s[bought]
    number = lines.order_number[bought]
    first_of_order = np.ones(len(number), dtype=bool)
    first_of_order[1:] = number[1:] != number[:-1]
    o_owner, o_ts = owner[first_of_order], ts[first_of_order]
    n_orders = len(o_owner)
    searched = rng.random(n_orders) < 0.5
    second_view = rng.random(len(owner)) < 0.4
    kind = ENGAGEMENT_EVENT_TYPES.index
    parts = [
        (o_owner, o_ts - rng.integers(35 * 60, 45 * 60, n_orders), kind("session"), -1),
        (
            o_owner[searched],
            o_ts[searched] - rng.integers(25 * 60, 35 * 60, int(searched.sum())),
            kind("search"),
            -1,
        ),
        (owner, ts - rng.integers(10 * 60, 25 * 60, len(owner)), kind("view"), product),
        (
            owner[second_view],
            ts[second_view] - rng.integers(10 * 60, 25 * 60, int(second_view.sum())),
            kind("view"),
            product[second_view],
        ),
        (owner, ts - rng.integers(60, 10 * 60, len(owner)), kind("cart_add"), product),
    ]
    owners = np.concatenate([p[0] for p in parts])
    return Events(
        owner=owners,
        ts_s=np.concatenate([p[1] for p in parts]),
        event_type=np.concatenate([np.full(len(p[0]), p[2]) for p in parts]),
        product=np.concatenate([np.broadcast_to(p[3], len(p[0])) for p in parts]),
        channel=rng.integers(0, 2, size=len(owners)),
    )


def merge_events(*parts: Events) -> Events:
    """All events of a chunk sorted by customer and time."""
    owner = np.concatenate([p.owner for p in parts])
    ts = np.concatenate([p.ts_s for p in parts])
    order = np.argsort(pack(owner, ts), kind="stable")
    return Events(
        owner=owner[order],
        ts_s=ts[order],
        event_type=np.concatenate([p.event_type for p in parts])[order],
        product=np.concatenate([p.product for p in parts])[order],
        channel=np.concatenate([p.channel for p in parts])[order],
    )


@dataclass
class Exclusions:
    owner: np.ndarray
    category: np.ndarray
    ts_s: np.ndarray
    source: np.ndarray


def draw_exclusions(
    profile: IndustryProfile,
    pop: Population,
    affinity: np.ndarray,
    rng: np.random.Generator,
    end_s: int,
) -> Exclusions:
    """Categories customers dismissed: one of their three least liked, once per category."""
    owner, ts = poisson_times(
        rng,
        np.full(pop.n, profile.exclusions_per_year / (365.0 * DAY)),
        pop.signup_s.astype(float),
        np.full(pop.n, float(end_s)),
    )
    least_liked = np.argsort(affinity, axis=1)[:, :3]
    category = least_liked[owner, rng.integers(0, 3, size=len(owner))]
    _, first = np.unique(owner.astype(np.int64) * affinity.shape[1] + category, return_index=True)
    first = np.sort(first)
    return Exclusions(
        owner=owner[first],
        category=category[first],
        ts_s=ts[first].astype(np.int64),
        source=rng.integers(0, len(EXCLUSION_SOURCES), size=len(first)),
    )
