"""The one-page 360 card of one customer: profile, value, risk, offer, service, orders, consent.

Built from the run's score tables and accepted tables, which hold pseudonyms only and no
name, e-mail or phone. A raw customer id typed by a person is pseudonymised with the same
keyed hash as at ingestion (key from CRM_ML_PSEUDONYM_KEY) before the lookup; the card
shows the pseudonym only. Offers and recommendations are withheld from the card of a
customer without marketing consent, which carries a "no marketing contact" banner instead.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from crm_ml.contract import pseudonymise_ids
from crm_ml.contract.privacy import KEY_ENV, PSEUDONYM_LENGTH
from crm_ml.errors import CrmMlError
from crm_ml.naming import safe_name
from crm_ml.pipeline.paths import RunPaths
from crm_ml.reports.actions import HIGH_RISK_PROBABILITY, ActionConfig
from crm_ml.reports.formatting import (
    MISSING,
    fmt_count,
    fmt_date,
    fmt_minutes,
    fmt_money,
    fmt_percent,
    fmt_pp,
    humanise,
    is_missing,
)
from crm_ml.reports.rendering import render
from crm_ml.reports.run_data import RunData

log = logging.getLogger(__name__)

PSEUDONYM_PATTERN = re.compile(rf"[0-9a-f]{{{PSEUDONYM_LENGTH}}}")
MEDIUM_RISK_PROBABILITY = 0.25
TICKETS_SHOWN = 8
ORDERS_SHOWN = 5
RECOMMENDATIONS_SHOWN = 5


class CustomerNotFoundError(CrmMlError, LookupError):
    """The id is neither a pseudonym nor a raw id of a scored customer of the run."""

    exit_code = 1


def resolve_customer(customer_id: str, known: pd.Series, run_id: str) -> str:
    """The pseudonym of `customer_id` (a pseudonym already, or a raw id to pseudonymise)."""
    ids = set(known.astype(str))
    if customer_id in ids:
        return customer_id
    pseudonym = str(pseudonymise_ids(pd.Series([customer_id])).iloc[0])
    if pseudonym in ids:
        return pseudonym
    if PSEUDONYM_PATTERN.fullmatch(customer_id):
        message = (
            f"customer {customer_id} not found in run {run_id}: no scored customer has this "
            f"pseudonym, and read as a raw id its pseudonym {pseudonym} is unknown too"
        )
    else:
        # the raw id is not repeated: it may be personal data and errors end up in logs
        message = (
            f"customer not found in run {run_id}: the raw customer id given (pseudonym "
            f"{pseudonym}) is not among the {len(ids):,} scored customers"
        )
    raise CustomerNotFoundError(
        f"{message}. Pseudonyms are keyed with {KEY_ENV}: check it is the key the data was "
        "ingested with, and that the customer was not erased or filtered out."
    )


def _read_accepted(accepted_dir: Path, table: str) -> pd.DataFrame | None:
    path = accepted_dir / f"{table}.parquet"
    return pd.read_parquet(path) if path.is_file() else None


def _of_customer(frame: pd.DataFrame | None, pseudonym: str) -> pd.DataFrame | None:
    if frame is None or "customer_id" not in frame.columns:
        return None
    return frame[frame["customer_id"].astype(str) == pseudonym]


def _tenure(signup: Any, as_of: pd.Timestamp) -> str:
    if is_missing(signup):
        return MISSING
    days = (as_of - pd.Timestamp(signup)).days
    if days < 60:
        return f"{days} days"
    if days < 730:
        return f"{round(days / 30.4)} months"
    return f"{days / 365.25:.1f} years"


def _risk_band(probability: float | None) -> tuple[str, str]:
    if probability is None:
        return "unknown", "na"
    if probability >= HIGH_RISK_PROBABILITY:
        return "high", "bad"
    if probability >= MEDIUM_RISK_PROBABILITY:
        return "medium", "warn"
    return "low", "good"


@dataclass(frozen=True)
class TicketLine:
    kind: str
    opened: str
    first_response: str
    target: str
    late: bool
    status: str


def _tickets(
    tickets: pd.DataFrame | None, tier: Any, as_of: pd.Timestamp, config: ActionConfig
) -> list[TicketLine] | None:
    if tickets is None:
        return None
    lines = []
    for row in (
        tickets.sort_values("opened_ts", ascending=False).head(TICKETS_SHOWN).to_dict("records")
    ):
        kind = str(row["kind"])
        target = config.target(tier, kind) if kind in config.kind_target_minutes else None
        responded = row.get("first_response_ts")
        resolved = row.get("resolved_ts")
        answered = not is_missing(responded) and responded <= as_of
        minutes = (
            (responded - row["opened_ts"]).total_seconds() / 60
            if answered
            else (as_of - row["opened_ts"]).total_seconds() / 60
        )
        is_open = is_missing(resolved) or resolved > as_of
        lines.append(
            TicketLine(
                kind=humanise(kind),
                opened=fmt_date(row["opened_ts"]),
                first_response=fmt_minutes(minutes)
                if answered
                else f"none yet ({fmt_minutes(minutes)})",
                target=fmt_minutes(target),
                late=target is not None and minutes > target,
                status="open" if is_open else f"resolved {fmt_date(resolved)}",
            )
        )
    return lines


def _orders(
    orders: pd.DataFrame | None, products: pd.DataFrame | None, as_of: pd.Timestamp
) -> dict[str, Any] | None:
    if orders is None:
        return None
    year = orders[orders["ts"] > as_of - pd.Timedelta(days=365)]
    returns = (
        year["is_return"].fillna(False).astype(bool)
        if "is_return" in year
        else pd.Series(False, index=year.index)
    )
    headers = (
        orders.groupby("order_id", observed=True)
        .agg(ts=("ts", "min"), lines=("product_id", "size"), amount=("amount", "sum"))
        .sort_values("ts", ascending=False)
    )
    top_categories: list[str] = []
    if products is not None and len(year):
        categories = year.merge(products[["product_id", "category"]], on="product_id", how="left")
        top_categories = [
            humanise(c) for c in categories.groupby("category")["amount"].sum().nlargest(3).index
        ]
    return {
        "orders_365d": fmt_count(year.loc[~returns, "order_id"].nunique() if len(year) else 0),
        "net_spend_365d": fmt_money(year["amount"].sum() if len(year) else 0),
        "last_order": fmt_date(headers["ts"].iloc[0]) if len(headers) else MISSING,
        "top_categories": ", ".join(top_categories) or MISSING,
        "recent": [
            {"date": fmt_date(h.ts), "lines": fmt_count(h.lines), "amount": fmt_money(h.amount)}
            for h in headers.head(ORDERS_SHOWN).itertuples()
        ],
    }


def _recommendations(recs: pd.DataFrame | None) -> list[dict[str, str]] | None:
    if recs is None:
        return None
    top = recs.sort_values("rank").head(RECOMMENDATIONS_SHOWN) if "rank" in recs else recs.head(5)
    return [
        {
            "product": str(r.get("product_id", MISSING)),
            "category": humanise(r.get("category")),
            "reason": MISSING if is_missing(r.get("reason")) else str(r.get("reason")),
        }
        for r in top.to_dict("records")
    ]


def _value(row: dict[str, Any], column: str) -> Any:
    value = row.get(column)
    return None if is_missing(value) else value


def _spend_outlook(row: dict[str, Any]) -> list[tuple[str, str]]:
    """The chance of buying in the scoring horizon and the 80% range of the amount if they
    do; nothing when the scores have no interval (a spend model of an earlier release)."""
    p_spend, low, high = (_value(row, c) for c in ("p_spend", "spend_low", "spend_high"))
    if p_spend is None or low is None or high is None:
        return []
    return [
        ("Chance of buying, next 90 days", fmt_percent(p_spend, 0)),
        ("If they buy, 80% range", f"{fmt_money(low)} to {fmt_money(high)}"),
    ]


def card_context(
    customer_id: str,
    paths: RunPaths,
    accepted_dir: Path | None = None,
    config: ActionConfig | None = None,
) -> dict[str, Any]:
    """Everything the card template shows for one customer (by pseudonym or raw id)."""
    run = RunData(paths)
    scores = run.scores()
    if scores is None:
        raise FileNotFoundError(
            f"{paths.scores / 'customer_scores.parquet'} is missing: the customer card needs "
            "the scores of run " + paths.run_id
        )
    config = config or ActionConfig()
    pseudonym = resolve_customer(customer_id, scores["customer_id"], paths.run_id)
    row = scores[scores["customer_id"].astype(str) == pseudonym].iloc[0].to_dict()
    accepted_dir = accepted_dir or paths.accepted
    orders = _of_customer(_read_accepted(accepted_dir, "orders"), pseudonym)
    as_of = run.data_as_of or (
        orders["ts"].max() if orders is not None and len(orders) else pd.Timestamp.now("UTC")
    )
    profile = _of_customer(_read_accepted(accepted_dir, "customers"), pseudonym)
    profile_row = profile.iloc[0].to_dict() if profile is not None and len(profile) else {}
    consent = bool(_value(row, "marketing_consent") or False)
    probability = _value(row, "churn_probability")
    band, band_class = _risk_band(None if probability is None else float(probability))
    return {
        "pseudonym": pseudonym,
        "run_id": paths.run_id,
        "as_of": fmt_date(as_of),
        "consent": consent,
        "profile": [
            ("Region", profile_row.get("region") or MISSING),
            ("Customer for", _tenure(profile_row.get("signup_ts"), as_of)),
            ("Segment", humanise(_value(row, "segment"))),
            ("Lifecycle stage", humanise(_value(row, "lifecycle_stage"))),
            ("Service tier", humanise(_value(row, "service_tier"))),
        ],
        "value": [
            ("Predicted value, next 12 months", fmt_money(_value(row, "clv_12m"))),
            *_spend_outlook(row),
            ("Spend, last 365 days", fmt_money(_value(row, "total_spend_365d"))),
            ("Days since last order", fmt_count(_value(row, "days_since_last_order"))),
        ],
        "churn": {
            "probability": fmt_percent(probability, 0),
            "band": band,
            "band_class": band_class,
            "reasons": [
                str(row[c]) for c in ("reason_1", "reason_2", "reason_3") if _value(row, c)
            ],
            "uplift": fmt_pp(_value(row, "uplift")),
        },
        "offer": {
            "category": humanise(_value(row, "next_best_offer")),
            "reason": _value(row, "offer_reason") or MISSING,
        },
        "recommendations": _recommendations(_of_customer(run.scores("recommendations"), pseudonym)),
        "tickets": _tickets(
            _of_customer(_read_accepted(accepted_dir, "tickets"), pseudonym),
            _value(row, "service_tier"),
            as_of,
            config,
        ),
        "orders": _orders(orders, _read_accepted(accepted_dir, "products"), as_of),
    }


def build_customer_card(
    customer_id: str,
    paths: RunPaths,
    accepted_dir: Path | None = None,
    config: ActionConfig | None = None,
) -> str:
    """The 360 card of one customer as a self-contained HTML page."""
    return render("customer_card.html.j2", **card_context(customer_id, paths, accepted_dir, config))


def write_customer_card(
    customer_id: str,
    paths: RunPaths,
    accepted_dir: Path | None = None,
    config: ActionConfig | None = None,
) -> Path:
    """Write the card to `paths.report / "customers" / "<pseudonym>.html"` (a pseudonym is
    hex, so it is its own `safe_name`; any other id in the scores gets slug + hash)."""
    context = card_context(customer_id, paths, accepted_dir, config)
    name = safe_name(str(context["pseudonym"]), keep_plain=True)
    target = paths.report / "customers" / f"{name}.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render("customer_card.html.j2", **context), encoding="utf-8")
    log.info("customer card written to %s", target)
    return target


def sample_customer(scores: pd.DataFrame) -> str:
    """A customer worth showing: the consenting one with the most value at risk."""
    value = pd.Series(1.0, index=scores.index)
    for column in ("total_spend_365d", "clv_12m"):  # the later, the better a measure
        if column in scores and scores[column].notna().any():
            value = scores[column].astype(float).fillna(0.0)
    at_risk = scores["churn_probability"].astype(float).fillna(0.0) * value
    if "marketing_consent" in scores:
        consenting = scores["marketing_consent"].astype("boolean").fillna(False).astype(bool)
        if consenting.any():
            at_risk = at_risk.where(consenting)
    return str(scores.loc[at_risk.idxmax(), "customer_id"])
