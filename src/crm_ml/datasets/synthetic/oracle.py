r"""The oracle churn probability: the best any model of the observable history can do.

For a customer active in the 365 days before a midnight cutoff T, the oracle gives
P(no purchase in (T, T + h]) from the customer's TRUE latent parameters and what is
observable before T; it does not peek at the hidden alive state. Returns are not
purchases.

Derivation. Dropout can only be decided at a purchase (the first at signup, organic
purchases, campaign answers). Let t_n be the last purchase before T and p_n its dropout
chance (base p raised by the service trouble visible at t_n, see `service`; observable).
Everything before t_n has the same likelihood whether or not the customer dropped out at
t_n, so two hypotheses remain: D, "left at t_n", and A, "still alive at T". Between t_n
and T we observe:

- no organic purchase: under A this has probability exp(-lambda * g_act), g_act being
  the active (opening-hours) time between t_n and T (`clock`); under D probability 1;
- no answer to the treated campaign contacts: an answer is an order placed d ~ U(30 min,
  10 h) after the send, so contacts before midnight T are settled. A contact sent in
  (t_n, T) contributes (1 - q) under A and 1 under D. A contact sent at s in the 10 hours
  before t_n may have had its answer pending at t_n: summing over "its answer was one of
  the k orders in [s + 30 min, t_n]" (density f = 1/9.5 h against the organic intensity
  lambda / 14 h of opening time), "no answer" and, under D only, "answer after t_n",
      A : D = (1 - q + q k f 14h / lambda) : (1 - q + q k f 14h / lambda + q (1 - F(t_n - s)))
  with F the delay's distribution function; contacts answered earlier cancel;
- background events x_1..x_m and tickets y_1..y_k. Both are Poisson processes with
  rate r (mu for events, nu for tickets) under A and intensity r * exp(-(t - t_n)/theta)
  under D. Lead events only occur in the 45 minutes before an order, so none lies in
  (t_n, T). With g = T - t_n in days and S = sum(x_j - t_n), the log likelihood ratio of a
  process is
      log L_A - log L_D = -r g + S / theta + r theta (1 - exp(-g / theta));
- everything else (returns, surveys, exclusions, consent changes, which contacts were
  sent, ticket kinds and response times) has a distribution that does not depend on the
  alive state given the latent parameters and the past, so it cancels.

Hence   logit P(A | obs) = log(1 - p_n) - log p_n - lambda g_act + LLR_contacts
                           + LLR_events + LLR_tickets.

Under A, no purchase in (T, T + h] needs no organic purchase (exp(-lambda h): the horizon
spans whole days) and no answer to any campaign sent in the horizon. A campaign c reaches
the customer with probability pi_c (1 - kappa_c) * P(consent at s_c), where
P(consent at s_c | consent at T) = exp(-omega (s_c - T)) for the exponential withdrawal
with rate omega, and then the answer comes with probability q_ic under c's treatment
(`campaigns`), at the tenure of s_c. One approximation: a callback's q_ic takes the
complaints open at T as still open at s_c (complaints opened or closed in between are
ignored; with one complaint in about 60 customer-days, a small error). So

    P(no order | obs) = 1 - P(A | obs) * (1 - exp(-lambda h) *
                        prod_c (1 - pi_c (1 - kappa_c) q_ic consent_T exp(-omega (s_c - T)))).

Under D there is never another order. Cutoffs must be at midnight UTC (the horizon then
covers whole days and no lead bundle straddles the cutoff); other cutoffs are rejected.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from scipy.special import expit

from crm_ml.contract.tables import TICKET_KINDS
from crm_ml.datasets.synthetic.campaigns import (
    ANSWER_DELAY_S,
    TREATMENTS,
    Campaigns,
    Situation,
    arm_probabilities,
)
from crm_ml.datasets.synthetic.clock import (
    ACTIVE_SECONDS,
    DAY,
    seconds_to_active,
    to_world_seconds,
)
from crm_ml.datasets.synthetic.engagement import ENGAGEMENT_EVENT_TYPES
from crm_ml.datasets.synthetic.population import NEVER
from crm_ml.datasets.synthetic.service import open_count
from crm_ml.datasets.synthetic.timeline import Timeline, expand_ranges, pack

log = logging.getLogger(__name__)

ACTIVE_WINDOW_DAYS = 365
TS_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class OracleInputs:
    """Latent parameters and observable history of customers 0..n-1 (world seconds)."""

    purchase_rate: np.ndarray
    event_rate: np.ndarray
    ticket_rate: np.ndarray
    response_base: np.ndarray
    price_sensitivity: np.ndarray
    signup_s: np.ndarray
    affinity: np.ndarray  # (n, C)
    consent_now: np.ndarray  # final marketing_consent
    consent_updated_s: np.ndarray  # NEVER when missing
    purchase_owner: np.ndarray  # sorted by owner then time
    purchase_s: np.ndarray
    purchase_dropout: np.ndarray
    events: Timeline
    tickets: Timeline
    treated_contacts: Timeline  # weight = q_ic
    complaints_opened: Timeline
    complaints_resolved: Timeline
    campaigns: Campaigns
    fade_days: float
    withdrawal_rate_per_day: float


def oracle_no_order(
    inputs: OracleInputs, cutoff_s: int, horizon_days: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer positions, P(no order in horizon), P(alive at cutoff)) for the churn population."""
    who, last = churn_population(inputs, cutoff_s)
    t_n = inputs.purchase_s[last]
    p_n = inputs.purchase_dropout[last]
    cutoff = np.full(len(who), cutoff_s)
    lam = inputs.purchase_rate[who]
    exposure = lam * (seconds_to_active(cutoff) - seconds_to_active(t_n))
    llr = _contacts_llr(inputs, who, t_n, cutoff)
    for timeline, rate in (
        (inputs.events, inputs.event_rate),
        (inputs.tickets, inputs.ticket_rate),
    ):
        llr += fading_llr(timeline, rate[who], who, t_n, cutoff, inputs.fade_days)
    with np.errstate(divide="ignore"):
        logit = np.log1p(-p_n) - np.log(p_n) - exposure + llr
    p_alive = expit(logit)

    log_quiet = -lam * horizon_days + campaigns_log_quiet(inputs, who, cutoff_s, horizon_days)
    p_no_order = 1.0 - p_alive * (1.0 - np.exp(log_quiet))
    return who, p_no_order, p_alive


