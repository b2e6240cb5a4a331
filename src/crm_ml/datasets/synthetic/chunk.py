"""Simulating one chunk of customers end to end, and turning it into Arrow tables.

Customers never interact, so a world is simulated chunk by chunk: memory is bounded by
the chunk size, whatever the number of customers. World-level draws (catalogue, campaign
calendar) are shared through `WorldContext`; global ids continue across chunks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from crm_ml.contract.tables import TICKET_KINDS
from crm_ml.datasets.synthetic.arrow import TimestampWriter, ids, nullable_int, pick
from crm_ml.datasets.synthetic.campaigns import (
    TREATMENTS,
    Campaigns,
    Contacts,
    draw_contacts,
    responded_at,
)
from crm_ml.datasets.synthetic.catalog import (
    ALWAYS,
    Catalog,
    category_probabilities,
    product_probabilities,
)
from crm_ml.datasets.synthetic.clock import DAY
from crm_ml.datasets.synthetic.contract_oracle import contract_churn_probability, layer_history
from crm_ml.datasets.synthetic.contracts import (
    ACCOUNT_INDUSTRIES,
    BILLING_CHANNEL,
    CANCEL_REASONS,
    DROP_SHARE,
    MONTH_TO_MONTH,
    SIZE_BANDS,
    STATES,
    TERM_NONE,
    USAGE,
    ContractLayer,
    MonthGrid,
    plan_products,
    simulate_contracts,
)
from crm_ml.datasets.synthetic.engagement import (
    ENGAGEMENT_EVENT_TYPES,
    EVENT_CHANNELS,
    EXCLUSION_SOURCES,
    Events,
    Exclusions,
    draw_background,
    draw_exclusions,
    draw_lead_bundles,
    fade_after_death,
    merge_events,
)
from crm_ml.datasets.synthetic.oracle import OracleInputs, oracle_no_order
from crm_ml.datasets.synthetic.population import NEVER, Population, draw_population
from crm_ml.datasets.synthetic.profiles import IndustryProfile
from crm_ml.datasets.synthetic.purchases import (
    OrderLines,
    ProductSampler,
    Purchases,
    build_order_lines,
    simulate_purchases,
)
from crm_ml.datasets.synthetic.service import (
    TICKET_CHANNELS,
    ServiceHistory,
    Surveys,
    Tickets,
    draw_surveys,
    draw_tickets,
)
from crm_ml.datasets.synthetic.timeline import Timeline

ORDER_ID_WIDTH = 10


@dataclass
class WorldContext:
    """What every chunk shares: parameters, catalogue, calendar, clocks, id counters."""

    profile: IndustryProfile
    seed: int
    catalog: Catalog
    campaigns: Campaigns
    history_days: int
    origin_epoch_s: int
    end_year: int
    customer_id_width: int
    cutoffs_s: tuple[int, ...]
    horizon_days: int
    timestamps: TimestampWriter
    months: MonthGrid | None = None  # the calendar of the contract layer
    next_order: int = 0
    next_ticket: int = 0
    next_contact: int = 0
    next_subscription: int = 0
    next_account: int = 0
    next_bill: int = 0
    row_counts: dict[str, int] = field(default_factory=dict)

    @property
    def end_s(self) -> int:
        return self.history_days * DAY


@dataclass
class ChunkWorld:
    """Everything simulated for one chunk of customers."""

    pop: Population
    affinity: np.ndarray
    death_s: np.ndarray
    purchases: Purchases
    lines: OrderLines
    events: Events
    tickets: Tickets
    contacts: Contacts
    responded_s: np.ndarray
    surveys: Surveys
    exclusions: Exclusions
    first_order_number: int
    first_ticket_number: int
    first_contact_number: int
    contracts: ContractLayer | None = None
    first_subscription_number: int = 0
    first_account_number: int = 0
    first_bill_number: int = 0


def simulate_chunk(ctx: WorldContext, chunk_index: int, first_index: int, n: int) -> ChunkWorld:
    """Simulate customers first_index .. first_index + n - 1 with the chunk's own RNG stream."""
    rng = np.random.default_rng([ctx.seed, 1, chunk_index])
    profile, catalog, end_s = ctx.profile, ctx.catalog, ctx.end_s
    pop = draw_population(profile, rng, first_index, n, ctx.history_days, ctx.end_year)
    affinity = category_probabilities(catalog, pop.factors)
    sampler = ProductSampler(product_probabilities(catalog, pop.factors), catalog)

    alive_tickets = draw_tickets(profile, pop, rng, end_s)
    alive_service = ServiceHistory.build(alive_tickets, profile)
    contacts = draw_contacts(ctx.campaigns, pop, affinity, alive_service, rng)
    purchases, death_s = simulate_purchases(
        profile, pop, contacts, alive_service, rng, ctx.history_days
    )
    tickets = alive_tickets.take(
        fade_after_death(
            alive_tickets.owner, alive_tickets.opened_s, death_s, profile.fade_days, rng
        )
    )
    lines = build_order_lines(
        profile,
        pop,
        purchases,
        ctx.campaigns.offer_category,
        catalog,
        sampler,
        rng,
        ctx.next_order,
        end_s,
    )
    events = merge_events(
        draw_background(profile, pop, death_s, sampler, rng, end_s), draw_lead_bundles(lines, rng)
    )
    bought = ~lines.is_return
    responded_s = responded_at(
        contacts,
        ctx.campaigns,
        lines.owner[bought],
        catalog.product_category[lines.product[bought]],
        lines.ts_s[bought],
        catalog.n_categories,
        profile.response_window_days,
        end_s,
    )
    surveys = draw_surveys(
        profile, pop, tickets, ServiceHistory.build(tickets, profile), rng, end_s
    )
    exclusions = draw_exclusions(profile, pop, affinity, rng, end_s)
    chunk = ChunkWorld(
        pop=pop,
        affinity=affinity,
        death_s=death_s,
        purchases=purchases,
        lines=lines,
        events=events,
        tickets=tickets,
        contacts=contacts,
        responded_s=responded_s,
        surveys=surveys,
        exclusions=exclusions,
        first_order_number=ctx.next_order,
        first_ticket_number=ctx.next_ticket,
        first_contact_number=ctx.next_contact,
    )
    ctx.next_order += len(purchases)
    ctx.next_ticket += len(tickets)
    ctx.next_contact += len(contacts)
    spec = profile.contracts
    if spec is not None and ctx.months is not None:
        # its own stream: the transactional world above is the same with or without it
        contract_rng = np.random.default_rng([ctx.seed, 3, chunk_index])
        layer = simulate_contracts(spec, ctx.months, catalog, pop.signup_s, end_s, contract_rng)
        chunk.contracts = layer
        chunk.first_subscription_number = ctx.next_subscription
        chunk.first_account_number = ctx.next_account
        chunk.first_bill_number = ctx.next_bill
        ctx.next_subscription += layer.n_subscriptions
        ctx.next_account += layer.n_holders if spec.kind == "b2b" else 0
        ctx.next_bill += len(layer.bill_sub)
    return chunk


