"""One action plan: every possible contact ranked by expected net value, under a budget.

The action lists (`crm_ml.reports.actions`) answer "who qualifies"; a marketing lead with
one budget and customers who tire of contact needs one answer to "whom do we contact, how,
and what will it earn". `action_plan` takes every candidate contact (a save offer, a
cross-sell, a service follow-up), each with its expected value and its cost, and keeps the
best by expected net value (value - cost) while:

- the planned costs stay within the budget;
- no customer gets more contacts in the rolling window (those already made in the window
  count) than the cap allows: contact fatigue;
- no marketing contact reaches a customer without marketing consent (a service follow-up
  is owed whatever the consent), and no contact goes out on a channel the customer did not
  choose, where they chose;
- no excluded customer is contacted at all;
- one customer gets at most one contact of each list (the best save intervention, not two).

Every candidate ends in the plan or among the skipped with its reason: candidates = planned
+ skipped. The order is greedy by net value: a budgeted choice of contacts is a knapsack,
and greedy by value is what a CRM system can explain row by row ("it earned more than the
next"); with contacts far cheaper than the budget it loses almost nothing against the exact
optimum.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from crm_ml.contract.privacy import pseudonymise_ids
from crm_ml.pipeline.config import RunConfig
from crm_ml.pipeline.paths import RunPaths
from crm_ml.project import project_root
from crm_ml.reports.playbook import Intervention, Playbook, load_playbook

log = logging.getLogger(__name__)

CANDIDATE_COLUMNS = ("customer_id", "action", "channel", "expected_value", "cost", "marketing")
SKIP_REASONS = (
    "excluded",
    "no marketing consent",
    "channel not chosen by the customer",
    "not worth its cost",
    "contact cap reached",
    "a better contact of the same list is planned",
    "over the budget",
)


@dataclass(frozen=True)
class PlanConfig:
    """The limits of one action plan.

    budget: the most the planned contacts may cost together (None: no limit).
    max_contacts: the most contacts one customer may get in any `window_days`, counting
        those already made in the window before the plan.
    window_days: the length of the rolling window of the cap.
    min_net_value: a contact is planned only when value - cost is above this.
    exclude: customer ids never to contact (a do-not-contact list, staff, test accounts).
    """

    budget: float | None = None
    max_contacts: int = 2
    window_days: int = 30
    min_net_value: float = 0.0
    exclude: Collection[str] = field(default_factory=frozenset)


@dataclass
class PlanResult:
    """The planned contacts (best first) and every other candidate with why it was left."""

    plan: pd.DataFrame
    skipped: pd.DataFrame
    budget: float | None

    @property
    def cost(self) -> float:
        return float(self.plan["cost"].sum())

    @property
    def expected_net_value(self) -> float:
        return float(self.plan["net_value"].sum())

    @property
    def expected_roi(self) -> float:
        """Expected net value per unit spent (NaN when nothing costs anything)."""
        return self.expected_net_value / self.cost if self.cost else float("nan")

    def totals(self) -> dict[str, float | int | None]:
        """The plan in five numbers, for the report and for the CRM team's sign-off."""
        value = float(self.plan["expected_value"].sum())
        return {
            "contacts": len(self.plan),
            "customers": int(self.plan["customer_id"].nunique()),
            "budget": self.budget,
            "cost": self.cost,
            "expected_value": value,
            "expected_net_value": self.expected_net_value,
            "expected_roi": None if not self.cost else self.expected_roi,
            "candidates": len(self.plan) + len(self.skipped),
        }

    def why_empty(self) -> str:
        """Why no contact was planned, from the commonest reason the candidates were left."""
        if self.skipped.empty:
            return "no candidate contact: no customer was scored with a value at risk or an offer"
        reason, count = Counter(self.skipped["skip_reason"]).most_common(1)[0]
        return f"no contact passed every limit; the commonest reason: {reason} ({count:,})"

    def summary(self) -> pd.DataFrame:
        """Per action: planned contacts, their cost, value and net value, and the skipped
        candidates by reason."""
        planned = self.plan.groupby("action").agg(
            contacts=("customer_id", "size"),
            cost=("cost", "sum"),
            expected_value=("expected_value", "sum"),
            expected_net_value=("net_value", "sum"),
        )
        skipped = (
            self.skipped.pivot_table(
                index="action", columns="skip_reason", values="customer_id", aggfunc="size"
            )
            if len(self.skipped)
            else pd.DataFrame(index=pd.Index([], name="action"))
        )
        table = planned.join(skipped, how="outer").fillna(0)
        counts = ["contacts", *skipped.columns]
        return table.astype({c: int for c in counts}).reset_index()


