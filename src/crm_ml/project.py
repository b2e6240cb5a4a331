"""Where the project lives, for every layer that writes under it.

Notebooks run with `notebooks/` as working directory in JupyterLab and with the project
root under Papermill; the CLI runs from anywhere inside the project. All of them must find
the same `experiments/`, `data/` and `reports/` folders.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT_ENV = "CRM_ML_ROOT"


def project_root(start: Path | None = None) -> Path:
    """$CRM_ML_ROOT, else the nearest folder at or above `start` (default: the working
    directory) holding pyproject.toml, else `start` itself."""
    if os.environ.get(ROOT_ENV):
        return Path(os.environ[ROOT_ENV]).resolve()
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return start
