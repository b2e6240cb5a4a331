"""Service tickets against SLA targets, the dropout hazard they cause, and NPS surveys.

Tickets arrive as a Poisson process while the customer is alive (thinned after the
dropout decision, see `engagement.fade_after_death`). First-response times are lognormal
with the median set so that `sla_breach_share` of them miss their kind's target; some
complaints are never resolved. What a purchase's dropout chance depends on is observable
at the purchase: the service trouble since the customer's previous purchase (complaints
raised since then and still open, SLA breaches that became visible since then). Each
failure weighs on one decision, the next purchase: a customer who buys every week would
otherwise be asked again and again to leave over one slow reply, and frequent buyers, the
core of a retailer, would churn at rates no retailer sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from crm_ml.contract.tables import TICKET_KINDS
from crm_ml.datasets.synthetic.clock import DAY, HOUR
from crm_ml.datasets.synthetic.population import NEVER, Population
from crm_ml.datasets.synthetic.profiles import IndustryProfile
from crm_ml.datasets.synthetic.timeline import Timeline, pack, poisson_times

COMPLAINT = TICKET_KINDS.index("complaint")
TICKET_CHANNELS = np.array(["phone", "email", "chat"])


@dataclass
class Tickets:
    """Tickets of one chunk (owner = customer position in the chunk); NEVER = missing."""

    owner: np.ndarray
    opened_s: np.ndarray
    kind: np.ndarray  # index into TICKET_KINDS
    first_response_s: np.ndarray
    resolved_s: np.ndarray
    breached: np.ndarray  # first response slower than the kind's target
    channel: np.ndarray
    csat: np.ndarray  # -1 = not answered

    def take(self, keep: np.ndarray) -> Tickets:
        return Tickets(**{k: v[keep] for k, v in vars(self).items()})

    def __len__(self) -> int:
        return len(self.owner)


def sla_seconds(profile: IndustryProfile) -> np.ndarray:
    """First-response target per kind, in seconds, indexed like TICKET_KINDS."""
    return np.array([profile.sla.minutes(k) * 60 for k in TICKET_KINDS], dtype=np.int64)


def draw_tickets(
    profile: IndustryProfile, pop: Population, rng: np.random.Generator, end_s: int
) -> Tickets:
    """Tickets over each customer's whole history as if alive throughout (thinned later)."""
    owner, opened = poisson_times(
        rng, pop.ticket_rate / DAY, pop.signup_s.astype(float), np.full(pop.n, float(end_s))
    )
    opened = opened.astype(np.int64)
    n = len(owner)
    kind = rng.choice(len(TICKET_KINDS), size=n, p=np.array(profile.ticket_kind_weights))
    target = sla_seconds(profile)[kind]
    z = NormalDist().inv_cdf(1.0 - profile.sla_breach_share)
    median = target * np.exp(-z * profile.response_sigma)
    delay = np.maximum(60, (median * np.exp(rng.normal(0, profile.response_sigma, n)))).astype(
        np.int64
    )
    breached = delay > target
    first_response = opened + delay
    hours = np.array(profile.resolution_median_hours)[kind] * HOUR
    resolved = first_response + (hours * np.exp(rng.normal(0.0, 1.0, n))).astype(np.int64)
    unresolved = (kind == COMPLAINT) & (rng.random(n) < profile.unresolved_complaint_share)
    resolved = np.where(unresolved, NEVER, resolved)
    first_response = np.where(first_response < end_s, first_response, NEVER)
    resolved = np.where(resolved < end_s, resolved, NEVER)
    csat_raw = 4.3 - 1.2 * breached - 1.0 * (kind == COMPLAINT) + rng.normal(0, 0.8, n)
    answered = (resolved != NEVER) & (rng.random(n) < 0.6)
    csat = np.where(answered, np.clip(np.round(csat_raw), 1, 5), -1).astype(np.int64)
    return Tickets(
        owner=owner,
        opened_s=opened,
        kind=kind,
        first_response_s=first_response,
        resolved_s=resolved,
        breached=breached,
        channel=rng.integers(0, len(TICKET_CHANNELS), size=n),
        csat=csat,
    )