def _prior_contacts(
    history: pd.DataFrame | None, as_of: pd.Timestamp, window_days: int
) -> Counter[str]:
    """Contacts per customer in the window before `as_of` (the plan's day)."""
    if history is None or history.empty:
        return Counter()
    ts = pd.to_datetime(history["ts"], utc=True)
    start = as_of - pd.Timedelta(days=window_days)
    recent = history.loc[(ts > start) & (ts <= as_of), "customer_id"].astype(str)
    return Counter(recent)


def _chosen_channels(customers: pd.DataFrame) -> dict[str, frozenset[str]]:
    """customer -> the channels they chose; customers without a choice are left out (any)."""
    if "preferred_channels" not in customers:
        return {}
    chosen = {}
    for customer, channels in zip(
        customers["customer_id"].astype(str), customers["preferred_channels"], strict=True
    ):
        if isinstance(channels, str) and channels.strip():
            chosen[customer] = frozenset(c.strip() for c in channels.split(",") if c.strip())
    return chosen


def action_plan(
    candidates: pd.DataFrame,
    customers: pd.DataFrame,
    config: PlanConfig | None = None,
    history: pd.DataFrame | None = None,
    as_of: pd.Timestamp | None = None,
) -> PlanResult:
    """Choose the contacts to make: the best by expected net value within every limit.

    Parameters
    ----------
    candidates : pandas.DataFrame
        One row per possible contact: ``customer_id``, ``action`` (e.g. "save: service
        call"), ``channel``, ``expected_value`` (what it is expected to earn, gross),
        ``cost`` (>= 0) and ``marketing`` (True: it needs marketing consent). Other columns
        (``chosen_by``, ``reason``) are carried along; with a ``list`` column (save,
        cross_sell, service) a customer gets at most one contact of each list, the best.
    customers : pandas.DataFrame
        ``customer_id`` and ``marketing_consent`` (unknown is no consent), optionally
        ``preferred_channels`` (comma-separated; empty or missing: any channel).
    config : PlanConfig, optional
        Budget, contact cap and window, exclusions.
    history : pandas.DataFrame, optional
        Contacts already made: ``customer_id`` and ``ts``; those in the window before
        `as_of` count toward the cap.
    as_of : pandas.Timestamp, optional
        The plan's day (default: the latest contact in `history`, else now).

    Returns
    -------
    PlanResult
        ``plan``: the planned contacts best first, with ``net_value``, ``rank`` and the
        running ``cumulative_cost``; ``skipped``: every other candidate with its
        ``skip_reason`` (one of `SKIP_REASONS`).

    Raises
    ------
    ValueError
        When a column is missing, or a cost is negative or missing.

    Examples
    --------
    >>> candidates = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "c"],
    ...     "action": ["save: coupon", "cross-sell: socks", "save: call", "save: coupon"],
    ...     "channel": ["email", "email", "phone", "email"],
    ...     "expected_value": [30.0, 12.0, 50.0, 8.0],
    ...     "cost": [5.0, 1.0, 20.0, 5.0],
    ...     "marketing": [True, True, True, True],
    ... })
    >>> customers = pd.DataFrame({"customer_id": ["a", "b", "c"],
    ...                           "marketing_consent": [True, True, False]})
    >>> result = action_plan(candidates, customers, PlanConfig(budget=24, max_contacts=1))
    >>> result.plan[["customer_id", "action", "net_value"]].values.tolist()
    [['b', 'save: call', 30.0], ['a', 'cross-sell: socks', 11.0]]
    >>> result.skipped[["customer_id", "skip_reason"]].values.tolist()
    [['a', 'over the budget'], ['c', 'no marketing consent']]
    >>> round(result.expected_roi, 2)  # (30 + 11) / (20 + 1)
    1.95
    """
    config = config or PlanConfig()
    missing = [c for c in CANDIDATE_COLUMNS if c not in candidates]
    if missing:
        raise ValueError(f"action plan candidates: missing column(s) {missing}")
    if "customer_id" not in customers or "marketing_consent" not in customers:
        raise ValueError("action plan customers: need customer_id and marketing_consent")
    cost = pd.to_numeric(candidates["cost"], errors="coerce")
    if cost.isna().any() or (cost < 0).any():
        bad = candidates.loc[cost.isna() | (cost < 0), "action"].astype(str).unique()[:3]
        raise ValueError(f"action plan candidates: column 'cost' must be >= 0; see {list(bad)}")
    frame = candidates.assign(
        customer_id=candidates["customer_id"].astype(str),
        cost=cost.astype(float),
        expected_value=candidates["expected_value"].astype(float),
    )
    frame["net_value"] = frame["expected_value"] - frame["cost"]
    frame = frame.sort_values(["net_value", "cost"], ascending=[False, True], kind="stable")

    consent = dict(
        zip(
            customers["customer_id"].astype(str),
            customers["marketing_consent"].astype("boolean").fillna(False).astype(bool),
            strict=True,
        )
    )
    channels = _chosen_channels(customers)
    excluded = {str(c) for c in config.exclude}
    if as_of is None:
        as_of = (
            pd.to_datetime(history["ts"], utc=True).max()
            if history is not None and len(history)
            else pd.Timestamp.now("UTC")
        )
    contacts = _prior_contacts(history, pd.Timestamp(as_of), config.window_days)
    remaining = np.inf if config.budget is None else float(config.budget)

    customer = frame["customer_id"]
    unchosen_channel = [
        c in channels and str(ch) not in channels[c]
        for c, ch in zip(customer, frame["channel"], strict=True)
    ]
    reasons = pd.Series(
        np.select(
            [
                customer.isin(excluded),
                frame["marketing"].astype(bool) & ~customer.map(lambda c: consent.get(c, False)),
                np.array(unchosen_channel, dtype=bool),
                ~(frame["net_value"] > config.min_net_value),
            ],
            SKIP_REASONS[:4],
            default="",
        ),
        index=frame.index,
        dtype=object,
    )
    lists = frame["list"].astype(str) if "list" in frame else pd.Series("", index=frame.index)
    planned_lists: set[tuple[str, str]] = set()
    for position in np.flatnonzero(reasons.to_numpy() == ""):  # in order of net value
        who, cost_of = customer.iat[position], frame["cost"].iat[position]
        purpose = (who, lists.iat[position])
        if contacts[who] >= config.max_contacts:
            reasons.iat[position] = "contact cap reached"
        elif "list" in frame and purpose in planned_lists:
            reasons.iat[position] = "a better contact of the same list is planned"
        elif cost_of > remaining:
            reasons.iat[position] = "over the budget"
        else:
            reasons.iat[position] = None
            contacts[who] += 1
            planned_lists.add(purpose)
            remaining -= cost_of
    frame["skip_reason"] = reasons
    planned = frame["skip_reason"].isna()
    plan = frame[planned].drop(columns="skip_reason").reset_index(drop=True)
    plan.insert(0, "rank", np.arange(1, len(plan) + 1))
    plan["cumulative_cost"] = plan["cost"].cumsum()
    skipped = frame[~planned].reset_index(drop=True)
    return PlanResult(plan=plan, skipped=skipped, budget=config.budget)


