"""Run configuration: one YAML file per run type, loaded into a typed object.

Sections that belong to one layer (features, models, recsys) are passed through as plain
mappings and turned into that layer's own typed config where it is used, so this module
does not need to change when a layer gains a setting.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from crm_ml.pipeline.paths import project_root


class SyntheticData(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customers: int = 20_000
    months: int = 24
    industry: Literal["retail", "finance", "b2b"] = "retail"
    seed: int = 42
    dirt: bool = True


class DataConfig(BaseModel):
    """Where the exports come from: a generated world, a registered source or a folder."""

    model_config = ConfigDict(extra="forbid")
    source: str = "synthetic"  # synthetic | a registered source name | folder
    folder: str | None = None  # for source=folder: a folder of contract files
    synthetic: SyntheticData = Field(default_factory=SyntheticData)


class KpiTargets(BaseModel):
    """Targets of the stakeholder scorecard (defaults from the service plan)."""

    model_config = ConfigDict(extra="forbid")
    core_churn_rate_max: float = 0.05
    complaint_first_response_minutes: float = 30
    fault_first_response_minutes: float = 120
    consult_first_response_minutes: float = 60
    recommendation_conversion_min: float = 0.30
    nps_min: float = 50


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "retail"
    seed: int = 42
    horizon_days: int = 90
    data: DataConfig = Field(default_factory=DataConfig)
    features: dict[str, Any] = Field(default_factory=dict)
    models: dict[str, Any] = Field(default_factory=dict)
    recsys: dict[str, Any] = Field(default_factory=dict)
    kpi_targets: KpiTargets = Field(default_factory=KpiTargets)
    psi_alert: float = 0.25
    notebooks: list[str] = Field(default_factory=list)  # empty: every numbered notebook

    def fingerprint(self) -> str:
        """A short hash of the whole configuration, for run ids and caches."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:8]


def apply_overrides(raw: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Set dotted keys (`data.synthetic.customers=5000`) in a nested mapping."""
    for dotted, value in overrides.items():
        node = raw
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"--param {dotted}: '{part}' is not a section")
        node[leaf] = value
    return raw


def parse_overrides(pairs: Sequence[str]) -> dict[str, Any]:
    """`key=value` strings; values are YAML scalars so numbers and booleans keep their type."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--param expects key=value, got {pair!r}")
        params[key.strip()] = yaml.safe_load(value)
    return params


def load_config(
    path: str | Path | None = None, overrides: Mapping[str, Any] | None = None
) -> RunConfig:
    """The configuration in `path` (default configs/retail.yaml) with dotted overrides."""
    path = Path(path) if path else project_root() / "configs" / "retail.yaml"
    if not path.is_absolute() and not path.exists():
        path = project_root() / path
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise FileNotFoundError(f"run configuration {path} does not exist") from None
    return RunConfig.model_validate(apply_overrides(raw, overrides or {}))
