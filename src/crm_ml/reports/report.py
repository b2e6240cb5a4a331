"""The stakeholder report: one self-contained HTML file per run.

Self-contained means a reader can e-mail it or open it offline: CSS is inline, figures are
embedded as base64 PNG, nothing is fetched from a URL and nothing needs JavaScript. It is
built from what the notebooks recorded (never from their cells), so no code appears in it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from crm_ml.notebooks import TABLE, source_kind
from crm_ml.pipeline.config import RunConfig
from crm_ml.pipeline.paths import RunPaths
from crm_ml.reports import sections
from crm_ml.reports.changes import compare_runs
from crm_ml.reports.formatting import fmt_count
from crm_ml.reports.rendering import render
from crm_ml.reports.run_data import RunData
from crm_ml.reports.scorecard import build_scorecard

log = logging.getLogger(__name__)

REPORT_FILE = "report.html"


def _package_version() -> str:
    try:
        return version("crm-ml")
    except PackageNotFoundError:
        return "dev"


def _data_label(config: RunConfig) -> str:
    data = config.data
    if data.source == "synthetic":
        s = data.synthetic
        return (
            f"synthetic {s.industry} world, {fmt_count(s.customers)} customers, {s.months} months"
        )
    if data.source == "folder":
        return "exports folder"
    if data.source == "table" and data.table is not None:
        return f"customer table {Path(data.table.file).name}"
    return data.source


def _export_body(run: RunData, config: RunConfig) -> list[sections.Section]:
    contracts = sections.contracts_section(run, config)  # only for exports with contracts
    return [
        sections.segments_section(run),
        sections.churn_section(run, config),
        *([contracts] if contracts else []),
        sections.clv_section(run),
        sections.uplift_section(run),
        sections.recommendations_section(run),
        sections.sla_section(run),
        sections.actions_section(run),
        sections.data_quality_section(run),
        sections.models_section(run),
        sections.drift_section(run, config.psi_alert),
    ]


def _table_body(run: RunData) -> list[sections.Section]:
    """A single customer table has churn, the save list and its data quality; segments,
    value, uplift, recommendations and service levels need an export's tables."""
    return [
        sections.table_churn_section(run),
        sections.actions_section(run),
        sections.data_quality_section(run),
        sections.table_models_section(run),
    ]


def report_context(
    paths: RunPaths, config: RunConfig, previous: RunPaths | None = None
) -> dict[str, Any]:
    """Everything the report template shows, computed from the run folder."""
    run = RunData(paths)
    started = run.started or datetime.now(UTC)
    as_of = run.data_as_of
    scorecard = build_scorecard(run, config.kpi_targets)
    body = (
        _table_body(run) if source_kind(config.data.source) == TABLE else _export_body(run, config)
    )
    return {
        "title": "Customer analytics report",
        "config_name": config.name,
        "run_id": paths.run_id,
        "run_date": f"{started:%d %b %Y, %H:%M} UTC",
        "data_as_of": f"{as_of:%d %b %Y}" if as_of is not None else "unknown",
        "data_label": _data_label(config),
        "horizon_days": config.horizon_days,
        "alerts": sections.alerts(run, config.psi_alert),
        "scorecard": scorecard,
        "kpis_met": sum(k.state == "met" for k in scorecard),
        "kpis_measured": sum(k.state != "unavailable" for k in scorecard),
        "previous_run_id": previous.run_id if previous else None,
        "changes": compare_runs(run, RunData(previous)) if previous else None,
        "sections": body,
        "version": _package_version(),
        "generated": f"{datetime.now(UTC):%d %b %Y, %H:%M} UTC",
    }


def build_stakeholder_report(
    paths: RunPaths, config: RunConfig, previous: RunPaths | None = None
) -> Path:
    """Write `paths.report / "report.html"` and return its path."""
    html = render("report.html.j2", **report_context(paths, config, previous))
    paths.report.mkdir(parents=True, exist_ok=True)
    target = paths.report / REPORT_FILE
    tmp = target.with_suffix(".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(target)
    log.info("stakeholder report written to %s (%.0f kB)", target, len(html) / 1024)
    return target
