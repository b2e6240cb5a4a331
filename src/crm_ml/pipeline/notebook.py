"""What the first code cell of every notebook calls: config, run folders, recorder."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

from crm_ml.pipeline.config import RunConfig, load_config
from crm_ml.pipeline.paths import RunPaths, project_root
from crm_ml.pipeline.record import Recorder

DEV_RUN = "dev"  # the run folder of notebooks opened by hand in JupyterLab


@dataclass(frozen=True)
class NotebookContext:
    config: RunConfig
    paths: RunPaths
    record: Recorder


def notebook_context(run_dir: str, config_path: str, notebook: str) -> NotebookContext:
    """Load the run's configuration and folders; `run_dir=""` means the dev run."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    warnings.filterwarnings("ignore", category=FutureWarning)
    paths = RunPaths(Path(run_dir)) if run_dir else RunPaths.for_run(DEV_RUN)
    config = load_config(config_path or project_root() / "configs" / "retail.yaml")
    return NotebookContext(config=config, paths=paths.ensure(), record=Recorder(paths, notebook))
