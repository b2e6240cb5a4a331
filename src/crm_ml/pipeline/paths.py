"""The folders of one run, under the project root (crm_ml.project)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crm_ml.project import ROOT_ENV, project_root

__all__ = ["ROOT_ENV", "RunPaths", "project_root"]


@dataclass(frozen=True)
class RunPaths:
    """The folders of one run under experiments/runs/<run_id>/."""

    root: Path

    @classmethod
    def for_run(cls, run_id: str, experiments: Path | None = None) -> RunPaths:
        base = experiments or project_root() / "experiments"
        return cls(base / "runs" / run_id)

    @property
    def run_id(self) -> str:
        return self.root.name

    @property
    def accepted(self) -> Path:
        return self.root / "data" / "accepted"

    @property
    def quarantine(self) -> Path:
        return self.root / "data" / "quarantine"

    @property
    def features(self) -> Path:
        return self.root / "data" / "features"

    @property
    def scores(self) -> Path:
        return self.root / "scores"

    @property
    def records(self) -> Path:
        return self.root / "records"

    @property
    def figures(self) -> Path:
        return self.root / "figures"

    @property
    def notebooks(self) -> Path:
        return self.root / "notebooks"

    @property
    def report(self) -> Path:
        return self.root / "report"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    def ensure(self) -> RunPaths:
        for folder in (self.accepted, self.features, self.scores, self.records, self.figures):
            folder.mkdir(parents=True, exist_ok=True)
        return self
