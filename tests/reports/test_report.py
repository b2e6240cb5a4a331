"""The stakeholder report: one self-contained file, the right scorecard, loud notes."""

from __future__ import annotations

import re

import pytest

from crm_ml.pipeline.config import RunConfig
from crm_ml.reports import build_stakeholder_report

NOT_AVAILABLE = "not available in this run"


def kpi_states(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-kpi="([a-z_]+)" data-state="([a-z_]+)"', html))


@pytest.fixture
def report(make_run):
    def build(previous=None, config=None, **values) -> str:
        paths = make_run(**values)
        path = build_stakeholder_report(paths, config or RunConfig(), previous=previous)
        assert path == paths.report / "report.html"
        return path.read_text()

    return build


def test_report_is_one_self_contained_file(make_run):
    paths = make_run()
    path = build_stakeholder_report(paths, RunConfig())
    assert [p.name for p in paths.report.iterdir()] == ["report.html"]
    html = path.read_text()
    sources = re.findall(r'src="([^"]*)"', html)
    figures = len(list(paths.figures.glob("*.png")))
    assert len(sources) == figures > 10  # every recorded figure, embedded
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r"<script|<link|@import|url\(|https?://", html, re.IGNORECASE)


def test_scorecard_states(report):
    html = report(core_churn_rate=0.061, nps=55, recommendation_conversion=0.2)
    assert kpi_states(html) == {
        "core_churn_rate": "not_met",
        "complaint_first_response": "met",
        "fault_first_response": "not_met",
        "consult_first_response": "met",
        "recommendation_conversion": "not_met",
        "nps": "met",
    }
    assert "3 of 6</strong> measured targets met" in html
    assert "6.1%" in html and "≤ 5.0%" in html


def test_report_shows_people_numbers(report):
    html = report()
    assert "20,000" in html  # customers analysed, with a thousands separator
    assert "41.0%" in html  # revenue share of the best segment
    assert "High value loyal" in html  # segment codes in words
    assert "Days since the last purchase order." in html  # a driver's plain description
    assert "Churn risk by segment, riskiest first" in html  # recorded by the scoring notebook


def test_missing_sections_say_not_available(report):
    html = report(skip={"04_propensity_uplift", "05_clv", "07_scoring"})
    assert html.count(NOT_AVAILABLE) >= 5
    # the fabricated export has no contacts table, and the report says that is why
    assert "Campaign uplift by decile: not available: the export has no contacts table" in html
    assert f"CLV model comparison: {NOT_AVAILABLE}" in html
    assert "Score drift check: not available in this run" in html
    assert "Customer segments" in html  # what the run has is still there


def test_the_report_lists_the_tables_present_and_missing(report):
    html = report()
    assert "Missing tables: events, contacts, surveys, exclusions, erasure" in html
    assert "no net promoter score" in html  # what a missing table switches off
    assert "Action lists for the CRM" in html


def test_an_empty_run_still_renders(report):
    html = report(
        skip={
            "01_data_quality",
            "02_features_segments",
            "03_churn",
            "04_propensity_uplift",
            "05_clv",
            "06_recommendations",
            "07_scoring",
        }
    )
    assert set(kpi_states(html).values()) == {"unavailable"}
    assert "No warnings were recorded" in html


def test_no_code_and_no_script(report):
    html = report(churn_notes=["<script>alert('x')</script> beat by recency_rule"])
    assert "<script" not in html.lower()
    assert "&lt;script&gt;" in html  # notes are escaped, not executed
    for code in ("import ", "ctx.record", "notebook_context", "def ", "In [", "print("):
        assert code not in html


def test_notes_are_loud(report):
    note = "The LightGBM churn model did not beat the logistic regression on PR AUC."
    html = report(baselines_not_beaten=1, churn_notes=[note], drift_alert_columns=["clv_12m"])
    alerts = html[html.index('class="alerts"') : html.index('id="scorecard"')]
    assert "did not beat 1 baseline(s)" in alerts
    assert note in alerts
    assert "Score drift above PSI 0.25 in 1 column(s)" in alerts and "clv_12m" in alerts
    assert "alert-danger" in alerts


def test_quiet_run_has_no_danger(report):
    html = report()
    assert "alert alert-danger" not in html
    assert "No warnings were recorded" in html


def test_changes_since_previous_run(make_run, report):
    previous = make_run("20240601T060000-retail-prev", core_churn_rate=0.06, nps=41)
    html = report(previous=previous, core_churn_rate=0.043, nps=38)
    changes = html[html.index('id="changes"') : html.index('id="segments"')]
    assert "20240601T060000-retail-prev" in changes
    churn_row = re.search(r"Core-customer churn</td>(.*?)</tr>", changes, re.S).group(1)
    assert "6.0%" in churn_row and "4.3%" in churn_row and "-1.7 pp" in churn_row
    assert "better" in churn_row
    nps_row = re.search(r"Net Promoter Score</td>(.*?)</tr>", changes, re.S).group(1)
    assert "-3" in nps_row and "worse" in nps_row


def test_without_previous_run_changes_say_so(report):
    html = report()
    assert "there is no previous run to compare with" in html


def test_header_names_run_and_data(make_run):
    paths = make_run("20240701T060000-retail-abc")
    html = build_stakeholder_report(paths, RunConfig()).read_text()
    assert "20240701T060000-retail-abc" in html
    assert "30 Jun 2024" in html  # data as of, from the accepted manifest
    assert "01 Jul 2024" in html  # run date, from the run manifest
