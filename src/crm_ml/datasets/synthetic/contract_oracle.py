r"""Contract churn oracles: P(the contract ends in the horizon), latent and from history.

The law is in `contracts`: a holder's health state is a three-state Markov chain over
calendar months; given the states, each month's observations (decisions survived or
taken, usage counts, plan changes, balance changes) are independent with likelihoods
that depend only on that month's state and on observable modifiers. So the exact
posterior of the state given the history before a cutoff T (a month start, month c) is
a forward filter (a hidden Markov model): alpha_m proportional to e_m * (alpha_(m-1) P),
from the stationary law in the month of the holder's first contract, with e_m[s] the
likelihood of everything the holder's contracts showed in month m under state s:

- a decision point survived: 1 - h_s, taken: h_s (`contracts.decision_hazard`); a finance
  holding survives a month when it is open at the month's end;
- usage: Poisson(usage_per_month[s] x seats x share of the month running) (constants that
  do not depend on s, like N!, drop out);
- a plan change at a kept anniversary: up u_s (below the top plan), down (1 - u_s) d_s
  (above the bottom), none otherwise;
- a month-end balance against the month before: the withdrawal w_s (the ratio is below
  0.5; its Uniform density does not depend on s) or (1 - w_s) x Normal(drift_s, sigma).

Contracts that ended before T stay in the history: a holder's closed holding says
something about its other ones. The prediction from alpha_(c-1) runs through the horizon
months: v <- v P, then v <- v * q_m with q_m[s] the chance of no churn event of the
contract in the part of month m that lies in (T, T + h]: the product of 1 - h_s over its
decision points there, or for a finance holding (1 - h_s)(1 - w_s) + h_s (1 - f_m) (f_m:
the share of the month in the horizon; a closure after T + h leaves no balance that
month). P(churn) = 1 - sum(v). The latent oracle runs the same prediction from the true
state of month c (what no history can know), so it knows more, and its AUC is higher.

Only the history before T enters: `ContractHistory.before(T)` drops later usage, bills
and balances and forgets ends at or after T; everything else used for the horizon
(terms, renewal dates, seats, the price calendar) is fixed at the start of a contract.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.special import logsumexp

from crm_ml.datasets.synthetic.clock import DAY
from crm_ml.datasets.synthetic.contracts import (
    AVERAGE_MONTH_DAYS,
    DROP_SHARE,
    ContractLayer,
    MonthGrid,
    decision_hazard,
    stationary,
)
from crm_ml.datasets.synthetic.population import NEVER
from crm_ml.datasets.synthetic.profiles import ContractSpec
from crm_ml.datasets.synthetic.timeline import Timeline

HORIZON_MONTHS = 4  # months a horizon of up to 92 days can touch


@dataclass(frozen=True)
class ContractHistory:
    """What the exports show of the contracts (positions of holders and contracts)."""

    n_holders: int
    holder: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray  # NEVER while running
    term: np.ndarray
    seats: np.ndarray
    usage_sub: np.ndarray  # sorted by contract, then time
    usage_s: np.ndarray
    bill_sub: np.ndarray  # sorted by contract, then anniversary
    bill_k: np.ndarray
    bill_s: np.ndarray
    bill_rank: np.ndarray  # position of the billed plan on the plan ladder
    n_plans: int
    balance_sub: np.ndarray  # sorted by contract, then month
    balance_month: np.ndarray
    log_balance: np.ndarray

    def before(self, cutoff_s: int, grid: MonthGrid) -> ContractHistory:
        """The history as it was known at `cutoff_s`."""
        started = self.start_s < cutoff_s
        usage = self.usage_s < cutoff_s
        bills = self.bill_s < cutoff_s
        balances = grid.starts_s[self.balance_month + 1] <= cutoff_s
        return replace(
            self,
            end_s=np.where(started & (self.end_s < cutoff_s), self.end_s, NEVER),
            usage_sub=self.usage_sub[usage],
            usage_s=self.usage_s[usage],
            bill_sub=self.bill_sub[bills],
            bill_k=self.bill_k[bills],
            bill_s=self.bill_s[bills],
            bill_rank=self.bill_rank[bills],
            balance_sub=self.balance_sub[balances],
            balance_month=self.balance_month[balances],
            log_balance=self.log_balance[balances],
        )


def contract_churn_probability(
    spec: ContractSpec,
    grid: MonthGrid,
    history: ContractHistory,
    cutoff_s: int,
    horizon_days: int,
    true_states: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(contracts active at the cutoff, history-oracle P(churn), latent-oracle P(churn)).

    The latent oracle needs `true_states` (holders x months); without it it is None.
    """
    c = int(grid.month_of(np.array([cutoff_s]))[0])
    if grid.starts_s[c] != cutoff_s:
        raise ValueError("the contract oracle needs a cutoff on the first day of a month")
    known = history.before(cutoff_s, grid)
    active = np.flatnonzero((known.start_s < cutoff_s) & (known.end_s == NEVER))
    transition = np.array(spec.transition)
    alpha = _filter(spec, grid, known, c, transition)
    predicted = alpha[known.holder[active]] @ transition
    q = _horizon_factors(spec, grid, known, active, cutoff_s, horizon_days)
    p_history = 1.0 - _run(predicted, q, transition)
    p_latent = None
    if true_states is not None:
        onehot = np.eye(3)[true_states[known.holder[active], c]]
        p_latent = 1.0 - _run(onehot, q, transition)
    return active, p_history, p_latent