# ---------------------------------------------------------------- contract tables


def contract_tables(ctx: WorldContext, w: ChunkWorld) -> dict[str, pa.Table]:
    """The chunk's rows of every contract table (customers carry fake personal data)."""
    ts = ctx.timestamps
    pop, profile, catalog = w.pop, ctx.profile, ctx.catalog
    cust = customer_ids(ctx, pop)
    withdrawn = pop.withdrawal_s != NEVER
    customers = {
        "customer_id": cust,
        "signup_ts": ts(pop.signup_s),
        "region": pa.array(pop.region),
        "acquisition_channel": pa.array(pop.acquisition_channel),
    }
    if not profile.is_business:
        customers["birth_year"] = pa.array(pop.birth_year.astype(np.int64))
        customers["gender"] = pa.array(pop.gender)
    customers |= {
        "marketing_consent": pa.array(pop.consent_initial & ~withdrawn),
        "consent_updated_ts": ts(np.where(withdrawn, pop.withdrawal_s, pop.signup_s)),
        "name": pa.array(pop.name.astype(str)),
        "email": pa.array(pop.email.astype(str)),
        "phone": pa.array(pop.phone.astype(str)),
    }
    if w.contracts is not None and w.contracts.kind == "b2b":
        customers["account_id"] = account_ids(w).take(pa.array(w.contracts.holder_of_customer))
    lines = w.lines
    order_ids = ids("O", lines.order_number, ORDER_ID_WIDTH)
    if lines.is_return.any():
        order_ids = pc.if_else(
            pa.array(lines.is_return), ids("R", lines.order_number, ORDER_ID_WIDTH), order_ids
        )
    orders = {
        "order_id": order_ids,
        "product_id": pick(catalog.product_ids, lines.product),
        "customer_id": cust.take(pa.array(lines.owner)),
        "ts": ts(lines.ts_s),
        "amount": pa.array(lines.amount),
        "quantity": pa.array(lines.quantity),
        "channel": pick(profile.order_channels, lines.channel),
        "is_return": pa.array(lines.is_return),
    }
    ev = w.events
    events = {
        "customer_id": cust.take(pa.array(ev.owner)),
        "ts": ts(ev.ts_s),
        "event_type": pick(ENGAGEMENT_EVENT_TYPES, ev.event_type),
        "product_id": pick(catalog.product_ids, ev.product),
        "channel": pick(EVENT_CHANNELS, ev.channel),
    }
    tk = w.tickets
    tickets = {
        "ticket_id": ids("T", w.first_ticket_number + 1 + np.arange(len(tk)), 9),
        "customer_id": cust.take(pa.array(tk.owner)),
        "opened_ts": ts(tk.opened_s),
        "kind": pick(TICKET_KINDS, tk.kind),
        "first_response_ts": ts(tk.first_response_s),
        "resolved_ts": ts(tk.resolved_s),
        "channel": pick(TICKET_CHANNELS, tk.channel),
        "csat": nullable_int(tk.csat, tk.csat < 0),
    }
    ct, camp = w.contacts, ctx.campaigns
    contacts = {
        "contact_id": contact_ids(w),
        "customer_id": cust.take(pa.array(ct.owner)),
        "campaign_id": pick(camp.ids, ct.campaign),
        "sent_ts": ts(ct.sent_s),
        "channel": pick(camp.channel, ct.campaign),
        "is_control": pa.array(ct.is_control),
        "offer_category": pick(catalog.category_names, camp.offer_category[ct.campaign]),
        "treatment": pick(TREATMENTS, camp.treatment[ct.campaign]),
        # what the contact cost (nothing is sent to the control group)
        "cost": pa.array(
            np.where(
                ct.is_control, 0.0, np.array(profile.treatment_costs)[camp.treatment[ct.campaign]]
            )
        ),
        "responded_ts": ts(np.where(w.responded_s >= 0, w.responded_s, NEVER)),
    }
    sv = w.surveys
    surveys = {
        "customer_id": cust.take(pa.array(sv.owner)),
        "ts": ts(sv.ts_s),
        "nps": pa.array(sv.nps),
    }
    ex = w.exclusions
    exclusions = {
        "customer_id": cust.take(pa.array(ex.owner)),
        "category": pick(catalog.category_names, ex.category),
        "ts": ts(ex.ts_s),
        "source": pick(EXCLUSION_SOURCES, ex.source),
    }
    erased = np.flatnonzero(pop.erasure_s != NEVER)
    erasure = {"customer_id": cust.take(pa.array(erased)), "ts": ts(pop.erasure_s[erased])}
    return {
        name: pa.table(columns)
        for name, columns in {
            "customers": customers,
            "orders": orders,
            "events": events,
            "tickets": tickets,
            "contacts": contacts,
            "surveys": surveys,
            "exclusions": exclusions,
            "erasure": erasure,
        }.items()
    }


