r"""The history oracle: P(no order in the horizon) given the observable history.

`oracle` conditions on each customer's true latent traits. No model can know those, so
its AUC overstates the ceiling a model of the observable history can reach. This oracle
integrates the three traits that carry the churn signal over the generator's priors:
the purchase rate lambda ~ Gamma (capped), the base dropout chance p ~ Beta and the event
rate multiplier g ~ Gamma(s, rate s) (event rate mu = r_e sqrt(lambda / mean lambda) g).
Four minor traits stay revealed: the ticket rate, the NPS bias, the campaign response
propensity and the category affinity. Knowing more never lowers the Bayes ceiling, so
this oracle's AUC is an upper bound on what the observable history allows (and a lower
bound on the latent oracle's), and a gap closure measured against it is conservative.

Likelihood, for a customer with purchases t_1 < ... < t_n before the midnight cutoff T
(see `oracle` for the two hypotheses A, "alive at T", and D, "left at t_n"):

- purchases: the first is the signup, the others organic (Poisson lambda on opening-hours
  time) or answers to treated contacts. A contact with k purchases in its answer window
  contributes (1 - q) + q k f 14h / lambda (one of them was the answer, or none); under D a
  contact pending at t_n adds q (1 - F) (its answer would have come after t_n) and a
  contact after t_n none of (1 - q). So L(lambda) = lambda^(n-1) exp(-lambda x exposure) x
  the contact terms, the exposure ending at T under A and at t_n under D;
- dropout: (1 - p)^(n-1) for the purchases survived; at t_n (1 - p) e^-h under A and
  1 - (1 - p) e^-h under D (h: the visible service hazard); the NPS bias b ~ Normal(base -
  slope (p - mean p), sd) is a likelihood for p;
- background events outside the 45-minute lead windows before orders (lead events say
  nothing about the alive state): Poisson mu on the observed time E, and under D fading
  after t_n (`engagement`); integrating g gives the negative binomial term
  a^m / (a E + s)^(m + s) with a = r_e sqrt(lambda / mean lambda), and exp(-S / theta) under D;
- tickets: the latent oracle's term with the revealed ticket rate.

lambda and g meet only in L(lambda), p only in the dropout term, so P(A | history) =
sum_lambda L_A(lambda) P_A(p) / (... + sum_lambda L_D(lambda) P_D(p)) on a quantile grid
of each prior. Under A, no order in the horizon means no organic purchase, averaged over
the posterior of lambda given A, and no answer to the campaigns sent in the horizon.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import stats
from scipy.special import expit, logsumexp

from crm_ml.datasets.synthetic.campaigns import ANSWER_DELAY_S
from crm_ml.datasets.synthetic.clock import ACTIVE_SECONDS, DAY, seconds_to_active
from crm_ml.datasets.synthetic.oracle import (
    OracleInputs,
    campaigns_log_quiet,
    churn_population,
    fading_llr,
    load_oracle_inputs,
    open_world_at,
    oracle_frame,
    read_world_table,
)
from crm_ml.datasets.synthetic.population import NPS_BIAS_SD
from crm_ml.datasets.synthetic.profiles import IndustryProfile
from crm_ml.datasets.synthetic.timeline import Timeline, expand_ranges, pack

LEAD_WINDOW_S = 45 * 60  # lead bundles lie in the 45 minutes before each order
CHUNK_CUSTOMERS = 2_048  # customers per block of (customers x grid) arrays


@dataclass(frozen=True)
class Priors:
    """The generator's priors of the integrated traits, as equal-weight quantile grids."""

    purchase_rate: np.ndarray  # lambda grid (per active day)
    dropout: np.ndarray  # p grid
    mean_purchase_rate: float
    mean_dropout: float
    event_rate: float  # the profile's r_e
    event_rate_shape: float  # shape (= rate) of the event multiplier's Gamma prior
    nps_base: float  # the NPS bias is Normal(base - slope (p - mean p), NPS_BIAS_SD)
    nps_dropout_slope: float

    @classmethod
    def from_profile(
        cls, profile: dict, rate_points: int = 1_000, dropout_points: int = 400
    ) -> Priors:
        """Grids from a profile (the manifest's `parameters.profile`)."""
        rate_q = (np.arange(rate_points) + 0.5) / rate_points
        rate = stats.gamma.ppf(
            rate_q, profile["purchase_shape"], scale=1.0 / profile["purchase_rate_days"]
        )
        a, b = profile["dropout_a"], profile["dropout_b"]
        dropout_q = (np.arange(dropout_points) + 0.5) / dropout_points
        return cls(
            purchase_rate=np.minimum(rate, profile["max_purchase_rate"]),
            dropout=stats.beta.ppf(dropout_q, a, b),
            mean_purchase_rate=profile["purchase_shape"] / profile["purchase_rate_days"],
            mean_dropout=a / (a + b),
            event_rate=float(profile["event_rate"]),
            event_rate_shape=float(
                profile.get("event_rate_shape", IndustryProfile.event_rate_shape)
            ),
            nps_base=float(profile["nps_base"]),
            nps_dropout_slope=float(profile["nps_dropout_slope"]),
        )