def _run(v: np.ndarray, q: np.ndarray, transition: np.ndarray) -> np.ndarray:
    """P(no churn event) from the state law of month c through the horizon months."""
    for j in range(q.shape[1]):
        v = v * q[:, j]
        if j + 1 < q.shape[1]:
            v = v @ transition
    return v.sum(axis=1)


def _filter(spec, grid, known: ContractHistory, c: int, transition: np.ndarray) -> np.ndarray:
    """alpha_(c-1): each holder's state law in month c - 1 given its history (stationary
    for holders without a contract before month c)."""
    law = stationary(transition)
    log_e = np.zeros((known.n_holders, max(c, 1), 3))
    for rows, months, terms in _emissions(spec, grid, known, c):
        np.add.at(log_e, (known.holder[rows], months), terms)
    first = np.full(known.n_holders, c)
    started = known.start_s < grid.starts_s[c]
    np.minimum.at(first, known.holder[started], grid.month_of(known.start_s[started]))
    log_alpha = np.broadcast_to(np.log(law), (known.n_holders, 3)).copy()
    log_t = np.log(transition)
    for m in range(c):
        moved = logsumexp(log_alpha[:, :, None] + log_t[None], axis=1)
        step = np.where((m > first)[:, None], moved, log_alpha) + log_e[:, m]
        step -= logsumexp(step, axis=1, keepdims=True)
        log_alpha = np.where((m >= first)[:, None], step, log_alpha)
    return np.exp(log_alpha)


def _emissions(spec, grid, known: ContractHistory, c: int):
    """(contract rows, months, (n, 3) log likelihoods) of each kind of observation."""
    cutoff_s = grid.starts_s[c]
    m0 = grid.month_of(known.start_s)
    has_history = np.flatnonzero(known.start_s < cutoff_s)
    if spec.kind == "finance":
        sub, month = _months(has_history, m0[has_history] + 1, c - 1)
        end = known.end_s[sub]
        open_after = end >= grid.starts_s[month + 1]
        closed_here = (end >= grid.starts_s[month]) & ~open_after
        h = np.array(spec.hazard)[None, :]
        keep = open_after | closed_here
        terms = np.where(closed_here[:, None], np.log(h), np.log1p(-h))
        yield sub[keep], month[keep], terms[keep]
        yield from _balance_terms(spec, known)
        return
    # decision points: anniversaries k = 1 .. in months before c, up to the end
    sub, month = _months(has_history, m0[has_history] + 1, c - 1)
    k = month - m0[sub]
    at = grid.anniversary_s(known.start_s[sub], k)
    end = known.end_s[sub]
    decide = (at <= end) & (k % known.term[sub] == 0)
    sub, k, at, month = sub[decide], k[decide], at[decide], month[decide]
    h = decision_hazard(spec, grid, known.term[sub], known.seats[sub], known.start_s[sub], k)
    yield sub, month, np.where((at == known.end_s[sub])[:, None], np.log(h), np.log1p(-h))
    # usage per contract month
    sub, month = _months(has_history, m0[has_history], c - 1)
    stop = np.minimum(known.end_s[sub], cutoff_s)
    lo = np.maximum(grid.starts_s[month], known.start_s[sub])
    hi = np.minimum(grid.starts_s[month + 1], stop)
    running = hi > lo
    sub, month, lo, hi = sub[running], month[running], lo[running], hi[running]
    count = Timeline.build(known.usage_sub, known.usage_s).count(sub, lo, hi)
    rate = (
        np.array(spec.usage_per_month)[None, :]
        * (known.seats[sub] * (hi - lo) / (AVERAGE_MONTH_DAYS * DAY))[:, None]
    )
    yield sub, month, count[:, None] * np.log(rate) - rate
    if spec.kind == "subscription":
        yield from _plan_terms(spec, grid, known)


