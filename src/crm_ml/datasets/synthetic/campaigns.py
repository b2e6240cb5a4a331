"""Marketing campaigns of three treatments with randomised control groups.

A campaign is sent at 09:00 on its day to a random share of the customers who have
marketing consent then; a random share of those is held out as control (`is_control`,
nothing is sent). Campaigns take turns with their treatment (`TREATMENTS`): a discount
coupon, a service callback, a loyalty benefit, each with its cost per treated contact
(`IndustryProfile.treatment_costs`). A treated customer who is still alive answers by
ordering from the offer category the same day, with a probability that depends on the
treatment and on the customer's situation at the send. With the category lift
L_ic = clip(C * affinity_ic, 0.2, 2.5) and the marketing base b_ic = q_i * L_ic (q_i is
zero for the 70% who never react to marketing as such):

- coupon: 0.25 * L_ic * s_i + 0.5 * b_ic, s_i the price sensitivity (small baskets);
- callback: 0.3 with an open complaint (service recovery), + 0.1 * b_ic;
- loyalty benefit: 0.2 * L_ic * min(tenure / 2 years, 1) + 0.5 * b_ic;

each capped at 0.95. So the best treatment differs per customer, and for many it is none.
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
from crm_ml.datasets.synthetic.service import ServiceHistory
from crm_ml.datasets.synthetic.timeline import Timeline

SEND_HOUR = 9
ANSWER_DELAY_S = (30 * 60, 10 * HOUR)  # an answer comes 30 min to 10 h after the send
TREATMENTS = ("coupon", "callback", "loyalty")
COUPON_EFFECT, LOYALTY_EFFECT, LOYALTY_FULL_DAYS = 0.25, 0.2, 730.0
CALLBACK_RECOVERY, CALLBACK_PLAIN, PERSUADABLE_SHARE = 0.3, 0.1, 0.5
MAX_RESPONSE = 0.95


@dataclass(frozen=True)
class Campaigns:
    """The campaign calendar of a world (world-level, shared by all chunks)."""

    ids: np.ndarray
    sent_s: np.ndarray
    target_share: np.ndarray
    control_share: np.ndarray
    offer_category: np.ndarray  # category index
    channel: np.ndarray
    treatment: np.ndarray  # index into TREATMENTS

    def __len__(self) -> int:
        return len(self.ids)


def build_campaigns(
    profile: IndustryProfile, catalog: Catalog, rng: np.random.Generator, history_days: int
) -> Campaigns:
    """One campaign every `campaign_every_days`, offering a non-sensitive category; the
    treatments take turns, so each has campaigns early and late in the history."""
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
        treatment=np.arange(n) % len(TREATMENTS),
    )


@dataclass(frozen=True)
class Situation:
    """What a treatment's effect depends on, per customer (aligned arrays)."""

    response_base: np.ndarray  # q_i
    price_sensitivity: np.ndarray
    tenure_days: np.ndarray
    open_complaints: np.ndarray


def category_lift(affinity: np.ndarray, category: np.ndarray) -> np.ndarray:
    """clip(C * affinity_ic, 0.2, 2.5) for customers (rows of `affinity`, n x C) and offer
    categories (aligned): an offer in a category they like works better."""
    n_categories = affinity.shape[1]
    return np.clip(affinity[np.arange(len(category)), category] * n_categories, 0.2, 2.5)


def arm_probabilities(
    situation: Situation, affinity: np.ndarray, category: np.ndarray
) -> np.ndarray:
    """The answer probability under each treatment (n x len(TREATMENTS)), if alive."""
    lift = category_lift(affinity, category)
    base = situation.response_base * lift
    loyal = np.clip(situation.tenure_days / LOYALTY_FULL_DAYS, 0.0, 1.0)
    complaint = situation.open_complaints > 0
    arms = np.column_stack(
        [
            lift * COUPON_EFFECT * situation.price_sensitivity + PERSUADABLE_SHARE * base,
            np.where(complaint, CALLBACK_RECOVERY, 0.0) + CALLBACK_PLAIN * base,
            lift * LOYALTY_EFFECT * loyal + PERSUADABLE_SHARE * base,
        ]
    )
    return np.minimum(arms, MAX_RESPONSE)


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
    response_probability: np.ndarray  # q_ic under the campaign's treatment
    arm_probability: np.ndarray  # n x len(TREATMENTS): q_ic had the contact got each one
    answers: np.ndarray
    answer_s: np.ndarray

    def __len__(self) -> int:
        return len(self.owner)


def situation_at(
    pop: Population, service: ServiceHistory, who: np.ndarray, at_s: np.ndarray
) -> Situation:
    """The customers' situation at `at_s`: traits, tenure and complaints still open."""
    return Situation(
        response_base=pop.response_base[who],
        price_sensitivity=pop.price_sensitivity[who],
        tenure_days=(at_s - pop.signup_s[who]) / DAY,
        open_complaints=service.open_complaints(who, at_s),
    )


def draw_contacts(
    campaigns: Campaigns,
    pop: Population,
    affinity: np.ndarray,
    service: ServiceHistory,
    rng: np.random.Generator,
) -> Contacts:
    """Audience, control split and (pre-drawn) reaction of every campaign for one chunk."""
    parts: list[tuple[np.ndarray, ...]] = []
    for c in range(len(campaigns)):
        sent = campaigns.sent_s[c]
        eligible = (pop.signup_s < sent) & consent_at(pop, np.full(pop.n, sent))
        chosen = np.flatnonzero(eligible & (rng.random(pop.n) < campaigns.target_share[c]))
        control = rng.random(len(chosen)) < campaigns.control_share[c]
        category = np.full(len(chosen), campaigns.offer_category[c])
        situation = situation_at(pop, service, chosen, np.full(len(chosen), sent))
        arms = arm_probabilities(situation, affinity[chosen], category)
        q = arms[:, campaigns.treatment[c]]
        answers = ~control & (rng.random(len(chosen)) < q)
        answer_s = sent + rng.integers(*ANSWER_DELAY_S, size=len(chosen))
        parts.append((chosen, np.full(len(chosen), c), control, q, arms, answers, answer_s))
    if not parts:
        empty = np.array([], dtype=np.int64)
        return Contacts(
            empty,
            empty,
            empty,
            empty.astype(bool),
            empty.astype(float),
            np.zeros((0, len(TREATMENTS))),
            empty.astype(bool),
            empty,
        )
    owner, campaign, control, q, arms, answers, answer_s = (
        np.concatenate(x) for x in zip(*parts, strict=True)
    )
    order = np.lexsort((campaign, owner))
    return Contacts(
        owner=owner[order],
        campaign=campaign[order],
        sent_s=campaigns.sent_s[campaign[order]],
        is_control=control[order],
        response_probability=q[order],
        arm_probability=arms[order],
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
