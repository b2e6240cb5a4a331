"""Running the notebooks as one pipeline: configuration, run folders, records, publishing."""

from crm_ml.pipeline.config import RunConfig, load_config, parse_overrides
from crm_ml.pipeline.notebook import NotebookContext, notebook_context
from crm_ml.pipeline.paths import RunPaths, project_root
from crm_ml.pipeline.record import Recorder, read_records, read_table

__all__ = [
    "NotebookContext",
    "Recorder",
    "RunConfig",
    "RunPaths",
    "load_config",
    "notebook_context",
    "parse_overrides",
    "project_root",
    "read_records",
    "read_table",
]
