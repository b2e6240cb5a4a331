"""The playbook: reason rules to interventions, clear errors, and which rows rest on an
assumption rather than a measured uplift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_ml.reports.plan import plan_candidates
from crm_ml.reports.playbook import load_playbook, playbook_from_mapping


def test_the_default_playbook_answers_each_cause_with_its_intervention() -> None:
    playbook = load_playbook()
    cases = {
        "2 complaints still unresolved": ["service_callback"],
        "no order for 95 days, usually every 30": ["exclusive_offer"],
        "returned 40% of what they bought": ["quality_check_call"],
        "contacted by marketing 9 times in 30 days": [],  # rest, do not contact
        "something no rule knows": ["exclusive_offer", "loyalty_benefit"],
    }
    for reason, expected in cases.items():
        chosen, rule = playbook.candidates(reason)
        assert [i.name for i in chosen] == expected, reason
        assert rule.startswith("playbook")
    assert playbook.candidates(None)[1] == "playbook default"
    assert playbook.intervention("service_follow_up").marketing is False


def test_a_bad_playbook_names_the_entry_and_the_problem() -> None:
    good = {"channel": "email", "cost": 1.0, "effect": 0.1}
    cases = [
        ({}, "needs an 'interventions' mapping"),
        ({"interventions": {"x": {"channel": "email", "cost": 1}}}, "'x' needs 'effect'"),
        ({"interventions": {"x": {**good, "effect": 2}}}, "effect in \\[0, 1\\]"),
        ({"interventions": {"x": {**good, "colour": 1}}}, "unknown key\\(s\\) \\['colour'\\]"),
        ({"interventions": {"x": {**good, "measured_by": "magic"}}}, "measured_by must be"),
        (
            {"interventions": {"x": good}, "rules": [{"reason": "late", "interventions": ["y"]}]},
            "rule 1 names unknown intervention\\(s\\) \\['y'\\]",
        ),
        ({"interventions": {"x": good}, "rules": [{"reason": "("}]}, "rule 1: bad pattern"),
        ({"interventions": {"x": good}, "default": ["z"]}, "default names unknown"),
    ]
    for raw, message in cases:
        with pytest.raises(ValueError, match=f"playbook mine.yaml: .*{message}"):
            playbook_from_mapping(raw, "mine.yaml")


def test_a_measured_uplift_replaces_the_assumption_and_says_so() -> None:
    playbook = load_playbook()
    scores = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "churn_probability": [0.5, 0.5, 0.4],
            "clv_12m": [400.0, 400.0, 1000.0],
            "uplift": [0.10, np.nan, 0.02],
            "reason_1": ["no order for 80 days", "no order for 80 days", "2 complaints open"],
            "marketing_consent": [True, True, True],
        }
    )
    follow_ups = pd.DataFrame({"customer_id": ["c"]})
    candidates = plan_candidates(scores, follow_ups, playbook, margin=0.5).set_index(
        ["customer_id", "action"]
    )
    offer = playbook.intervention("exclusive_offer")
    a = candidates.loc[("a", "exclusive_offer")]
    assert a["chosen_by"] == "model: campaign uplift"
    assert a["expected_value"] == pytest.approx(0.5 * 400 * 0.5 * 0.10)
    b = candidates.loc[("b", "exclusive_offer")]  # no uplift scored: the playbook's assumption
    assert b["chosen_by"] == "playbook rule 5 (no order)"
    assert b["expected_value"] == pytest.approx(0.5 * 400 * 0.5 * offer.effect)
    callback = candidates.loc[("c", "service_callback")]
    assert callback["chosen_by"] == "playbook rule 1 (complain)" and callback["marketing"]
    follow_up = candidates.loc[("c", "service_follow_up")]
    assert follow_up["list"] == "service" and not follow_up["marketing"]
    assert follow_up["cost"] == playbook.intervention("service_follow_up").cost
