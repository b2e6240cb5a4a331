"""Industry profiles: one mechanism, four parameter sets and catalogues.

A profile holds every number the generator draws from, so a world is fully described by
(profile, customers, months, seed). The built-in profiles differ in catalogue, purchase
frequency, spend and dropout; the mechanism (see `crm_ml.datasets.synthetic`) is the same.
All but retail add a contract layer (`ContractSpec`, simulated by `contracts`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class CategorySpec:
    """One product category of a catalogue.

    `popularity` is the category's share of purchases for an average customer (before the
    customer's own affinity); `repeatable_share` the share of its products that can be
    bought again (consumables, renewals) rather than once (a TV, a mortgage).
    """

    name: str
    n_products: int
    price_median: float
    price_sigma: float = 0.5
    popularity: float = 1.0
    repeatable_share: float = 0.5
    is_sensitive: bool = False


@dataclass(frozen=True)
class SlaTargets:
    """First-response targets in minutes per ticket kind (DESIGN.md defaults)."""

    complaint: float = 30.0
    fault: float = 120.0
    consult: float = 60.0

    def minutes(self, kind: str) -> float:
        return float(getattr(self, kind))


@dataclass(frozen=True)
class ContractSpec:
    """The contract layer of a profile (`contracts`): who holds what, and why they leave.

    `kind` is "b2b" (accounts hold term or month-to-month contracts with seats), "finance"
    (customers hold products with monthly balances) or "subscription" (one month-to-month
    plan per customer, billed monthly). Each holder (account or customer) has a latent
    health state per calendar month, a Markov chain over ("healthy", "cooling", "at_risk")
    with `transition` rows summing to 1 and the chain's stationary law as the start.
    Per state: `hazard` is the chance of leaving at a decision point (a b2b renewal, a
    monthly anniversary of a plan, a month of a holding), `monthly_hazard` that of a b2b
    month-to-month contract, `usage_per_month` the usage rate (per seat for b2b),
    `plan_up` / `plan_down` the monthly chance of a plan change, `balance_drift` the mean
    monthly log-change of a balance and `withdrawal` the monthly chance of a large
    withdrawal (the balance falls to 10-40% of the month before). `price_shock_logit` is
    added to the logit of the hazard in the three months after a bill went up (end of the
    introductory discount, the yearly price rise).
    """

    kind: str
    transition: tuple[tuple[float, float, float], ...] = (
        (0.97, 0.025, 0.005),
        (0.10, 0.84, 0.06),
        (0.02, 0.08, 0.90),
    )
    hazard: tuple[float, float, float] = (0.05, 0.2, 0.55)
    monthly_hazard: tuple[float, float, float] = (0.006, 0.025, 0.08)
    usage_per_month: tuple[float, float, float] = (1.2, 0.75, 0.35)
    plan_categories: tuple[str, ...] = ()
    # b2b
    terms_months: tuple[int, ...] = (12, 24, 36)
    term_weights: tuple[float, ...] = (0.55, 0.25, 0.2)
    month_to_month_share: float = 0.25
    contacts_weights: tuple[float, ...] = (0.3, 0.25, 0.2, 0.12, 0.08, 0.05)
    extra_contract_share: float = 0.3
    seats_median: float = 8.0
    seats_logit: float = -0.25  # per unit of log(seats / seats_median)
    renewal_logit: float = -0.3  # per renewal already made (up to three)
    # subscription
    plan_up: tuple[float, float, float] = (0.012, 0.006, 0.003)
    plan_down: tuple[float, float, float] = (0.004, 0.015, 0.04)
    intro_months: int = 6
    intro_discount: float = 0.25
    yearly_price_rise: float = 0.06
    price_shock_logit: float = 0.9
    # finance
    balance_drift: tuple[float, float, float] = (0.01, -0.01, -0.04)
    balance_sigma: float = 0.06
    withdrawal: tuple[float, float, float] = (0.002, 0.008, 0.04)
    holdings_weights: tuple[float, ...] = (0.45, 0.35, 0.2)


@dataclass(frozen=True)
class IndustryProfile:
    """Everything the generator draws from for one industry.

    Rates are per day. Purchases: lambda ~ Gamma(purchase_shape, rate=purchase_rate_days),
    i.e. mean 1 / (purchase_rate_days / purchase_shape) per day; dropout chance after each
    purchase p ~ Beta(dropout_a, dropout_b). Spend (Gamma-Gamma): a customer's spend rate
    nu ~ Gamma(spend_q, rate=spend_gamma), each order's target value ~ Gamma(spend_p, rate=nu).
    """

    name: str
    categories: tuple[CategorySpec, ...]
    purchase_shape: float = 0.9
    purchase_rate_days: float = 27.0
    max_purchase_rate: float = 1.0
    dropout_a: float = 1.0
    dropout_b: float = 6.0
    spend_p: float = 4.0
    spend_q: float = 5.0
    spend_gamma: float = 40.0
    extra_lines_mean: float = 0.7
    stickiness: float = 0.25
    return_rate: float = 0.05
    max_quantity: int = 12
    order_channels: tuple[str, ...] = ("web", "app", "store")
    acquisition_channels: tuple[str, ...] = (
        "organic",
        "paid_search",
        "social",
        "referral",
        "store",
    )
    is_business: bool = False
    # engagement: background events per day while alive, scaled by sqrt(lambda / mean lambda)
    # and by a customer multiplier ~ Gamma(event_rate_shape, rate event_rate_shape), mean 1
    event_rate: float = 0.25
    event_rate_shape: float = 4.0
    event_types: tuple[str, ...] = ("session", "app_open", "view", "search", "cart_add")
    event_type_weights: tuple[float, ...] = (0.3, 0.25, 0.3, 0.1, 0.05)
    fade_days: float = 21.0  # engagement after the dropout decision decays with this time constant
    # service
    ticket_rate: float = 1 / 120
    ticket_kind_weights: tuple[float, float, float] = (0.5, 0.3, 0.2)  # consult, fault, complaint
    sla: SlaTargets = field(default_factory=SlaTargets)
    response_sigma: float = 0.8
    sla_breach_share: float = 0.2  # share of first responses slower than their target
    unresolved_complaint_share: float = 0.25
    resolution_median_hours: tuple[float, float, float] = (2.0, 24.0, 72.0)
    hazard_unresolved_complaint: float = 0.6  # log-hazard added per open unresolved complaint
    hazard_slow_response: float = 0.3  # per SLA breach in the 90 days before a purchase
    slow_response_window_days: int = 90
    survey_after_ticket: float = 0.35
    # a customer's score bias ~ Normal(nps_base - nps_dropout_slope (p - mean p), 1): the
    # likelier to leave, the less likely to recommend; service trouble lowers each answer
    nps_base: float = 8.3
    nps_dropout_slope: float = 8.0
    relationship_surveys_per_year: float = 0.5
    # campaigns
    campaign_every_days: int = 14
    target_share: tuple[float, float] = (0.15, 0.4)
    control_share: tuple[float, float] = (0.1, 0.2)
    persuadable_share: float = 0.3
    response_a: float = 2.0
    response_b: float = 5.0
    response_window_days: int = 14
    campaign_channels: tuple[str, ...] = ("email", "sms", "push")
    # cost per treated contact of each treatment (coupon, callback, loyalty benefit) as a
    # share of the expected order value: a redeemed discount, an agent's call, a small perk
    treatment_cost_shares: tuple[float, float, float] = (0.025, 0.075, 0.0125)
    # consent, privacy, exclusions
    consent_share: float = 0.8
    consent_withdrawal_years: float = 4.0
    erasure_share: float = 0.002
    exclusions_per_year: float = 0.3
    # signups: share already on board in the first month, the rest spread over the history
    initial_base_share: float = 0.3
    n_factors: int = 3
    new_product_share: float = 0.0  # products launched in the second half of the history
    affinity_scale: float = 1.0
    contracts: ContractSpec | None = None  # the contract layer; none for retail

    @property
    def mean_purchase_rate(self) -> float:
        return self.purchase_shape / self.purchase_rate_days

    @property
    def expected_order_value(self) -> float:
        """E[order value] of Gamma-Gamma: spend_p * spend_gamma / (spend_q - 1)."""
        return self.spend_p * self.spend_gamma / (self.spend_q - 1.0)

    @property
    def treatment_costs(self) -> tuple[float, ...]:
        """Cost per treated contact of each treatment, in the world's currency."""
        return tuple(round(s * self.expected_order_value, 2) for s in self.treatment_cost_shares)

    @property
    def mean_dropout(self) -> float:
        return self.dropout_a / (self.dropout_a + self.dropout_b)

    def with_overrides(self, **changes: object) -> IndustryProfile:
        """A copy with some parameters changed (for experiments and tests)."""
        return replace(self, **changes)  # type: ignore[arg-type]


