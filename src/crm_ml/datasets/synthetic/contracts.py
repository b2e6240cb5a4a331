r"""The contract layer: subscriptions, accounts and balances, and why they end.

Retail has none. The other profiles (`ContractSpec.kind`) add, from their own random
stream ([seed, 3, chunk]) so that no draw of the transactional world moves:

- **b2b**: consecutive customers of a chunk are grouped into accounts of 1-6 contacts
  (customers.account_id; accounts.csv). The account's primary contact (its earliest
  signup) holds a licence contract, started within 30 days of that signup, and with
  `extra_contract_share` an add-on contract later on. A contract runs for a term of
  12/24/36 months, renewed at start + k x term, or month to month (term_months empty);
  seats are fixed for a contract, recurring_amount = seats x the product's price. Usage
  events (event_type `usage`) are a Poisson process of rate usage_per_month[state] x seats
  per month, attributed to a contact of the account who has signed up;
- **finance**: every customer holds 1-3 products of distinct categories among savings,
  cards, funds and pensions (the first at signup), with a month-end balance per month
  (balances.month = the first day of the month the balance closes);
- **subscription**: every customer has one month-to-month plan from signup, billed at each
  monthly anniversary as an order line (channel `billing`, order_id `B...`): price = the
  plan's list price, less `intro_discount` for the first `intro_months` bills, raised by
  `yearly_price_rise` each 1 April from the second year of the history. Plan changes (to
  the next plan up or down in price) happen at anniversaries; usage events as for b2b with
  one seat.

The latent law (what the oracles in `contract_oracle` invert). Each holder (the account,
or the customer) has a health state per calendar month, s_m in {healthy, cooling,
at_risk}, a Markov chain started from its stationary law in the month of the holder's
first contract. Given the states, everything else is independent across months:

- decision points: a b2b term contract decides at each renewal date (start + k x term), a
  month-to-month plan at each monthly anniversary, a finance holding once per calendar
  month after its opening month (closing at a uniform time in the month). The chance of
  leaving is expit(logit(base[s_m]) + modifiers), base = `hazard` (`monthly_hazard` for a
  b2b month-to-month contract), modifiers all observable: b2b `seats_logit` x log(seats /
  seats_median) and `renewal_logit` x min(renewals made, 3); subscription
  `price_shock_logit` when a bill went up at one of the three anniversaries before;
- usage in month m: Poisson with mean usage_per_month[s_m] x seats x the share of the
  month the contract was running;
- plan changes at a kept anniversary: up with plan_up[s], down with plan_down[s] (none past
  the top or bottom plan);
- balances: log b_m = log b_(m-1) + Normal(balance_drift[s_m], balance_sigma), or, with
  withdrawal[s_m], b_m = b_(m-1) x Uniform(0.1, 0.4).

Contract churn of a contract active at a cutoff T (a month start) within h days: its end
(non-renewal, cancellation, closure) in (T, T + h]; for a finance holding also a large
balance drop: a balance month starting in [T, T + h) whose balance is below 50% of the
month before. Normal months never fall that far (balance_sigma is small: 11 sigma), so
the drop is the withdrawal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from crm_ml.datasets.synthetic.clock import DAY, HOUR
from crm_ml.datasets.synthetic.population import NEVER
from crm_ml.datasets.synthetic.profiles import ContractSpec

STATES = ("healthy", "cooling", "at_risk")
TERM_NONE = 0  # finance holdings: no term, no renewal
MONTH_TO_MONTH = 1
MAX_DAY = 28  # contracts start on days 1-28, so start + k months is always a real date
DROP_SHARE = 0.5
AVERAGE_MONTH_DAYS = 365.25 / 12
ACCOUNT_INDUSTRIES = ("manufacturing", "retail", "health", "finance", "public", "technology")
SIZE_BANDS = ("small", "medium", "large", "enterprise")
CANCEL_REASONS = {
    "b2b": ("budget", "switched_vendor", "consolidation", "low_adoption"),
    "finance": ("rates", "moved_bank", "no_longer_needed"),
    "subscription": ("price", "competitor", "coverage", "moving"),
}
BILLING_CHANNEL = "billing"
USAGE = "usage"


# ---------------------------------------------------------------- calendar and law


@dataclass(frozen=True)
class MonthGrid:
    """Calendar month starts in world seconds: index 0 is the history's first month."""

    starts_s: np.ndarray
    history_months: int  # months before the as-of date
    rise_months: np.ndarray  # the Aprils from the second year of the history on

    @classmethod
    def build(cls, origin: pd.Timestamp, history_days: int, extra: int = 40) -> MonthGrid:
        end = origin + pd.Timedelta(days=history_days)
        months = pd.date_range(origin, end + pd.DateOffset(months=extra), freq="MS")
        starts = ((months - origin) // pd.Timedelta(seconds=1)).to_numpy(dtype=np.int64)
        rises = np.flatnonzero((months.month == 4) & (np.arange(len(months)) >= 12))
        return cls(starts, int(np.searchsorted(starts, history_days * DAY, side="left")), rises)

    def month_of(self, seconds: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.starts_s, seconds, side="right") - 1

    def length_s(self, month: np.ndarray) -> np.ndarray:
        return self.starts_s[month + 1] - self.starts_s[month]

    def anniversary_s(self, start_s: np.ndarray, k: np.ndarray) -> np.ndarray:
        """start + k calendar months (starts are on days 1-28)."""
        m0 = self.month_of(start_s)
        return self.starts_s[m0 + k] + (start_s - self.starts_s[m0])

    def day_capped(self, seconds: np.ndarray) -> np.ndarray:
        """The moment itself, or the next 1st at the same time when it falls after day 28."""
        month = self.month_of(seconds)
        offset = seconds - self.starts_s[month]
        late = offset >= MAX_DAY * DAY
        return np.where(late, self.starts_s[month + 1] + offset % DAY, seconds)

    def price_factor(self, spec: ContractSpec, start_s: np.ndarray, k: np.ndarray) -> np.ndarray:
        """A subscription's bill at anniversary k over its plan's list price."""
        at = self.month_of(self.anniversary_s(start_s, k))
        rises = np.searchsorted(self.rise_months, at, side="right")
        intro = np.where(k < spec.intro_months, 1.0 - spec.intro_discount, 1.0)
        return intro * (1.0 + spec.yearly_price_rise) ** rises


def stationary(transition: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eig(transition.T)
    law = np.real(vectors[:, np.argmin(np.abs(values - 1.0))])
    return law / law.sum()


def decision_hazard(
    spec: ContractSpec,
    grid: MonthGrid,
    term: np.ndarray,
    seats: np.ndarray,
    start_s: np.ndarray,
    k: np.ndarray,
) -> np.ndarray:
    """(n, 3) chance of leaving at decision point k (anniversary k, or month m0 + k of a
    holding) of each contract, per state. Every input is observable."""
    if spec.kind == "finance":
        return np.broadcast_to(np.array(spec.hazard), (len(k), 3)).copy()
    if spec.kind == "b2b":
        monthly = term == MONTH_TO_MONTH
        base = np.where(monthly[:, None], logit(spec.monthly_hazard), logit(spec.hazard))
        size = spec.seats_logit * np.log(seats / spec.seats_median)
        renewals = np.where(monthly, 0, np.minimum(k // np.maximum(term, 1) - 1, 3))
        return expit(base + (size + spec.renewal_logit * renewals)[:, None])
    shock = np.zeros(len(k), dtype=bool)
    for back in (1, 2, 3):
        j = k - back
        up = grid.price_factor(spec, start_s, j) > grid.price_factor(
            spec, start_s, np.maximum(j - 1, 0)
        )
        shock |= (j >= 1) & up
    return expit(logit(spec.hazard)[None, :] + spec.price_shock_logit * shock[:, None])


# ---------------------------------------------------------------- one chunk


@dataclass
class ContractLayer:
    """The contract layer of one chunk (positions are within the chunk)."""

    kind: str
    holder_of_customer: np.ndarray  # holder position of each customer
    primary: np.ndarray  # holder -> customer position
    states: np.ndarray  # (holders, months) int8, -1 before the holder's first contract
    sub_holder: np.ndarray
    sub_customer: np.ndarray
    sub_product: np.ndarray  # the product at the as-of date (the plan held last)
    sub_start_s: np.ndarray
    sub_end_s: np.ndarray  # NEVER while active at the as-of date
    sub_term: np.ndarray  # TERM_NONE, MONTH_TO_MONTH or months
    sub_seats: np.ndarray
    sub_amount: np.ndarray  # NaN when none
    sub_reason: np.ndarray  # index into CANCEL_REASONS[kind], -1 none
    usage_sub: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    usage_s: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    usage_customer: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    bill_sub: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    bill_k: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    bill_s: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    bill_product: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    bill_amount: np.ndarray = field(default_factory=lambda: np.zeros(0))
    bill_rank: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # on the ladder
    balance_sub: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    balance_month: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    balance: np.ndarray = field(default_factory=lambda: np.zeros(0))
    account_industry: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    account_size: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def n_holders(self) -> int:
        return len(self.primary)

    @property
    def n_subscriptions(self) -> int:
        return len(self.sub_holder)


def plan_products(spec: ContractSpec, categories: tuple[str, ...], product_category, price):
    """Per plan category, its products sorted by price (the plan ladder)."""
    out = []
    for name in spec.plan_categories:
        members = np.flatnonzero(product_category == categories.index(name))
        out.append(members[np.argsort(price[members], kind="stable")])
    return out


def simulate_contracts(
    spec: ContractSpec,
    grid: MonthGrid,
    catalog,
    signup_s: np.ndarray,
    end_s: int,
    rng: np.random.Generator,
) -> ContractLayer:
    """Draw the chunk's holders, contracts, their states, decisions and observations."""
    n = len(signup_s)
    plans = plan_products(
        spec, catalog.category_names, catalog.product_category, catalog.product_price
    )
    if spec.kind == "b2b":
        sizes = rng.choice(len(spec.contacts_weights), size=n, p=spec.contacts_weights) + 1
        bounds = np.cumsum(sizes)
        bounds = np.concatenate([[0], bounds[bounds < n], [n]])
        holder_of_customer = np.repeat(np.arange(len(bounds) - 1), np.diff(bounds))
        order = np.lexsort((signup_s, holder_of_customer))
        firsts = np.flatnonzero(np.diff(holder_of_customer[order], prepend=-1) != 0)
        primary = order[firsts]
    else:
        holder_of_customer = np.arange(n)
        primary = np.arange(n)
    n_holders = len(primary)
    # contracts
    holder_signup = signup_s[primary]
    if spec.kind == "b2b":
        first_start = holder_signup + (rng.random(n_holders) * 30 * DAY).astype(np.int64) + HOUR
        extra = rng.random(n_holders) < spec.extra_contract_share
        extra_start = first_start + (
            rng.random(n_holders) * np.maximum(end_s - first_start, 0)
        ).astype(np.int64)
        holder = np.concatenate([np.arange(n_holders), np.flatnonzero(extra)])
        start = np.concatenate([first_start, extra_start[extra]])
        ladder = np.concatenate([np.zeros(n_holders, int), np.ones(extra.sum(), int)])
        product = np.array([rng.choice(plans[j]) for j in ladder], dtype=np.int64)
        seats = np.maximum(
            1, np.round(np.exp(rng.normal(np.log(spec.seats_median), 0.9, n_holders)))
        )
        seats = np.minimum(seats, 500)
        seats = np.concatenate([seats, np.ceil(seats[extra] * rng.uniform(0.3, 1.0, extra.sum()))])
        monthly = rng.random(len(holder)) < spec.month_to_month_share
        terms = np.array(spec.terms_months)[
            rng.choice(len(spec.terms_months), len(holder), p=spec.term_weights)
        ]
        term = np.where(monthly, MONTH_TO_MONTH, terms)
        amount = seats * catalog.product_price[product]
    elif spec.kind == "finance":
        k = rng.choice(len(spec.holdings_weights), size=n, p=spec.holdings_weights) + 1
        holder = np.repeat(np.arange(n), k)
        rank = np.argsort(rng.random((n, len(plans))), axis=1)
        cat = rank[holder, _rank_within(holder)]
        first = _rank_within(holder) == 0
        later = holder_signup[holder] + (
            rng.random(len(holder)) * np.maximum(end_s - holder_signup[holder], 0)
        ).astype(np.int64)
        start = np.where(first, holder_signup[holder] + HOUR, later)
        product = np.array([rng.choice(plans[c]) for c in cat], dtype=np.int64)
        seats = np.ones(len(holder))
        term = np.full(len(holder), TERM_NONE)
        amount = np.full(len(holder), np.nan)
    else:
        holder = np.arange(n)
        start = holder_signup + HOUR
        ladder = plans[0]
        rank0 = rng.choice(len(ladder), size=n, p=_plan_weights(len(ladder)))
        product = ladder[rank0]
        seats = np.ones(n)
        term = np.full(n, MONTH_TO_MONTH)
        amount = np.full(n, np.nan)
    start = grid.day_capped(start.astype(np.int64))
    keep = start < end_s
    holder, start, product, seats, term, amount = (
        x[keep] for x in (holder, start, product, seats, term, amount)
    )
    order = np.lexsort((start, holder))
    holder, start, product, seats, term, amount = (
        x[order] for x in (holder, start, product, seats, term, amount)
    )

    states = _draw_states(spec, grid, holder, start, n_holders, rng)
    layer = ContractLayer(
        kind=spec.kind,
        holder_of_customer=holder_of_customer,
        primary=primary,
        states=states,
        sub_holder=holder,
        sub_customer=primary[holder],
        sub_product=product,
        sub_start_s=start,
        sub_end_s=np.full(len(holder), NEVER, dtype=np.int64),
        sub_term=term.astype(np.int64),
        sub_seats=seats.astype(float),
        sub_amount=amount.astype(float),
        sub_reason=np.full(len(holder), -1),
    )
    if spec.kind == "finance":
        _simulate_holdings(spec, grid, layer, catalog, end_s, rng)
    else:
        _simulate_decisions(
            spec,
            grid,
            layer,
            plans[0] if spec.kind == "subscription" else None,
            catalog,
            end_s,
            rng,
        )
        _simulate_usage(spec, grid, layer, holder_of_customer, signup_s, end_s, rng)
    ended = layer.sub_end_s != NEVER
    reasons = CANCEL_REASONS[spec.kind]
    layer.sub_reason = np.where(
        ended & (rng.random(len(holder)) < 0.85), rng.integers(0, len(reasons), len(holder)), -1
    )
    if spec.kind == "b2b":
        seats_total = np.bincount(holder, weights=seats, minlength=n_holders)
        layer.account_size = np.digitize(seats_total, [10, 40, 150])
        layer.account_industry = rng.integers(0, len(ACCOUNT_INDUSTRIES), n_holders)
    return layer


def _plan_weights(n: int) -> np.ndarray:
    w = np.exp(-0.5 * (np.arange(n) - n / 3) ** 2 / max(n / 3, 1) ** 2)
    return w / w.sum()


def _rank_within(sorted_owner: np.ndarray) -> np.ndarray:
    idx = np.arange(len(sorted_owner))
    first = np.maximum.accumulate(np.where(np.diff(sorted_owner, prepend=-1) != 0, idx, 0))
    return idx - first


def _draw_states(spec, grid, holder, start, n_holders, rng) -> np.ndarray:
    """Each holder's state per calendar month from the month of its first contract."""
    months = grid.history_months
    transition = np.array(spec.transition)
    first = np.full(n_holders, months)
    np.minimum.at(first, holder, grid.month_of(start))
    states = np.full((n_holders, months), -1, dtype=np.int8)
    cumulative = np.cumsum(transition, axis=1)
    start_law = np.cumsum(stationary(transition))
    current = np.searchsorted(start_law, rng.random(n_holders) * start_law[-1]).astype(np.int8)
    for m in range(months):
        u = rng.random(n_holders)
        moved = (cumulative[current] < u[:, None]).sum(axis=1).astype(np.int8)
        current = np.where(m > first, np.minimum(moved, 2), current).astype(np.int8)
        states[:, m] = np.where(m >= first, current, -1)
    return states


def _simulate_decisions(spec, grid, layer, ladder, catalog, end_s, rng) -> None:
    """Decisions at anniversaries (and plan changes and bills for `subscription`)."""
    s = layer.n_subscriptions
    start, term = layer.sub_start_s, layer.sub_term
    if ladder is not None:
        position = np.zeros(catalog.n_products, dtype=np.int64)
        position[ladder] = np.arange(len(ladder))
        rank = position[layer.sub_product]
    alive = np.ones(s, dtype=bool)
    bills: list[tuple[np.ndarray, ...]] = []
    if ladder is not None:
        bills.append((np.arange(s), np.zeros(s, np.int64), start.copy(), rank.copy()))
    max_k = grid.history_months + 1
    for k in range(1, max_k + 1):
        ks = np.full(s, k)
        at = grid.anniversary_s(start, ks)
        due = alive & (at < end_s)
        if not due.any():
            break
        decide = due & (k % term == 0)
        hazard = decision_hazard(spec, grid, term, layer.sub_seats, start, ks)
        month = np.minimum(grid.month_of(at), grid.history_months - 1)
        state = np.maximum(layer.states[layer.sub_holder, month], 0)
        h = hazard[np.arange(s), state]
        leave = decide & (rng.random(s) < h)
        layer.sub_end_s[leave] = at[leave]
        alive &= ~leave
        if ladder is not None:
            kept = due & ~leave
            up = rng.random(s) < np.array(spec.plan_up)[state]
            down = rng.random(s) < np.array(spec.plan_down)[state]
            step = np.where(up & (rank < len(ladder) - 1), 1, 0)
            step = np.where((step == 0) & down & (rank > 0), -1, step)
            rank = np.where(kept, rank + step, rank)
            bills.append((np.flatnonzero(kept), np.full(kept.sum(), k), at[kept], rank[kept]))
    if ladder is not None:
        sub, k, at, r = (np.concatenate(x) for x in zip(*bills, strict=True))
        order = np.lexsort((k, sub))
        sub, k, at, r = sub[order], k[order], at[order], r[order]
        product = ladder[r]
        amount = np.round(
            catalog.product_price[product] * grid.price_factor(spec, start[sub], k), 2
        )
        layer.bill_sub, layer.bill_k, layer.bill_s = sub, k, at
        layer.bill_product, layer.bill_amount, layer.bill_rank = product, amount, r
        last = np.r_[np.flatnonzero(np.diff(sub)), len(sub) - 1]
        layer.sub_product[sub[last]] = product[last]
        layer.sub_amount[sub[last]] = amount[last]


def _simulate_usage(spec, grid, layer, holder_of_customer, signup_s, end_s, rng) -> None:
    """Usage events per (contract, month) from the holder's state of the month."""
    s = layer.n_subscriptions
    start = layer.sub_start_s
    stop = np.minimum(layer.sub_end_s, end_s)
    m0, m1 = grid.month_of(start), grid.month_of(stop - 1)
    count = m1 - m0 + 1
    sub = np.repeat(np.arange(s), count)
    month = m0[sub] + _rank_within(sub)
    lo = np.maximum(grid.starts_s[month], start[sub])
    hi = np.minimum(grid.starts_s[month + 1], stop[sub])
    state = layer.states[layer.sub_holder[sub], month]
    mean = (
        np.array(spec.usage_per_month)[state]
        * layer.sub_seats[sub]
        * (hi - lo)
        / (AVERAGE_MONTH_DAYS * DAY)
    )
    n_events = rng.poisson(mean)
    owner = np.repeat(np.arange(len(sub)), n_events)
    ts = lo[owner] + (rng.random(len(owner)) * (hi - lo)[owner]).astype(np.int64)
    order = np.lexsort((ts, sub[owner]))
    owner, ts = owner[order], ts[order]
    layer.usage_sub, layer.usage_s = sub[owner], ts
    # attributed to a contact of the account who has signed up (else the primary contact)
    holder = layer.sub_holder[layer.usage_sub]
    members = np.argsort(holder_of_customer, kind="stable")
    first_member = np.searchsorted(holder_of_customer[members], holder, side="left")
    n_members = np.bincount(holder_of_customer, minlength=layer.n_holders)[holder]
    contact = members[first_member + (rng.random(len(holder)) * n_members).astype(np.int64)]
    layer.usage_customer = np.where(signup_s[contact] < ts, contact, layer.primary[holder])


def _simulate_holdings(spec, grid, layer, catalog, end_s, rng) -> None:
    """Monthly closures and month-end balances of finance holdings."""
    s = layer.n_subscriptions
    m0 = grid.month_of(layer.sub_start_s)
    last = grid.history_months - 1
    count = np.maximum(last - m0 + 1, 0)
    sub = np.repeat(np.arange(s), count)
    month = m0[sub] + _rank_within(sub)
    state = layer.states[layer.sub_holder[sub], month]
    close = (month > m0[sub]) & (rng.random(len(sub)) < np.array(spec.hazard)[state])
    at = grid.starts_s[month] + (rng.random(len(sub)) * grid.length_s(month)).astype(np.int64)
    closed_at = np.full(s, NEVER, dtype=np.int64)
    np.minimum.at(closed_at, sub[close], at[close])
    layer.sub_end_s = closed_at
    jump = rng.random(len(sub)) < np.array(spec.withdrawal)[state]
    step = np.where(
        jump,
        np.log(rng.uniform(0.1, 0.4, len(sub))),
        rng.normal(np.array(spec.balance_drift)[state], spec.balance_sigma),
    )
    opening = np.log(catalog.product_price[layer.sub_product] * rng.lognormal(1.5, 0.8, s))
    step = np.where(month == m0[sub], opening[sub], step)
    log_balance = np.cumsum(step)
    base = np.concatenate([[0.0], log_balance])[np.flatnonzero(month == m0[sub])]
    log_balance -= np.repeat(base, count[count > 0])
    recorded = grid.starts_s[month + 1] <= closed_at[sub]
    layer.balance_sub = sub[recorded]
    layer.balance_month = month[recorded]
    layer.balance = np.round(np.exp(log_balance[recorded]), 2)