def churn_population(inputs: OracleInputs, cutoff_s: int) -> tuple[np.ndarray, np.ndarray]:
    """(customer positions with a purchase in the year before the cutoff, index of that
    last purchase in the inputs' purchase arrays)."""
    if cutoff_s % DAY:
        raise ValueError("the oracle needs a cutoff at midnight UTC")
    n = len(inputs.purchase_rate)
    owners = np.arange(n)
    keys = pack(inputs.purchase_owner, inputs.purchase_s)
    last = np.searchsorted(keys, pack(owners, np.full(n, cutoff_s)), side="left") - 1
    has_last = (last >= 0) & (inputs.purchase_owner[np.maximum(last, 0)] == owners)
    last_s = np.where(has_last, inputs.purchase_s[np.maximum(last, 0)], NEVER)
    who = np.flatnonzero(has_last & (last_s >= cutoff_s - ACTIVE_WINDOW_DAYS * DAY))
    return who, last[who]


def campaigns_log_quiet(
    inputs: OracleInputs, who: np.ndarray, cutoff_s: int, horizon_days: int
) -> np.ndarray:
    """log P(no answer to any campaign sent in the horizon | alive at the cutoff)."""
    log_quiet = np.zeros(len(who))
    consent = inputs.consent_now[who] | (inputs.consent_updated_s[who] > cutoff_s)
    camp = inputs.campaigns
    upcoming = np.flatnonzero(
        (camp.sent_s > cutoff_s) & (camp.sent_s <= cutoff_s + horizon_days * DAY)
    )
    open_now = open_count(
        inputs.complaints_opened, inputs.complaints_resolved, who, np.full(len(who), cutoff_s)
    )
    for c in upcoming:
        situation = Situation(
            response_base=inputs.response_base[who],
            price_sensitivity=inputs.price_sensitivity[who],
            tenure_days=(camp.sent_s[c] - inputs.signup_s[who]) / DAY,
            open_complaints=open_now,
        )
        arms = arm_probabilities(
            situation, inputs.affinity[who], np.full(len(who), camp.offer_category[c])
        )
        q = arms[:, camp.treatment[c]]
        still_consents = np.exp(-inputs.withdrawal_rate_per_day * (camp.sent_s[c] - cutoff_s) / DAY)
        reach = camp.target_share[c] * (1.0 - camp.control_share[c]) * consent * still_consents
        log_quiet += np.log1p(-reach * q)
    return log_quiet


