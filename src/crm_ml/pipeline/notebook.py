"""What the first code cell of every notebook calls: config, run folders, recorder."""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

from crm_ml.notebooks import missing_for, source_kind, unavailable_for
from crm_ml.pipeline.config import ConfigError, RunConfig, load_config
from crm_ml.pipeline.paths import RunPaths, project_root
from crm_ml.pipeline.record import Recorder

DEV_RUN = "dev"  # the run folder of notebooks opened by hand in JupyterLab


@dataclass(frozen=True)
class NotebookContext:
    """What a notebook works with: the checked run configuration, the run's folders and the
    recorder of what the notebook reports.

    Attributes
    ----------
    config : RunConfig
        The run configuration, every key checked when it was loaded.
    paths : RunPaths
        The run folder and its parts (accepted tables, quarantine, scores, records...).
    record : Recorder
        Records metrics, tables and figures under the notebook's name, read back by the
        report and the manifest.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = tempfile.TemporaryDirectory()
    >>> run_dir = Path(folder.name) / "run-1"
    >>> from crm_ml.notebooks import Notebook
    >>> ctx = notebook_context(str(run_dir), "", Notebook.DATA_QUALITY)
    >>> ctx.paths.run_id, ctx.paths.accepted.relative_to(run_dir).as_posix()
    ('run-1', 'data/accepted')
    >>> folder.cleanup()
    """

    config: RunConfig
    paths: RunPaths
    record: Recorder


def unavailable(notebook: str, config: RunConfig) -> str | None:
    """Why `notebook` (a file stem) does not run for the configuration's data source, or
    None when it does (`crm_ml.notebooks.unavailable_for`)."""
    return unavailable_for(notebook, source_kind(config.data.source))


def missing_tables(notebook: str, paths: RunPaths) -> str | None:
    """Why `notebook` has nothing to do on the run's accepted export (a table it needs is
    absent), or None; None too while the export is not validated yet."""
    manifest = paths.accepted / "manifest.json"
    if not manifest.exists():
        return None
    return missing_for(notebook, json.loads(manifest.read_text())["tables"])


def notebook_context(run_dir: str, config_path: str, notebook: str) -> NotebookContext:
    """Load the run's configuration and folders; `run_dir=""` means the dev run.

    The notebook's parameters cell sets the three texts (Papermill overrides them under
    ``crm-ml run``), so a notebook opened by hand runs with its defaults into
    ``experiments/runs/dev/``. Also sets up logging for the notebook's output.

    Parameters
    ----------
    run_dir : str
        The run folder; "" for the dev run (``experiments/runs/dev``).
    config_path : str
        The run configuration; "" for ``configs/retail.yaml`` of the project.
    notebook : str
        The notebook's name (a `crm_ml.notebooks.Notebook` value), under which it records.

    Returns
    -------
    NotebookContext
        The configuration, the run's folders (created) and the recorder.

    Raises
    ------
    ConfigError
        When the configuration has an unknown key or a value of the wrong type, or the
        notebook does not apply to its kind of data source (`unavailable`).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = tempfile.TemporaryDirectory()
    >>> run_dir = Path(folder.name) / "run-1"
    >>> from crm_ml.notebooks import Notebook
    >>> ctx = notebook_context(str(run_dir), "", Notebook.DATA_QUALITY)
    >>> ctx.config.data.source, ctx.paths.root == run_dir, run_dir.is_dir()
    ('synthetic', True, True)
    >>> folder.cleanup()
    """
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    warnings.filterwarnings("ignore", category=FutureWarning)
    paths = RunPaths(Path(run_dir)) if run_dir else RunPaths.for_run(DEV_RUN)
    config = load_config(config_path or project_root() / "configs" / "retail.yaml")
    why = unavailable(notebook, config)
    if why:
        raise ConfigError(f"{notebook} with data.source {config.data.source!r}: {why}")
    return NotebookContext(config=config, paths=paths.ensure(), record=Recorder(paths, notebook))
