"""The action plan never breaks a limit: budget, contact cap, consent, channel, exclusions;
and every candidate is accounted for (planned or skipped with a reason)."""

from __future__ import annotations

import json
from collections import Counter

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_ml.reports.plan import SKIP_REASONS, PlanConfig, action_plan

CUSTOMERS = [f"c{i}" for i in range(6)]
CHANNELS = ["email", "sms", "phone"]
AS_OF = pd.Timestamp("2026-06-30", tz="UTC")

candidate_rows = st.lists(
    st.fixed_dictionaries(
        {
            # "stranger" is not in the customer table: unknown consent is no consent
            "customer_id": st.sampled_from([*CUSTOMERS, "stranger"]),
            "action": st.sampled_from(["save: coupon", "save: callback", "cross-sell", "service"]),
            "list": st.sampled_from(["save", "cross_sell", "service"]),
            "channel": st.sampled_from(CHANNELS),
            "expected_value": st.floats(0, 100, allow_nan=False),
            "cost": st.floats(0, 40, allow_nan=False),
            "marketing": st.booleans(),
        }
    ),
    max_size=40,
)
customer_tables = st.fixed_dictionaries(
    {
        "marketing_consent": st.lists(st.sampled_from([True, False, None]), min_size=6, max_size=6),
        "preferred_channels": st.lists(
            st.sampled_from([None, "", "email", "sms,phone", "email, phone"]),
            min_size=6,
            max_size=6,
        ),
    }
)
histories = st.lists(
    st.tuples(st.sampled_from(CUSTOMERS), st.integers(0, 90)), max_size=15
)  # (customer, days before the plan)
configs = st.builds(
    PlanConfig,
    budget=st.one_of(st.none(), st.floats(0, 150, allow_nan=False)),
    max_contacts=st.integers(0, 3),
    window_days=st.integers(1, 60),
    min_net_value=st.floats(-5, 10, allow_nan=False),
    exclude=st.frozensets(st.sampled_from(CUSTOMERS), max_size=3),
)


def _frames(rows, table, history):
    candidates = pd.DataFrame(
        rows,
        columns=["customer_id", "action", "list", "channel", "expected_value", "cost", "marketing"],
    )
    customers = pd.DataFrame({"customer_id": CUSTOMERS, **table})
    contacts = pd.DataFrame(
        {
            "customer_id": [c for c, _ in history],
            "ts": [AS_OF - pd.Timedelta(days=d) for _, d in history],
        }
    )
    return candidates, customers, contacts


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(candidate_rows, customer_tables, histories, configs)
def test_no_budget_cap_consent_channel_or_exclusion_is_ever_broken(rows, table, history, config):
    candidates, customers, contacts = _frames(rows, table, history)
    result = action_plan(candidates, customers, config, history=contacts, as_of=AS_OF)
    plan = result.plan

    # accounting: every candidate is planned or skipped with a reason
    assert len(plan) + len(result.skipped) == len(candidates)
    assert set(result.skipped["skip_reason"]) <= set(SKIP_REASONS)
    # budget
    if config.budget is not None:
        assert plan["cost"].sum() <= config.budget + 1e-9
        leftover = config.budget - plan["cost"].sum()
        # greedy leaves no money on the table: what the budget refused did not fit
        refused = result.skipped[result.skipped["skip_reason"] == "over the budget"]
        assert (refused["cost"] > leftover - 1e-9).all()
    else:
        assert "over the budget" not in set(result.skipped["skip_reason"])
    # contact cap over the rolling window, counting the contacts already made in it
    recent = Counter(c for c, days in history if days < config.window_days)
    for customer, planned in Counter(plan["customer_id"]).items():
        assert recent[customer] + planned <= config.max_contacts, customer
    # consent: no marketing contact without it (unknown counts as none)
    consenting = {c for c, ok in zip(CUSTOMERS, table["marketing_consent"], strict=True) if ok}
    marketing = plan[plan["marketing"].astype(bool)]
    assert set(marketing["customer_id"]) <= consenting
    # channel preference
    chosen = {
        c: {x.strip() for x in p.split(",")}
        for c, p in zip(CUSTOMERS, table["preferred_channels"], strict=True)
        if p
    }
    for customer, channel in zip(plan["customer_id"], plan["channel"], strict=True):
        assert customer not in chosen or channel in chosen[customer]
    # one contact per customer and list
    assert not plan.duplicated(["customer_id", "list"]).any()
    # exclusions, worth, and the order
    assert not set(plan["customer_id"]) & set(config.exclude)
    assert (plan["net_value"] > config.min_net_value).all()
    assert plan["net_value"].is_monotonic_decreasing
    assert plan["rank"].tolist() == list(range(1, len(plan) + 1))