def fading_llr(
    timeline: Timeline,
    rate: np.ndarray,
    who: np.ndarray,
    t_n: np.ndarray,
    cutoff: np.ndarray,
    fade_days: float,
) -> np.ndarray:
    """log L_A - log L_D of a process with rate `rate` that fades after a dropout at t_n."""
    gap = (cutoff - t_n) / DAY
    count, sum_days, _ = timeline.window(who, t_n, cutoff)
    since = sum_days - count * (t_n / DAY)
    return -rate * gap + since / fade_days + rate * fade_days * (1.0 - np.exp(-gap / fade_days))


def _contacts_llr(
    inputs: OracleInputs, who: np.ndarray, t_n: np.ndarray, cutoff: np.ndarray
) -> np.ndarray:
    """log L_A - log L_D of the treated contacts whose answer was not settled by t_n."""
    low, high = ANSWER_DELAY_S
    contacts = inputs.treated_contacts
    lo, hi = contacts.bounds(who, t_n - high, cutoff, include_start=False)
    row, idx = expand_ranges(lo, hi)
    sent, q = contacts.seconds[idx], contacts.weights[idx]
    last = t_n[row]
    owner = who[row]
    purchases = Timeline.build(inputs.purchase_owner, inputs.purchase_s)
    in_window = purchases.count(owner, sent + low, np.minimum(sent + high, last + 1))
    lam = inputs.purchase_rate[owner]
    with np.errstate(divide="ignore", invalid="ignore"):
        answered_here = np.where(
            in_window > 0, in_window * ACTIVE_SECONDS / ((high - low) * lam), 0.0
        )
    pending = 1.0 - np.clip((last - sent - low) / (high - low), 0.0, 1.0)
    pending = np.where(sent > last, 1.0, pending)
    alive = (1.0 - q) + q * answered_here
    term = np.log(alive) - np.log(alive + q * pending * (sent < last))
    term = np.where(sent > last, np.log1p(-q), term)
    return np.bincount(row, weights=term, minlength=len(who))


# ---------------------------------------------------------------- from a world on disk


def oracle_churn_probability(
    world_dir: str | Path, cutoff: str | pd.Timestamp, horizon_days: int = 90
) -> pd.DataFrame:
    """Oracle P(no order in (cutoff, cutoff + horizon]) for a generated world.

    Returns one row per customer in the churn population at `cutoff` (an order in the
    365 days before it): `customer_id` (raw, as in the world's tables), `p_no_order`,
    `p_alive` (posterior probability of being alive at the cutoff). Reads truth/ for the
    latent parameters and the world's tables for the observable history (dirty rows the
    contract would quarantine are skipped). For evaluation only: features and models must
    never call this.
    """
    world, manifest, origin, cutoff_s = open_world_at(world_dir, cutoff, horizon_days)
    inputs, customer_ids = load_oracle_inputs(world, manifest, cutoff_s, origin)
    return oracle_frame(customer_ids, *oracle_no_order(inputs, cutoff_s, horizon_days))


def open_world_at(
    world_dir: str | Path, cutoff: str | pd.Timestamp, horizon_days: int
) -> tuple[Path, dict, pd.Timestamp, int]:
    """(world folder, manifest, history origin, cutoff in world seconds)."""
    world = Path(world_dir)
    manifest = json.loads((world / "manifest.json").read_text())
    origin = pd.Timestamp(manifest["history_start"])
    as_of = pd.Timestamp(manifest["as_of"])
    stamp = pd.Timestamp(cutoff)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    if stamp + pd.Timedelta(days=horizon_days) > as_of:
        log.warning("horizon after %s ends past the world's as-of %s", stamp, as_of)
    return world, manifest, origin, to_world_seconds(stamp, origin)


def oracle_frame(
    customer_ids: np.ndarray, who: np.ndarray, p_no_order: np.ndarray, p_alive: np.ndarray
) -> pd.DataFrame:
    """The oracles' answer: raw `customer_id`, `p_no_order`, `p_alive`."""
    return pd.DataFrame(
        {
            "customer_id": pd.array(customer_ids[who], dtype="string[pyarrow]"),
            "p_no_order": p_no_order,
            "p_alive": p_alive,
        }
    )


