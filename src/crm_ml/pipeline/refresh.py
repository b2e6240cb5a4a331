"""`crm-ml score`: the scheduled refresh. New data in, champions only, no training.

Validates the latest exports, rebuilds features for the new export date, scores every
customer with the registered champions, compares feature and score distributions with the
previous run (PSI; an alert above `psi_alert` goes into the report) and publishes scores
and report the same atomic way as a full run.

    # every night at 02:30
    30 2 * * * cd /path/to/crm-ml && .venv/bin/crm-ml score --config configs/retail.yaml --quiet
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crm_ml.notebooks import Notebook
from crm_ml.pipeline.config import load_config
from crm_ml.pipeline.data import data_source, ensure_accepted, raw_source_dir
from crm_ml.pipeline.lock import exclusive
from crm_ml.pipeline.paths import RunPaths, project_root
from crm_ml.pipeline.record import Recorder
from crm_ml.pipeline.runner import (
    RunResult,
    fingerprint_folder,
    mark_interrupted,
    new_run_id,
    publish_or_fail,
    write_manifest,
)

log = logging.getLogger(__name__)
NOTEBOOK = Notebook.SCORING


def score_refresh(
    config_path: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    run_id: str | None = None,
    screenshot: bool = False,
) -> RunResult:
    """Score the latest exports with the champions and publish; raises when a champion
    is missing (train one with `crm-ml run` first)."""
    from crm_ml.pipeline.steps.scoring import run_scoring
    from crm_ml.pipeline.steps.segments import build_current
    from crm_ml.reports.run import build_run_reports, find_previous_run

    root = project_root()
    config = load_config(config_path, overrides)
    run_id = run_id or "score-" + new_run_id(config)
    paths = RunPaths.for_run(run_id).ensure()
    manifest: dict[str, Any] = {
        "run_id": run_id,
        "kind": "score",
        "config_fingerprint": config.fingerprint(),
        "parameters": config.model_dump(mode="json"),
        "started": datetime.now(UTC).isoformat(),
        "status": "running",
        "notebooks": [],
    }
    with exclusive(root / "experiments" / ".run.lock"):
        mark_interrupted(root / "experiments" / "runs", run_id)
        raw_dir = raw_source_dir(config)
        manifest["data"] = {
            "source": str(raw_dir),
            "scope": data_source(config),
            "files": fingerprint_folder(raw_dir),
        }
        write_manifest(paths, manifest)
        try:
            ensure_accepted(paths, config)
            build_current(paths, config)
            outcome = run_scoring(paths, config, allow_challenger=False)
            record = Recorder(paths, NOTEBOOK)
            for note in outcome.notes:  # newcomers, new products, missing models: in words
                record.note(note)
            record.table("risk_by_segment", outcome.risk_by_segment)
            manifest["models"] = outcome.versions
            if outcome.drift is not None:
                record.table("drift", outcome.drift)
                alerts = int(outcome.drift["alert"].sum())
                record.metric("drift_alerts", alerts)
                if alerts:
                    worst = ", ".join(outcome.drift.loc[outcome.drift["alert"], "column"].head(5))
                    record.note(
                        f"{alerts} features shifted beyond PSI {config.psi_alert} since the "
                        f"previous run ({worst}): check the data before acting on these scores."
                    )
            build_run_reports(
                paths, config, previous=find_previous_run(paths), screenshot=screenshot
            )
        except BaseException as exc:
            manifest.update(status="failed", reason=f"{type(exc).__name__}: {exc}")
            write_manifest(paths, manifest)
            raise
        manifest["finished"] = datetime.now(UTC).isoformat()
        publish_or_fail(paths, root, manifest)
    return RunResult(run_id, paths, manifest)
