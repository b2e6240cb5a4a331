"""The data stage every notebook can call: raw exports in, accepted tables of the run out.

Each `ensure_*` function does its step only when its output is missing, so a notebook
opened by hand in JupyterLab builds what it needs, while under the pipeline the earlier
notebook has already built it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from crm_ml.contract.privacy import key_fingerprint
from crm_ml.pipeline.config import ConfigError, RunConfig, TableSource
from crm_ml.pipeline.paths import RunPaths, project_root

if TYPE_CHECKING:
    from crm_ml.tracking.scope import ModelScope

log = logging.getLogger(__name__)


def data_source(config: RunConfig) -> str:
    """The identity of the run's data, which registered models are bound to:
    `data.scope` when set, else the synthetic world's name, the registered source's name,
    or the export folder's absolute path."""
    data = config.data
    if data.scope:
        return data.scope
    if data.source == "synthetic":
        return f"synthetic:{_world_name(config)}"
    if data.source in ("folder", "table"):
        return f"{data.source}:{raw_source_dir(config).resolve()}"
    return data.source


def table_source(config: RunConfig) -> TableSource:
    """The `data.table` settings of a `data.source: table` run (ConfigError without them)."""
    if config.data.table is None:
        raise ConfigError(
            "data.source is 'table' but data.table is not set (file, label and id_column)"
        )
    return config.data.table


def run_scope(config: RunConfig) -> ModelScope:
    """The scope of every model this configuration trains or scores with."""
    from crm_ml.tracking.scope import ModelScope  # crm_ml.tracking loads MLflow: only here

    return ModelScope(data_source(config), key_fingerprint())


def _world_name(config: RunConfig) -> str:
    s = config.data.synthetic
    return f"{s.industry}-c{s.customers}-m{s.months}-s{s.seed}{'-dirt' if s.dirt else ''}"


def raw_source_dir(config: RunConfig) -> Path:
    """The folder of raw exports for this configuration, generating or writing it if needed
    (for `data.source: table`, the table's file)."""
    data = config.data
    if data.source == "table":
        return _table_file(table_source(config).file)
    if data.source == "folder":
        if not data.folder:
            raise ValueError("data.source is 'folder' but data.folder is not set")
        return _in_project(data.folder)
    if data.source == "synthetic":
        s = data.synthetic
        name = _world_name(config)
        folder = project_root() / "data" / "raw" / "synthetic" / name
        from crm_ml.datasets.synthetic import generate_world, is_current_world

        if not is_current_world(folder, s.industry):
            if (folder / "manifest.json").exists():
                log.warning("the cached world %s is from an older generator: regenerating", name)
            log.info("generating the synthetic world %s", name)
            generate_world(
                folder,
                customers=s.customers,
                months=s.months,
                industry=s.industry,
                seed=s.seed,
                dirt=s.dirt,
            )
        return folder
    from crm_ml.datasets import get_source

    folder = project_root() / "data" / "raw" / data.source
    if not (folder / "manifest.json").exists():
        get_source(data.source).write(folder)
    return folder


def _table_file(file: str) -> Path:
    """The table's path; a registered dataset's name (`subscriber-example`) is written to
    data/raw/<name>/ on first use, as the other registered sources are."""
    from crm_ml.datasets import UnknownSourceError, get_source
    from crm_ml.datasets.examples import EXAMPLE_TABLE_FILE

    path = _in_project(file)
    if path.exists() or Path(file).suffix:
        return path
    try:
        source = get_source(file)
    except UnknownSourceError:
        return path  # the contract says the file is missing
    folder = project_root() / "data" / "raw" / source.name
    if not (folder / "manifest.json").exists():
        source.write(folder)
    return folder / EXAMPLE_TABLE_FILE


def _in_project(path: str) -> Path:
    return Path(path) if Path(path).is_absolute() else project_root() / path


