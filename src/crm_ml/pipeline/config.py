"""Run configuration: one YAML file per run type, loaded into a typed object.

Sections that belong to one layer (features, models, recsys) stay plain mappings, turned
into that layer's own typed config where it is used. `load_config` checks every key and
value of them against those layer classes first, so a typo stops the run before any
notebook starts, and a layer gaining a setting needs no change here.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, get_type_hints

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from crm_ml.contract.errors import ContractError
from crm_ml.pipeline.paths import project_root


class ConfigError(ContractError, ValueError):
    """A run configuration that cannot run (unknown key, wrong type, bad --param).

    A ContractError so the CLI prints it on one line; a ValueError as before, when pydantic's
    validation error and the override errors were the ones raised.
    """


class SyntheticData(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customers: int = 20_000
    months: int = 24
    industry: Literal["retail", "finance", "b2b", "subscription"] = "retail"
    seed: int = 42
    dirt: bool = True


class TableSource(BaseModel):
    """A single customer table (one row per subscriber, a churn flag, no time axis): the
    `data.source: table` of DESIGN.md, judged by cross-validation."""

    model_config = ConfigDict(extra="forbid")
    file: str  # CSV / Parquet, relative to the project root or absolute
    label: str  # the churn flag: 0/1, true/false or two words such as Yes/No
    id_column: str  # one id per row; pseudonymised, never a feature
    positive: str | None = None  # the label value that means "left" (default: 1/true/yes...)
    # a recurring value per period (monthly charges): x value_periods = the 12-month value
    # that ranks the save list; without it the list is ranked by risk alone
    value_column: str | None = None
    value_periods: float = Field(default=12.0, gt=0)
    # true/false per row: without it nobody has known consent and the save list stays empty
    consent_column: str | None = None
    segment_column: str | None = None  # a column to show risk by (contract type, plan, ...)
    as_of: str | None = None  # the table's date (default: the file's modification time)


class DataConfig(BaseModel):
    """Where the exports come from: a generated world, a registered source, a folder, or
    one customer table."""

    model_config = ConfigDict(extra="forbid")
    source: str = "synthetic"  # synthetic | a registered source name | folder | table
    folder: str | None = None  # for source=folder: a folder of contract files
    table: TableSource | None = None  # for source=table
    # what registered models belong to (default: derived from the source, see
    # crm_ml.pipeline.data.data_source); set it when each export lands in a new folder
    scope: str | None = None
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


class ActionPlanSettings(BaseModel):
    """The action plan's limits (`crm_ml.reports.plan`): budget, contact cap, margin, the
    playbook and the do-not-contact list (paths relative to the project root)."""

    model_config = ConfigDict(extra="forbid")
    budget: float | None = Field(default=None, ge=0)  # None: every contact worth its cost
    max_contacts: int = Field(default=2, ge=0)  # per customer in any window_days
    window_days: int = Field(default=30, gt=0)
    # share of CLV (revenue) that is profit; 0.3 is the margin rate offers assume for products
    # without a margin column (recsys offer.default_margin_rate), so both lists plan on profit
    margin: float = Field(default=0.3, gt=0, le=1)
    min_net_value: float = 0.0
    playbook: str | None = None  # None: the default playbook (crm_ml/reports/playbook.yaml)
    exclude_file: str | None = None  # CSV with a customer_id column (raw ids or pseudonyms)


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
    action_plan: ActionPlanSettings = Field(default_factory=ActionPlanSettings)
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
                raise ConfigError(f"--param {dotted}: '{part}' is not a section")
        node[leaf] = value
    return raw


def parse_overrides(pairs: Sequence[str]) -> dict[str, Any]:
    """`key=value` strings; values are YAML scalars so numbers and booleans keep their type."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--param expects key=value, got {pair!r}")
        params[key.strip()] = yaml.safe_load(value)
    return params


# ---------------------------------------------------------------- checking the sections


@dataclass(frozen=True)
class Section:
    """The keys a mapping of the run config may hold: the constructor fields of `layer` (a
    dataclass or pydantic model; nested layer classes become sections too), plus `own` keys
    a pipeline step reads itself before building the layer's config (key -> type or Section).
    """

    layer: type | None = None
    own: Mapping[str, Any] = field(default_factory=dict)

    def settings(self) -> dict[str, Any]:
        return {**_layer_settings(self.layer), **self.own}


def _is_layer(annotation: Any) -> bool:
    return isinstance(annotation, type) and (
        is_dataclass(annotation) or issubclass(annotation, BaseModel)
    )


@cache
def _layer_settings(layer: type | None) -> dict[str, Any]:
    """Setting name -> type (or Section) of a layer class, read from the class itself so the
    check cannot drift from what the layer accepts; pydantic constraints (gt=0) are kept."""
    if layer is None:
        return {}
    if issubclass(layer, BaseModel):
        types = {
            name: Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
            for name, info in layer.model_fields.items()
        }
    else:
        hints = get_type_hints(layer, include_extras=True)
        types = {f.name: hints[f.name] for f in fields(layer) if f.init}
    return {name: Section(tp) if _is_layer(tp) else tp for name, tp in types.items()}