RETAIL = IndustryProfile(
    name="retail",
    categories=(
        CategorySpec("grocery", 40, 6.0, 0.6, popularity=3.0, repeatable_share=1.0),
        CategorySpec("beauty", 30, 18.0, 0.5, popularity=1.5, repeatable_share=0.9),
        CategorySpec(
            "health", 20, 15.0, 0.5, popularity=0.8, repeatable_share=0.9, is_sensitive=True
        ),
        CategorySpec("home", 30, 35.0, 0.7, popularity=1.2, repeatable_share=0.4),
        CategorySpec("fashion", 40, 45.0, 0.6, popularity=1.5, repeatable_share=0.2),
        CategorySpec("electronics", 25, 180.0, 0.9, popularity=0.7, repeatable_share=0.1),
        CategorySpec("sports", 25, 40.0, 0.7, popularity=0.8, repeatable_share=0.4),
        CategorySpec("toys", 20, 25.0, 0.6, popularity=0.6, repeatable_share=0.3),
        CategorySpec("books", 30, 14.0, 0.4, popularity=0.9, repeatable_share=0.0),
        CategorySpec("garden", 20, 22.0, 0.7, popularity=0.5, repeatable_share=0.6),
    ),
    # Calibrated so the default world reads like a retailer's loyalty base (figures from
    # benchmarks/bench_world_realism.py on three seeds): core-tier churn 17-19% per 90 days,
    # one-year repeat rate ~85%, ~7 orders per active customer-year, NPS ~29.
    # - purchases: lambda ~ Gamma(0.6, rate 27 days), a mean of 8 orders a year, skewed so
    #   that a third of customers buy less than twice a year (CDNOW's music buyers are more
    #   skewed still, r = 0.24; a grocery-led base less);
    # - dropout per purchase ~ Beta(0.5, 30), mean 0.016: the CDNOW BG/NBD fit (Fader, Hardie
    #   & Lee 2005: a 0.79, b 2.43, mean 0.25 per purchase at 2.9 purchases a year) means a
    #   death rate near 0.7 a year; dropout chances are per purchase, so a base that buys
    #   eight times a year needs a much smaller chance per purchase for a similar yearly rate;
    # - about one service contact per customer-year, each failure weighing on the next
    #   purchase (see `service`);
    # - nps_base 8.6 puts NPS near 29, inside the 20-45 that retail NPS benchmarks report;
    #   the slope (40 x sd 0.023 = 0.9 score points per standard deviation of the dropout
    #   prior) keeps NPS about as telling of the dropout chance as before (8 x 0.124 = 1.0);
    # - a quarter of the catalogue launches in the second year (fashion and seasonal ranges).
    purchase_shape=0.6,
    dropout_a=0.5,
    dropout_b=30.0,
    ticket_rate=1 / 333,
    nps_base=8.6,
    nps_dropout_slope=40.0,
    new_product_share=0.25,
)

