"""`crm-ml run`: execute the numbered notebooks with Papermill and publish the results.

A run lives in experiments/runs/<run_id>/: the resolved configuration, every executed
notebook, what the notebooks recorded, and manifest.json (parameters, timings, metrics,
data fingerprints, status). Only a run whose every notebook succeeded publishes: its scores
to data/scores/latest, its reports to reports/<run_id> and reports/latest, and the
champions its notebooks staged (`crm_ml.pipeline.promotions`), all in one `Publication`
that is undone as a whole if any part fails. Any failure, publishing included, marks the
manifest failed; a manifest left "running" by a killed process is marked "interrupted" by
the next run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from tqdm.auto import tqdm

from crm_ml.errors import CrmMlError
from crm_ml.pipeline.config import RunConfig, load_config
from crm_ml.pipeline.data import data_source, raw_source_dir
from crm_ml.pipeline.lock import exclusive
from crm_ml.pipeline.notebook import missing_tables, unavailable
from crm_ml.pipeline.paths import RunPaths, project_root
from crm_ml.pipeline.promotions import staged_promotions
from crm_ml.pipeline.publish import Publication, prepare, prune
from crm_ml.pipeline.record import read_records

if TYPE_CHECKING:
    from crm_ml.pipeline.kernels import WarmKernel

log = logging.getLogger(__name__)


class PipelineError(CrmMlError, RuntimeError):
    """A notebook failed; the message is the one-line reason, the notebook is kept."""

    exit_code = 1


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
    """A content hash of every file of the raw exports (name -> sha256 prefix); `folder`
    may be a single file (`data.source: table`)."""
    if folder.is_file():
        return {folder.name: _digest(folder)}
    return {
        str(path.relative_to(folder)): _digest(path)
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and "truth" not in p.parts)
    }


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()[:16]


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
        mark_interrupted(root / "experiments" / "runs", run_id)
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
        manifest["data"] = {
            "source": str(raw_dir),
            "scope": data_source(config),
            "files": fingerprint_folder(raw_dir),
        }
        write_manifest(paths, manifest)
        try:
            _execute_all(config, paths, config_file, manifest, progress)
        except BaseException as exc:
            if manifest["status"] == "running":  # not a failed notebook: say what it was
                manifest.update(status="failed", reason=f"{type(exc).__name__}: {exc}")
            raise
        finally:
            manifest["finished"] = datetime.now(UTC).isoformat()
            manifest["records"] = {
                name: rec.get("metrics", {}) for name, rec in read_records(paths).items()
            }
            write_manifest(paths, manifest)
        publish_or_fail(paths, root, manifest)
    return RunResult(run_id, paths, manifest)


def publish_or_fail(paths: RunPaths, root: Path, manifest: dict[str, Any]) -> None:
    """Publish the run; a failure marks the manifest failed and leaves the previous
    outputs and champions as they were."""
    try:
        manifest["published"], manifest["promoted"] = publish_run(paths, root, paths.run_id)
    except Exception as exc:
        reason = f"publishing failed: {type(exc).__name__}: {exc}"
        manifest.update(status="failed", reason=reason)
        write_manifest(paths, manifest)
        raise PipelineError(
            f"{reason} (the previous scores, reports and champions are unchanged)"
        ) from exc
    manifest["status"] = "succeeded"
    write_manifest(paths, manifest)


def mark_interrupted(runs: Path, current: str) -> list[str]:
    """Mark every other run whose manifest still says "running" as interrupted: the caller
    holds the run lock, so no such run is alive (it was killed or its machine stopped)."""
    marked = []
    for manifest_file in sorted(runs.glob("*/manifest.json")) if runs.exists() else []:
        if manifest_file.parent.name == current:
            continue
        try:
            manifest = json.loads(manifest_file.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if manifest.get("status") == "running":
            manifest.update(
                status="interrupted",
                reason=f"the process ended without finishing; found by run {current}",
            )
            write_manifest(RunPaths(manifest_file.parent), manifest)
            marked.append(manifest_file.parent.name)
            log.warning("run %s never finished: marked interrupted", manifest_file.parent.name)
    return marked


def _quiet_papermill() -> None:
    for name in ("papermill", "traitlets", "nbclient"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _execute_all(
    config: RunConfig, paths: RunPaths, config_file: Path, manifest: dict[str, Any], progress: bool
) -> None:
    from crm_ml.pipeline.kernels import WarmKernel  # imports papermill: only when running

    _quiet_papermill()
    root = project_root()
    notebooks = []
    for notebook in notebook_list(config, root / "notebooks"):
        why = unavailable(notebook.stem, config)
        if why:  # listed as such in the manifest, so the report can say why it is empty
            manifest["notebooks"].append(
                {"notebook": notebook.name, "status": "skipped", "reason": why}
            )
        else:
            notebooks.append(notebook)
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
                why = missing_tables(notebook.stem, paths)  # known once 01 has validated
                if why:
                    manifest["notebooks"].append(
                        {"notebook": notebook.name, "status": "skipped", "reason": why}
                    )
                else:
                    _execute_one(notebook, kernel, config_file, paths, manifest)
            finally:
                kernel.shutdown()
    finally:
        for kernel in started:
            kernel.shutdown()
        manifest["notebooks"].sort(key=lambda entry: entry["notebook"])  # skipped in place


def _parameters(notebook: Path, paths: RunPaths, config_file: Path) -> dict[str, Any]:
    """The notebook's parameters under `crm-ml run`. A notebook that declares `track` (the
    modelling ones) tracks here: logs to MLflow and runs the champion gate, which it does
    not when opened by hand. Only declared parameters are passed (Papermill warns of any
    other)."""
    import papermill as pm

    parameters: dict[str, Any] = {"run_dir": str(paths.root), "config_path": str(config_file)}
    if "track" in pm.inspect_notebook(str(notebook)):
        parameters["track"] = True
    return parameters


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
            parameters=_parameters(notebook, paths, config_file),
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


def publish_run(paths: RunPaths, root: Path, run_id: str) -> tuple[dict[str, str], dict[str, str]]:
    """Scores, reports and the champions this run staged, switched together: everything is
    copied into place first, then the links swap and the promotions apply; should any
    switch fail, those already made are undone. Returns (published, promoted)."""
    scores_link = root / "data" / "scores" / "latest"
    reports_link = root / "reports" / "latest"
    switches: list[tuple[str, Path, Path]] = []
    if any(paths.scores.iterdir()):
        switches.append(("scores", scores_link, prepare(paths.scores, scores_link, run_id)))
    if paths.report.exists():
        switches.append(("reports", reports_link, _prepare_report(paths.report, root, run_id)))
    promotions = staged_promotions(paths.root)
    published = {}
    with Publication() as publication:
        for kind, link, target in switches:
            publication.point(link, target)
            published[kind] = str(target if kind == "reports" else link)
        if promotions:
            from crm_ml.tracking import configure_tracking
            from crm_ml.tracking.registry import apply_promotion, restore_champion

            configure_tracking()
            for name, version in promotions.items():
                publication.step(
                    f"the {name} champion",
                    lambda name=name, version=version: apply_promotion(name, version),
                    lambda previous, name=name: restore_champion(name, previous),
                )
    if any(kind == "scores" for kind, _, _ in switches):
        prune(scores_link)
    return published, promotions


def _prepare_report(report: Path, root: Path, run_id: str) -> Path:
    """reports/<run_id>, complete before anything points at it."""
    target = root / "reports" / run_id
    staging = target.with_name(f".{run_id}.staging-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(report, staging)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def _read_manifest(paths: RunPaths) -> dict[str, Any]:
    return json.loads(paths.manifest.read_text()) if paths.manifest.exists() else {}


def write_manifest(paths: RunPaths, manifest: dict[str, Any]) -> None:
    tmp = paths.manifest.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, default=str))
    tmp.replace(paths.manifest)
