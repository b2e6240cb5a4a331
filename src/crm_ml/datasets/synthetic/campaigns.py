"""Marketing campaigns with randomised control groups and heterogeneous response.

A campaign is sent at 09:00 on its day to a random share of the customers who have
marketing consent then; a random share of those is held out as control (`is_control`,
nothing is sent). A treated customer who is still alive answers with probability
q_ic = q_i * clip(C * affinity_ic, 0.2, 2.5) (capped at 0.95) by ordering from the offer
category the same day: q_i is zero for most customers (they never react to marketing),
so some customers respond only when treated and the true effect differs per contact.
`responded_ts` is the first order in the offer category within the response window,
treated or not, so control customers can "respond" organically as in a real uplift test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crm_ml.datasets.synthetic.catalog import Catalog
from crm_ml.datasets.synthetic.clock import DAY, HOUR
from crm_ml.datasets.synthetic.population import Population
from crm_ml.datasets.synthetic.profiles import IndustryProfile
from crm_ml.datasets.synthetic.timeline import Timeline

SEND_HOUR = 9
ANSWER_DELAY_S = (30 * 60, 10 * HOUR)  # an answer comes 30 min to 10 h after the send


@dataclass(frozen=True)
class Campaigns:
    """The campaign calendar of a world (world-level, shared by all chunks)."""

    ids: np.ndarray
    sent_s: np.ndarray
    target_share: np.ndarray
    control_share: np.ndarray
    offer_category: np.ndarray  # category index
    channel: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def build_campaigns(
    profile: IndustryProfile, catalog: Catalog, rng: np.random.Generator, history_days: int
) -> Campaigns:
    """One campaign every `campaign_every_days`, offering a non-sensitive category."""
    days = np.arange(profile.campaign_every_days, history_days, profile.campaign_every_days)
    n = len(days)
    allowed = np.flatnonzero(~catalog.category_sensitive)
    weights = np.exp(catalog.category_log_popularity[allowed])
    return Campaigns(
        ids=np.array([f"CMP{j + 1:04d}" for j in range(n)]),
        sent_s=(days * DAY + SEND_HOUR * HOUR).astype(np.int64),
        target_share=rng.uniform(*profile.target_share, size=n),
        control_share=rng.uniform(*profile.control_share, size=n),
        offer_category=rng.choice(allowed, size=n, p=weights / weights.sum()),
        channel=rng.choice(np.array(profile.campaign_channels), size=n),
    )


def response_probability(
    response_base: np.ndarray, affinity: np.ndarray, category: np.ndarray
) -> np.ndarray:
    """q_ic for customers (rows of `affinity`, n x C) and offer categories (aligned)."""
    n_categories = affinity.shape[1]
    lift = np.clip(affinity[np.arange(len(category)), category] * n_categories, 0.2, 2.5)
    return np.minimum(response_base * lift, 0.95)


def consent_at(pop: Population, at_s: np.ndarray) -> np.ndarray:
    """Whether each customer may be contacted at `at_s` (consent given and not withdrawn)."""
    return pop.consent_initial & (pop.withdrawal_s > at_s)


@dataclass
class Contacts:
    """Contacts of one chunk; `answers` is the pre-drawn reaction if treated and alive."""

    owner: np.ndarray
    campaign: np.ndarray
    sent_s: np.ndarray
    is_control: np.ndarray
    response_probability: np.ndarray  # q_ic
    answers: np.ndarray
    answer_s: np.ndarray

    def __len__(self) -> int:
        return len(self.owner)


def draw_contacts(
    campaigns: Campaigns, pop: Population, affinity: np.ndarray, rng: np.random.Generator
) -> Contacts:
    """Audience, control split and (pre-drawn) reaction of every campaign for one chunk."""
    parts: list[tuple[np.ndarray, ...]] = []
    for c in range(len(campaigns)):
        sent = campaigns.sent_s[c]
        eligible = (pop.signup_s < sent) & consent_at(pop, np.full(pop.n, sent))
        chosen = np.flatnonzero(eligible & (rng.random(pop.n) < campaigns.target_share[c]))
        control = rng.random(len(chosen)) < campaigns.control_share[c]
        category = np.full(len(chosen), campaigns.offer_category[c])
        q = response_probability(pop.response_base[chosen], affinity[chosen], category)
        answers = ~control & (rng.random(len(chosen)) < q)
        answer_s = sent + rng.integers(*ANSWER_DELAY_S, size=len(chosen))
        parts.append((chosen, np.full(len(chosen), c), control, q, answers, answer_s))
    if not parts:
        empty = np.array([], dtype=np.int64)
        return Contacts(
            empty, empty, empty, empty.astype(bool), empty.astype(float), empty.astype(bool), empty
        )
    owner, campaign, control, q, answers, answer_s = (
        np.concatenate(x) for x in zip(*parts, strict=True)
    )
    order = np.lexsort((campaign, owner))
    return Contacts(
        owner=owner[order],
        campaign=campaign[order],
        sent_s=campaigns.sent_s[campaign[order]],
        is_control=control[order],
        response_probability=q[order],
        answers=answers[order],
        answer_s=answer_s[order],
    )


def responded_at(
    contacts: Contacts,
    campaigns: Campaigns,
    line_owner: np.ndarray,
    line_category: np.ndarray,
    line_s: np.ndarray,
    n_categories: int,
    window_days: int,
    end_s: int,
) -> np.ndarray:
    """First purchase in the offer category within the response window, or -1."""
    line_key = line_owner.astype(np.int64) * n_categories + line_category
    timeline = Timeline.build(line_key, line_s)
    contact_key = (
        contacts.owner.astype(np.int64) * n_categories + campaigns.offer_category[contacts.campaign]
    )
    deadline = np.minimum(contacts.sent_s + window_days * DAY, end_s)
    lo, hi = timeline.bounds(contact_key, contacts.sent_s, deadline, include_start=True)
    found = hi > lo
    first = timeline.seconds[np.minimum(lo, max(len(timeline.seconds) - 1, 0))]
    return np.where(found, first, -1)
