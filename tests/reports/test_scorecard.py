"""KPI states against the configurable targets."""

from __future__ import annotations

import pandas as pd

from crm_ml.pipeline.config import KpiTargets
from crm_ml.reports.run_data import RunData
from crm_ml.reports.scorecard import build_scorecard, first_response


def states(paths, targets=None) -> dict[str, str]:
    return {k.spec.key: k.state for k in build_scorecard(RunData(paths), targets or KpiTargets())}


def test_states_follow_values_and_direction(make_run):
    paths = make_run(
        core_churn_rate=0.043,  # <= 5%: met
        nps=38,  # < 50: not met
        recommendation_conversion=0.34,  # >= 30%: met
        first_response={"complaint": 25.0, "fault": 150.0, "consult": 45.0},
    )
    assert states(paths) == {
        "core_churn_rate": "met",
        "complaint_first_response": "met",
        "fault_first_response": "not_met",
        "consult_first_response": "met",
        "recommendation_conversion": "met",
        "nps": "not_met",
    }


def test_targets_come_from_the_configuration(make_run):
    paths = make_run(core_churn_rate=0.043, nps=38)
    tighter = KpiTargets(core_churn_rate_max=0.04, nps_min=30)
    result = states(paths, tighter)
    assert result["core_churn_rate"] == "not_met"
    assert result["nps"] == "met"


def test_a_value_on_the_target_meets_it(make_run):
    paths = make_run(core_churn_rate=0.05, nps=50, recommendation_conversion=0.30)
    result = states(paths)
    assert result["core_churn_rate"] == result["nps"] == "met"
    assert result["recommendation_conversion"] == "met"


def test_missing_records_are_unavailable_never_met(make_run):
    paths = make_run(skip={"02_features_segments", "06_recommendations"})
    assert set(states(paths).values()) == {"unavailable"}


def test_first_response_prefers_the_all_tier_row():
    sla = pd.DataFrame(
        {
            "kind": ["complaint"] * 3,
            "tier": ["core", "regular", "all"],
            "tickets": [10, 30, 40],
            "within_target_share": [0.9, 0.5, 0.6],
            "median_first_response_minutes": [10.0, 50.0, 33.0],
        }
    )
    assert first_response(sla, "complaint")[0] == 33.0
    weighted, detail = first_response(sla[sla["tier"] != "all"], "complaint")
    assert weighted == (10 * 10 + 50 * 30) / 40
    assert "ticket-weighted" in detail
    assert first_response(sla, "fault") == (None, "")
    by_service_tier = sla[sla["tier"] != "all"].rename(columns={"tier": "service_tier"})
    assert first_response(by_service_tier, "complaint")[0] == weighted
    assert first_response(by_service_tier.drop(columns="service_tier"), "complaint")[0] == weighted