def ensure_accepted(paths: RunPaths, config: RunConfig, progress: bool = False):
    """Validate the raw exports into the run's accepted tables (once per run).

    Parameters
    ----------
    paths : RunPaths
        The run's folders; the accepted tables go to ``paths.accepted``, the quarantine to
        ``paths.quarantine``.
    config : RunConfig
        Says where the raw exports are (`data.source`: the synthetic world, a registered
        dataset, or a folder), generating or writing them first where needed.
    progress : bool, default False
        A progress bar over the tables.

    Returns
    -------
    ContractResult or None
        The validation's result, or None when the run already has accepted tables.

    Raises
    ------
    ContractError
        When the exports cannot be taken (see `crm_ml.contract.load_tables`).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from crm_ml.pipeline import RunPaths, load_config, project_root
    >>> folder = tempfile.TemporaryDirectory()
    >>> paths = RunPaths(Path(folder.name) / "run-1")
    >>> sample = project_root() / "data" / "sample"
    >>> config = load_config(None, {"data.source": "folder", "data.folder": str(sample)})
    >>> type(ensure_accepted(paths, config)).__name__
    'ContractResult'
    >>> ensure_accepted(paths, config) is None   # the second time: already accepted
    True
    >>> folder.cleanup()
    """
    from crm_ml.contract import load_tables

    paths.ensure()
    if (paths.accepted / "manifest.json").exists():
        return None
    if config.data.source == "table":
        from crm_ml.contract.customer_table import load_customer_table

        table = table_source(config)
        return load_customer_table(
            raw_source_dir(config),
            table.label,
            table.id_column,
            positive=table.positive,
            consent_column=table.consent_column,
            as_of=table.as_of,
            quarantine_dir=paths.quarantine,
            accepted_dir=paths.accepted,
        )
    return load_tables(
        raw_source_dir(config),
        quarantine_dir=paths.quarantine,
        accepted_dir=paths.accepted,
        progress=progress,
    )


def accepted_tables(paths: RunPaths) -> list[str]:
    """The tables the run's export holds (required and optional alike).

    Parameters
    ----------
    paths : RunPaths
        A run whose tables were accepted (`ensure_accepted`).

    Returns
    -------
    list of str
        Table names, sorted.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from crm_ml.pipeline import RunPaths, load_config, project_root
    >>> folder = tempfile.TemporaryDirectory()
    >>> paths = RunPaths(Path(folder.name) / "run-1")
    >>> sample = project_root() / "data" / "sample"
    >>> config = load_config(None, {"data.source": "folder", "data.folder": str(sample)})
    >>> _ = ensure_accepted(paths, config)
    >>> accepted_tables(paths)[:3]
    ['contacts', 'customers', 'erasure']
    >>> folder.cleanup()
    """
    return list(json.loads((paths.accepted / "manifest.json").read_text())["tables"])


def accepted_as_of(paths: RunPaths) -> str:
    """The export date of the run's accepted tables.

    Parameters
    ----------
    paths : RunPaths
        A run whose tables were accepted (`ensure_accepted`).

    Returns
    -------
    str
        The as-of date in ISO-8601, UTC.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from crm_ml.pipeline import RunPaths, load_config, project_root
    >>> folder = tempfile.TemporaryDirectory()
    >>> paths = RunPaths(Path(folder.name) / "run-1")
    >>> sample = project_root() / "data" / "sample"
    >>> config = load_config(None, {"data.source": "folder", "data.folder": str(sample)})
    >>> _ = ensure_accepted(paths, config)
    >>> accepted_as_of(paths)
    '2024-12-31T23:59:59+00:00'
    >>> folder.cleanup()
    """
    return json.loads((paths.accepted / "manifest.json").read_text())["as_of"]


def export_coverage(paths: RunPaths) -> tuple[list[str], pd.DataFrame]:
    """What the run's export holds: a note per absent optional table, and one row per table
    (`crm_ml.contract.coverage`); a single customer table is complete as it is.

    Parameters
    ----------
    paths : RunPaths
        A run whose tables were accepted (`ensure_accepted`).

    Returns
    -------
    (list of str, pandas.DataFrame)
        The notes, and the columns table, required, present, without_it.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from crm_ml.pipeline import RunPaths, load_config, project_root
    >>> folder = tempfile.TemporaryDirectory()
    >>> paths = RunPaths(Path(folder.name) / "run-1")
    >>> sample = project_root() / "data" / "sample"
    >>> config = load_config(None, {"data.source": "folder", "data.folder": str(sample)})
    >>> _ = ensure_accepted(paths, config)
    >>> notes, coverage = export_coverage(paths)
    >>> notes, bool(coverage["present"].all())
    ([], True)
    >>> folder.cleanup()
    """
    from crm_ml.contract.coverage import missing_table_notes, table_coverage
    from crm_ml.contract.customer_table import TABLE

    present = accepted_tables(paths)
    if TABLE in present:
        row = {"table": TABLE, "required": True, "present": True, "without_it": ""}
        return [], pd.DataFrame([row])
    return missing_table_notes(present), table_coverage(present)