FINANCE = IndustryProfile(
    name="finance",
    categories=(
        CategorySpec("cards", 8, 60.0, 0.6, popularity=1.5, repeatable_share=0.0),
        CategorySpec("savings", 6, 800.0, 0.8, popularity=2.0, repeatable_share=1.0),
        CategorySpec("funds", 15, 1500.0, 0.9, popularity=1.5, repeatable_share=1.0),
        CategorySpec("loans", 6, 8000.0, 0.7, popularity=0.6, repeatable_share=0.2),
        CategorySpec("insurance", 10, 400.0, 0.6, popularity=1.0, repeatable_share=0.8),
        CategorySpec("mortgages", 4, 40000.0, 0.5, popularity=0.2, repeatable_share=0.0),
        CategorySpec("pensions", 6, 300.0, 0.6, popularity=0.8, repeatable_share=1.0),
        CategorySpec(
            "health_insurance",
            5,
            150.0,
            0.4,
            popularity=0.5,
            repeatable_share=1.0,
            is_sensitive=True,
        ),
    ),
    purchase_shape=1.2,
    purchase_rate_days=110.0,
    dropout_a=1.0,
    dropout_b=9.0,
    spend_p=3.0,
    spend_q=4.0,
    spend_gamma=1500.0,
    extra_lines_mean=0.1,
    stickiness=0.4,
    return_rate=0.01,
    max_quantity=5,
    order_channels=("online", "app", "branch"),
    acquisition_channels=("branch", "online", "broker", "referral", "partner"),
    event_rate=0.15,
    ticket_rate=1 / 180,
    campaign_every_days=30,
    contracts=ContractSpec(
        kind="finance",
        hazard=(0.002, 0.006, 0.03),
        plan_categories=("savings", "cards", "funds", "pensions"),
    ),
)

