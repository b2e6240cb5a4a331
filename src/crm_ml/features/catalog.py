"""The feature catalogue: what every feature column means, and how to say it to a person.

`reason` is a `str.format` template for a per-customer reason code (used with SHAP
contributions): `{value}` is the feature's own value and any other feature column of the
same row can be referenced by name, e.g.
`CATALOG["days_since_last_order"].reason.format(value=74, **row)` gives
"no order for 74 days, usually every 21". Windows such as `_90d` end just before the
cutoff: [cutoff - 90 days, cutoff). The SQL of each group is `sql/<group>.sql`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class FeatureSpec:
    """One feature column: its group (= SQL file), a one-line description, a reason template."""

    name: str
    group: str
    description: str
    reason: str


_SPECS: tuple[tuple[str, str, str, str], ...] = (
    # name, group, description, reason template
    (
        "tenure_days",
        "customer",
        "Days since the customer signed up.",
        "customer for {value:.0f} days",
    ),
    (
        "age_years",
        "demographics",
        "Age in years at the cutoff (from birth year).",
        "aged {value:.0f}",
    ),
    (
        "marketing_consent",
        "consent",
        "Marketing consent as it stood at the cutoff (1 yes, 0 no, empty if unknown then).",
        "marketing consent at the time: {value:.0f} (1 = yes)",
    ),
    (
        "days_since_last_order",
        "rfm",
        "Days since the last purchase order (empty if never ordered).",
        "no order for {value:.0f} days, usually every {mean_days_between_orders:.0f}",
    ),
    (
        "days_since_first_order",
        "rfm",
        "Days since the first purchase order.",
        "first order {value:.0f} days ago",
    ),
    (
        "orders_30d",
        "rfm",
        "Purchase orders in the last 30 days.",
        "{value:.0f} orders in the last 30 days",
    ),
    (
        "orders_90d",
        "rfm",
        "Purchase orders in the last 90 days.",
        "{value:.0f} orders in the last 90 days",
    ),
    (
        "orders_365d",
        "rfm",
        "Purchase orders in the last 365 days.",
        "{value:.0f} orders in the last year",
    ),
    ("orders_lifetime", "rfm", "Purchase orders ever placed.", "{value:.0f} orders in total"),
    (
        "net_spend_30d",
        "rfm",
        "Spend minus returns in the last 30 days.",
        "spent {value:,.0f} in the last 30 days",
    ),
    (
        "net_spend_90d",
        "rfm",
        "Spend minus returns in the last 90 days.",
        "spent {value:,.0f} in the last 90 days",
    ),
    (
        "net_spend_365d",
        "rfm",
        "Spend minus returns in the last 365 days.",
        "spent {value:,.0f} in the last year",
    ),
    (
        "net_spend_lifetime",
        "rfm",
        "Spend minus returns over the whole history.",
        "spent {value:,.0f} in total",
    ),
    (
        "mean_days_between_orders",
        "purchase_rhythm",
        "Average days between consecutive purchase orders over the whole history.",
        "orders every {value:.0f} days on average",
    ),
    (
        "mean_days_between_orders_90d",
        "purchase_rhythm",
        "Average days between purchase orders within the last 90 days.",
        "lately orders every {value:.0f} days",
    ),
    (
        "mean_days_between_orders_prev_90d",
        "purchase_rhythm",
        "Average days between purchase orders within the 90 days before the last 90.",
        "ordered every {value:.0f} days in the 90 days before",
    ),
    (
        "days_between_orders_change_90d",
        "purchase_rhythm",
        "Change of the average gap between orders, last 90 days minus the 90 before (>0 slower).",
        "gap between orders changed by {value:+.0f} days",
    ),
    (
        "order_count_change_90d",
        "purchase_rhythm",
        "Purchase orders in the last 90 days minus those in the 90 days before.",
        "{value:+.0f} orders compared with the previous 90 days",
    ),
    (
        "days_since_last_order_vs_usual_gap",
        "purchase_rhythm",
        "Days since the last order divided by the customer's usual gap between orders.",
        "next order {value:.1f}x overdue against their usual gap of "
        "{mean_days_between_orders:.0f} days",
    ),
    (
        "avg_items_per_order_365d",
        "basket",
        "Average items (quantity) per purchase order in the last 365 days.",
        "{value:.1f} items per order",
    ),
    (
        "avg_lines_per_order_365d",
        "basket",
        "Average distinct products per purchase order in the last 365 days.",
        "{value:.1f} products per order",
    ),
    (
        "avg_order_value_365d",
        "basket",
        "Average value of a purchase order in the last 365 days.",
        "average order worth {value:,.0f}",
    ),
    (
        "return_rate_365d",
        "returns",
        "Value returned divided by value purchased in the last 365 days.",
        "returned {value:.0%} of what they bought in the last year",
    ),
    (
        "returns_365d",
        "returns",
        "Return orders in the last 365 days.",
        "{value:.0f} returns in the last year",
    ),
    (
        "distinct_categories_365d",
        "category_mix",
        "Product categories bought in the last 365 days.",
        "bought from {value:.0f} categories in the last year",
    ),
    (
        "top_category_spend_share_365d",
        "category_mix",
        "Share of last-year purchase value spent in the customer's top category.",
        "{value:.0%} of spend in one category",
    ),
    (
        "distinct_order_channels_365d",
        "channel_mix",
        "Sales channels used for purchase orders in the last 365 days.",
        "ordered through {value:.0f} channels",
    ),
    (
        "top_channel_order_share_365d",
        "channel_mix",
        "Share of last-year purchase orders placed through the most used channel.",
        "{value:.0%} of orders through one channel",
    ),
    (
        "sessions_30d",
        "engagement",
        "Web sessions in the last 30 days.",
        "{value:.0f} web sessions in 30 days",
    ),
    (
        "sessions_90d",
        "engagement",
        "Web sessions in the last 90 days.",
        "{value:.0f} web sessions in 90 days",
    ),
    (
        "app_opens_30d",
        "engagement",
        "App opens in the last 30 days.",
        "{value:.0f} app opens in 30 days",
    ),
    (
        "app_opens_90d",
        "engagement",
        "App opens in the last 90 days.",
        "{value:.0f} app opens in 90 days",
    ),
    (
        "views_30d",
        "engagement",
        "Product views in the last 30 days.",
        "{value:.0f} product views in 30 days",
    ),
    (
        "views_90d",
        "engagement",
        "Product views in the last 90 days.",
        "{value:.0f} product views in 90 days",
    ),
    (
        "searches_90d",
        "engagement",
        "Searches in the last 90 days.",
        "{value:.0f} searches in 90 days",
    ),
    (
        "cart_adds_30d",
        "engagement",
        "Cart adds in the last 30 days.",
        "{value:.0f} cart adds in 30 days",
    ),
    (
        "cart_adds_90d",
        "engagement",
        "Cart adds in the last 90 days.",
        "{value:.0f} cart adds in 90 days",
    ),
    (
        "orders_per_cart_add_90d",
        "engagement",
        "Cart-to-order ratio: purchase orders per cart add in the last 90 days.",
        "{value:.2f} orders per cart add",
    ),
    (
        "days_since_last_event",
        "engagement",
        "Days since the last digital event (session, app open, view, search, cart add).",
        "no visit for {value:.0f} days",
    ),
    (
        "visits_change_90d",
        "engagement",
        "Sessions + app opens in the last 90 days minus those in the 90 days before.",
        "{value:+.0f} visits compared with the previous 90 days",
    ),
    (
        "service_tier",
        "service_tier",
        "Service tier at the cutoff: core (top spenders), regular (bought last year), potential.",
        "{value} service tier",
    ),
    (
        "complaints_365d",
        "service",
        "Complaint tickets opened in the last 365 days.",
        "{value:.0f} complaints in the last year",
    ),
    (
        "faults_365d",
        "service",
        "Fault tickets opened in the last 365 days.",
        "{value:.0f} faults reported in the last year",
    ),
    (
        "consults_365d",
        "service",
        "Consultation tickets opened in the last 365 days.",
        "{value:.0f} questions to support in the last year",
    ),
    (
        "tickets_90d",
        "service",
        "Tickets of any kind opened in the last 90 days.",
        "{value:.0f} tickets in 90 days",
    ),
    (
        "days_since_last_ticket",
        "service",
        "Days since the customer last opened a ticket.",
        "last contacted support {value:.0f} days ago",
    ),
    (
        "complaints_unresolved",
        "service_resolution",
        "Complaints open at the cutoff (not resolved before it).",
        "{value:.0f} unresolved complaints",
    ),
    (
        "tickets_unresolved",
        "service_resolution",
        "Tickets of any kind open at the cutoff.",
        "{value:.0f} open tickets",
    ),
    (
        "mean_first_response_minutes_365d",
        "service_response",
        "Average minutes to first response, tickets opened in the last 365 days.",
        "waited {value:.0f} minutes for a first answer on average",
    ),
    (
        "first_response_vs_target_365d",
        "service_response",
        "Average first-response time as a multiple of its target (kind and service tier).",
        "first answers took {value:.1f}x the promised time",
    ),
    (
        "sla_breaches_365d",
        "service_response",
        "Tickets of the last 365 days whose first response missed (or by the cutoff had "
        "already missed) its target.",
        "{value:.0f} service promises broken in the last year",
    ),
    (
        "sla_breach_rate_365d",
        "service_response",
        "Share of last-year tickets whose first-response target was missed.",
        "{value:.0%} of tickets answered late",
    ),
    (
        "last_csat",
        "service_csat",
        "Satisfaction rating of the most recently resolved ticket.",
        "last support rating {value:.0f}",
    ),
    (
        "mean_csat_365d",
        "service_csat",
        "Average satisfaction rating of tickets resolved in the last 365 days.",
        "support rated {value:.1f} on average",
    ),
    (
        "campaign_contacts_90d",
        "campaigns",
        "Marketing contacts sent in the last 90 days (control group excluded).",
        "contacted {value:.0f} times in 90 days",
    ),
    (
        "campaign_contacts_365d",
        "campaigns",
        "Marketing contacts sent in the last 365 days (control group excluded).",
        "contacted {value:.0f} times in the last year",
    ),
    (
        "days_since_last_contact",
        "campaigns",
        "Days since the last marketing contact was sent.",
        "last contacted by marketing {value:.0f} days ago",
    ),
    (
        "campaign_responses_365d",
        "campaign_responses",
        "Last-year contacts the customer responded to (before the cutoff).",
        "responded to {value:.0f} campaigns in the last year",
    ),
    (
        "campaign_response_rate_365d",
        "campaign_responses",
        "Share of last-year contacts the customer responded to.",
        "responds to {value:.0%} of campaigns",
    ),
    (
        "days_since_last_response",
        "campaign_responses",
        "Days since the customer last responded to a campaign.",
        "last responded to a campaign {value:.0f} days ago",
    ),
    ("nps_last", "nps", "Latest Net Promoter Score answer (0-10).", "last NPS answer {value:.0f}"),
    (
        "nps_change",
        "nps",
        "Latest NPS answer minus the one before it.",
        "NPS changed by {value:+.0f} since the previous survey",
    ),
    (
        "days_since_last_survey",
        "nps",
        "Days since the latest NPS answer.",
        "last survey answered {value:.0f} days ago",
    ),
    (
        "nps_mean",
        "nps",
        "Mean of every NPS answer before the cutoff.",
        "average NPS answer {value:.1f}",
    ),
    (
        "nps_answers",
        "nps",
        "NPS surveys answered before the cutoff.",
        "answered {value:.0f} NPS surveys",
    ),
    (
        "exclusions_count",
        "exclusions",
        "Negative-feedback records (dismissed or complained-about categories).",
        "{value:.0f} negative feedback records",
    ),
    (
        "excluded_categories",
        "exclusions",
        "Distinct categories the customer asked not to be offered.",
        "excluded {value:.0f} categories",
    ),
    (
        "orders_per_day",
        "purchase_rate",
        "Purchase orders per day from signup (or the first order if earlier) to the cutoff.",
        "buys {value:.3f} times a day on average",
    ),
    (
        "repeat_orders_per_day",
        "purchase_rate",
        "Orders per day between the first and the last order, shrunk towards the typical gap.",
        "buys about every {value:.3f} days^-1 while active",
    ),
    (
        "expected_orders_since_last_order",
        "purchase_rate",
        "Orders the customer's active-period rate would have produced since the last order.",
        "about {value:.1f} orders would be usual since the last one",
    ),
    (
        "order_silence_score",
        "purchase_rate",
        "Log chance of no order since the last one for a customer still buying at their own "
        "(uncertain) rate; very negative = an unusually long silence.",
        "the silence since the last order scores {value:.1f} (very negative = unusual)",
    ),
    (
        "events_since_last_order",
        "engagement_since_order",
        "Digital events after the last purchase order.",
        "{value:.0f} visits or views since the last order",
    ),
    (
        "visits_since_last_order",
        "engagement_since_order",
        "Sessions and app opens after the last purchase order.",
        "{value:.0f} sessions or app opens since the last order",
    ),
    (
        "background_events_per_day",
        "engagement_since_order",
        "Digital events per day from signup to the last order, not counting the hour before "
        "each order.",
        "usually {value:.2f} digital events a day",
    ),
    (
        "expected_events_since_last_order",
        "engagement_since_order",
        "Digital events the customer's usual rate would have produced since the last order.",
        "about {value:.1f} digital events would be usual since the last order",
    ),
    (
        "engagement_silence_score",
        "engagement_since_order",
        "Log likelihood ratio of engagement since the last order: usual rate against fading "
        "(negative = quieter than usual, as when a customer has left).",
        "engagement since the last order scores {value:+.1f} (negative = fading)",
    ),
    (
        "open_complaints_at_last_order",
        "service_at_last_order",
        "Complaints still unresolved when the customer placed the last order.",
        "{value:.0f} complaints open at the last order",
    ),
    (
        "sla_breaches_before_last_order",
        "service_at_last_order",
        "Late first responses (target missed) visible in the 90 days before the last order.",
        "{value:.0f} late service responses before the last order",
    ),
    (
        "tickets_since_last_order",
        "service_at_last_order",
        "Service tickets opened after the last purchase order.",
        "{value:.0f} service tickets since the last order",
    ),
    (
        "tickets_year_before_last_order",
        "service_at_last_order",
        "Service tickets opened in the year before the last purchase order.",
        "{value:.0f} service tickets in the year before the last order",
    ),
    (
        "contacts_unanswered_since_last_order",
        "campaigns_since_order",
        "Campaign contacts (not control) sent after the last order: none was answered.",
        "{value:.0f} campaigns ignored since the last order",
    ),
    (
        "response_rate_before_last_order",
        "campaigns_since_order",
        "Share of contacts in the year before the last order answered by then.",
        "answered {value:.0%} of campaigns before the last order",
    ),
)

CATALOG: dict[str, FeatureSpec] = {name: FeatureSpec(name, *rest) for name, *rest in _SPECS}


def describe(name: str) -> str:
    """The one-line description of a feature column."""
    try:
        return CATALOG[name].description
    except KeyError:
        raise KeyError(f"feature {name!r} is not in crm_ml.features.catalog.CATALOG") from None


def catalog_frame() -> pd.DataFrame:
    """The catalogue as a table (name, group, description, reason) for reports and notebooks."""
    return pd.DataFrame([vars(spec) for spec in CATALOG.values()])
