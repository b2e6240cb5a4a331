"""Every report of a finished run in one call: what the report notebook and `make run` use."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from crm_ml.pipeline.config import RunConfig
from crm_ml.pipeline.paths import RunPaths
from crm_ml.reports.actions import ActionConfig, write_run_action_lists
from crm_ml.reports.card import sample_customer, write_customer_card
from crm_ml.reports.report import build_stakeholder_report
from crm_ml.reports.run_data import RunData
from crm_ml.reports.screenshot import ScreenshotError, render_report_screenshot

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportOutputs:
    report: Path
    action_lists: dict[str, Path]
    sample_card: Path | None
    screenshot: Path | None


def _scope(run: RunData) -> str | None:
    return run.manifest.get("data", {}).get("scope")


def find_previous_run(paths: RunPaths) -> RunPaths | None:
    """The newest other run of the same data (scope) next to `paths` that succeeded and
    started before it, if any: drift and changes compare like with like, never one
    company's export with another's or with the synthetic world.

    Parameters
    ----------
    paths : RunPaths
        This run; its siblings in the same runs folder are the candidates, judged by their
        ``manifest.json`` (status, started, data.scope).

    Returns
    -------
    RunPaths or None
        The previous run's folders, or None for the first run of this data.

    Examples
    --------
    >>> import json, tempfile
    >>> from pathlib import Path
    >>> from crm_ml.pipeline import RunPaths
    >>> runs = tempfile.TemporaryDirectory()
    >>> def run(name, started, status="succeeded", scope="shop"):
    ...     paths = RunPaths(Path(runs.name) / name).ensure()
    ...     manifest = {"status": status, "started": started, "data": {"scope": scope}}
    ...     paths.manifest.write_text(json.dumps(manifest))
    ...     return paths
    >>> first = run("a", "2025-01-01T02:30:00Z")
    >>> failed = run("b", "2025-01-02T02:30:00Z", status="failed")
    >>> other_data = run("c", "2025-01-02T03:00:00Z", scope="another shop")
    >>> today = run("d", "2025-01-03T02:30:00Z", status="running")
    >>> find_previous_run(today).run_id
    'a'
    >>> find_previous_run(first) is None
    True
    >>> runs.cleanup()
    """
    this = RunData(paths)
    current, scope = this.started, _scope(this)
    candidates = []
    for folder in paths.root.parent.iterdir():
        if folder == paths.root or not folder.is_dir():
            continue
        run = RunData(RunPaths(folder))
        if run.manifest.get("status") != "succeeded" or run.started is None:
            continue
        if scope is not None and _scope(run) != scope:
            continue
        if current is None or run.started < current:
            candidates.append((run.started, folder))
    return RunPaths(max(candidates)[1]) if candidates else None


def build_run_reports(
    paths: RunPaths,
    config: RunConfig,
    previous: RunPaths | None = None,
    *,
    screenshot: bool = False,
) -> ReportOutputs:
    """The stakeholder report, the action lists (when the run has scores) and one sample card.

    The screenshot is optional and never fails the run: a machine without Chromium still
    gets its reports. What the report notebook (08) calls once the earlier notebooks of the
    run have recorded their results.

    Parameters
    ----------
    paths : RunPaths
        The run's folders: its records, scores and accepted tables are read, the report,
        the action lists and the card are written under ``paths.report``.
    config : RunConfig
        The run configuration (action-list thresholds, consent rules).
    previous : RunPaths, optional
        The previous run of the same data (`find_previous_run`), for the change table and
        drift; None for a first run.
    screenshot : bool, default False
        Also render ``report.png`` with headless Chromium, where it is installed.

    Returns
    -------
    ReportOutputs
        Paths of the report, of each action list, of the sample card (None without scores)
        and of the screenshot (None when not taken).

    Examples
    --------
    A whole run folder is needed (``crm-ml run`` makes one), so this only shows the call:

    >>> from crm_ml.pipeline import RunPaths, load_config
    >>> paths = RunPaths.for_run("dev")
    >>> outputs = build_run_reports(paths, load_config(), find_previous_run(paths))  # doctest: +SKIP
    >>> outputs.report.name  # doctest: +SKIP
    'report.html'
    """
    scores = RunData(paths).scores()
    lists: dict[str, Path] = {}
    card = None
    if scores is not None and len(scores):
        lists = write_run_action_lists(paths, config)  # first: the report counts them
        card = write_customer_card(
            sample_customer(scores), paths, config=ActionConfig.from_run_config(config)
        )
    else:
        log.warning("run %s has no customer scores: no action lists or customer card", paths.run_id)
    report = build_stakeholder_report(paths, config, previous)
    shot = None
    if screenshot:
        try:
            shot = render_report_screenshot(report, report.with_suffix(".png"))
        except ScreenshotError as exc:
            log.warning("no report screenshot: %s", exc)
    return ReportOutputs(report, lists, card, shot)