PLAN_COLUMNS = [
    "rank",
    "customer_id",
    "list",
    "action",
    "channel",
    "expected_value",
    "cost",
    "net_value",
    "cumulative_cost",
    "chosen_by",
    "reason",
]


def _number(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series(np.nan, index=frame.index)
    return pd.to_numeric(frame[column], errors="coerce").astype(float)


def _contacts(
    customers: pd.Series,
    intervention: Intervention,
    value: pd.Series,
    chosen_by: pd.Series | str,
    reason: pd.Series,
    list_name: str,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": customers.astype(str).to_numpy(),
            "list": list_name,
            "action": intervention.name,
            "channel": intervention.channel,
            "expected_value": value.to_numpy(dtype=float),
            "cost": intervention.cost,
            "marketing": intervention.marketing,
            "chosen_by": chosen_by if isinstance(chosen_by, str) else chosen_by.to_numpy(),
            "reason": reason.to_numpy(),
        }
    )


def _save_contacts(
    scores: pd.DataFrame,
    playbook: Playbook,
    at_risk: pd.Series,
    uplift: pd.Series,
    reasons: pd.Series,
) -> pd.DataFrame:
    """One row per customer and intervention the playbook gives for their top reason."""
    chosen = [playbook.candidates(r) for r in reasons]
    position = np.repeat(np.arange(len(scores)), [len(c[0]) for c in chosen])
    picked = [playbook.interventions[i.name] for c in chosen for i in c[0]]
    rule = pd.Series([c[1] for c in chosen for _ in c[0]], dtype=object)
    measured_uplift = uplift.iloc[position].to_numpy()
    measured = pd.Series(
        [i.measured_by == "campaign_uplift" for i in picked], dtype=bool
    ) & ~np.isnan(measured_uplift)
    effect = np.where(measured, measured_uplift, [i.effect for i in picked])
    return pd.DataFrame(
        {
            "customer_id": scores["customer_id"].astype(str).iloc[position].to_numpy(),
            "list": "save",
            "action": [i.name for i in picked],
            "channel": [i.channel for i in picked],
            "expected_value": at_risk.iloc[position].to_numpy() * effect,
            "cost": [i.cost for i in picked],
            "marketing": [i.marketing for i in picked],
            "chosen_by": rule.where(~measured, "model: campaign uplift").to_numpy(),
            "reason": reasons.iloc[position].to_numpy(),
        }
    )