def load_oracle_inputs(
    world: Path, manifest: dict, cutoff_s: int, origin: pd.Timestamp, whole_history: bool = False
) -> tuple[OracleInputs, np.ndarray]:
    """Assemble OracleInputs for the year before `cutoff_s` (or all of the history before
    it) from a world directory."""
    truth = world / "truth"
    params = manifest["parameters"]["profile"]
    latent = pd.read_parquet(truth / "customers.parquet")
    ids = latent["customer_id"].to_numpy(dtype=object)
    id_set = pa.array(ids, type=pa.string())
    affinity = (
        pd.read_parquet(truth / "category_affinity.parquet")
        .pivot(index="customer_id", columns="category", values="affinity")
        .reindex(index=ids, columns=[c["name"] for c in params["categories"]])
        .to_numpy()
    )
    lo_s = -NEVER if whole_history else cutoff_s - (ACTIVE_WINDOW_DAYS + 1) * DAY

    def window_of(frame: pd.DataFrame, column: str) -> pd.DataFrame:
        return frame[(frame[column] >= lo_s) & (frame[column] < cutoff_s)]

    purchases = read_world_table(
        truth / "purchases.parquet",
        ["customer_id", "ts", "dropout_probability"],
        "ts",
        id_set,
        origin,
    )
    purchases = purchases.sort_values(["owner", "ts"], kind="stable")
    events = window_of(
        read_world_table(
            table_path(world, manifest, "events"),
            ["customer_id", "ts", "event_type"],
            "ts",
            id_set,
            origin,
            enums={"event_type": ENGAGEMENT_EVENT_TYPES},  # `usage` is no part of this model
        ),
        "ts",
    )
    tickets = read_world_table(
        table_path(world, manifest, "tickets"),
        ["ticket_id", "customer_id", "opened_ts", "kind"],
        "opened_ts",
        id_set,
        origin,
        enums={"kind": TICKET_KINDS},
    )
    tickets = tickets[~tickets["ticket_id"].duplicated()]
    complaints = tickets[tickets["kind"] == "complaint"].merge(
        read_world_table(
            table_path(world, manifest, "tickets"),
            ["ticket_id", "customer_id", "resolved_ts"],
            "resolved_ts",
            id_set,
            origin,
            keep_null_ts=True,
        )
        .drop_duplicates("ticket_id")
        .drop(columns="owner"),
        on="ticket_id",
        how="left",
    )
    complaints = complaints[complaints["opened_ts"] < cutoff_s]
    resolved = complaints[complaints["resolved_ts"].notna()]
    tickets = window_of(tickets, "opened_ts")
    contacts = window_of(
        read_world_table(
            truth / "contacts.parquet",
            ["customer_id", "sent_ts", "is_treated", "response_probability"],
            "sent_ts",
            id_set,
            origin,
        ),
        "sent_ts",
    )
    contacts = contacts[contacts["is_treated"]]
    customers = read_world_table(
        table_path(world, manifest, "customers"),
        ["customer_id", "marketing_consent", "consent_updated_ts"],
        "consent_updated_ts",
        id_set,
        origin,
        keep_null_ts=True,
    )
    customers = (
        customers[~customers["owner"].duplicated()].set_index("owner").reindex(range(len(ids)))
    )
    campaigns = pd.read_parquet(truth / "campaigns.parquet")
    categories = [c["name"] for c in params["categories"]]
    inputs = OracleInputs(
        purchase_rate=latent["purchase_rate_per_day"].to_numpy(),
        event_rate=latent["event_rate_per_day"].to_numpy(),
        ticket_rate=latent["ticket_rate_per_day"].to_numpy(),
        response_base=latent["response_probability_base"].to_numpy(),
        price_sensitivity=latent["price_sensitivity"].to_numpy(),
        signup_s=_seconds(pa.array(latent["signup_ts"]), origin).to_numpy(),
        affinity=affinity,
        consent_now=customers["marketing_consent"].fillna(False).to_numpy(dtype=bool),
        consent_updated_s=customers["consent_updated_ts"].fillna(NEVER).to_numpy(dtype=np.int64),
        purchase_owner=purchases["owner"].to_numpy(),
        purchase_s=purchases["ts"].to_numpy(),
        purchase_dropout=purchases["dropout_probability"].to_numpy(),
        events=Timeline.build(events["owner"].to_numpy(), events["ts"].to_numpy()),
        tickets=Timeline.build(tickets["owner"].to_numpy(), tickets["opened_ts"].to_numpy()),
        treated_contacts=Timeline.build(
            contacts["owner"].to_numpy(),
            contacts["sent_ts"].to_numpy(),
            contacts["response_probability"].to_numpy(),
        ),
        complaints_opened=Timeline.build(
            complaints["owner"].to_numpy(), complaints["opened_ts"].to_numpy()
        ),
        complaints_resolved=Timeline.build(
            resolved["owner"].to_numpy(), resolved["resolved_ts"].to_numpy(dtype=np.int64)
        ),
        campaigns=Campaigns(
            ids=campaigns["campaign_id"].to_numpy(),
            sent_s=_seconds(pa.array(campaigns["sent_ts"]), origin).to_numpy(),
            target_share=campaigns["target_share"].to_numpy(),
            control_share=campaigns["control_share"].to_numpy(),
            offer_category=np.array(
                [categories.index(c) for c in campaigns["offer_category"]], dtype=np.int64
            ),
            channel=campaigns["channel"].to_numpy(),
            treatment=np.array(
                [TREATMENTS.index(t) for t in campaigns["treatment"]], dtype=np.int64
            ),
        ),
        fade_days=float(params["fade_days"]),
        withdrawal_rate_per_day=1.0 / (365.0 * float(params["consent_withdrawal_years"])),
    )
    return inputs, ids