def test_the_best_contact_wins_the_budget_and_service_needs_no_consent() -> None:
    candidates = pd.DataFrame(
        {
            "customer_id": ["a", "b", "b", "c"],
            "action": ["save: coupon", "save: callback", "service follow-up", "cross-sell"],
            "channel": ["email", "phone", "phone", "email"],
            "expected_value": [40.0, 90.0, 25.0, 15.0],
            "cost": [10.0, 30.0, 5.0, 1.0],
            "marketing": [True, True, False, True],
        }
    )
    customers = pd.DataFrame(
        {"customer_id": ["a", "b", "c"], "marketing_consent": [True, False, True]}
    )
    result = action_plan(candidates, customers, PlanConfig(budget=15))
    # b's callback earns most but b gave no consent; b's follow-up is service: it goes out
    assert result.plan[["customer_id", "action"]].values.tolist() == [
        ["a", "save: coupon"],
        ["b", "service follow-up"],
    ]
    reasons = dict(zip(result.skipped["action"], result.skipped["skip_reason"], strict=True))
    assert reasons == {"save: callback": "no marketing consent", "cross-sell": "over the budget"}
    assert result.cost == 15.0 and result.expected_net_value == 50.0
    summary = result.summary().set_index("action")
    assert summary.loc["save: coupon", "contacts"] == 1
    assert summary.loc["cross-sell", "over the budget"] == 1


def test_bad_candidates_get_a_clear_error() -> None:
    customers = pd.DataFrame({"customer_id": ["a"], "marketing_consent": [True]})
    with pytest.raises(ValueError, match=r"missing column\(s\) \['action', 'channel'"):
        action_plan(pd.DataFrame({"customer_id": ["a"]}), customers)
    negative = pd.DataFrame(
        {
            "customer_id": ["a"],
            "action": ["save: coupon"],
            "channel": ["email"],
            "expected_value": [1.0],
            "cost": [-2.0],
            "marketing": [True],
        }
    )
    with pytest.raises(ValueError, match=r"'cost' must be >= 0; see \['save: coupon'\]"):
        action_plan(negative, customers)


def test_the_run_plan_is_one_list_within_consent_with_its_totals(make_run, tmp_path):
    from crm_ml.pipeline.config import RunConfig
    from crm_ml.reports import build_run_reports

    paths = make_run()
    exclude = tmp_path / "do_not_contact.csv"
    scores = pd.read_parquet(paths.scores / "customer_scores.parquet")
    consenting = set(scores.loc[scores["marketing_consent"].astype(bool), "customer_id"])
    first = sorted(consenting)[0]
    exclude.write_text(f"customer_id\n{first}\n")
    config = RunConfig.model_validate(
        {"action_plan": {"budget": 200.0, "max_contacts": 1, "exclude_file": str(exclude)}}
    )
    out = build_run_reports(paths, config)
    plan = pd.read_csv(out.action_lists["action_plan"], dtype={"customer_id": str})
    folder = paths.report / "actions"
    totals = json.loads((folder / "action_plan_totals.json").read_text())
    assert totals["contacts"] == len(plan) > 0
    assert totals["cost"] == pytest.approx(plan["cost"].sum()) and totals["cost"] <= 200
    assert set(plan["list"]) <= {"save", "cross_sell", "service"}
    marketing = plan[plan["list"] != "service"]
    assert set(marketing["customer_id"]) <= consenting
    follow_ups = pd.read_csv(folder / "service_follow_ups.csv", dtype=str)
    assert set(plan.loc[plan["list"] == "service", "customer_id"]) <= set(follow_ups["customer_id"])
    assert first not in set(plan["customer_id"])
    assert plan["customer_id"].is_unique  # max_contacts 1 and no earlier contacts
    assert plan["chosen_by"].str.len().gt(0).all()
    html = out.report.read_text()
    assert "Planned contacts" in html and "Expected return per unit spent" in html