@cache
def run_settings() -> Section:
    """Everything a run configuration may hold, with the keys each step reads itself.

    The layer classes are imported here rather than at the top: they pull in LightGBM,
    DuckDB and implicit, which `import crm_ml.pipeline` should not pay for.
    """
    from crm_ml.features.config import FeatureConfig
    from crm_ml.models.config import BinaryModelConfig, SpendModelConfig
    from crm_ml.models.uplift import UpliftConfig
    from crm_ml.recsys.config import RecsysConfig

    models = Section(
        own={
            "n_train_cutoffs": int,  # steps.frames.cutoff_plan
            "calibration_bound": float,  # steps.churn: the champion gate's calibration bound
            "churn": Section(BinaryModelConfig),
            "contract_churn": Section(BinaryModelConfig),  # steps.contract_churn
            "clv": Section(SpendModelConfig),
            "propensity": Section(BinaryModelConfig, {"categories": int}),
            "uplift": Section(  # steps.uplift.UpliftSettings
                UpliftConfig,
                {"response_window_days": int, "holdout_share": float, "offer_features": bool},
            ),
        }
    )
    return Section(
        RunConfig,
        {"features": Section(FeatureConfig), "models": models, "recsys": Section(RecsysConfig)},
    )


@dataclass(frozen=True)
class _Origin:
    """Where the settings came from, for messages: the file and the keys set by --param."""

    file: str
    overrides: tuple[str, ...] = ()

    def error(self, dotted: str, problem: str) -> ConfigError:
        by_param = any(_within(dotted, key) or _within(key, dotted) for key in self.overrides)
        return ConfigError(f"{self.file}{' with --param' if by_param else ''}: {problem}")


def _within(dotted: str, section: str) -> bool:
    return dotted == section or dotted.startswith(section + ".")


def _unknown(dotted: str, key: object, valid: Sequence[str]) -> str:
    """`unknown setting a.b (did you mean c?)`, or the valid keys when none is close."""
    close = difflib.get_close_matches(str(key), valid, n=1)
    hint = f"did you mean {close[0]}?" if close else "valid: " + ", ".join(sorted(valid))
    return f"unknown setting {dotted} ({hint})"


def _check_value(value: Any, annotation: Any, dotted: str, origin: _Origin) -> None:
    """`value` must be of the setting's type. Text where a number or flag is expected fails
    even when it would parse: the dataclass layers take values as they are, so "0.5" would
    reach `0 < share` as text (and PyYAML reads 1e-3, without a decimal point, as text)."""
    adapter = TypeAdapter(annotation, config=ConfigDict(arbitrary_types_allowed=True))
    try:
        checked = adapter.validate_python(value)
    except ValidationError as exc:
        reasons = "; ".join(dict.fromkeys(error["msg"] for error in exc.errors()))
        raise origin.error(dotted, f"{dotted} = {value!r}: {reasons}") from None
    if isinstance(value, str) and not isinstance(checked, str):
        if isinstance(checked, bool):
            problem = "is text, not true or false (write it without quotes)"
        else:
            problem = f"is text, not a number ({_unquote(value)})"
        raise origin.error(dotted, f"{dotted} = {value!r} {problem}")


def _unquote(number: str) -> str:
    """How to write `number` so YAML reads it as one: PyYAML takes 1e-3 for text."""
    mantissa, exponent, power = number.lower().partition("e")
    if exponent and "." not in mantissa:
        return f"YAML reads {number} as text: write {mantissa}.0e{power}"
    return "write it without quotes"


def _check_section(raw: Any, section: Section, origin: _Origin, dotted: str = "") -> None:
    """Raise ConfigError on the first key of `raw` the section does not know, sub-section that
    is not a mapping, or value of the wrong type, recursively."""
    if not isinstance(raw, Mapping):
        what = dotted or "the run configuration"
        raise origin.error(dotted, f"{what} must be a mapping of settings, got {raw!r}")
    settings = section.settings()
    for key, value in raw.items():
        path = f"{dotted}.{key}" if dotted else str(key)
        if key not in settings:
            raise origin.error(path, _unknown(path, key, list(settings)))
        spec = settings[key]
        if isinstance(spec, Section):
            _check_section(value, spec, origin, path)
        else:
            _check_value(value, spec, path, origin)


def _shown(path: Path) -> str:
    """`path` as the user would type it: relative to the project root when inside it."""
    try:
        return str(path.resolve().relative_to(project_root()))
    except ValueError:
        return str(path)


def load_config(
    path: str | Path | None = None, overrides: Mapping[str, Any] | None = None
) -> RunConfig:
    """The configuration in `path` (default configs/retail.yaml) with dotted overrides,
    every key and value checked (ConfigError) before anything runs."""
    path = Path(path) if path else project_root() / "configs" / "retail.yaml"
    if not path.is_absolute() and not path.exists():
        path = project_root() / path
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise FileNotFoundError(f"run configuration {path} does not exist") from None
    overrides = overrides or {}
    raw = apply_overrides(raw, overrides)
    _check_section(raw, run_settings(), _Origin(_shown(path), tuple(overrides)))
    return RunConfig.model_validate(raw)
