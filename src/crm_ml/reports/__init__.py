"""Reports people read: the stakeholder HTML report, 360 customer cards, CRM action lists.

    report = build_stakeholder_report(paths, config, previous=previous_paths)  # report.html
    card = write_customer_card("C000123", paths)  # raw id or pseudonym -> customers/<pseudonym>.html
    lists = build_action_lists(scores, tickets, config, as_of=as_of)
    write_action_lists(lists, paths.report / "actions")  # CSV + Parquet for CRM import
    render_report_screenshot(report, report.with_suffix(".png"))  # headless Chromium

`build_run_reports` does all of it for a finished run (what the report notebook calls).
"""

from crm_ml.reports.actions import (
    ActionConfig,
    build_action_lists,
    write_action_lists,
    write_run_action_lists,
)
from crm_ml.reports.card import (
    CustomerNotFoundError,
    build_customer_card,
    sample_customer,
    write_customer_card,
)
from crm_ml.reports.report import build_stakeholder_report, report_context
from crm_ml.reports.run import ReportOutputs, build_run_reports, find_previous_run
from crm_ml.reports.screenshot import ScreenshotError, render_report_screenshot

__all__ = [
    "ActionConfig",
    "CustomerNotFoundError",
    "ReportOutputs",
    "ScreenshotError",
    "build_action_lists",
    "build_customer_card",
    "build_run_reports",
    "build_stakeholder_report",
    "find_previous_run",
    "render_report_screenshot",
    "report_context",
    "sample_customer",
    "write_action_lists",
    "write_customer_card",
    "write_run_action_lists",
]
