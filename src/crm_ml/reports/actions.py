"""Action lists for CRM import: whom to save, whom to cross-sell to, which complaints to chase.

customers_to_save
    High value (CLV at or above the `high_value_quantile` of all scored customers) x high
    churn risk (churn probability >= `churn_probability_min`) x positive uplift (a contact
    is expected to change the outcome). Sorted by the expected saved value

        expected_saved_value = churn_probability x clv_12m x uplift

    i.e. the value at risk (the chance of losing the customer times what they would spend)
    times the share a contact is expected to win back (uplift, in probability points). Each
    row carries the top reason code, the intervention the playbook gives for it
    (`crm_ml.reports.playbook`: a complaint -> "service callback", falling purchase
    frequency -> "exclusive offer", ...) and which playbook rule chose it.
cross_sell_audience
    Customers with a next best offer, most valuable first, with the offer's reason.
renewals_to_secure
    Only when the export has subscriptions: term contracts of consenting customers up for
    renewal within the horizon, the most value at risk (churn probability x annual value)
    first, with the top reason (notebook 03_churn_contracts scores them).
service_follow_ups
    Complaints still open at the as-of time whose first response breached the target of
    the customer's service tier: answered later than the target, or not answered and
    waiting longer than it. Without a `first_response_ts` column a complaint counts as
    unanswered.

Consent: customers_to_save and cross_sell_audience are marketing, so a customer without
marketing consent (False or unknown) NEVER appears in them. service_follow_ups is service,
not marketing: a customer who complained is owed an answer whatever their marketing
consent, so that list includes everyone (it says nothing about offers).
Spreadsheet-safe: the CSV files are meant to be opened, so a text cell that starts like a
formula (`=`, `+`, `-`, `@`, tab, carriage return; a category or offer can be named
`=1+1`) is written with a leading `'`, and lines end in CRLF so a cell holding a carriage
return is quoted rather than split into a new row (OWASP "CSV Injection",
`crm_ml.csv_safety`); the Parquet files keep the raw values.
No personal data: every list holds the customer pseudonym and model outputs only, picked
by an explicit column list, so a stray column of the score table cannot leak into a CSV.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from crm_ml.csv_safety import to_spreadsheet_csv
from crm_ml.pipeline.config import KpiTargets, RunConfig
from crm_ml.pipeline.paths import RunPaths
from crm_ml.reports.plan import PLAN_COLUMNS, project_file, run_action_plan
from crm_ml.reports.playbook import Playbook, load_playbook

log = logging.getLogger(__name__)

HIGH_RISK_PROBABILITY = 0.5
LIST_NAMES = ("customers_to_save", "cross_sell_audience", "service_follow_ups")
EMPTY_FILE = "why_empty.json"  # beside the lists: list name -> why it holds no row
PLAN_SUMMARY = "action_plan_summary.parquet"  # per action: contacts, cost, value, skipped
PLAN_TOTALS = "action_plan_totals.json"  # budget, cost, expected value, net value, ROI
CONTRACT_SCORES = "contract_scores"  # written by the contract churn notebook, when it runs

SAVE_COLUMNS = [
    "customer_id",
    "segment",
    "lifecycle_stage",
    "service_tier",
    "churn_probability",
    "clv_12m",
    "uplift",
    "expected_saved_value",
    "value_at_risk",
    "reason",
    "suggested_intervention",
    "chosen_by",
]
CROSS_SELL_COLUMNS = [
    "customer_id",
    "segment",
    "lifecycle_stage",
    "next_best_offer",
    "offer_reason",
    "clv_12m",
]
FOLLOW_UP_COLUMNS = [
    "ticket_id",
    "customer_id",
    "service_tier",
    "opened_ts",
    "hours_open",
    "first_response_minutes",
    "target_minutes",
    "breach",
]


def _kind_targets(targets: KpiTargets) -> dict[str, float]:
    return {
        "complaint": float(targets.complaint_first_response_minutes),
        "fault": float(targets.fault_first_response_minutes),
        "consult": float(targets.consult_first_response_minutes),
    }


@dataclass(frozen=True)
class ActionConfig:
    """Thresholds of the action lists.

    sla_target_minutes: first-response target per service tier and ticket kind; a tier
        missing here (or a customer without a tier) gets `kind_target_minutes`.
    """

    churn_probability_min: float = HIGH_RISK_PROBABILITY
    high_value_quantile: float = 0.7
    uplift_min: float = 0.0  # uplift must be strictly above this
    max_customers_to_save: int | None = None
    kind_target_minutes: Mapping[str, float] = field(
        default_factory=lambda: _kind_targets(KpiTargets())
    )
    sla_target_minutes: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    playbook: Playbook = field(default_factory=load_playbook)
    # False for a single customer table, which has no campaigns to measure uplift on: the
    # save list then ranks by value at risk (churn_probability x clv_12m) and says so
    require_uplift: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.high_value_quantile < 1.0:
            raise ValueError(
                f"ActionConfig.high_value_quantile must be in [0, 1), got {self.high_value_quantile}"
            )
        if not 0.0 <= self.churn_probability_min <= 1.0:
            raise ValueError(
                "ActionConfig.churn_probability_min must be a probability, got "
                f"{self.churn_probability_min}"
            )

    @classmethod
    def from_run_config(cls, config: RunConfig, **overrides) -> ActionConfig:
        """Targets from the scorecard's KPI targets, per-tier ones from the feature settings."""
        tiers = config.features.get("sla_target_minutes") or {}
        overrides.setdefault("require_uplift", config.data.source != "table")
        if config.action_plan.playbook is not None:
            overrides.setdefault(
                "playbook", load_playbook(project_file(config.action_plan.playbook))
            )
        return cls(
            kind_target_minutes=_kind_targets(config.kpi_targets),
            sla_target_minutes={t: dict(k) for t, k in tiers.items()},
            **overrides,
        )

    def target(self, tier: object, kind: str) -> float:
        by_kind = self.sla_target_minutes.get(str(tier), {}) if isinstance(tier, str) else {}
        return float(by_kind.get(kind, self.kind_target_minutes[kind]))

    def intervention(self, reason: object) -> tuple[str, str]:
        """The playbook's first intervention for a top reason code, in words, and the rule
        that chose it ("no contact" where the playbook says to leave the customer be)."""
        chosen, rule = self.playbook.candidates(reason)
        return (chosen[0].name.replace("_", " ") if chosen else "no contact"), rule


