"""Customers: latent traits (truth) and the profile columns a CRM export would hold.

Every trait a behaviour module uses is drawn here once per customer, so the truth table
lists exactly the parameters the world was simulated from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from crm_ml.datasets.synthetic.clock import DAY, active_to_seconds
from crm_ml.datasets.synthetic.profiles import IndustryProfile

NEVER = np.iinfo(np.int64).max // 4  # "no such moment" for int64 second columns
# NPS bias = base - slope x (p - mean p) + Normal(0, sd): unhappy customers are likelier to leave
NPS_BIAS_SD = 1.0
# price sensitivity = expit(slope x (log nu - log E nu) + Normal(0, sd)): customers whose orders
# are small (high Gamma-Gamma rate nu) care most about price, and `avg_order_value` shows it
PRICE_SENSITIVITY_SLOPE, PRICE_SENSITIVITY_SD = 2.5, 0.7

FIRST_NAMES = np.array(
    [
        "Ada",
        "Ben",
        "Cora",
        "Dan",
        "Eva",
        "Finn",
        "Gia",
        "Hugo",
        "Ines",
        "Jon",
        "Kim",
        "Leo",
        "Mia",
        "Nils",
        "Olga",
        "Pia",
        "Quinn",
        "Rui",
        "Sara",
        "Tom",
        "Uma",
        "Vic",
        "Wen",
        "Xia",
        "Yara",
        "Zoe",
        "Ali",
        "Bea",
        "Carl",
        "Dina",
        "Emil",
        "Fay",
        "Gus",
        "Hana",
        "Ivan",
        "Jade",
        "Karl",
        "Lina",
        "Max",
        "Nora",
    ]
)
LAST_NAMES = np.array(
    [
        "Adler",
        "Berg",
        "Costa",
        "Diaz",
        "Eriksen",
        "Fischer",
        "Garcia",
        "Hansen",
        "Ito",
        "Jansen",
        "Kowalski",
        "Larsen",
        "Moreau",
        "Novak",
        "Olsen",
        "Petrov",
        "Quint",
        "Rossi",
        "Silva",
        "Tanaka",
        "Ulrich",
        "Vidal",
        "Weber",
        "Xu",
        "Young",
        "Zeller",
        "Brandt",
        "Carvalho",
        "Dubois",
        "Engel",
    ]
)
COMPANY_SUFFIXES = np.array(["Ltd", "GmbH", "AG", "Inc", "BV", "Oy", "SA", "LLC"])
COMPANY_TRADES = np.array(
    ["Logistics", "Foods", "Systems", "Health", "Retail", "Motors", "Labs", "Energy", "Media"]
)
REGIONS = np.array(["north", "south", "east", "west", "central"])
GENDERS = np.array(["f", "m", "x"])


@dataclass
class Population:
    """One chunk of customers: latent traits and profile columns, all aligned arrays."""

    first_index: int  # global index of the chunk's first customer (customer number - 1)
    purchase_rate: np.ndarray  # lambda, purchases per active day while alive
    dropout: np.ndarray  # p, base dropout chance after each purchase
    spend_rate: np.ndarray  # nu of Gamma-Gamma: order value ~ Gamma(spend_p, rate=nu)
    factors: np.ndarray  # (n, k) latent taste
    event_rate: np.ndarray  # background events per day while alive
    ticket_rate: np.ndarray  # tickets per day while alive
    response_base: np.ndarray  # chance a treated, alive customer answers a campaign (0 = never)
    price_sensitivity: np.ndarray  # in (0, 1): how much a coupon moves them (small baskets: high)
    nps_bias: np.ndarray  # the customer's NPS before service experience
    first_order_active: np.ndarray  # active-time position of the first (signup) purchase
    first_order_s: np.ndarray
    signup_s: np.ndarray
    consent_initial: np.ndarray  # bool
    withdrawal_s: np.ndarray  # NEVER when consent is never withdrawn (or never given)
    erasure_s: np.ndarray  # NEVER when no erasure request
    preferred_channel: np.ndarray  # index into the profile's order channels
    region: np.ndarray
    acquisition_channel: np.ndarray
    birth_year: np.ndarray
    gender: np.ndarray
    name: np.ndarray
    email: np.ndarray
    phone: np.ndarray

    @property
    def n(self) -> int:
        return len(self.purchase_rate)


def draw_population(
    profile: IndustryProfile,
    rng: np.random.Generator,
    first_index: int,
    n: int,
    history_days: int,
    end_year: int,
) -> Population:
    """Draw `n` customers' traits and signups over a history of `history_days` days."""
    end_s = history_days * DAY
    rate = rng.gamma(profile.purchase_shape, 1.0 / profile.purchase_rate_days, size=n)
    rate = np.minimum(rate, profile.max_purchase_rate)
    dropout = rng.beta(profile.dropout_a, profile.dropout_b, size=n)
    spend_rate = rng.gamma(profile.spend_q, 1.0 / profile.spend_gamma, size=n)
    factors = rng.normal(size=(n, profile.n_factors))
    relative_rate = np.sqrt(rate / profile.mean_purchase_rate)
    event_rate = (
        profile.event_rate
        * relative_rate
        * rng.gamma(profile.event_rate_shape, 1.0 / profile.event_rate_shape, size=n)
    )
    ticket_rate = profile.ticket_rate * rng.gamma(2.0, 0.5, size=n)
    persuadable = rng.random(n) < profile.persuadable_share
    response_base = np.where(persuadable, rng.beta(profile.response_a, profile.response_b, n), 0.0)
    nps_bias = (
        profile.nps_base
        - profile.nps_dropout_slope * (dropout - profile.mean_dropout)
        + rng.normal(0.0, NPS_BIAS_SD, size=n)
    )

    initial = rng.random(n) < profile.initial_base_share
    early_window = min(30.0, history_days)
    late_window = max(history_days - 7.0, 1.0)
    first_active = np.where(initial, rng.random(n) * early_window, rng.random(n) * late_window)
    first_order_s = active_to_seconds(first_active)
    signup_s = first_order_s - rng.integers(50 * 60, 70 * 60, size=n)

    consent = rng.random(n) < profile.consent_share
    withdrawal = signup_s + (
        rng.exponential(profile.consent_withdrawal_years * 365.0, size=n) * DAY
    ).astype(np.int64)
    withdrawal_s = np.where(consent & (withdrawal < end_s), withdrawal, NEVER)
    erased = rng.random(n) < profile.erasure_share
    erasure_s = np.where(
        erased, signup_s + (rng.random(n) * (end_s - signup_s)).astype(np.int64), NEVER
    )

    first = rng.integers(0, len(FIRST_NAMES), size=n)
    last = rng.integers(0, len(LAST_NAMES), size=n)
    numbers = np.arange(first_index + 1, first_index + n + 1)
    if profile.is_business:
        name = np.char.add(
            np.char.add(np.char.add(LAST_NAMES[last], " "), COMPANY_TRADES[first % 9]),
            np.char.add(" ", COMPANY_SUFFIXES[first % 8]),
        )
        local = np.char.add("accounts", numbers.astype(str))
        domain = np.char.add(np.char.lower(LAST_NAMES[last]), ".example.com")
        birth_year = np.full(n, -1)
        gender = np.full(n, "", dtype=object)
    else:
        name = np.char.add(np.char.add(FIRST_NAMES[first], " "), LAST_NAMES[last])
        local = np.char.add(
            np.char.add(np.char.lower(FIRST_NAMES[first]), "."),
            np.char.add(np.char.lower(LAST_NAMES[last]), numbers.astype(str)),
        )
        domain = np.full(n, "example.com")
        birth_year = end_year - 18 - np.minimum(rng.gamma(4.0, 6.0, size=n).astype(int), 70)
        gender = GENDERS[rng.choice(3, size=n, p=[0.49, 0.49, 0.02])]
    email = np.char.add(np.char.add(local, "@"), domain)
    phone = np.char.add("+1-555-", np.char.zfill(rng.integers(0, 10**7, size=n).astype(str), 7))
    relative_spend_rate = np.log(spend_rate * profile.spend_gamma / profile.spend_q)
    price_sensitivity = expit(
        PRICE_SENSITIVITY_SLOPE * relative_spend_rate
        + rng.normal(0.0, PRICE_SENSITIVITY_SD, size=n)
    )

    return Population(
        first_index=first_index,
        purchase_rate=rate,
        dropout=dropout,
        spend_rate=spend_rate,
        factors=factors,
        event_rate=event_rate,
        ticket_rate=ticket_rate,
        response_base=response_base,
        price_sensitivity=price_sensitivity,
        nps_bias=nps_bias,
        first_order_active=first_active,
        first_order_s=first_order_s,
        signup_s=signup_s,
        consent_initial=consent,
        withdrawal_s=withdrawal_s,
        erasure_s=erasure_s,
        preferred_channel=rng.integers(0, len(profile.order_channels), size=n),
        region=REGIONS[rng.integers(0, len(REGIONS), size=n)],
        acquisition_channel=np.array(profile.acquisition_channels)[
            rng.integers(0, len(profile.acquisition_channels), size=n)
        ],
        birth_year=birth_year,
        gender=gender,
        name=name,
        email=email,
        phone=phone,
    )
