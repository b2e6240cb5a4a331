"""Industry profiles: one mechanism, three parameter sets and catalogues.

A profile holds every number the generator draws from, so a world is fully described by
(profile, customers, months, seed). The three built-in profiles differ in catalogue,
purchase frequency, spend and dropout; the mechanism (see `crm_ml.datasets.synthetic`) is
the same.
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
    # consent, privacy, exclusions
    consent_share: float = 0.8
    consent_withdrawal_years: float = 4.0
    erasure_share: float = 0.002
    exclusions_per_year: float = 0.3
    # signups: share already on board in the first month, the rest spread over the history
    initial_base_share: float = 0.3
    n_factors: int = 3
    affinity_scale: float = 1.0

    @property
    def mean_purchase_rate(self) -> float:
        return self.purchase_shape / self.purchase_rate_days

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
)

PROFILES: dict[str, IndustryProfile] = {p.name: p for p in (RETAIL, FINANCE, B2B)}


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