def _months(subs: np.ndarray, first: np.ndarray, last: int) -> tuple[np.ndarray, np.ndarray]:
    """(contract, month) for months first .. last of each contract."""
    count = np.maximum(last - first + 1, 0)
    sub = np.repeat(subs, count)
    offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    return sub, np.repeat(first, count) + offset


def _plan_terms(spec, grid, known: ContractHistory):
    same = np.flatnonzero(known.bill_sub[1:] == known.bill_sub[:-1]) + 1
    step = known.bill_rank[same] - known.bill_rank[same - 1]
    previous = known.bill_rank[same - 1]
    up = np.where((previous < known.n_plans - 1)[:, None], np.array(spec.plan_up)[None, :], 0.0)
    down = np.where((previous > 0)[:, None], np.array(spec.plan_down)[None, :], 0.0)
    down = (1.0 - up) * down
    p = np.where((step > 0)[:, None], up, np.where((step < 0)[:, None], down, 1.0 - up - down))
    yield known.bill_sub[same], grid.month_of(known.bill_s[same]), np.log(p)


def _balance_terms(spec, known: ContractHistory):
    same = (
        np.flatnonzero(
            (known.balance_sub[1:] == known.balance_sub[:-1])
            & (known.balance_month[1:] == known.balance_month[:-1] + 1)
        )
        + 1
    )
    change = (known.log_balance[same] - known.log_balance[same - 1])[:, None]
    w = np.array(spec.withdrawal)[None, :]
    drift = np.array(spec.balance_drift)[None, :]
    normal = np.log1p(-w) - 0.5 * ((change - drift) / spec.balance_sigma) ** 2
    terms = np.where(change < np.log(DROP_SHARE), np.log(w), normal)
    yield known.balance_sub[same], known.balance_month[same], terms


def _horizon_factors(spec, grid, known, active, cutoff_s, horizon_days) -> np.ndarray:
    """(n, HORIZON_MONTHS, 3) chance of no churn event in each horizon month, per state."""
    end = cutoff_s + horizon_days * DAY
    c = int(grid.month_of(np.array([cutoff_s]))[0])
    q = np.ones((len(active), HORIZON_MONTHS, 3))
    if spec.kind == "finance":
        h, w = np.array(spec.hazard), np.array(spec.withdrawal)
        for j in range(HORIZON_MONTHS):
            m = c + j
            if grid.starts_s[m] >= end:
                break
            share = (min(end, grid.starts_s[m + 1]) - grid.starts_s[m]) / grid.length_s(m)
            q[:, j] = (1 - h) * (1 - w) + h * (1 - share)
        return q
    m0 = grid.month_of(known.start_s[active])
    for j in range(HORIZON_MONTHS):
        k = c + j - m0
        start = known.start_s[active]
        at = grid.anniversary_s(start, k)
        term = known.term[active]
        due = (at > cutoff_s) & (at <= end) & (k % term == 0)
        h = decision_hazard(spec, grid, term, known.seats[active], start, k)
        q[:, j] = np.where(due[:, None], 1.0 - h, 1.0)
    return q


def layer_history(layer: ContractLayer, grid: MonthGrid, n_plans: int) -> ContractHistory:
    """The observable part of a simulated contract layer (its whole history)."""
    return ContractHistory(
        n_holders=layer.n_holders,
        holder=layer.sub_holder,
        start_s=layer.sub_start_s,
        end_s=layer.sub_end_s,
        term=np.maximum(layer.sub_term, 1),
        seats=layer.sub_seats,
        usage_sub=layer.usage_sub,
        usage_s=layer.usage_s,
        bill_sub=layer.bill_sub,
        bill_k=layer.bill_k,
        bill_s=layer.bill_s,
        bill_rank=layer.bill_rank,
        n_plans=n_plans,
        balance_sub=layer.balance_sub,
        balance_month=layer.balance_month,
        log_balance=np.log(layer.balance),
    )
