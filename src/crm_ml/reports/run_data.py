"""What a run recorded, read back for the reports, tolerating anything that is missing.

A notebook can be switched off in the configuration, fail to record a table, or belong to
a later version of the pipeline: every accessor returns None for what is absent, and the
report then says "not available in this run" for that part instead of failing.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from crm_ml.pipeline.paths import RunPaths
from crm_ml.pipeline.record import read_records

log = logging.getLogger(__name__)


@dataclass
class RunData:
    """One run's records, tables, figures, scores and manifests."""

    paths: RunPaths
    _tables: dict[tuple[str, str], pd.DataFrame | None] = field(default_factory=dict, repr=False)

    @cached_property
    def records(self) -> dict[str, dict[str, Any]]:
        if not self.paths.records.exists():
            return {}
        return read_records(self.paths)

    def metric(self, notebook: str, name: str) -> Any:
        return self.records.get(notebook, {}).get("metrics", {}).get(name)

    def notes(self, notebook: str) -> list[str]:
        return [str(n) for n in self.records.get(notebook, {}).get("notes", [])]

    def table(self, notebook: str, name: str) -> pd.DataFrame | None:
        """A recorded table, or None when the notebook did not record it."""
        if (notebook, name) not in self._tables:
            listed = self.records.get(notebook, {}).get("tables", {}).get(name)
            path = self.paths.records / (listed or f"{notebook}.{name}.parquet")
            self._tables[(notebook, name)] = _read_parquet(path)
        return self._tables[(notebook, name)]

    def figure(self, notebook: str, name: str) -> str | None:
        """A recorded figure as a `data:` URI (the report embeds it), or None."""
        listed = self.records.get(notebook, {}).get("figures", {}).get(name)
        path = self.paths.figures / (listed or f"{notebook}.{name}.png")
        if not path.is_file():
            return None
        return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")

    def scores(self, name: str = "customer_scores") -> pd.DataFrame | None:
        return _read_parquet(self.paths.scores / f"{name}.parquet")

    @staticmethod
    def parquet(path: Path) -> pd.DataFrame | None:
        """Any Parquet file of the run, or None when it is missing or unreadable."""
        return _read_parquet(path)

    @staticmethod
    def json(path: Path) -> dict[str, Any]:
        """Any JSON file of the run, or {} when it is missing or unreadable."""
        return _read_json(path)

    @cached_property
    def manifest(self) -> dict[str, Any]:
        return _read_json(self.paths.manifest)

    @cached_property
    def data_as_of(self) -> pd.Timestamp | None:
        """The export date of the run's accepted tables."""
        value = _read_json(self.paths.accepted / "manifest.json").get("as_of")
        return pd.Timestamp(value) if value else None

    @cached_property
    def present_tables(self) -> set[str] | None:
        """The tables of the run's export (None when the run has no accepted manifest)."""
        tables = _read_json(self.paths.accepted / "manifest.json").get("tables")
        return None if tables is None else set(tables)

    def missing(self, table: str | None) -> str | None:
        """Why a part needing `table` is empty when the export lacks it, else None."""
        if table is None or self.present_tables is None or table in self.present_tables:
            return None
        return f"not available: the export has no {table} table"

    def skip_reason(self, notebook: str) -> str | None:
        """A notebook's own "No ...: <reason>" note, as the reason its outputs are empty."""
        for note in self.notes(notebook):
            if note.startswith("No ") and ": " in note:
                return "not available: " + note.split(": ", 1)[1].rstrip(".")
        return None

    @property
    def started(self) -> pd.Timestamp | None:
        value = self.manifest.get("started")
        return pd.Timestamp(value) if value else None


def _read_parquet(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        log.warning("could not read %s (%s); the report leaves it out", path.name, exc)
        return None


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        log.warning("could not read %s (%s)", path, exc)
        return {}