@dataclass(frozen=True)
class ServiceHistory:
    """Ticket timelines that answer "what service trouble was visible at time t"."""

    complaints_opened: Timeline
    complaints_resolved: Timeline
    breaches_by_kind: tuple[Timeline, ...]  # opened times of breached tickets, per kind
    targets: np.ndarray
    window_s: int
    complaint_owner: np.ndarray  # every complaint, in ticket order
    complaint_opened_s: np.ndarray
    complaint_resolved_s: np.ndarray  # NEVER if never resolved
    breach_owner: np.ndarray  # every breached ticket, in ticket order
    breach_opened_s: np.ndarray
    breach_visible_s: np.ndarray  # when the missed first-response target passed

    @classmethod
    def build(cls, tickets: Tickets, profile: IndustryProfile) -> ServiceHistory:
        complaint = tickets.kind == COMPLAINT
        resolved = complaint & (tickets.resolved_s != NEVER)
        return cls(
            complaints_opened=Timeline.build(tickets.owner[complaint], tickets.opened_s[complaint]),
            complaints_resolved=Timeline.build(
                tickets.owner[resolved], tickets.resolved_s[resolved]
            ),
            breaches_by_kind=tuple(
                Timeline.build(
                    tickets.owner[(tickets.kind == k) & tickets.breached],
                    tickets.opened_s[(tickets.kind == k) & tickets.breached],
                )
                for k in range(len(TICKET_KINDS))
            ),
            targets=sla_seconds(profile),
            window_s=profile.slow_response_window_days * DAY,
            complaint_owner=tickets.owner[complaint],
            complaint_opened_s=tickets.opened_s[complaint],
            complaint_resolved_s=tickets.resolved_s[complaint],
            breach_owner=tickets.owner[tickets.breached],
            breach_opened_s=tickets.opened_s[tickets.breached],
            breach_visible_s=(tickets.opened_s + sla_seconds(profile)[tickets.kind])[
                tickets.breached
            ],
        )

    def trouble_before_purchases(
        self, owner: np.ndarray, at_s: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(complaints, breaches) each purchase's dropout decision weighs, for purchases
        sorted by owner then time: complaints raised since the previous purchase and still
        open at this one; breaches that became visible since the previous purchase, of
        tickets opened in the window before this one."""
        purchases = Timeline.build(owner, at_s)  # already in this order
        complaints = np.zeros(len(owner), dtype=np.int64)
        nxt, ok = _next_purchase(purchases, self.complaint_owner, self.complaint_opened_s)
        ok[ok] &= self.complaint_resolved_s[ok] >= at_s[nxt[ok]]
        np.add.at(complaints, nxt[ok], 1)
        breaches = np.zeros(len(owner), dtype=np.int64)
        nxt, ok = _next_purchase(purchases, self.breach_owner, self.breach_visible_s)
        ok[ok] &= at_s[nxt[ok]] - self.breach_opened_s[ok] <= self.window_s
        np.add.at(breaches, nxt[ok], 1)
        return complaints, breaches

    def open_complaints(self, owner: np.ndarray, at_s: np.ndarray) -> np.ndarray:
        """Complaints opened before `at_s` and not resolved before it."""
        return open_count(self.complaints_opened, self.complaints_resolved, owner, at_s)

    def visible_breaches(
        self, owner: np.ndarray, at_s: np.ndarray, window_s: int | None = None
    ) -> np.ndarray:
        """SLA breaches of tickets opened in the window before `at_s` whose deadline passed."""
        window_s = self.window_s if window_s is None else window_s
        total = np.zeros(len(owner), dtype=np.int64)
        for timeline, target in zip(self.breaches_by_kind, self.targets, strict=True):
            total += timeline.count(owner, at_s - window_s, at_s - target, include_start=True)
        return total


def _next_purchase(
    purchases: Timeline, owner: np.ndarray, after_s: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Index of each item's owner's first purchase after `after_s`, and whether there is one."""
    nxt = np.searchsorted(purchases.keys, pack(owner, after_s), side="right")
    ok = nxt < len(purchases.keys)
    ok[ok] &= purchases.owners[nxt[ok]] == owner[ok]
    return np.minimum(nxt, max(len(purchases.keys) - 1, 0)), ok


def open_count(
    opened: Timeline, resolved: Timeline, owner: np.ndarray, at_s: np.ndarray
) -> np.ndarray:
    """Items (complaints) opened before `at_s` and not resolved before it, per owner."""
    start = np.full(len(owner), -(1 << 31))
    return opened.count(owner, start, at_s) - resolved.count(owner, start, at_s)


def dropout_probability(
    profile: IndustryProfile,
    base: np.ndarray,
    open_complaints: np.ndarray,
    breaches: np.ndarray,
) -> np.ndarray:
    """p_k = 1 - (1 - p) * exp(-(b_c * open complaints + b_s * visible breaches))."""
    log_hazard = (
        profile.hazard_unresolved_complaint * open_complaints
        + profile.hazard_slow_response * breaches
    )
    return 1.0 - (1.0 - base) * np.exp(-log_hazard)


@dataclass
class Surveys:
    owner: np.ndarray
    ts_s: np.ndarray
    nps: np.ndarray


def draw_surveys(
    profile: IndustryProfile,
    pop: Population,
    tickets: Tickets,
    service: ServiceHistory,
    rng: np.random.Generator,
    end_s: int,
) -> Surveys:
    """NPS after resolved tickets and in yearly relationship surveys.

    Scores fall with SLA breaches and open complaints (service experience) and with the
    customer's latent dropout propensity; nothing depends on the hidden alive state.
    """
    resolved = tickets.resolved_s != NEVER
    asked = resolved & (rng.random(len(tickets)) < profile.survey_after_ticket)
    t_owner = tickets.owner[asked]
    t_ts = tickets.resolved_s[asked] + rng.integers(HOUR, 48 * HOUR, size=int(asked.sum()))
    slow_resolution = (tickets.resolved_s[asked] - tickets.opened_s[asked]) > 3 * DAY
    t_score = (
        pop.nps_bias[t_owner]
        - 2.0 * tickets.breached[asked]
        - 1.5 * (tickets.kind[asked] == COMPLAINT)
        - 1.0 * slow_resolution
        + rng.normal(0, 1.2, len(t_owner))
    )
    r_owner, r_ts = poisson_times(
        rng,
        np.full(pop.n, profile.relationship_surveys_per_year / (365.0 * DAY)),
        pop.signup_s.astype(float),
        np.full(pop.n, float(end_s)),
    )
    r_ts = r_ts.astype(np.int64)
    r_score = (
        pop.nps_bias[r_owner]
        - 1.2 * service.visible_breaches(r_owner, r_ts, window_s=180 * DAY)
        - 1.5 * service.open_complaints(r_owner, r_ts)
        + rng.normal(0, 1.2, len(r_owner))
    )
    owner = np.concatenate([t_owner, r_owner])
    ts = np.concatenate([t_ts, r_ts])
    score = np.clip(np.round(np.concatenate([t_score, r_score])), 0, 10).astype(np.int64)
    keep = ts < end_s
    order = np.lexsort((ts[keep], owner[keep]))
    return Surveys(owner=owner[keep][order], ts_s=ts[keep][order], nps=score[keep][order])
