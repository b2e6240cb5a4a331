"""Where things live: the project root and the folders of one run.

Notebooks run with their own folder as working directory in JupyterLab and with the
project root under Papermill; resolving every path from the project root makes both work.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT_ENV = "CRM_ML_ROOT"


@cache
def project_root() -> Path:
    """$CRM_ML_ROOT, else the nearest folder above the working directory with pyproject.toml."""
    if os.environ.get(ROOT_ENV):
        return Path(os.environ[ROOT_ENV]).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").exists() and (folder / "src" / "crm_ml").exists():
            return folder
    return here


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