def products_table(ctx: WorldContext) -> pa.Table:
    """The catalogue; `launch_ts` (null: on sale from the start) where products launch."""
    catalog = ctx.catalog
    columns = {
        "product_id": pa.array(catalog.product_ids),
        "category": pick(catalog.category_names, catalog.product_category),
        "subcategory": pa.array(catalog.product_subcategory),
        "price": pa.array(catalog.product_price),
        "is_sensitive": pa.array(catalog.category_sensitive[catalog.product_category]),
        "is_repeatable": pa.array(catalog.product_repeatable),
    }
    launch = catalog.product_launch_s
    if (launch != ALWAYS).any():
        columns["launch_ts"] = ctx.timestamps(np.where(launch == ALWAYS, NEVER, launch))
    return pa.table(columns)


def account_ids(w: ChunkWorld) -> pa.Array:
    return ids("A", w.first_account_number + 1 + np.arange(w.contracts.n_holders), 7)


def subscription_ids(w: ChunkWorld) -> pa.Array:
    n = w.contracts.n_subscriptions
    return ids("S", w.first_subscription_number + 1 + np.arange(n), 9)


def contract_layer_tables(ctx: WorldContext, w: ChunkWorld) -> dict[str, pa.Table]:
    """The chunk's rows the contract layer adds: subscriptions, accounts, balances, usage
    events and (subscription plans) billing order lines."""
    layer, catalog, ts = w.contracts, ctx.catalog, ctx.timestamps
    if layer is None:
        return {}
    cust = customer_ids(ctx, w.pop)
    grid = ctx.months
    ended = layer.sub_end_s != NEVER
    status = np.where(~ended, 0, np.where(layer.sub_term >= 12, 2, 1))
    term = layer.sub_term
    k_now = grid.history_months - grid.month_of(layer.sub_start_s)
    step = np.maximum(term, 1)
    k_next = -(-k_now // step) * step
    renewal = grid.anniversary_s(layer.sub_start_s, k_next)
    k_next = np.where(renewal <= ctx.end_s, k_next + step, k_next)
    renewal = np.where(
        ended | (term == TERM_NONE), NEVER, grid.anniversary_s(layer.sub_start_s, k_next)
    )
    reasons = CANCEL_REASONS[layer.kind]
    subscriptions = {
        "subscription_id": subscription_ids(w),
        "customer_id": cust.take(pa.array(layer.sub_customer)),
        "product_id": pick(catalog.product_ids, layer.sub_product),
        "start_ts": ts(layer.sub_start_s),
        "status": pick(("active", "cancelled", "ended"), status),
        "end_ts": ts(layer.sub_end_s),
        "term_months": nullable_int(term, term <= MONTH_TO_MONTH),
        "renewal_ts": ts(renewal),
        "recurring_amount": pa.array(layer.sub_amount, mask=np.isnan(layer.sub_amount)),
        "cancel_reason": pick(reasons, layer.sub_reason),
    }
    if layer.kind == "b2b":
        subscriptions["seats"] = pa.array(layer.sub_seats.astype(np.int64))
    tables = {"subscriptions": pa.table(subscriptions)}
    if layer.kind == "b2b":
        accounts = account_ids(w)
        tables["accounts"] = pa.table(
            {
                "account_id": accounts,
                "industry": pick(ACCOUNT_INDUSTRIES, layer.account_industry),
                "size_band": pick(SIZE_BANDS, layer.account_size),
                "region": pa.array(w.pop.region[layer.primary]),
            }
        )
    if len(layer.usage_sub):
        tables["events"] = pa.table(
            {
                "customer_id": cust.take(pa.array(layer.usage_customer)),
                "ts": ts(layer.usage_s),
                "event_type": pa.array(np.full(len(layer.usage_s), USAGE)),
                # b2b: the licence used; a plan's usage names no product (plans change)
                "product_id": pick(
                    catalog.product_ids,
                    layer.sub_product[layer.usage_sub]
                    if layer.kind == "b2b"
                    else -np.ones(len(layer.usage_sub)),
                ),
                "channel": pick(EVENT_CHANNELS, layer.usage_s % 2),
            }
        )
    if len(layer.bill_sub):
        n = len(layer.bill_sub)
        tables["orders"] = pa.table(
            {
                "order_id": ids("B", w.first_bill_number + 1 + np.arange(n), ORDER_ID_WIDTH),
                "product_id": pick(catalog.product_ids, layer.bill_product),
                "customer_id": cust.take(pa.array(layer.sub_customer[layer.bill_sub])),
                "ts": ts(layer.bill_s),
                "amount": pa.array(layer.bill_amount),
                "quantity": pa.array(np.ones(n, dtype=np.int64)),
                "channel": pa.array(np.full(n, BILLING_CHANNEL)),
                "is_return": pa.array(np.zeros(n, dtype=bool)),
            }
        )
    if len(layer.balance_sub):
        stamps = TimestampWriter(ctx.origin_epoch_s, ctx.timestamps.as_text)
        tables["balances"] = pa.table(
            {
                "customer_id": cust.take(pa.array(layer.sub_customer[layer.balance_sub])),
                "product_id": pick(catalog.product_ids, layer.sub_product[layer.balance_sub]),
                "month": stamps(grid.starts_s[layer.balance_month]),
                "balance": pa.array(layer.balance),
            }
        )
    return tables


def contract_truth_tables(ctx: WorldContext, w: ChunkWorld) -> dict[str, pa.Table]:
    """Contract churn at each default cutoff (latent and history oracle, outcome) and the
    holders' true monthly states."""
    layer, grid = w.contracts, ctx.months
    if layer is None:
        return {}
    spec = ctx.profile.contracts
    stamps = TimestampWriter(ctx.origin_epoch_s, as_text=False)
    cust = customer_ids(ctx, w.pop)
    holder_ids = account_ids(w) if layer.kind == "b2b" else cust.take(pa.array(layer.primary))
    n_plans = len(
        plan_products(
            spec,
            ctx.catalog.category_names,
            ctx.catalog.product_category,
            ctx.catalog.product_price,
        )[0]
    )
    history = layer_history(layer, grid, n_plans)
    dropped = _balance_drop_months(layer)
    subs = subscription_ids(w)
    parts = []
    for cutoff_s in ctx.cutoffs_s:
        active, p_history, p_latent = contract_churn_probability(
            spec, grid, history, cutoff_s, ctx.horizon_days, layer.states
        )
        end = cutoff_s + ctx.horizon_days * DAY
        c = int(grid.month_of(np.array([cutoff_s]))[0])
        ends = (layer.sub_end_s[active] > cutoff_s) & (layer.sub_end_s[active] <= end)
        drop = np.zeros(len(active), dtype=bool)
        if len(dropped[0]):
            in_horizon = (grid.starts_s[dropped[1]] >= cutoff_s) & (grid.starts_s[dropped[1]] < end)
            drop = np.isin(active, dropped[0][in_horizon])
        parts.append(
            pa.table(
                {
                    "cutoff": stamps(np.full(len(active), cutoff_s)),
                    "subscription_id": subs.take(pa.array(active)),
                    "customer_id": cust.take(pa.array(layer.sub_customer[active])),
                    "holder_id": holder_ids.take(pa.array(layer.sub_holder[active])),
                    "p_churn": pa.array(p_latent),
                    "p_churn_history": pa.array(p_history),
                    "state": pick(STATES, layer.states[layer.sub_holder[active], c]),
                    "ended_in_horizon": pa.array(ends),
                    "balance_drop_in_horizon": pa.array(drop),
                    "churned": pa.array(ends | drop),
                }
            )
        )
    holders, months = np.nonzero(layer.states >= 0)
    tables = {
        "contract_states": pa.table(
            {
                "holder_id": holder_ids.take(pa.array(holders)),
                "month": stamps(grid.starts_s[months]),
                "state": pick(STATES, layer.states[holders, months]),
            }
        )
    }
    if parts:
        tables["contract_churn"] = pa.concat_tables(parts)
    return tables


def _balance_drop_months(layer: ContractLayer) -> tuple[np.ndarray, np.ndarray]:
    """(holding, month) of every balance below DROP_SHARE of the month before's."""
    sub, month, balance = layer.balance_sub, layer.balance_month, layer.balance
    follows = np.flatnonzero((sub[1:] == sub[:-1]) & (month[1:] == month[:-1] + 1)) + 1
    drop = follows[balance[follows] < DROP_SHARE * balance[follows - 1]]
    return sub[drop], month[drop]


def customer_ids(ctx: WorldContext, pop: Population) -> pa.Array:
    return ids("C", pop.first_index + 1 + np.arange(pop.n), ctx.customer_id_width)


def contact_ids(w: ChunkWorld) -> pa.Array:
    return ids("K", w.first_contact_number + 1 + np.arange(len(w.contacts)), ORDER_ID_WIDTH)


# ---------------------------------------------------------------- ground truth


def truth_tables(ctx: WorldContext, w: ChunkWorld) -> dict[str, pa.Table]:
    """The chunk's ground truth: latent traits, hidden state, per-purchase hazard, effects."""
    ts = TimestampWriter(ctx.origin_epoch_s, as_text=False)
    pop, profile, catalog = w.pop, ctx.profile, ctx.catalog
    cust = customer_ids(ctx, pop)
    n_purchases = np.bincount(w.purchases.owner, minlength=pop.n)
    customers = {
        "customer_id": cust,
        "signup_ts": ts(pop.signup_s),
        "purchase_rate_per_day": pa.array(pop.purchase_rate),
        "dropout_probability": pa.array(pop.dropout),
        "spend_shape": pa.array(np.full(pop.n, profile.spend_p)),
        "spend_rate": pa.array(pop.spend_rate),
        "expected_order_value": pa.array(profile.spend_p / pop.spend_rate),
        "event_rate_per_day": pa.array(pop.event_rate),
        "ticket_rate_per_day": pa.array(pop.ticket_rate),
        "response_probability_base": pa.array(pop.response_base),
        "price_sensitivity": pa.array(pop.price_sensitivity),
        "is_persuadable": pa.array(pop.response_base > 0),
        "nps_bias": pa.array(pop.nps_bias),
        **{f"factor_{j + 1}": pa.array(pop.factors[:, j]) for j in range(pop.factors.shape[1])},
        "alive_at_end": pa.array(w.death_s == NEVER),
        "death_ts": ts(w.death_s),
        "n_purchases": pa.array(n_purchases.astype(np.int64)),
    }
    n_cat = catalog.n_categories
    affinity = {
        "customer_id": cust.take(pa.array(np.repeat(np.arange(pop.n), n_cat))),
        "category": pick(catalog.category_names, np.tile(np.arange(n_cat), pop.n)),
        "affinity": pa.array(w.affinity.ravel()),
    }
    pu = w.purchases
    purchases = {
        "order_id": ids("O", w.first_order_number + 1 + np.arange(len(pu)), ORDER_ID_WIDTH),
        "customer_id": cust.take(pa.array(pu.owner)),
        "ts": ts(pu.ts_s),
        "source": pick(("organic", "campaign"), pu.source),
        "open_complaints": pa.array(pu.open_complaints.astype(np.int64)),
        "visible_sla_breaches": pa.array(pu.visible_breaches.astype(np.int64)),
        "dropout_probability": pa.array(pu.dropout_probability),
        "dropped_out": pa.array(pu.dropped_out),
    }
    ct = w.contacts
    alive = w.death_s[ct.owner] > ct.sent_s
    treated = ~ct.is_control
    contacts = {
        "contact_id": contact_ids(w),
        "customer_id": cust.take(pa.array(ct.owner)),
        "campaign_id": pick(ctx.campaigns.ids, ct.campaign),
        "sent_ts": ts(ct.sent_s),
        "is_treated": pa.array(treated),
        "alive_at_send": pa.array(alive),
        "treatment": pick(TREATMENTS, ctx.campaigns.treatment[ct.campaign]),
        "response_probability": pa.array(ct.response_probability),
        "true_effect": pa.array(alive * ct.response_probability),
        # what each treatment would have done to this contact (the oracle policy's input)
        **{
            f"true_effect_{name}": pa.array(alive * ct.arm_probability[:, k])
            for k, name in enumerate(TREATMENTS)
        },
    }
    tables = {
        "customers": pa.table(customers),
        "category_affinity": pa.table(affinity),
        "purchases": pa.table(purchases),
        "contacts": pa.table(contacts),
    }
    tables["oracle_churn"] = oracle_table(ctx, w, cust)
    return tables | contract_truth_tables(ctx, w)


def chunk_oracle_inputs(ctx: WorldContext, w: ChunkWorld) -> OracleInputs:
    pop, ct = w.pop, w.contacts
    withdrawn = pop.withdrawal_s != NEVER
    treated = ~ct.is_control
    service = ServiceHistory.build(w.tickets, ctx.profile)
    return OracleInputs(
        purchase_rate=pop.purchase_rate,
        event_rate=pop.event_rate,
        ticket_rate=pop.ticket_rate,
        response_base=pop.response_base,
        price_sensitivity=pop.price_sensitivity,
        signup_s=pop.signup_s,
        affinity=w.affinity,
        consent_now=pop.consent_initial & ~withdrawn,
        consent_updated_s=np.where(withdrawn, pop.withdrawal_s, pop.signup_s),
        purchase_owner=w.purchases.owner,
        purchase_s=w.purchases.ts_s,
        purchase_dropout=w.purchases.dropout_probability,
        events=Timeline.build(w.events.owner, w.events.ts_s),
        tickets=Timeline.build(w.tickets.owner, w.tickets.opened_s),
        treated_contacts=Timeline.build(
            ct.owner[treated], ct.sent_s[treated], ct.response_probability[treated]
        ),
        complaints_opened=service.complaints_opened,
        complaints_resolved=service.complaints_resolved,
        campaigns=ctx.campaigns,
        fade_days=ctx.profile.fade_days,
        withdrawal_rate_per_day=1.0 / (365.0 * ctx.profile.consent_withdrawal_years),
    )


def oracle_table(ctx: WorldContext, w: ChunkWorld, cust: pa.Array) -> pa.Table:
    """Oracle churn probability at each default cutoff, with the simulated outcome."""
    inputs = chunk_oracle_inputs(ctx, w)
    purchases = Timeline.build(w.purchases.owner, w.purchases.ts_s)
    parts = []
    for cutoff_s in ctx.cutoffs_s:
        who, p_no_order, p_alive = oracle_no_order(inputs, cutoff_s, ctx.horizon_days)
        start = np.full(len(who), cutoff_s)
        ordered = purchases.count(
            who, start, start + ctx.horizon_days * DAY + 1, include_start=False
        )
        parts.append(
            pa.table(
                {
                    "cutoff": TimestampWriter(ctx.origin_epoch_s, as_text=False)(start),
                    "customer_id": cust.take(pa.array(who)),
                    "p_no_order": pa.array(p_no_order),
                    "p_alive": pa.array(p_alive),
                    "alive_at_cutoff": pa.array(w.death_s[who] > cutoff_s),
                    "no_order_in_horizon": pa.array(ordered == 0),
                }
            )
        )
    return pa.concat_tables(parts) if parts else pa.table({})