B2B = IndustryProfile(
    name="b2b",
    categories=(
        CategorySpec("licences", 12, 400.0, 0.6, popularity=2.5, repeatable_share=1.0),
        CategorySpec("support_plans", 6, 1200.0, 0.5, popularity=1.5, repeatable_share=1.0),
        CategorySpec("add_ons", 15, 150.0, 0.6, popularity=1.2, repeatable_share=1.0),
        CategorySpec("training", 10, 900.0, 0.5, popularity=0.7, repeatable_share=0.8),
        CategorySpec("services", 12, 5000.0, 0.8, popularity=0.6, repeatable_share=0.3),
        CategorySpec("hardware", 10, 2500.0, 0.7, popularity=0.5, repeatable_share=0.2),
        CategorySpec(
            "occupational_health",
            4,
            600.0,
            0.4,
            popularity=0.3,
            repeatable_share=1.0,
            is_sensitive=True,
        ),
    ),
    purchase_shape=1.5,
    purchase_rate_days=130.0,
    dropout_a=1.0,
    dropout_b=12.0,
    spend_p=3.0,
    spend_q=4.0,
    spend_gamma=9000.0,
    extra_lines_mean=0.5,
    stickiness=0.6,
    return_rate=0.02,
    max_quantity=200,
    order_channels=("sales", "renewal", "online"),
    acquisition_channels=("outbound", "inbound", "partner", "event", "referral"),
    is_business=True,
    event_rate=0.2,
    event_types=("session", "app_open", "view", "search", "cart_add"),
    ticket_rate=1 / 45,
    campaign_every_days=30,
    consent_share=0.9,
    contracts=ContractSpec(kind="b2b", plan_categories=("licences", "add_ons")),
)

SUBSCRIPTION = IndustryProfile(
    name="subscription",
    categories=(
        CategorySpec("plans", 6, 30.0, 0.5, popularity=0.3, repeatable_share=1.0),
        CategorySpec("devices", 20, 350.0, 0.7, popularity=0.6, repeatable_share=0.1),
        CategorySpec("accessories", 30, 25.0, 0.6, popularity=1.5, repeatable_share=0.5),
        CategorySpec("add_ons", 12, 8.0, 0.4, popularity=1.2, repeatable_share=1.0),
        CategorySpec("content", 10, 12.0, 0.4, popularity=0.8, repeatable_share=1.0),
        CategorySpec(
            "care_services", 4, 15.0, 0.3, popularity=0.2, repeatable_share=1.0, is_sensitive=True
        ),
    ),
    purchase_shape=1.0,
    purchase_rate_days=90.0,
    dropout_a=1.0,
    dropout_b=8.0,
    spend_gamma=600.0,
    order_channels=("online", "app", "store"),
    acquisition_channels=("online", "store", "partner", "referral", "promotion"),
    event_rate=0.2,
    ticket_rate=1 / 150,
    campaign_every_days=21,
    contracts=ContractSpec(
        kind="subscription",
        hazard=(0.008, 0.03, 0.09),
        usage_per_month=(6.0, 4.0, 2.0),
        plan_categories=("plans",),
    ),
)

PROFILES: dict[str, IndustryProfile] = {p.name: p for p in (RETAIL, FINANCE, B2B, SUBSCRIPTION)}


def get_profile(industry: str | IndustryProfile) -> IndustryProfile:
    """The profile named `industry` (or the profile itself); the error lists the names."""
    if isinstance(industry, IndustryProfile):
        return industry
    try:
        return PROFILES[industry]
    except KeyError:
        raise ValueError(
            f"unknown industry {industry!r}; choose one of {', '.join(PROFILES)}"
        ) from None