@dataclass(frozen=True)
class HistoryInputs:
    """What the history oracle needs beyond `OracleInputs` (whole history, world seconds)."""

    signup_s: np.ndarray
    nps_bias: np.ndarray
    purchase_log_hazard: np.ndarray  # aligned with OracleInputs.purchase_owner / purchase_s
    background: Timeline  # events outside the lead windows


def history_oracle_no_order(
    inputs: OracleInputs,
    history: HistoryInputs,
    priors: Priors,
    cutoff_s: int,
    horizon_days: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer positions, P(no order in horizon), P(alive at cutoff)) for the churn
    population, with lambda, p and the event multiplier integrated out."""
    who, last = churn_population(inputs, cutoff_s)
    p_no_order = np.empty(len(who))
    p_alive = np.empty(len(who))
    for start in range(0, len(who), CHUNK_CUSTOMERS):
        part = slice(start, start + CHUNK_CUSTOMERS)
        p_no_order[part], p_alive[part] = _block(
            inputs, history, priors, who[part], last[part], cutoff_s, horizon_days
        )
    return who, p_no_order, p_alive


def _block(
    inputs: OracleInputs,
    history: HistoryInputs,
    priors: Priors,
    who: np.ndarray,
    last: np.ndarray,
    cutoff_s: int,
    horizon_days: int,
) -> tuple[np.ndarray, np.ndarray]:
    first = np.searchsorted(inputs.purchase_owner, who, side="left")
    n = (last - first + 1).astype(float)
    t_1, t_n = inputs.purchase_s[first], inputs.purchase_s[last]
    cutoff = np.full(len(who), cutoff_s)
    gap = (cutoff_s - t_n) / DAY
    theta = inputs.fade_days
    lam = priors.purchase_rate[None, :]
    log_lam = np.log(lam)

    # purchases: exposure on opening-hours time, contact answers that may hide among them
    active_n = seconds_to_active(t_n) - seconds_to_active(t_1)
    active_gap = seconds_to_active(cutoff) - seconds_to_active(t_n)
    base = (n - 1)[:, None] * log_lam - lam * active_n[:, None]
    contacts_a, contacts_d = _contact_terms(inputs, who, t_n, cutoff, lam)
    log_a = base - lam * active_gap[:, None] + contacts_a
    log_d = base + contacts_d

    # background events, the multiplier g ~ Gamma(s, rate s) integrated out
    lead = _lead_time_s(inputs.purchase_s, first, last)
    m = history.background.count(who, history.signup_s[who], cutoff).astype(float)
    post, post_days, _ = history.background.window(who, t_n, cutoff)
    spread = (post_days - post * t_n / DAY) / theta
    seen_a = (cutoff_s - history.signup_s[who] - lead) / DAY
    seen_d = (t_n - history.signup_s[who] - lead) / DAY + theta * (1.0 - np.exp(-gap / theta))
    shape = priors.event_rate_shape
    a = priors.event_rate * np.sqrt(lam / priors.mean_purchase_rate)
    log_a += m[:, None] * np.log(a) - (m + shape)[:, None] * np.log(a * seen_a[:, None] + shape)
    log_d += (
        m[:, None] * np.log(a)
        - (m + shape)[:, None] * np.log(a * seen_d[:, None] + shape)
        - spread[:, None]
    )

    # dropout: the base p on its grid, weighted by the NPS bias it explains
    p = priors.dropout[None, :]
    z = (
        history.nps_bias[who][:, None]
        - priors.nps_base
        + priors.nps_dropout_slope * (p - priors.mean_dropout)
    )
    log_w = -0.5 * (z / NPS_BIAS_SD) ** 2 + (n - 1)[:, None] * np.log1p(-p)
    keep = (1.0 - p) * np.exp(-history.purchase_log_hazard[last])[:, None]
    drop_a = logsumexp(log_w + np.log(keep), axis=1)
    drop_d = logsumexp(log_w + np.log1p(-keep), axis=1)

    tickets = fading_llr(inputs.tickets, inputs.ticket_rate[who], who, t_n, cutoff, theta)
    evidence_a = logsumexp(log_a, axis=1)
    logit = evidence_a + drop_a + tickets - logsumexp(log_d, axis=1) - drop_d
    alive = expit(logit)
    quiet_organic = np.exp(logsumexp(log_a - lam * horizon_days, axis=1) - evidence_a)
    quiet = quiet_organic * np.exp(campaigns_log_quiet(inputs, who, cutoff_s, horizon_days))
    return 1.0 - alive * (1.0 - quiet), alive


def _contact_terms(
    inputs: OracleInputs, who: np.ndarray, t_n: np.ndarray, cutoff: np.ndarray, lam: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """log likelihood of the treated contacts under A and D, per customer and lambda.

    Contacts whose answer window holds no purchase and closed before t_n add log(1 - q)
    under both hypotheses and are left out.
    """
    low, high = ANSWER_DELAY_S
    contacts = inputs.treated_contacts
    start = np.full(len(who), -(1 << 40))
    lo, hi = contacts.bounds(who, start, cutoff, include_start=True)
    row, idx = expand_ranges(lo, hi)
    sent, q = contacts.seconds[idx], contacts.weights[idx]
    last = t_n[row]
    purchases = Timeline.build(inputs.purchase_owner, inputs.purchase_s)
    k = purchases.count(who[row], sent + low, np.minimum(sent + high, last + 1))
    pending = np.where(sent > last, 1.0, 1.0 - np.clip((last - sent - low) / (high - low), 0, 1))
    matters = (q > 0) & ((k > 0) | (sent + high > last))
    row, sent, q, k, pending, last = (x[matters] for x in (row, sent, q, k, pending, last))
    answered = q[:, None] * k[:, None] * ACTIVE_SECONDS / ((high - low) * lam)
    alive = np.log((1.0 - q)[:, None] + answered)
    late = (q * pending * (sent < last))[:, None]
    dead = np.where((sent > last)[:, None], 0.0, np.log((1.0 - q)[:, None] + answered + late))
    shape = (len(who), lam.shape[1])
    return _sum_rows(row, alive, shape), _sum_rows(row, dead, shape)


def _sum_rows(row: np.ndarray, values: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    out = np.zeros(shape)
    np.add.at(out, row, values)
    return out


def _lead_time_s(purchase_s: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Seconds covered by the union of the lead windows of purchases first..last."""
    step = np.diff(purchase_s, prepend=purchase_s[:1] - LEAD_WINDOW_S)
    covered = np.concatenate([[0], np.cumsum(np.minimum(step, LEAD_WINDOW_S))])
    # each customer's first window is whole
    first_step = np.minimum(step[first], LEAD_WINDOW_S)
    return covered[last + 1] - covered[first] - first_step + LEAD_WINDOW_S


