"""Action lists: who to save, cross-sell, complaints to chase; consent always respected."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_ml.pipeline.config import RunConfig
from crm_ml.reports.actions import (
    FOLLOW_UP_COLUMNS,
    ActionConfig,
    build_action_lists,
    why_empty,
    write_action_lists,
)

MARKETING = ("customers_to_save", "cross_sell_audience")


def scores_frame(consent, churn, clv, uplift, reasons=None) -> pd.DataFrame:
    n = len(consent)
    return pd.DataFrame(
        {
            "customer_id": [f"{i:020x}" for i in range(n)],
            "segment": "steady",
            "service_tier": "regular",
            "marketing_consent": pd.array(consent, dtype="boolean"),
            "churn_probability": churn,
            "clv_12m": clv,
            "uplift": uplift,
            "reason_1": reasons or ["no order for 74 days, usually every 21"] * n,
            "next_best_offer": "socks",
            "offer_reason": "bought shoes 3 weeks ago",
        }
    )


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([True, False, None]),
            st.floats(0, 1),
            st.floats(0, 5_000),
            st.floats(-0.2, 0.3),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_marketing_lists_never_hold_customers_without_consent(rows):
    consent, churn, clv, uplift = (list(c) for c in zip(*rows, strict=True))
    scores = scores_frame(consent, churn, clv, uplift)
    everyone = scores.assign(marketing_consent=True)
    lists = build_action_lists(scores, None, ActionConfig(high_value_quantile=0.5))
    unconstrained = build_action_lists(everyone, None, ActionConfig(high_value_quantile=0.5))
    consenting = set(scores.loc[scores["marketing_consent"].fillna(False), "customer_id"])
    for name in MARKETING:
        assert set(lists[name]["customer_id"]) <= consenting
        # consent only removes customers; it never changes who else is chosen or their order
        expected = unconstrained[name][unconstrained[name]["customer_id"].isin(consenting)]
        pd.testing.assert_frame_equal(lists[name], expected.reset_index(drop=True))


def test_customers_to_save_rule_and_order():
    scores = scores_frame(
        consent=[True] * 6,
        churn=[0.9, 0.6, 0.2, 0.9, 0.9, 0.7],  # customer 2: low risk
        clv=[1000, 3000, 5000, 100, 4000, 2000],  # customer 3: low value
        uplift=[0.05, 0.05, 0.1, 0.1, -0.01, 0.1],  # customer 4: contact would not help
        reasons=[
            "3 complaints in the last year",
            "no order for 74 days, usually every 21",
            "x",
            "x",
            "x",
            "returned 40% of what they bought in the last year",
        ],
    )
    config = ActionConfig(high_value_quantile=0.2, churn_probability_min=0.5)  # CLV >= 1000
    save = build_action_lists(scores, None, config)["customers_to_save"]
    # expected value: 1: 0.6*3000*0.05 = 90; 5: 0.7*2000*0.1 = 140; 0: 0.9*1000*0.05 = 45
    assert save["customer_id"].tolist() == [f"{i:020x}" for i in (5, 1, 0)]
    assert save["expected_saved_value"].tolist() == [140.0, 90.0, 45.0]
    assert save["suggested_intervention"].tolist() == [
        "quality check call",
        "exclusive offer",
        "service callback",
    ]
    assert save["chosen_by"].str.startswith("playbook rule").all()


@pytest.mark.parametrize(
    ("reason", "intervention"),
    [
        ("2 unresolved complaints", "service callback"),
        ("first answers took 3.0x the promised time", "service callback"),
        ("no order for 74 days, usually every 21", "exclusive offer"),
        ("no visit for 40 days", "exclusive offer"),
        ("last NPS answer 3", "satisfaction call"),
        ("contacted by marketing 9 times in 30 days", "no contact"),
        ("aged 44", "exclusive offer"),
        (None, "exclusive offer"),
    ],
)
def test_intervention_follows_the_top_reason(reason, intervention):
    assert ActionConfig().intervention(reason)[0] == intervention


def test_lists_hold_no_columns_beyond_their_own():
    scores = scores_frame([True] * 4, [0.9] * 4, [10, 20, 30, 40], [0.1] * 4)
    scores["email"] = "someone@example.com"
    scores["name"] = "Some One"
    lists = build_action_lists(scores, None, ActionConfig(high_value_quantile=0.0))
    assert all(len(frame) for name, frame in lists.items() if name in MARKETING)
    for frame in lists.values():
        assert not {"email", "name", "phone"} & set(frame.columns)


def test_consent_column_is_required():
    scores = scores_frame([True], [0.9], [10.0], [0.1]).drop(columns="marketing_consent")
    with pytest.raises(ValueError, match="marketing_consent"):
        build_action_lists(scores, None)


def run_tables(paths):
    scores = pd.read_parquet(paths.scores / "customer_scores.parquet")
    tickets = pd.read_parquet(paths.accepted / "tickets.parquet")
    return scores, tickets


def test_follow_ups_are_open_complaints_breaching_their_target(make_run, fabricated):
    scores, tickets = run_tables(make_run())
    follow = build_action_lists(scores, tickets, RunConfig(), as_of=fabricated.as_of)[
        "service_follow_ups"
    ]
    assert list(follow.columns) == FOLLOW_UP_COLUMNS
    # T1 unanswered for 5 h; T4 answered after 50 min; both against 30 min. Not T2 (a
    # resolved fault), T3 (open 10 min), T5 (answered after 5 min).
    assert follow["ticket_id"].tolist() == ["T1", "T4"]
    assert follow["breach"].tolist() == ["no first response yet", "first response late"]
    assert follow["hours_open"].tolist() == [5.0, 3.0]
    assert follow["target_minutes"].tolist() == [30.0, 30.0]


def test_follow_ups_include_customers_without_marketing_consent(make_run, fabricated):
    scores, tickets = run_tables(make_run())
    lists = build_action_lists(scores, tickets, RunConfig(), as_of=fabricated.as_of)
    follow = lists["service_follow_ups"]
    no_consent = set(scores.loc[~scores["marketing_consent"], "customer_id"])
    assert fabricated.pseudonyms[2] in no_consent  # T4's customer
    assert set(follow["customer_id"]) & no_consent


def test_follow_ups_use_the_tier_target_and_the_as_of_time(make_run, fabricated):
    scores, tickets = run_tables(make_run())
    as_of = fabricated.as_of
    lenient_core = ActionConfig(sla_target_minutes={"core": {"complaint": 600.0}})
    follow = build_action_lists(scores, tickets, lenient_core, as_of=as_of)["service_follow_ups"]
    assert follow["ticket_id"].tolist() == ["T4"]  # T1's customer is core: 5 h < 10 h
    earlier = as_of - pd.Timedelta(hours=4)  # T4 not opened yet, T1 open for 1 h
    follow = build_action_lists(scores, tickets, None, as_of=earlier)["service_follow_ups"]
    assert follow["ticket_id"].tolist() == ["T1"]
    assert follow["hours_open"].tolist() == [1.0]


def test_written_lists_round_trip(make_run, fabricated, tmp_path):
    scores, tickets = run_tables(make_run())
    lists = build_action_lists(scores, tickets, RunConfig(), as_of=fabricated.as_of)
    written = write_action_lists(lists, tmp_path / "actions")
    assert set(written) == set(lists)
    for name, csv_path in written.items():
        assert len(pd.read_csv(csv_path)) == len(lists[name])
        back = pd.read_parquet(csv_path.with_suffix(".parquet"))
        pd.testing.assert_frame_equal(back, lists[name], check_dtype=False)
    assert np.isclose(pd.read_csv(written["service_follow_ups"])["hours_open"].sum(), 8.0)


FORMULAS = ["=1+1", "+1", "-1", "@1", "\t1", "\r1", "-2+3", "+SUM(1,2)", "@SUM(1+1)"]
# a formula behind a line break, comma or quote: it must not become a cell or row of its own
EMBEDDED = ["x\r=1+1", "y\n@1", "z\r\n-1", "w,=1+1", 'q"=1']
HOSTILE_TEXT = FORMULAS + EMBEDDED
DANGEROUS_STARTS = ("=", "+", "-", "@", "\t", "\r")


def hostile_lists() -> dict[str, pd.DataFrame]:
    """Action lists whose segment, reason, offer and offer reason cells are all hostile
    text, plus negative numbers stored as numbers."""
    n = len(HOSTILE_TEXT)
    scores = scores_frame([True] * n, [0.9] * n, [100.0 * (i + 1) for i in range(n)], [0.1] * n)
    scores = scores.assign(
        segment=HOSTILE_TEXT,
        reason_1=HOSTILE_TEXT,
        next_best_offer=HOSTILE_TEXT,
        offer_reason=HOSTILE_TEXT,
    )
    lists = dict(build_action_lists(scores, None, ActionConfig(high_value_quantile=0.0)))
    lists["customers_to_save"] = lists["customers_to_save"].assign(
        uplift=-0.25, delta=np.arange(n) - 5
    )
    return lists


def test_csv_cells_never_start_like_a_formula(tmp_path):
    lists = hostile_lists()
    n = len(HOSTILE_TEXT)
    assert len(lists["customers_to_save"]) == len(lists["cross_sell_audience"]) == n
    written = write_action_lists(lists, tmp_path / "actions")
    for name, path in written.items():
        with path.open(newline="", encoding="utf-8") as handle:
            header, *rows = list(csv.reader(handle))
        assert len(rows) == len(lists[name]), name  # no value started a row of its own
        for row in rows:
            for column, cell in zip(header, row, strict=True):
                if column not in ("uplift", "delta"):  # numbers: checked below
                    assert not cell.startswith(DANGEROUS_STARTS), (name, column, cell)
        for column in ("segment", "reason", "next_best_offer", "offer_reason"):
            if column in header:  # the text is all there, formulas behind a quote
                cells = [row[header.index(column)] for row in rows]
                expected = ["'" + v for v in FORMULAS] + EMBEDDED
                assert sorted(cells) == sorted(expected), (name, column)
        # Parquet keeps the raw values
        pd.testing.assert_frame_equal(pd.read_parquet(path.with_suffix(".parquet")), lists[name])
    raw = pd.read_parquet(written["cross_sell_audience"].with_suffix(".parquet"))
    assert sorted(raw["next_best_offer"]) == sorted(HOSTILE_TEXT)
    save = pd.read_csv(written["customers_to_save"])
    assert save["uplift"].tolist() == [-0.25] * n  # negative numbers stay numbers
    assert save["delta"].tolist() == lists["customers_to_save"]["delta"].tolist()
    assert (save["delta"] < 0).sum() == 5
    assert lists["customers_to_save"]["segment"].isin(HOSTILE_TEXT).all()  # input untouched


@pytest.mark.parametrize(
    ("consent", "churn", "uplift", "offer", "expected"),
    [
        (False, 0.9, 0.1, "socks", "has marketing consent"),
        (True, 0.9, np.nan, "socks", "no uplift model"),
        (True, 0.1, 0.1, "socks", "churn probability of at least 50%"),
        (True, 0.9, -0.1, None, "uplift <= 0"),
    ],
)
def test_an_empty_list_says_which_condition_nobody_met(consent, churn, uplift, offer, expected):
    scores = scores_frame([consent] * 4, [churn] * 4, [100.0] * 4, [uplift] * 4)
    scores["next_best_offer"] = offer
    config = ActionConfig(high_value_quantile=0.5)
    lists = build_action_lists(scores, None, config)
    assert lists["customers_to_save"].empty
    why = why_empty(lists, scores, None, config)
    assert expected in why["customers_to_save"]
    assert why["service_follow_ups"] == "the export has no tickets table"
    if offer is None:
        assert "no next best offer" in why["cross_sell_audience"]
    elif consent:
        assert "cross_sell_audience" not in why  # not empty: nothing to explain


def test_run_action_lists_write_why_each_empty_one_is_empty(make_run):
    import json

    from crm_ml.reports.actions import EMPTY_FILE, write_run_action_lists

    written = write_run_action_lists(make_run(), RunConfig())
    why = json.loads((written["customers_to_save"].parent / EMPTY_FILE).read_text())
    for name, path in written.items():
        empty = len(pd.read_parquet(path.with_suffix(".parquet"))) == 0
        assert (name in why) == empty