def table_path(world: Path, manifest: dict, table: str) -> Path:
    return world / f"{table}.{manifest['file_format']}"


def read_world_table(
    path: Path,
    columns: list[str],
    ts_column: str,
    id_set: pa.Array,
    origin: pd.Timestamp,
    enums: dict[str, tuple[str, ...]] | None = None,
    keep_null_ts: bool = False,
) -> pd.DataFrame:
    """Columns of a table with `owner` (customer position) and world seconds in `ts_column`.

    Rows of unknown customers, unparseable timestamps or values outside `enums` are
    dropped: they are the dirt the contract would quarantine.
    """
    if path.suffix == ".csv":
        import pyarrow.csv as pacsv

        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                include_columns=columns, column_types={c: pa.string() for c in columns}
            ),
        )
    else:
        table = ds.dataset(path, format="parquet").to_table(columns=columns)
    owner = pc.index_in(pc.cast(table["customer_id"], pa.string()), value_set=id_set)
    seconds = _seconds(table[ts_column], origin)
    keep = pc.is_valid(owner)
    if not keep_null_ts:
        keep = pc.and_(keep, pc.is_valid(seconds))
    for column, allowed in (enums or {}).items():
        keep = pc.and_(keep, pc.is_in(table[column], value_set=pa.array(allowed)))
    frame = pa.table(
        {
            **{c: table[c] for c in columns if c not in ("customer_id", ts_column)},
            "owner": owner,
            ts_column: seconds,
        }
    ).filter(pc.fill_null(keep, False))
    out = frame.to_pandas()
    for column in out.columns:
        # flags read from CSV are text (object on pandas 2, str on pandas 3)
        if column in ("is_treated", "marketing_consent") and not pd.api.types.is_bool_dtype(
            out[column]
        ):
            out[column] = out[column].map({"true": True, "false": False, True: True, False: False})
    if not keep_null_ts:
        out[ts_column] = out[ts_column].astype(np.int64)
    out["owner"] = out["owner"].astype(np.int64)
    return out


def _seconds(values: pa.Array | pa.ChunkedArray, origin: pd.Timestamp) -> pa.Array:
    """World seconds (int64, null when unparseable) of a timestamp or ISO text column."""
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        values = pc.strptime(values, format=TS_FORMAT, unit="s", error_is_null=True)
        values = pc.assume_timezone(values, "UTC") if values.type.tz is None else values
    epoch = pc.cast(pc.cast(values, pa.timestamp("s", tz="UTC")), pa.int64())
    return pc.subtract(epoch, origin.value // 1_000_000_000)