def consent_mask(scores: pd.DataFrame) -> pd.Series:
    """True only where marketing consent is known to be given (missing counts as no)."""
    if "marketing_consent" not in scores.columns:
        raise ValueError(
            "customer scores lack the 'marketing_consent' column: marketing lists cannot be "
            "built without knowing consent (the contract always provides it)"
        )
    column = scores["marketing_consent"]
    try:
        flags = column.astype("boolean")
    except (TypeError, ValueError):
        raise ValueError(
            "customer scores column 'marketing_consent' must hold booleans, found values such "
            f"as {column.dropna().unique()[:3].tolist()}"
        ) from None
    return flags.fillna(False).astype(bool)


def _require(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks the column(s) {missing} needed for the action lists")


def _present(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return frame[[c for c in columns if c in frame.columns]].reset_index(drop=True)


def customers_to_save(scores: pd.DataFrame, config: ActionConfig) -> pd.DataFrame:
    _require(scores, ["customer_id", "churn_probability", "clv_12m", "uplift"], "customer scores")
    clv = scores["clv_12m"].astype(float)
    uplift = scores["uplift"].astype(float)
    chosen = scores[
        consent_mask(scores)
        & _high_value(clv, config)
        & (scores["churn_probability"].astype(float) >= config.churn_probability_min)
        & ((uplift > config.uplift_min) | (uplift.isna() & (not config.require_uplift)))
    ].copy()
    at_risk = chosen["churn_probability"].astype(float) * chosen["clv_12m"].astype(float)
    chosen["expected_saved_value"] = at_risk * chosen["uplift"].astype(float)
    if not config.require_uplift:  # no uplift known: rank by what is at stake
        chosen["value_at_risk"] = at_risk.fillna(chosen["churn_probability"].astype(float))
        chosen["expected_saved_value"] = chosen["expected_saved_value"].fillna(
            chosen["value_at_risk"]
        )
    reason = chosen["reason_1"] if "reason_1" in chosen else pd.Series(pd.NA, chosen.index)
    chosen["reason"] = reason
    suggested = [config.intervention(r) for r in reason]
    chosen["suggested_intervention"] = pd.Series(
        [s for s, _ in suggested], index=chosen.index, dtype=str
    )
    chosen["chosen_by"] = pd.Series([r for _, r in suggested], index=chosen.index, dtype=str)
    chosen = chosen.sort_values("expected_saved_value", ascending=False, kind="stable")
    chosen["expected_saved_value"] = chosen["expected_saved_value"].round(2)
    if config.max_customers_to_save is not None:
        chosen = chosen.head(config.max_customers_to_save)
    return _present(chosen, SAVE_COLUMNS)


def _high_value(clv: pd.Series, config: ActionConfig) -> pd.Series:
    """At or above the high-value quantile; everyone when no customer has a value."""
    if clv.isna().all():
        return pd.Series(True, index=clv.index)
    return clv >= (clv.quantile(config.high_value_quantile) if len(clv) else np.inf)


def cross_sell_audience(scores: pd.DataFrame, config: ActionConfig) -> pd.DataFrame:
    _require(scores, ["customer_id", "next_best_offer"], "customer scores")
    chosen = scores[consent_mask(scores) & scores["next_best_offer"].notna()]
    if "clv_12m" in chosen:
        chosen = chosen.sort_values("clv_12m", ascending=False, kind="stable")
    return _present(chosen, CROSS_SELL_COLUMNS)


def _latest_timestamp(tickets: pd.DataFrame) -> pd.Timestamp:
    stamps = [
        tickets[c].max()
        for c in ("opened_ts", "first_response_ts", "resolved_ts")
        if c in tickets.columns
    ]
    stamps = [s for s in stamps if not pd.isna(s)]
    if not stamps:
        raise ValueError("tickets have no timestamps to take the as-of time from; pass as_of")
    return max(stamps)


def _utc(value: str | pd.Timestamp) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tz is None else stamp.tz_convert("UTC")


def service_follow_ups(
    tickets: pd.DataFrame | None,
    scores: pd.DataFrame,
    config: ActionConfig,
    as_of: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Open complaints at `as_of` whose first response breached the customer's tier target."""
    if tickets is None or tickets.empty:
        return pd.DataFrame(columns=FOLLOW_UP_COLUMNS)
    _require(tickets, ["ticket_id", "customer_id", "opened_ts", "kind"], "tickets")
    now = _utc(as_of) if as_of is not None else _latest_timestamp(tickets)
    t = tickets[(tickets["kind"].astype(str) == "complaint") & (tickets["opened_ts"] <= now)]
    resolved = t["resolved_ts"] if "resolved_ts" in t else pd.Series(pd.NaT, t.index)
    t = t[resolved.isna() | (resolved > now)].copy()
    responded = t["first_response_ts"] if "first_response_ts" in t else pd.Series(pd.NaT, t.index)
    responded = responded.where(responded <= now)  # an answer after as_of was not given yet
    tiers = (
        scores.set_index(scores["customer_id"].astype(str))["service_tier"]
        if ("service_tier" in scores)
        else pd.Series(dtype=object)
    )
    t["service_tier"] = t["customer_id"].astype(str).map(tiers)
    t["target_minutes"] = [config.target(tier, "complaint") for tier in t["service_tier"]]
    t["hours_open"] = ((now - t["opened_ts"]).dt.total_seconds() / 3600).round(1)
    t["first_response_minutes"] = ((responded - t["opened_ts"]).dt.total_seconds() / 60).round(1)
    late = t["first_response_minutes"] > t["target_minutes"]
    waiting = responded.isna() & (t["hours_open"] * 60 > t["target_minutes"])
    t["breach"] = np.select([late, waiting], ["first response late", "no first response yet"], "")
    breached = t[late | waiting].sort_values("hours_open", ascending=False, kind="stable")
    return _present(breached, FOLLOW_UP_COLUMNS)


RENEWAL_COLUMNS = [
    "subscription_id",
    "holder_id",
    "customer_id",
    "product_id",
    "days_to_renewal",
    "churn_probability",
    "annual_value",
    "value_at_risk",
    "reason_1",
]


def renewal_calendar(scores: pd.DataFrame) -> pd.DataFrame:
    """Term contracts up for renewal within the horizon, the most value at risk first.

    Parameters
    ----------
    scores : pandas.DataFrame
        The contract scores (`score_contracts`).

    Returns
    -------
    pandas.DataFrame
        The `RENEWAL_COLUMNS` of those contracts, with days_to_renewal rounded to days.

    Examples
    --------
    >>> scores = pd.DataFrame({"subscription_id": ["s1", "s2", "s3"], "holder_id": "a",
    ...     "customer_id": "c", "product_id": "p", "days_to_renewal": [10.2, 40.0, 200.0],
    ...     "churn_probability": [0.1, 0.5, 0.9], "annual_value": [100.0, 100.0, 100.0],
    ...     "value_at_risk": [10.0, 50.0, 90.0], "reason_1": "",
    ...     "renews_within_horizon": [True, True, False]})
    >>> renewal_calendar(scores)["subscription_id"].tolist()
    ['s2', 's1']
    """
    upcoming = scores[scores["renews_within_horizon"]].sort_values(
        "value_at_risk", ascending=False, kind="stable"
    )
    return (
        upcoming[RENEWAL_COLUMNS]
        .assign(days_to_renewal=upcoming["days_to_renewal"].round(0))
        .reset_index(drop=True)
    )


def renewals_to_secure(scores: pd.DataFrame) -> pd.DataFrame:
    """The renewal calendar of customers with marketing consent: the account managers'
    list (a customer without consent is never on an action list).

    Parameters
    ----------
    scores : pandas.DataFrame
        The contract scores (`score_contracts`).

    Returns
    -------
    pandas.DataFrame
        The renewal calendar's columns, consenting customers only.

    Examples
    --------
    >>> scores = pd.DataFrame({"subscription_id": ["s1", "s2"], "holder_id": "a",
    ...     "customer_id": ["c1", "c2"], "product_id": "p", "days_to_renewal": [10.0, 40.0],
    ...     "churn_probability": [0.1, 0.5], "annual_value": [100.0, 100.0],
    ...     "value_at_risk": [10.0, 50.0], "reason_1": "",
    ...     "renews_within_horizon": True, "marketing_consent": [True, False]})
    >>> renewals_to_secure(scores)["subscription_id"].tolist()
    ['s1']
    """
    return renewal_calendar(scores[scores["marketing_consent"].astype(bool)])


def build_action_lists(
    scores: pd.DataFrame,
    tickets: pd.DataFrame | None,
    config: ActionConfig | RunConfig | None = None,
    *,
    as_of: str | pd.Timestamp | None = None,
) -> dict[str, pd.DataFrame]:
    """The three lists by name; `as_of` (default: the latest ticket timestamp) dates them."""
    if isinstance(config, RunConfig):
        config = ActionConfig.from_run_config(config)
    config = config or ActionConfig()
    lists = {
        "customers_to_save": customers_to_save(scores, config),
        "cross_sell_audience": cross_sell_audience(scores, config),
        "service_follow_ups": service_follow_ups(tickets, scores, config, as_of),
    }
    log.info("action lists: %s", {name: len(frame) for name, frame in lists.items()})
    return lists


def _first_empty(steps: list[tuple[str, pd.Series]]) -> str:
    """The reason of the first filter that leaves no row (steps are cumulative masks)."""
    keep = None
    for reason, mask in steps:
        keep = mask if keep is None else keep & mask
        if not keep.any():
            return reason
    return "no customer passes every condition at once"


def why_empty(
    lists: Mapping[str, pd.DataFrame],
    scores: pd.DataFrame,
    tickets: pd.DataFrame | None,
    config: ActionConfig,
) -> dict[str, str]:
    """For each empty list, the first condition no customer (or ticket) met, in words, so an
    empty CSV is never left unexplained."""
    n = len(scores)
    reasons: dict[str, str] = {}
    if n == 0:
        return {name: "no customer was scored" for name, frame in lists.items() if frame.empty}
    consent = consent_mask(scores)
    no_consent = (
        f"none of the {n:,} scored customers has marketing consent (a customer without a "
        "consent value counts as not consenting)"
    )
    if "customers_to_save" in lists and lists["customers_to_save"].empty:
        clv = scores["clv_12m"].astype(float)
        uplift = scores["uplift"].astype(float)
        reasons["customers_to_save"] = _first_empty(
            [
                (no_consent, consent),
                (
                    "no uplift model was available, so no contact can be shown to change "
                    "anyone's outcome (it needs campaign contacts with a control group)",
                    uplift.notna() | (not config.require_uplift),
                ),
                (
                    f"no consenting customer has a churn probability of at least "
                    f"{config.churn_probability_min:.0%}",
                    scores["churn_probability"].astype(float) >= config.churn_probability_min,
                ),
                (
                    "no consenting customer at risk is among the most valuable "
                    f"{1 - config.high_value_quantile:.0%}",
                    _high_value(clv, config),
                ),
                (
                    "no such customer is expected to respond to a contact (uplift <= 0)",
                    (uplift > config.uplift_min) | (uplift.isna() & (not config.require_uplift)),
                ),
            ]
        )
    if "cross_sell_audience" in lists and lists["cross_sell_audience"].empty:
        reasons["cross_sell_audience"] = _first_empty(
            [
                (no_consent, consent),
                (
                    "no next best offer was made (see the recommendations section)",
                    scores["next_best_offer"].notna(),
                ),
            ]
        )
    if "renewals_to_secure" in lists and lists["renewals_to_secure"].empty:
        reasons["renewals_to_secure"] = (
            "no term contract of a consenting customer is up for renewal within the horizon"
        )
    if "service_follow_ups" in lists and lists["service_follow_ups"].empty:
        reasons["service_follow_ups"] = (
            "the export has no tickets table"
            if tickets is None
            else "no complaint is open past its first-response target at the export date"
        )
    return reasons


def write_action_lists(lists: Mapping[str, pd.DataFrame], out_dir: Path) -> dict[str, Path]:
    """Each list as `<name>.csv` (for CRM import and spreadsheets, formulas neutralised) and
    `<name>.parquet` (raw values); returns the CSV paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, frame in lists.items():
        csv = out_dir / f"{name}.csv"
        to_spreadsheet_csv(frame, csv, index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
        frame.to_parquet(out_dir / f"{name}.parquet", index=False)
        written[name] = csv
    return written


def write_run_action_lists(paths: RunPaths, config: RunConfig) -> dict[str, Path]:
    """The run's action lists in `paths.report / "actions"`, dated at the export's as-of."""
    from crm_ml.reports.run_data import RunData

    run = RunData(paths)
    scores = run.scores()
    if scores is None:
        raise FileNotFoundError(
            f"{paths.scores / 'customer_scores.parquet'} is missing: run the scoring notebook "
            "before building action lists"
        )
    tickets_file = paths.accepted / "tickets.parquet"
    tickets = pd.read_parquet(tickets_file) if tickets_file.exists() else None
    action_config = ActionConfig.from_run_config(config)  # reads the playbook once
    lists = build_action_lists(scores, tickets, action_config, as_of=run.data_as_of)
    contracts = run.scores(CONTRACT_SCORES)
    if contracts is not None:
        lists["renewals_to_secure"] = renewals_to_secure(contracts)
    plan = run_action_plan(
        paths, config, scores, lists["service_follow_ups"], playbook=action_config.playbook
    )
    lists["action_plan"] = plan.plan[PLAN_COLUMNS]
    out = paths.report / "actions"
    written = write_action_lists(lists, out)
    plan.summary().to_parquet(out / PLAN_SUMMARY, index=False)
    (out / PLAN_TOTALS).write_text(json.dumps(plan.totals(), indent=2))
    empty = why_empty(lists, scores, tickets, action_config)
    if plan.plan.empty:
        empty["action_plan"] = plan.why_empty()
    (out / EMPTY_FILE).write_text(json.dumps(empty, indent=2))
    return written
