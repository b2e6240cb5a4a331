"""What a notebook records for the manifest and the reports: metrics, tables, figures.

A notebook is a function (parameters in, recorded outputs out): whatever it records lands
in the run folder, where the pipeline, the reports and the notebook tests read it back.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from crm_ml.pipeline.paths import RunPaths


def _plain(value: Any) -> Any:
    """JSON-safe numbers: numpy scalars to Python, NaN/inf to None."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class Recorder:
    """Records of one notebook: `records/<notebook>.json`, tables and figures beside it."""

    def __init__(self, paths: RunPaths, notebook: str) -> None:
        self.paths = paths.ensure()
        self.notebook = notebook
        self.file = self.paths.records / f"{notebook}.json"

    def _load(self) -> dict[str, Any]:
        if self.file.exists():
            return json.loads(self.file.read_text())
        return {"metrics": {}, "tables": {}, "figures": {}, "notes": []}

    def _save(self, data: dict[str, Any]) -> None:
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, default=str))
        tmp.replace(self.file)

    def metric(self, name: str, value: Any) -> Any:
        data = self._load()
        data["metrics"][name] = _plain(value)
        self._save(data)
        return value

    def metrics(self, values: dict[str, Any], prefix: str = "") -> None:
        data = self._load()
        data["metrics"].update({f"{prefix}{k}": _plain(v) for k, v in values.items()})
        self._save(data)

    def table(self, name: str, frame: pd.DataFrame) -> pd.DataFrame:
        path = self.paths.records / f"{self.notebook}.{name}.parquet"
        frame.to_parquet(path, index=False)
        data = self._load()
        data["tables"][name] = path.name
        self._save(data)
        return frame

    def figure(self, name: str, fig: Any) -> Path:
        path = self.paths.figures / f"{self.notebook}.{name}.png"
        fig.savefig(path, dpi=110, bbox_inches="tight")
        data = self._load()
        data["figures"][name] = path.name
        self._save(data)
        return path

    def note(self, text: str) -> None:
        """A sentence the report should show (e.g. a model that did not beat a baseline)."""
        data = self._load()
        data["notes"].append(text)
        self._save(data)


def read_records(paths: RunPaths) -> dict[str, dict[str, Any]]:
    """Every notebook's records of a run, by notebook name."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(paths.records.glob("*.json"))}


def read_table(paths: RunPaths, notebook: str, name: str) -> pd.DataFrame:
    return pd.read_parquet(paths.records / f"{notebook}.{name}.parquet")


__all__ = ["Recorder", "read_records", "read_table"]