def plan_candidates(
    scores: pd.DataFrame,
    follow_ups: pd.DataFrame | None,
    playbook: Playbook,
    margin: float = 0.3,
) -> pd.DataFrame:
    """Every possible contact with its expected value, from the scores and the playbook.

    - save: each intervention the playbook gives for the customer's top reason; expected
      value = churn probability x CLV x margin x effect, where the effect is the measured
      campaign uplift for the intervention it was measured on and the playbook's assumed
      effect otherwise (``chosen_by`` says which);
    - cross-sell: the next best offer; expected value = offer propensity x offer margin x
      the cross-sell offer's effect (its share caused by the contact);
    - service follow-up: one per customer with a complaint past its target; expected value =
      churn probability x CLV x margin x the follow-up's effect. It is service, not
      marketing: it needs no marketing consent.

    Parameters
    ----------
    scores : pandas.DataFrame
        The customer scores (``customer_id``, ``churn_probability``, ``clv_12m``,
        ``reason_1``, ``uplift``; ``next_best_offer``, ``offer_propensity`` and
        ``offer_margin`` where offers were made).
    follow_ups : pandas.DataFrame or None
        The service follow-up list (`crm_ml.reports.actions.service_follow_ups`).
    playbook : Playbook
        Interventions, costs, assumed effects and the reason rules.
    margin : float, default 0.3
        The share of CLV (revenue) that is profit, so that save contacts are valued in the
        same money as offers (whose margin is the product's); 1.0 plans on revenue.

    Returns
    -------
    pandas.DataFrame
        The candidates `action_plan` takes, with ``list``, ``chosen_by`` and ``reason``.
    """
    at_risk = _number(scores, "churn_probability") * _number(scores, "clv_12m") * margin
    uplift = _number(scores, "uplift")
    reasons = scores["reason_1"] if "reason_1" in scores else pd.Series(pd.NA, index=scores.index)
    frames = [_save_contacts(scores, playbook, at_risk, uplift, reasons)]
    offer = playbook.intervention("cross_sell_offer")
    if offer is not None and "next_best_offer" in scores:
        value = _number(scores, "offer_propensity") * _number(scores, "offer_margin")
        has = scores["next_best_offer"].notna() & value.notna()
        frames.append(
            _contacts(
                scores.loc[has, "customer_id"],
                offer,
                value[has] * offer.effect,
                "playbook: next best offer",
                scores.loc[has, "next_best_offer"].astype(str),
                "cross_sell",
            )
        )
    follow_up = playbook.intervention("service_follow_up")
    if follow_up is not None and follow_ups is not None and len(follow_ups):
        owed = scores["customer_id"].astype(str).isin(set(follow_ups["customer_id"].astype(str)))
        frames.append(
            _contacts(
                scores.loc[owed, "customer_id"],
                follow_up,
                at_risk[owed].fillna(0) * follow_up.effect,
                "service target breached",
                pd.Series("complaint open past its first-response target", index=owed[owed].index),
                "service",
            )
        )
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=[*CANDIDATE_COLUMNS, "list", "chosen_by", "reason"])
    candidates = pd.concat(frames, ignore_index=True)
    return candidates[candidates["expected_value"].notna()].reset_index(drop=True)


