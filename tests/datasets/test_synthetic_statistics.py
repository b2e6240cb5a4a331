"""The generator's statistics match the parameters it was given (within sampling error)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from crm_ml.datasets.synthetic import PROFILES, WorldSummary
from crm_ml.datasets.synthetic.clock import seconds_to_active

RETAIL = PROFILES["retail"]
DAY = pd.Timedelta(days=1)


@pytest.fixture(scope="module")
def world(synthetic_world: WorldSummary) -> dict[str, pd.DataFrame]:
    folder = synthetic_world.out_dir
    frames = {
        name: pd.read_parquet(folder / f"{name}.parquet")
        for name in (
            "customers",
            "products",
            "orders",
            "events",
            "tickets",
            "contacts",
            "surveys",
            "exclusions",
        )
    }
    for name in ("customers", "purchases", "contacts", "campaigns", "category_affinity"):
        frames[f"truth_{name}"] = pd.read_parquet(folder / "truth" / f"{name}.parquet")
    frames["manifest"] = json.loads((folder / "manifest.json").read_text())
    return frames


def _within(observed: float, expected: float, sd: float, z: float = 4.0) -> bool:
    return abs(observed - expected) <= z * sd


def test_purchase_rates_follow_the_gamma_prior(world: dict) -> None:
    rate = world["truth_customers"]["purchase_rate_per_day"]
    expected = RETAIL.purchase_shape / RETAIL.purchase_rate_days
    assert _within(rate.mean(), expected, rate.std() / np.sqrt(len(rate)))


def test_organic_purchases_match_lambda_times_alive_exposure(world: dict) -> None:
    """Sum of organic repeat purchases = sum of lambda x active time alive (Poisson)."""
    origin = pd.Timestamp(world["manifest"]["history_start"])
    as_of = pd.Timestamp(world["manifest"]["as_of"])
    truth, purchases = world["truth_customers"], world["truth_purchases"]
    first = purchases.groupby("customer_id")["ts"].min()

    def active(ts: pd.Series) -> np.ndarray:
        return seconds_to_active(((ts - origin) // pd.Timedelta(seconds=1)).to_numpy())

    end = truth["death_ts"].fillna(as_of).set_axis(truth["customer_id"])
    exposure = active(end.loc[first.index]) - active(first)
    lam = truth.set_index("customer_id").loc[first.index, "purchase_rate_per_day"].to_numpy()
    expected = float((lam * exposure).sum())
    organic = purchases[purchases["source"] == "organic"]
    observed = len(organic) - len(first)  # the signup order is not part of the process
    assert _within(observed, expected, np.sqrt(expected))


def test_dropout_happens_at_the_stated_per_purchase_probability(world: dict) -> None:
    purchases = world["truth_purchases"]
    p = purchases["dropout_probability"]
    assert _within(purchases["dropped_out"].sum(), p.sum(), np.sqrt((p * (1 - p)).sum()))
    base = world["truth_customers"]["dropout_probability"]
    assert _within(base.mean(), RETAIL.mean_dropout, base.std() / np.sqrt(len(base)))
    # dead customers in truth are exactly those who dropped out at a purchase
    dead = world["truth_customers"].loc[~world["truth_customers"]["alive_at_end"], "customer_id"]
    assert set(dead) == set(purchases.loc[purchases["dropped_out"], "customer_id"])


def test_service_trouble_raises_the_dropout_chance(world: dict) -> None:
    purchases = world["truth_purchases"]
    troubled = (purchases["open_complaints"] > 0) | (purchases["visible_sla_breaches"] > 0)
    assert troubled.sum() > 200
    assert (
        purchases.loc[troubled, "dropped_out"].mean()
        > 1.3 * purchases.loc[~troubled, "dropped_out"].mean()
    )


def test_control_group_share_matches_the_campaign_plan(world: dict) -> None:
    contacts, campaigns = world["contacts"], world["truth_campaigns"]
    share = contacts.merge(campaigns, on="campaign_id")["control_share"]
    expected = share.mean()
    sd = np.sqrt(expected * (1 - expected) / len(contacts))
    assert _within(contacts["is_control"].mean(), expected, sd)
    assert RETAIL.control_share[0] <= expected <= RETAIL.control_share[1]


def _lift(contacts: pd.DataFrame) -> tuple[float, float]:
    """Response rate of treated minus control contacts, and its standard error."""
    rates = contacts.groupby("is_control")["responded"].agg(["mean", "size"])
    treated, control = rates.loc[False], rates.loc[True]
    sd = np.sqrt(sum(r["mean"] * (1 - r["mean"]) / r["size"] for r in (treated, control)))
    return treated["mean"] - control["mean"], sd


def test_each_treatment_works_where_the_customer_situation_says(world: dict) -> None:
    truth = world["truth_contacts"]
    contacts = (
        world["contacts"]
        .merge(truth[["contact_id", "true_effect_callback", "alive_at_send"]], on="contact_id")
        .merge(
            world["truth_customers"][["customer_id", "is_persuadable", "price_sensitivity"]],
            on="customer_id",
        )
    )
    contacts["responded"] = contacts["responded_ts"].notna()
    by = {
        name: contacts[contacts["treatment"] == name] for name in ("coupon", "callback", "loyalty")
    }
    for name, rows in by.items():
        if name != "callback":  # the callback works on the few with an open complaint: below
            lift, sd = _lift(rows)
            assert lift > 4 * sd, name
        costs = rows.loc[~rows["is_control"], "cost"]
        assert costs.nunique() == 1 and costs.iloc[0] > 0, name
        assert (rows.loc[rows["is_control"], "cost"] == 0).all(), name

    def gap(rows: pd.DataFrame, where: pd.Series) -> tuple[float, float]:
        """Lift where `where` minus lift elsewhere, among customers alive at the send (the
        dead answer nothing, and long-standing customers are more often dead)."""
        where, rows = where[rows["alive_at_send"]], rows[rows["alive_at_send"]]
        (high, sd_high), (low, sd_low) = _lift(rows[where]), _lift(rows[~where])
        return high - low, float(np.hypot(sd_high, sd_low))

    coupon = by["coupon"]
    difference, sd = gap(coupon, coupon["price_sensitivity"] > coupon["price_sensitivity"].median())
    assert difference > 3 * sd  # price-sensitive customers take the coupon
    loyalty = by["loyalty"]
    tenure = (
        loyalty["sent_ts"]
        - loyalty["customer_id"].map(world["customers"].set_index("customer_id")["signup_ts"])
    ).dt.days
    difference, sd = gap(loyalty, tenure > 365)
    assert difference > 3 * sd  # long-standing customers value the loyalty benefit
    callback = by["callback"]
    open_complaint = callback["true_effect_callback"] >= 0.3  # recovery: only with one open
    assert 0 < open_complaint.mean() < 0.2
    difference, sd = gap(callback, open_complaint)
    assert difference > 3 * sd
    assert (truth.loc[~truth["alive_at_send"], "true_effect"] == 0).all()
    own = truth["true_effect"].to_numpy()
    arm = truth[[f"true_effect_{t}" for t in ("coupon", "callback", "loyalty")]].to_numpy()
    index = truth["treatment"].map({"coupon": 0, "callback": 1, "loyalty": 2}).to_numpy()
    assert np.allclose(own, arm[np.arange(len(truth)), index])


def test_sla_breach_share_matches_the_target(world: dict) -> None:
    tickets = world["tickets"].dropna(subset=["first_response_ts"])
    target_minutes = tickets["kind"].map(
        {
            "complaint": RETAIL.sla.complaint,
            "fault": RETAIL.sla.fault,
            "consult": RETAIL.sla.consult,
        }
    )
    delay = (tickets["first_response_ts"] - tickets["opened_ts"]) / pd.Timedelta(minutes=1)
    breached = delay > target_minutes
    expected = RETAIL.sla_breach_share
    assert _within(breached.mean(), expected, np.sqrt(expected * (1 - expected) / len(tickets)))
    assert set(tickets["kind"]) == {"consult", "fault", "complaint"}
    complaints = world["tickets"][world["tickets"]["kind"] == "complaint"]
    unresolved = complaints["resolved_ts"].isna().mean()
    assert abs(unresolved - RETAIL.unresolved_complaint_share) < 0.05


def test_nps_is_lower_after_bad_service(world: dict) -> None:
    tickets = world["tickets"]
    late = (tickets["first_response_ts"] - tickets["opened_ts"]) > pd.Timedelta(minutes=30)
    bad = set(tickets.loc[late & (tickets["kind"] == "complaint"), "customer_id"])
    surveys = world["surveys"]
    assert surveys["nps"].between(0, 10).all()
    assert (
        surveys.loc[surveys["customer_id"].isin(bad), "nps"].mean()
        < surveys.loc[~surveys["customer_id"].isin(bad), "nps"].mean() - 0.5
    )


def test_events_lead_purchases_and_fade_after_dropout(world: dict) -> None:
    orders, events = world["orders"], world["events"]
    bought = (
        orders[~orders["is_return"]]
        .groupby(["order_id", "customer_id", "product_id"])["ts"]
        .first()
        .reset_index()
    )
    carts = events[events["event_type"] == "cart_add"]
    led = bought.merge(carts, on=["customer_id", "product_id"], suffixes=("", "_cart"))
    led = led[(led["ts_cart"] < led["ts"]) & (led["ts"] - led["ts_cart"] < pd.Timedelta(hours=1))]
    assert led["order_id"].nunique() == bought["order_id"].nunique()
    assert {"session", "app_open", "view", "search", "cart_add"} == set(events["event_type"])
    assert events.loc[events["event_type"].isin(["view", "cart_add"]), "product_id"].notna().all()

    as_of = pd.Timestamp(world["manifest"]["as_of"])
    truth = world["truth_customers"]
    dead = truth[truth["death_ts"] < as_of - 90 * DAY][["customer_id", "death_ts"]]
    ev = events.merge(dead, on="customer_id")
    ev = ev[ev["ts"] >= ev["customer_id"].map(truth.set_index("customer_id")["signup_ts"])]
    before = ev[(ev["ts"] < ev["death_ts"] - 6 * DAY) & (ev["ts"] >= ev["death_ts"] - 66 * DAY)]
    after = ev[(ev["ts"] > ev["death_ts"] + 30 * DAY) & (ev["ts"] <= ev["death_ts"] + 90 * DAY)]
    # fading with time constant 21 days: 30..90 days after, the rate is below a quarter
    assert len(after) < 0.25 * len(before)


def test_purchases_follow_the_true_category_affinities(world: dict) -> None:
    orders = world["orders"][~world["orders"]["is_return"]]
    lines = orders.merge(world["products"][["product_id", "category"]], on="product_id")
    counts = lines.groupby(["customer_id", "category"]).size().rename("n").reset_index()
    heavy = counts.groupby("customer_id")["n"].sum()
    heavy = heavy[heavy >= 15].index
    affinity = world["truth_category_affinity"]
    affinity = affinity[affinity["customer_id"].isin(heavy)]
    merged = affinity.merge(counts, on=["customer_id", "category"], how="left").fillna({"n": 0})
    merged["share"] = merged["n"] / merged.groupby("customer_id")["n"].transform("sum")
    assert len(heavy) > 100
    assert np.corrcoef(merged["share"], merged["affinity"])[0, 1] > 0.7


def test_one_off_products_are_bought_once_and_returns_are_negative(world: dict) -> None:
    orders = world["orders"]
    products = world["products"].set_index("product_id")
    bought = orders[~orders["is_return"]]
    one_off = bought[~bought["product_id"].map(products["is_repeatable"])]
    assert not one_off.duplicated(["customer_id", "product_id"]).any()
    returns = orders[orders["is_return"]]
    assert (returns["amount"] < 0).all() and (bought["amount"] > 0).all()
    assert abs(len(returns) / len(bought) - RETAIL.return_rate) < 0.01
    assert (orders["quantity"] >= 1).all()


def test_consent_exclusions_and_signups(world: dict) -> None:
    customers = world["customers"]
    as_of = pd.Timestamp(world["manifest"]["as_of"])
    withdrawn = ~customers["marketing_consent"] & (
        customers["consent_updated_ts"] > customers["signup_ts"]
    )
    assert withdrawn.sum() > 100
    assert abs((customers["marketing_consent"] | withdrawn).mean() - RETAIL.consent_share) < 0.03
    signup_month = customers["signup_ts"].dt.tz_localize(None).dt.to_period("M")
    assert signup_month.nunique() == 24
    assert customers["signup_ts"].max() < as_of

    exclusions = world["exclusions"].merge(
        world["truth_category_affinity"], on=["customer_id", "category"]
    )
    rank = world["truth_category_affinity"].groupby("customer_id")["affinity"].rank()
    low = world["truth_category_affinity"].assign(rank=rank)
    exclusions = exclusions.merge(low[["customer_id", "category", "rank"]])
    assert (exclusions["rank"] <= 3).all()


def test_each_service_failure_weighs_on_one_purchase_decision(world: dict) -> None:
    """A complaint counts at the first purchase after it was raised (if still open), a
    breach at the first purchase after it became visible: never at two purchases."""
    purchases = world["truth_purchases"]
    complaints = world["tickets"]
    complaints = complaints[complaints["kind"] == "complaint"]
    # no purchase counts more complaints than the customer raised since the previous one
    purchases = purchases.sort_values(["customer_id", "ts"])
    previous = (
        purchases.groupby("customer_id")["ts"].shift().fillna(pd.Timestamp.min.tz_localize("UTC"))
    )
    raised = complaints.merge(
        purchases.assign(prev=previous)[["customer_id", "ts", "prev"]],
        on="customer_id",
        suffixes=("_c", ""),
    )
    raised = raised[(raised["opened_ts"] >= raised["prev"]) & (raised["opened_ts"] < raised["ts"])]
    ceiling = raised.groupby(["customer_id", "ts"]).size()
    counted = purchases.set_index(["customer_id", "ts"])["open_complaints"]
    assert (counted <= ceiling.reindex(counted.index, fill_value=0)).all()
    assert counted.sum() > 0


def test_products_launch_in_the_second_half_and_sell_only_after(world: dict) -> None:
    products = world["products"]
    launch = products.set_index("product_id")["launch_ts"]
    share = launch.notna().mean()
    assert _within(share, RETAIL.new_product_share, np.sqrt(share * (1 - share) / len(launch)))
    middle = (
        pd.Timestamp(world["manifest"]["history_start"])
        + (
            pd.Timestamp(world["manifest"]["as_of"])
            - pd.Timestamp(world["manifest"]["history_start"])
        )
        / 2
    )
    assert (launch.dropna() >= middle - DAY).all()
    orders = world["orders"]
    sold = orders.join(launch, on="product_id")
    assert sold["launch_ts"].notna().any()
    assert not (sold["ts"] < sold["launch_ts"]).any()
    # every category keeps products on sale from the start
    assert (
        products[products["launch_ts"].isna()]["category"].nunique()
        == products["category"].nunique()
    )