# ---------------------------------------------------------------- from a world on disk


def history_oracle_churn_probability(
    world_dir: str | Path, cutoff: str | pd.Timestamp, horizon_days: int = 90
) -> pd.DataFrame:
    """History-oracle P(no order in (cutoff, cutoff + horizon]) for a generated world.

    Same rows and columns as `oracle_churn_probability` (`customer_id`, `p_no_order`,
    `p_alive`). For evaluation only: features and models must never call this.
    """
    world, manifest, origin, cutoff_s = open_world_at(world_dir, cutoff, horizon_days)
    inputs, ids = load_oracle_inputs(world, manifest, cutoff_s, origin, whole_history=True)
    history = load_history_inputs(world, manifest, inputs, ids, origin)
    priors = Priors.from_profile(manifest["parameters"]["profile"])
    return oracle_frame(
        ids, *history_oracle_no_order(inputs, history, priors, cutoff_s, horizon_days)
    )


def load_history_inputs(
    world: Path, manifest: dict, inputs: OracleInputs, ids: np.ndarray, origin: pd.Timestamp
) -> HistoryInputs:
    """Signups, NPS biases, purchase hazards and background events of a world on disk."""
    profile = manifest["parameters"]["profile"]
    id_set = pa.array(ids, type=pa.string())
    customers = (
        read_world_table(
            world / "truth" / "customers.parquet",
            ["customer_id", "signup_ts", "nps_bias"],
            "signup_ts",
            id_set,
            origin,
        )
        .set_index("owner")
        .reindex(range(len(ids)))
    )
    purchases = read_world_table(
        world / "truth" / "purchases.parquet",
        ["customer_id", "ts", "open_complaints", "visible_sla_breaches"],
        "ts",
        id_set,
        origin,
    ).sort_values(["owner", "ts"], kind="stable")
    if not np.array_equal(purchases["ts"].to_numpy(), inputs.purchase_s):
        raise ValueError(f"{world}: truth/purchases.parquet does not match the oracle inputs")
    hazard = (
        profile["hazard_unresolved_complaint"] * purchases["open_complaints"].to_numpy()
        + profile["hazard_slow_response"] * purchases["visible_sla_breaches"].to_numpy()
    )
    # the events before the cutoff are already in `inputs`; the oracle never looks later
    owner, seconds = inputs.events.owners, inputs.events.seconds
    keys = pack(inputs.purchase_owner, inputs.purchase_s)
    following = np.searchsorted(keys, inputs.events.keys, side="right")
    at = np.minimum(following, len(keys) - 1)
    lead = (
        (following < len(keys))
        & (inputs.purchase_owner[at] == owner)
        & (inputs.purchase_s[at] - seconds <= LEAD_WINDOW_S)
    )
    return HistoryInputs(
        signup_s=customers["signup_ts"].to_numpy(dtype=np.int64),
        nps_bias=customers["nps_bias"].to_numpy(dtype=float),
        purchase_log_hazard=hazard.astype(float),
        background=Timeline.build(owner[~lead], seconds[~lead]),
    )