def project_file(path: str) -> Path:
    """A path of the run config: as given when absolute, else under the project root."""
    file = Path(path)
    return file if file.is_absolute() else project_root() / file


def excluded_customers(path: str | None, known: pd.Series) -> frozenset[str]:
    """The pseudonyms of a do-not-contact CSV (column ``customer_id``, raw ids or
    pseudonyms); raw ids are pseudonymised with the run's key, never kept."""
    if path is None:
        return frozenset()
    file = project_file(path)
    if not file.exists():
        raise FileNotFoundError(f"action_plan.exclude_file {file} does not exist")
    listed = pd.read_csv(file, dtype=str)
    if "customer_id" not in listed:
        raise ValueError(f"{file}: needs a 'customer_id' column (raw ids or pseudonyms)")
    ids = listed["customer_id"].dropna().str.strip()
    pseudonymous = ids.isin(set(known.astype(str)))
    return frozenset(ids[pseudonymous]) | frozenset(pseudonymise_ids(ids[~pseudonymous]))


def run_action_plan(
    paths: RunPaths,
    config: RunConfig,
    scores: pd.DataFrame,
    follow_ups: pd.DataFrame | None,
    playbook: Playbook | None = None,
) -> PlanResult:
    """The run's action plan: candidates from its scores and follow-ups, the playbook
    (``config.action_plan.playbook`` unless given, already read) and limits of
    ``config.action_plan``, the treated campaign contacts of the export as the contact
    history, channel choices from ``customers.preferred_channels`` where the export has
    them; dated at the export's as-of."""
    from crm_ml.reports.run_data import RunData

    settings = config.action_plan
    if playbook is None:
        playbook = load_playbook(
            None if settings.playbook is None else project_file(settings.playbook)
        )
    candidates = plan_candidates(scores, follow_ups, playbook, margin=settings.margin)
    customers = scores[["customer_id", "marketing_consent"]]
    accepted = paths.accepted / "customers.parquet"
    if accepted.exists():
        columns = pq.read_schema(accepted).names
        if "preferred_channels" in columns:
            chosen = pd.read_parquet(accepted, columns=["customer_id", "preferred_channels"])
            customers = customers.merge(chosen, on="customer_id", how="left")
    history = None
    contacts_file = paths.accepted / "contacts.parquet"
    if contacts_file.exists():
        contacts = pd.read_parquet(contacts_file)
        treated = (
            ~contacts["is_control"].astype("boolean").fillna(False).astype(bool)
            if ("is_control" in contacts)
            else pd.Series(True, index=contacts.index)
        )
        history = contacts.loc[treated, ["customer_id"]].assign(ts=contacts.loc[treated, "sent_ts"])
    plan_config = PlanConfig(
        budget=settings.budget,
        max_contacts=settings.max_contacts,
        window_days=settings.window_days,
        min_net_value=settings.min_net_value,
        exclude=excluded_customers(settings.exclude_file, scores["customer_id"]),
    )
    as_of = RunData(paths).data_as_of
    result = action_plan(candidates, customers, plan_config, history=history, as_of=as_of)
    log.info(
        "action plan: %d contacts, cost %.2f, expected net value %.2f (%s)",
        len(result.plan),
        result.cost,
        result.expected_net_value,
        playbook.source,
    )
    return result
