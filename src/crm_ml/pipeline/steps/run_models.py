"""Models a run trained without registering them (a notebook opened by hand, `track=False`).

They are kept in the run folder, so the scoring notebook of the same dev run scores with
the models just trained, and nothing reaches the MLflow registry.
"""

from __future__ import annotations

import pickle
from typing import Any

from crm_ml.pipeline.paths import RunPaths

FOLDER = "models"


def keep_in_run(paths: RunPaths, family: str, model: Any) -> None:
    """Keep an untracked model in the run folder, so the scoring notebook of the same run
    scores with it instead of a registered one.

    The model is pickled to ``<run>/models/<family>.pkl`` (written to a temporary file
    first, then moved into place), replacing what the run kept for `family` before; a
    tracked fit of the family removes the file again.

    Parameters
    ----------
    paths : RunPaths
        The run's folders; the file goes to ``paths.root / "models"`` (created).
    family : str
        The model family the scoring layer asks for: ``"churn"``, ``"clv"`` or ``"uplift"``.
    model : Any
        The fitted model (anything picklable), e.g. ``result.model`` of a training result.

    Examples
    --------
    In a notebook with ``track = False``:

    >>> keep_in_run(ctx.paths, "churn", result.model)  # doctest: +SKIP

    >>> import tempfile
    >>> from pathlib import Path
    >>> from crm_ml.pipeline import RunPaths
    >>> from crm_ml.pipeline.steps.run_models import run_models
    >>> folder = tempfile.TemporaryDirectory()
    >>> paths = RunPaths(Path(folder.name) / "run-1")
    >>> keep_in_run(paths, "churn", {"stand-in": "model"})
    >>> sorted(p.name for p in (paths.root / "models").iterdir())
    ['churn.pkl']
    >>> run_models(paths)
    {'churn': {'stand-in': 'model'}}
    >>> folder.cleanup()
    """
    folder = paths.root / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"{family}.pkl.tmp"
    with tmp.open("wb") as fh:
        pickle.dump(model, fh)
    tmp.replace(folder / f"{family}.pkl")


def forget_run_model(paths: RunPaths, family: str) -> None:
    """A tracked fit replaces what an earlier untracked fit of the same run folder kept."""
    (paths.root / FOLDER / f"{family}.pkl").unlink(missing_ok=True)


def run_models(paths: RunPaths) -> dict[str, Any]:
    """family -> the model this run kept (empty when everything was tracked)."""
    folder = paths.root / FOLDER
    out = {}
    for file in sorted(folder.glob("*.pkl")) if folder.exists() else []:
        with file.open("rb") as fh:
            out[file.stem] = pickle.load(fh)
    return out
