"""Champion promotions that land with the run's outputs, or not at all.

Inside `crm-ml run` the notebooks gate their models but move no alias: each decision that
passed is staged in the run folder (`promotions.json`). The runner applies them only after
the whole run, publication included, has succeeded, and takes them back if a later step
fails, so scores, reports and champions change together. A notebook opened by hand (no
running pipeline around it) promotes at once, as before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from crm_ml.pipeline.config import RunConfig
from crm_ml.pipeline.data import run_scope
from crm_ml.pipeline.paths import RunPaths

if TYPE_CHECKING:
    from crm_ml.tracking.registry import GateDecision
    from crm_ml.tracking.scope import ModelScope

PROMOTIONS = "promotions.json"


@dataclass(frozen=True)
class RunTracking:
    """Where a step registers its models: the run's scope, and whether promotions wait
    for the run to publish (`staging` is the file they wait in)."""

    scope: ModelScope
    staging: Path | None

    def registry_name(self, name: str) -> str:
        return self.scope.registry_name(name)


def under_pipeline(paths: RunPaths) -> bool:
    """True while `crm-ml run` executes this run (its manifest says so)."""
    if not paths.manifest.exists():
        return False
    manifest = json.loads(paths.manifest.read_text())
    return manifest.get("status") == "running" and manifest.get("kind", "run") == "run"


def run_tracking(paths: RunPaths, config: RunConfig) -> RunTracking:
    staging = paths.root / PROMOTIONS if under_pipeline(paths) else None
    return RunTracking(run_scope(config), staging)


def stage(tracking: RunTracking, decision: GateDecision) -> None:
    """Remember a decision that passed, for the runner to apply."""
    if tracking.staging is None or not (decision.promoted and decision.staged):
        return
    staged = staged_promotions(tracking.staging.parent)
    staged[decision.name] = decision.version
    tmp = tracking.staging.with_suffix(".tmp")
    tmp.write_text(json.dumps(staged, indent=2))
    tmp.replace(tracking.staging)


def staged_promotions(run_root: Path) -> dict[str, str]:
    """Registered model name -> version this run will make the champion."""
    file = run_root / PROMOTIONS
    return json.loads(file.read_text()) if file.exists() else {}
