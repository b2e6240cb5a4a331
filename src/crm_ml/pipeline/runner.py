"""`crm-ml run`: execute the numbered notebooks with Papermill and publish the results.

A run lives in experiments/runs/<run_id>/: the resolved configuration, every executed
notebook, what the notebooks recorded, and manifest.json (parameters, timings, metrics,
data fingerprints, status). Only a run whose every notebook succeeded publishes its scores
to data/scores/latest and its reports to reports/<run_id> and reports/latest.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from tqdm.auto import tqdm

from crm_ml.pipeline.config import RunConfig, load_config
from crm_ml.pipeline.data import raw_source_dir
from crm_ml.pipeline.lock import exclusive
from crm_ml.pipeline.paths import RunPaths, project_root
from crm_ml.pipeline.publish import point, publish
from crm_ml.pipeline.record import read_records

if TYPE_CHECKING:
    from crm_ml.pipeline.kernels import WarmKernel

log = logging.getLogger(__name__)


class PipelineError(RuntimeError):
    """A notebook failed; the message is the one-line reason, the notebook is kept."""


@dataclass(frozen=True)
class RunResult:
    run_id: str
    paths: RunPaths
    manifest: dict[str, Any]
    skipped: bool = False


def notebook_list(config: RunConfig, notebooks_dir: Path) -> list[Path]:
    """The notebooks to run, in order: the config's list, else every `NN_*.ipynb`."""
    if config.notebooks:
        paths = [
            notebooks_dir / (n if n.endswith(".ipynb") else f"{n}.ipynb") for n in config.notebooks
        ]
        missing = [p.name for p in paths if not p.exists()]
        if missing:
            raise FileNotFoundError(f"notebooks listed in the configuration are missing: {missing}")
        return paths
    return sorted(notebooks_dir.glob("[0-9][0-9]_*.ipynb"))


def fingerprint_folder(folder: Path) -> dict[str, str]:
    """A content hash of every file of the raw exports (name -> sha256 prefix)."""
    out = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "truth" not in p.parts):
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        out[str(path.relative_to(folder))] = digest.hexdigest()[:16]
    return out


def new_run_id(config: RunConfig) -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{config.name}-{config.fingerprint()}"


def run_pipeline(
    config_path: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    run_id: str | None = None,
    force: bool = False,
    progress: bool = True,
) -> RunResult:
    """Run every notebook of the configuration; raise PipelineError on the first failure."""
    root = project_root()
    config = load_config(config_path, overrides)
    run_id = run_id or new_run_id(config)
    paths = RunPaths.for_run(run_id)
    with exclusive(root / "experiments" / ".run.lock"):
        previous = _read_manifest(paths)
        if (
            previous.get("status") == "succeeded"
            and previous.get("config_fingerprint") == config.fingerprint()
            and not force
        ):
            log.info("run %s already succeeded with this configuration; nothing to do", run_id)
            return RunResult(run_id, paths, previous, skipped=True)
        shutil.rmtree(paths.root, ignore_errors=True)
        paths.ensure()
        config_file = paths.root / "config.yaml"
        config_file.write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
        manifest: dict[str, Any] = {
            "run_id": run_id,
            "config_fingerprint": config.fingerprint(),
            "parameters": config.model_dump(mode="json"),
            "overrides": overrides or {},
            "started": datetime.now(UTC).isoformat(),
            "status": "running",
            "notebooks": [],
        }
        raw_dir = raw_source_dir(config)
        manifest["data"] = {"source": str(raw_dir), "files": fingerprint_folder(raw_dir)}
        write_manifest(paths, manifest)
        try:
            _execute_all(config, paths, config_file, manifest, progress)
        finally:
            manifest["finished"] = datetime.now(UTC).isoformat()
            manifest["records"] = {
                name: rec.get("metrics", {}) for name, rec in read_records(paths).items()
            }
            write_manifest(paths, manifest)
        manifest["published"] = publish_run(paths, root, run_id)
        manifest["status"] = "succeeded"
        write_manifest(paths, manifest)
    return RunResult(run_id, paths, manifest)


def _quiet_papermill() -> None:
    for name in ("papermill", "traitlets", "nbclient"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _execute_all(
    config: RunConfig, paths: RunPaths, config_file: Path, manifest: dict[str, Any], progress: bool
) -> None:
    from crm_ml.pipeline.kernels import WarmKernel  # imports papermill: only when running

    _quiet_papermill()
    root = project_root()
    notebooks = notebook_list(config, root / "notebooks")
    bar = tqdm(notebooks, desc=f"run {paths.run_id}", unit="notebook", disable=not progress)
    # Each notebook's kernel is started (and its imports done) while the one before runs.
    started: list[WarmKernel] = []
    try:
        for position, notebook in enumerate(bar):
            bar.set_postfix_str(notebook.stem)
            if not started:
                started.append(WarmKernel(notebook, root))
            if position + 1 < len(notebooks):
                started.append(WarmKernel(notebooks[position + 1], root))
            kernel = started.pop(0)
            try:
                _execute_one(notebook, kernel, config_file, paths, manifest)
            finally:
                kernel.shutdown()
    finally:
        for kernel in started:
            kernel.shutdown()


def _execute_one(
    notebook: Path,
    kernel: WarmKernel,
    config_file: Path,
    paths: RunPaths,
    manifest: dict[str, Any],
) -> None:
    import papermill as pm

    output = paths.notebooks / notebook.name
    output.parent.mkdir(parents=True, exist_ok=True)
    entry: dict[str, Any] = {"notebook": notebook.name, "output": str(output)}
    manifest["notebooks"].append(entry)
    started = time.perf_counter()
    try:
        pm.execute_notebook(
            str(notebook),
            str(output),
            parameters={"run_dir": str(paths.root), "config_path": str(config_file)},
            cwd=str(project_root()),
            progress_bar=False,
            log_output=False,
            # The executed notebook is written once at the end (also on failure), not
            # after every cell: the per-cell saves were a measurable share of the
            # orchestration overhead.
            request_save_on_cell_execute=False,
            **kernel.papermill_kwargs(),
        )
    except pm.PapermillExecutionError as exc:
        entry.update(status="failed", seconds=round(time.perf_counter() - started, 2))
        reason = f"{notebook.name} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
        manifest.update(status="failed", reason=reason, failed_notebook=str(output))
        raise PipelineError(f"{reason} (executed notebook kept at {output})") from None
    entry.update(status="succeeded", seconds=round(time.perf_counter() - started, 2))
    write_manifest(paths, manifest)


def publish_run(paths: RunPaths, root: Path, run_id: str) -> dict[str, str]:
    published = {}
    if any(paths.scores.iterdir()):
        publish(paths.scores, root / "data" / "scores" / "latest", run_id)
        published["scores"] = str(root / "data" / "scores" / "latest")
    if paths.report.exists():
        target = root / "reports" / run_id
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(paths.report, target)
        point(root / "reports" / "latest", target)
        published["reports"] = str(target)
    return published


def _read_manifest(paths: RunPaths) -> dict[str, Any]:
    return json.loads(paths.manifest.read_text()) if paths.manifest.exists() else {}


def write_manifest(paths: RunPaths, manifest: dict[str, Any]) -> None:
    tmp = paths.manifest.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, default=str))
    tmp.replace(paths.manifest)
